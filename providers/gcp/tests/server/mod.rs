//! A local stand-in for Google's endpoints on 127.0.0.1: the OAuth token endpoint (the refresh
//! grant of user credentials), Cloud Logging `entries.list` and BigQuery `jobs.query` /
//! `jobs.getQueryResults`. It answers from the documented records in `tests/data/`, applies the
//! request's own filter, time bounds and page size, and plays the faults it is told to.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use auditsweep_source::conformance::Fault;
use serde_json::{json, Value};

pub const CLIENT_ID: &str = "764086051850-local.apps.googleusercontent.com";
pub const CLIENT_SECRET: &str = "d-FL95Q19q7MQmFpd7hHD0Ty";
pub const REFRESH_TOKEN: &str = "1//0local-refresh-token-Zq8sT3vWx";
/// Every access token the server issues starts so; none may reach a log.
pub const TOKEN_PREFIX: &str = "ya29.local-";

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub url: String,
    pub authorization: Option<String>,
    pub user_project: Option<String>,
    pub body: String,
}

#[derive(Default)]
struct State {
    issued: u32,
    /// Tokens up to this number are refused as expired.
    refused_up_to: u32,
    faults: VecDeque<Fault>,
    seen: Vec<Seen>,
    token_requests: Vec<Value>,
    /// Polls a job answers `jobComplete: false` to before it is done.
    polls_before_done: u32,
    jobs: Vec<Job>,
    /// The public key (PKCS#1 DER) and issuer of service-account JWTs to accept.
    jwt: Option<(Vec<u8>, String)>,
    /// The header and claims of each JWT accepted.
    jwts: Vec<(Value, Value)>,
}

struct Job {
    rows: Vec<Value>,
    polls_left: u32,
    request_id: Option<String>,
}

pub struct Server {
    pub url: String,
    state: Arc<Mutex<State>>,
}

impl Server {
    pub fn start() -> Server {
        let http = tiny_http::Server::http("127.0.0.1:0").expect("a local port");
        let url = format!("http://{}", http.server_addr().to_ip().unwrap());
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        std::thread::spawn(move || {
            for request in http.incoming_requests() {
                answer(&shared, request);
            }
        });
        Server { url, state }
    }

    pub fn inject(&self, faults: Vec<Fault>) {
        self.state.lock().unwrap().faults.extend(faults);
    }

    pub fn polls_before_done(&self, polls: u32) {
        self.state.lock().unwrap().polls_before_done = polls;
    }

    /// Accepts self-signed service-account JWTs that verify with this key and name this
    /// issuer, as Google's APIs do.
    pub fn accept_jwts(&self, public_key_der: Vec<u8>, issuer: &str) {
        self.state.lock().unwrap().jwt = Some((public_key_der, issuer.to_string()));
    }

    pub fn jwts(&self) -> Vec<(Value, Value)> {
        self.state.lock().unwrap().jwts.clone()
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }

    pub fn token_requests(&self) -> Vec<Value> {
        self.state.lock().unwrap().token_requests.clone()
    }

    /// The `authorized_user` file `gcloud auth application-default login` writes, its
    /// `token_uri` pointing here.
    pub fn user_credentials(&self) -> String {
        json!({
            "type": "authorized_user",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "refresh_token": REFRESH_TOKEN,
            "token_uri": format!("{}/token", self.url),
            "universe_domain": "googleapis.com",
        })
        .to_string()
    }
}

fn data(name: &str) -> Value {
    let path = format!("{}/{name}", data_dir().display());
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The records the server holds: every entry of `log-entries.json`.
pub fn log_entries() -> Vec<Value> {
    data("log-entries.json").as_array().unwrap().clone()
}

/// The billing table: its schema and its rows in the export's JSON.
pub fn billing_table() -> (Value, Vec<Value>) {
    let table = data("billing-table.json");
    (
        table["schema"].clone(),
        table["rows"].as_array().unwrap().clone(),
    )
}

fn reply(request: tiny_http::Request, status: u16, body: &[u8], headers: &[(&str, &str)]) {
    let mut response = tiny_http::Response::from_data(body.to_vec()).with_status_code(status);
    if !headers.iter().any(|(name, _)| *name == "Content-Type") {
        response.add_header(
            tiny_http::Header::from_bytes("Content-Type", "application/json; charset=UTF-8")
                .unwrap(),
        );
    }
    for (name, value) in headers {
        response.add_header(tiny_http::Header::from_bytes(*name, *value).unwrap());
    }
    let _ = request.respond(response);
}

/// Google's error body (https://cloud.google.com/apis/design/errors).
fn google_error(code: u16, status: &str, message: &str) -> Vec<u8> {
    json!({"error": {"code": code, "message": message, "status": status}})
        .to_string()
        .into_bytes()
}

fn header(request: &tiny_http::Request, name: &str) -> Option<String> {
    request
        .headers()
        .iter()
        .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str().to_string())
}

fn answer(state: &Arc<Mutex<State>>, mut request: tiny_http::Request) {
    let mut body = String::new();
    let _ = request.as_reader().read_to_string(&mut body);
    let url = request.url().to_string();
    let method = request.method().as_str().to_string();
    let authorization = header(&request, "Authorization");
    let mut state = state.lock().unwrap();

    if url == "/token" {
        let grant: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        state.token_requests.push(grant.clone());
        if grant["refresh_token"] != REFRESH_TOKEN || grant["client_secret"] != CLIENT_SECRET {
            let body = json!({"error": "invalid_grant", "error_description": "Bad Request"});
            return reply(request, 400, body.to_string().as_bytes(), &[]);
        }
        state.issued += 1;
        let body = json!({
            "access_token": format!("{TOKEN_PREFIX}{}", state.issued),
            "expires_in": 3599,
            "scope": "https://www.googleapis.com/auth/cloud-platform.read-only",
            "token_type": "Bearer",
        });
        return reply(request, 200, body.to_string().as_bytes(), &[]);
    }

    state.seen.push(Seen {
        method: method.clone(),
        url: url.clone(),
        authorization: authorization.clone(),
        user_project: header(&request, "x-goog-user-project"),
        body: body.clone(),
    });
    let jwt = authorization
        .as_deref()
        .and_then(|a| a.strip_prefix("Bearer "))
        .and_then(|token| verify_jwt(&mut state, token));
    let token_number = authorization
        .as_deref()
        .and_then(|a| a.strip_prefix(&format!("Bearer {TOKEN_PREFIX}")))
        .and_then(|n| n.parse::<u32>().ok())
        .or(jwt);
    let Some(token_number) = token_number else {
        let body = google_error(
            401,
            "UNAUTHENTICATED",
            "Request is missing required authentication credential.",
        );
        return reply(request, 401, &body, &[]);
    };
    if token_number <= state.refused_up_to {
        let body = google_error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.");
        return reply(request, 401, &body, &[]);
    }

    let media = url.contains("alt=media");
    let page = if method == "POST" && url.starts_with("/v2/entries:list") {
        entries_list(&body)
    } else if url.starts_with("/bigquery/v2/projects/") {
        bigquery(&mut state, &method, &url, &body)
    } else if method == "GET" && url.starts_with("/storage/v1/b/") {
        storage(&url)
    } else {
        Err((404, google_error(404, "NOT_FOUND", "no such method")))
    };
    let page = match page {
        Ok(page) => page,
        Err((status, body)) => return reply(request, status, &body, &[]),
    };
    let content_type: &[(&str, &str)] = if media {
        &[("Content-Type", "application/octet-stream")]
    } else {
        &[]
    };
    // Listing objects is not a page request: faults are for pages.
    if url.starts_with("/storage/v1/b/") && !media {
        return reply(request, 200, &page, &[]);
    }
    match state.faults.pop_front().unwrap_or(Fault::Pass) {
        Fault::Pass => reply(request, 200, &page, content_type),
        Fault::Throttle { retry_after_secs } => {
            let body = google_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute' of service 'logging.googleapis.com'.");
            reply(
                request,
                429,
                &body,
                &[("Retry-After", &retry_after_secs.to_string())],
            )
        }
        Fault::ServerError => {
            let body = google_error(500, "INTERNAL", "Internal error encountered.");
            reply(request, 500, &body, &[])
        }
        Fault::Truncated => reply(request, 200, &page[..page.len() / 2], content_type),
        Fault::ExpiredToken => {
            state.refused_up_to = token_number;
            let body = google_error(
                401,
                "UNAUTHENTICATED",
                "Request had invalid authentication credentials.",
            );
            reply(request, 401, &body, &[])
        }
    }
}

/// A service-account JWT: RS256 over `header.claims` with the accepted key, the accepted
/// issuer, not expired. Accepted JWTs count as a token newer than any refused.
fn verify_jwt(state: &mut State, token: &str) -> Option<u32> {
    use base64::Engine;
    let (key, issuer) = state.jwt.clone()?;
    let mut parts = token.split('.');
    let (header, claims, signature) = (parts.next()?, parts.next()?, parts.next()?);
    let decode = |part: &str| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .ok()
    };
    let signature = decode(signature)?;
    ring::signature::UnparsedPublicKey::new(&ring::signature::RSA_PKCS1_2048_8192_SHA256, &key)
        .verify(format!("{header}.{claims}").as_bytes(), &signature)
        .ok()?;
    let header: Value = serde_json::from_slice(&decode(header)?).ok()?;
    let claims: Value = serde_json::from_slice(&decode(claims)?).ok()?;
    let now = chrono::Utc::now().timestamp();
    if claims["iss"] != issuer.as_str() || claims["exp"].as_i64()? <= now {
        return None;
    }
    state.jwts.push((header, claims));
    Some(u32::MAX)
}

/// `"..."` values following each `key` in a Logging query.
fn quoted_after<'a>(filter: &'a str, key: &str) -> Vec<&'a str> {
    filter
        .match_indices(key)
        .filter_map(|(at, _)| {
            let rest = &filter[at + key.len()..];
            rest.split('"').next()
        })
        .collect()
}

/// `entries.list` over the fixture entries: the resource, the log names, the login service
/// clause and the time bounds of the filter, in timestamp order, `pageSize` a page.
fn entries_list(body: &str) -> Result<Vec<u8>, (u16, Vec<u8>)> {
    let request: Value = serde_json::from_str(body)
        .map_err(|_| (400, google_error(400, "INVALID_ARGUMENT", "bad JSON")))?;
    let resource = request["resourceNames"][0].as_str().unwrap_or("");
    let filter = request["filter"].as_str().unwrap_or("");
    let logs = quoted_after(filter, "logName=\"");
    let from = quoted_after(filter, "timestamp >= \"");
    let to = quoted_after(filter, "timestamp < \"");
    let (Some(from), Some(to)) = (from.first(), to.first()) else {
        return Err((400, google_error(400, "INVALID_ARGUMENT", "no time bounds")));
    };
    let (from, to): (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>) =
        (from.parse().unwrap(), to.parse().unwrap());
    let logins = "protoPayload.serviceName=\"login.googleapis.com\"";
    let only_logins = filter.contains(logins) && !filter.contains(&format!("NOT {logins}"));
    let no_logins = filter.contains(&format!("NOT {logins}"));
    let mut entries: Vec<Value> = log_entries()
        .into_iter()
        .filter(|e| {
            let name = e["logName"].as_str().unwrap();
            let time: chrono::DateTime<chrono::Utc> =
                e["timestamp"].as_str().unwrap().parse().unwrap();
            let login = e["protoPayload"]["serviceName"] == "login.googleapis.com";
            name.starts_with(&format!("{resource}/logs/"))
                && logs.contains(&name)
                && time >= from
                && time < to
                && (login || !only_logins)
                && !(no_logins && login)
        })
        .collect();
    entries.sort_by_key(|e| {
        e["timestamp"]
            .as_str()
            .unwrap()
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap()
    });
    let size = request["pageSize"].as_u64().unwrap_or(50) as usize;
    let offset = match request["pageToken"].as_str() {
        Some(token) => token
            .strip_prefix("EAA4yOe")
            .and_then(|n| n.parse().ok())
            .ok_or((
                400,
                google_error(400, "INVALID_ARGUMENT", "page token is not valid"),
            ))?,
        None => 0,
    };
    let page: Vec<Value> = entries.iter().skip(offset).take(size).cloned().collect();
    let mut response = json!({});
    // As the API does, a page without entries leaves the field out.
    if !page.is_empty() {
        response["entries"] = Value::Array(page);
    }
    if offset + size < entries.len() {
        response["nextPageToken"] = format!("EAA4yOe{}", offset + size).into();
    }
    Ok(response.to_string().into_bytes())
}

/// A row of the export's JSON in BigQuery's REST encoding (`{"f": [{"v": ...}]}`, scalars as
/// strings, TIMESTAMP as int64 microseconds with `useInt64Timestamp`).
fn encode_row(fields: &[Value], row: &Value) -> Value {
    let cells: Vec<Value> = fields
        .iter()
        .map(|field| json!({"v": encode_field(field, &row[field["name"].as_str().unwrap()])}))
        .collect();
    json!({"f": cells})
}

fn encode_field(field: &Value, value: &Value) -> Value {
    if field["mode"] == "REPEATED" {
        let items = value.as_array().cloned().unwrap_or_default();
        return Value::Array(
            items
                .iter()
                .map(|item| json!({"v": encode_value(field, item)}))
                .collect(),
        );
    }
    encode_value(field, value)
}

fn encode_value(field: &Value, value: &Value) -> Value {
    match (field["type"].as_str().unwrap(), value) {
        (_, Value::Null) => Value::Null,
        ("RECORD", _) => encode_row(field["fields"].as_array().unwrap(), value),
        ("TIMESTAMP", Value::String(text)) => {
            let time = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f UTC")
                .unwrap()
                .and_utc();
            Value::String(time.timestamp_micros().to_string())
        }
        ("FLOAT", Value::Number(n)) => Value::String(format!("{:?}", n.as_f64().unwrap())),
        (_, Value::String(text)) => Value::String(text.clone()),
        (_, other) => Value::String(other.to_string()),
    }
}

fn query_response(
    kind: &str,
    job_id: &str,
    rows: &[Value],
    page: usize,
    size: usize,
    complete: bool,
) -> Vec<u8> {
    let (schema, _) = billing_table();
    let reference = json!({"projectId": "example-billing", "jobId": job_id, "location": "US"});
    if !complete {
        return json!({"kind": kind, "jobReference": reference, "jobComplete": false})
            .to_string()
            .into_bytes();
    }
    let fields = schema["fields"].as_array().unwrap().clone();
    let encoded: Vec<Value> = rows
        .iter()
        .skip(page * size)
        .take(size)
        .map(|row| encode_row(&fields, row))
        .collect();
    let mut response = json!({
        "kind": kind,
        "schema": schema,
        "jobReference": reference,
        "totalRows": rows.len().to_string(),
        "jobComplete": true,
        "cacheHit": false,
        "totalBytesProcessed": "123456",
    });
    if !encoded.is_empty() {
        response["rows"] = Value::Array(encoded);
    }
    if (page + 1) * size < rows.len() {
        response["pageToken"] = format!("BE5FX3PAGE{}", page + 1).into();
    }
    response.to_string().into_bytes()
}

/// Rows a page the server hands out, whatever `maxResults` asks (BigQuery also caps pages
/// by size), so that the fixture spans several pages.
const BIGQUERY_PAGE: usize = 2;

fn bigquery(
    state: &mut State,
    method: &str,
    url: &str,
    body: &str,
) -> Result<Vec<u8>, (u16, Vec<u8>)> {
    let path = url.split('?').next().unwrap();
    let query = url.split_once('?').map_or("", |(_, q)| q);
    if method == "POST" && path == "/bigquery/v2/projects/example-billing/queries" {
        let request: Value = serde_json::from_str(body)
            .map_err(|_| (400, google_error(400, "INVALID_ARGUMENT", "bad JSON")))?;
        let bound = |name: &str| {
            let value = request["queryParameters"]
                .as_array()
                .and_then(|ps| ps.iter().find(|p| p["name"] == name))
                .map(|p| p["parameterValue"]["value"].as_str().unwrap().to_string())
                .unwrap();
            chrono::DateTime::parse_from_str(&value, "%Y-%m-%d %H:%M:%S%.f%:z").unwrap()
        };
        let (start, end) = (bound("start"), bound("end"));
        let request_id = request["requestId"].as_str().map(str::to_string);
        // A repeated requestId gets the same job, as BigQuery dedupes it.
        let existing = state
            .jobs
            .iter()
            .position(|job| request_id.is_some() && job.request_id == request_id);
        let index = match existing {
            Some(index) => index,
            None => {
                let (_, rows) = billing_table();
                let rows = rows
                    .into_iter()
                    .filter(|row| {
                        let text = row["usage_start_time"].as_str().unwrap();
                        let time =
                            chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f UTC")
                                .unwrap()
                                .and_utc();
                        time >= start && time < end
                    })
                    .collect();
                let polls_left = state.polls_before_done;
                state.jobs.push(Job {
                    rows,
                    polls_left,
                    request_id,
                });
                state.jobs.len() - 1
            }
        };
        let job = &mut state.jobs[index];
        let complete = job.polls_left == 0;
        return Ok(query_response(
            "bigquery#queryResponse",
            &format!("job_{index}"),
            &job.rows,
            0,
            BIGQUERY_PAGE,
            complete,
        ));
    }
    let job_path = path.strip_prefix("/bigquery/v2/projects/example-billing/queries/job_");
    if let (Some(index), "GET") = (job_path.and_then(|n| n.parse::<usize>().ok()), method) {
        let Some(job) = state.jobs.get_mut(index) else {
            return Err((404, google_error(404, "NOT_FOUND", "Not found: Job")));
        };
        let complete = if job.polls_left > 0 {
            job.polls_left -= 1;
            job.polls_left == 0
        } else {
            true
        };
        let page = query
            .split('&')
            .find_map(|p| p.strip_prefix("pageToken=BE5FX3PAGE"))
            .map_or(0, |n| n.parse().unwrap());
        return Ok(query_response(
            "bigquery#getQueryResultsResponse",
            &format!("job_{index}"),
            &job.rows,
            page,
            BIGQUERY_PAGE,
            complete,
        ));
    }
    Err((404, google_error(404, "NOT_FOUND", "no such method")))
}

/// An object the server's buckets hold (`tests/data/gcs-objects.json`).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct StoredObject {
    pub bucket: String,
    pub name: String,
    pub file: String,
    pub updated: String,
    pub generation: String,
}

pub fn stored_objects() -> Vec<StoredObject> {
    serde_json::from_value(data("gcs-objects.json")).unwrap()
}

pub fn object_bytes(object: &StoredObject) -> Vec<u8> {
    let path = format!("{}/gcs/{}", data_dir().display(), object.file);
    std::fs::read(path).unwrap()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else if bytes[i] == b'+' {
            out.push(b' ');
            i += 1;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

fn query_param(query: &str, name: &str) -> Option<String> {
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix(&format!("{name}=")))
        .map(percent_decode)
}

/// Objects a listing page: few, so that listing pages too.
const OBJECTS_PAGE: usize = 2;

/// `objects.list` (prefix, page token) and `objects.get` with `alt=media` (pinned generation).
fn storage(url: &str) -> Result<Vec<u8>, (u16, Vec<u8>)> {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let rest = path.strip_prefix("/storage/v1/b/").unwrap();
    let (bucket, object) = rest.split_once("/o").unwrap_or((rest, ""));
    let objects: Vec<StoredObject> = stored_objects()
        .into_iter()
        .filter(|o| o.bucket == bucket)
        .collect();
    if let Some(name) = object.strip_prefix('/') {
        let name = percent_decode(name);
        let generation = query_param(query, "generation");
        let found = objects
            .iter()
            .find(|o| o.name == name && Some(&o.generation) == generation.as_ref());
        return match (found, query_param(query, "alt").as_deref()) {
            (Some(object), Some("media")) => Ok(object_bytes(object)),
            _ => Err((404, google_error(404, "NOT_FOUND", "No such object"))),
        };
    }
    let prefix = query_param(query, "prefix").unwrap_or_default();
    let matching: Vec<&StoredObject> = objects
        .iter()
        .filter(|o| o.name.starts_with(&prefix))
        .collect();
    let offset: usize = query_param(query, "pageToken")
        .and_then(|t| t.strip_prefix("CgRnY3Mt").and_then(|n| n.parse().ok()))
        .unwrap_or(0);
    let items: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(OBJECTS_PAGE)
        .map(|o| {
            json!({
                "kind": "storage#object",
                "name": o.name,
                "bucket": o.bucket,
                "generation": o.generation,
                "size": object_bytes(o).len().to_string(),
                "updated": o.updated,
            })
        })
        .collect();
    let mut response = json!({"kind": "storage#objects"});
    if !items.is_empty() {
        response["items"] = Value::Array(items);
    }
    if offset + OBJECTS_PAGE < matching.len() {
        response["nextPageToken"] = format!("CgRnY3Mt{}", offset + OBJECTS_PAGE).into();
    }
    Ok(response.to_string().into_bytes())
}

/// The fixtures beside this module, also when the product's tests include it (`#[path]`) to
/// sweep what they pulled through it.
pub fn data_dir() -> std::path::PathBuf {
    let manifest = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let from_root = manifest.join("providers/gcp/tests/data");
    if from_root.is_dir() {
        from_root
    } else {
        manifest.join("tests/data")
    }
}
