//! A local HTTPS server on 127.0.0.1 playing Entra ID's token endpoint, Resource Manager and
//! Microsoft Graph: it replays the documented pages in `tests/data/` (`{{next}}` becomes a link
//! back to itself), checks bearer tokens and their audience, records every request, and plays
//! the faults the conformance test asks for. HTTPS because azure_identity refuses an authority
//! that is not; its certificate is made at start, by a CA the adapter trusts through
//! `endpoints.ca_file`.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use auditsweep_source::conformance::Fault;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Bytes, Frame, Incoming};
use hyper::{Request, Response};
use serde_json::{json, Value};

pub const MANAGEMENT_SCOPE: &str = "https://management.azure.com/.default";
pub const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";
pub const TENANT: &str = "7d3b4b5e-1f2a-4c3d-9e8f-0a1b2c3d4e5f";
pub const CLIENT: &str = "0b5e3a1f-0000-4000-8000-0000000000c1";
pub const SECRET: &str = "Qx8~client-secret-for-tests-0123456789";
pub const SUBSCRIPTION: &str = "5f2c8a61-3d4e-4b7a-9c1d-2e3f4a5b6c7d";

/// One request the server saw (token requests keep their form without the secret).
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    /// Decoded query parameters.
    pub query: BTreeMap<String, String>,
    pub body: String,
    pub bearer: Option<String>,
}

#[derive(Default)]
pub struct State {
    /// Token -> (audience, refused as expired).
    pub tokens: HashMap<String, (String, bool)>,
    pub issued: Vec<String>,
    /// Token requests: the form, `client_secret` and `client_assertion` included.
    pub token_requests: Vec<BTreeMap<String, String>>,
    pub requests: Vec<Seen>,
    pub faults: VecDeque<Fault>,
    /// The assertion a workload identity must present.
    pub assertion: Option<String>,
    /// Pages still to cut off mid-body: the connection closes before the announced length.
    pub cut: u32,
}

pub struct Server {
    pub base: String,
    pub state: Arc<Mutex<State>>,
    ca: tempfile::NamedTempFile,
}

impl Server {
    pub async fn start() -> Server {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let leaf_key = rcgen::KeyPair::generate().unwrap();
        let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
            .unwrap()
            .signed_by(&leaf_key, &issuer)
            .unwrap();
        let ca = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(ca.path(), ca_cert.pem()).unwrap();
        let tls = tokio_rustls::rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(
                vec![leaf.der().clone()],
                tokio_rustls::rustls::pki_types::PrivateKeyDer::Pkcs8(
                    leaf_key.serialize_der().into(),
                ),
            )
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("https://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State::default()));
        let (shared, origin) = (state.clone(), base.clone());
        tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                let (acceptor, state, origin) = (acceptor.clone(), shared.clone(), origin.clone());
                tokio::spawn(async move {
                    let Ok(stream) = acceptor.accept(socket).await else {
                        return;
                    };
                    let service = hyper::service::service_fn(move |request| {
                        let (state, origin) = (state.clone(), origin.clone());
                        async move {
                            Ok::<_, std::convert::Infallible>(
                                handle(request, &state, &origin).await,
                            )
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Server { base, state, ca }
    }

    pub fn ca_file(&self) -> PathBuf {
        self.ca.path().to_path_buf()
    }

    pub fn inject(&self, faults: Vec<Fault>) {
        self.state.lock().unwrap().faults = faults.into();
    }

    /// API requests (not token requests) seen so far.
    pub fn requests(&self) -> Vec<Seen> {
        self.state.lock().unwrap().requests.clone()
    }

    pub fn token_requests(&self) -> Vec<BTreeMap<String, String>> {
        self.state.lock().unwrap().token_requests.clone()
    }

    pub fn issued(&self) -> Vec<String> {
        self.state.lock().unwrap().issued.clone()
    }
}

/// Which API a path is, its audience, and the fixture prefix.
#[derive(Clone, Copy, PartialEq)]
enum Api {
    ActivityLog,
    SignIns,
    DirectoryAudits,
    Cost,
}

impl Api {
    fn of(path: &str) -> Option<Api> {
        if path.ends_with("/providers/Microsoft.Insights/eventtypes/management/values") {
            Some(Api::ActivityLog)
        } else if path == "/v1.0/auditLogs/signIns" {
            Some(Api::SignIns)
        } else if path == "/v1.0/auditLogs/directoryAudits" {
            Some(Api::DirectoryAudits)
        } else if path.ends_with("/providers/Microsoft.CostManagement/query") {
            Some(Api::Cost)
        } else {
            None
        }
    }

    fn graph(self) -> bool {
        matches!(self, Api::SignIns | Api::DirectoryAudits)
    }

    fn prefix(self) -> &'static str {
        match self {
            Api::ActivityLog => "activity-log",
            Api::SignIns => "signins",
            Api::DirectoryAudits => "directory-audits",
            Api::Cost => "cost",
        }
    }
}

type Reply = BoxBody<Bytes, std::io::Error>;

/// A body that sends its first half and then breaks the connection, as a dropped link does.
/// It waits a moment between the two, so the half is on the wire before the break.
struct CutOff {
    half: Option<Bytes>,
    waited: bool,
}

impl Body for CutOff {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        context: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        if let Some(half) = self.half.take() {
            return std::task::Poll::Ready(Some(Ok(Frame::data(half))));
        }
        if !self.waited {
            self.waited = true;
            let waker = context.waker().clone();
            tokio::spawn(async move {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                waker.wake();
            });
            return std::task::Poll::Pending;
        }
        std::task::Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "cut off",
        ))))
    }
}

fn answer(status: u16, headers: &[(&str, String)], body: impl Into<Bytes>) -> Response<Reply> {
    let mut response = Response::builder()
        .status(status)
        .header("content-type", "application/json; charset=utf-8");
    for (name, value) in headers {
        response = response.header(*name, value);
    }
    response
        .body(
            Full::new(body.into())
                .map_err(|never| match never {})
                .boxed(),
        )
        .unwrap()
}

fn error(status: u16, code: &str, message: &str) -> Response<Reply> {
    let body = json!({"error": {"code": code, "message": message}}).to_string();
    answer(status, &[], body)
}

async fn handle(request: Request<Incoming>, state: &Mutex<State>, origin: &str) -> Response<Reply> {
    let method = request.method().to_string();
    let path = request.uri().path().to_string();
    let raw_query = request.uri().query().unwrap_or("").to_string();
    let query: BTreeMap<String, String> = url::form_urlencoded::parse(raw_query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let bearer = request
        .headers()
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::to_string);
    let identity_header = request
        .headers()
        .get("x-identity-header")
        .and_then(|value| value.to_str().ok())
        .map(str::to_string);
    let body = request.into_body().collect().await.unwrap().to_bytes();
    let body = String::from_utf8_lossy(&body).into_owned();

    if method == "POST" && path.ends_with("/oauth2/v2.0/token") {
        return token(state, &path, &body);
    }
    if method == "GET" && path == "/msi/token" {
        return managed_identity(state, query, identity_header);
    }
    let Some(api) = Api::of(&path) else {
        return error(404, "NotFound", "no such route");
    };
    let mut state = state.lock().unwrap();
    state.requests.push(Seen {
        method: method.clone(),
        path: path.clone(),
        query: query.clone(),
        body: body.clone(),
        bearer: bearer.clone(),
    });
    // The bearer must be one the token endpoint issued, for this API's audience, not expired.
    let audience = if api.graph() {
        GRAPH_SCOPE
    } else {
        MANAGEMENT_SCOPE
    };
    let known = bearer
        .as_ref()
        .and_then(|token| state.tokens.get(token))
        .cloned();
    match known {
        None => {
            return error(
                401,
                "InvalidAuthenticationToken",
                "The access token is invalid.",
            )
        }
        Some((scope, _)) if scope != audience => {
            return error(
                401,
                "InvalidAuthenticationToken",
                "Access token validation failure. Invalid audience.",
            )
        }
        Some((_, true)) => return expired(api),
        Some(_) => {}
    }
    let fault = state.faults.pop_front().unwrap_or(Fault::Pass);
    match fault {
        Fault::Pass | Fault::Truncated => {}
        Fault::Throttle { retry_after_secs } => {
            let body = json!({"error": {"code": "TooManyRequests", "message": "Too many requests, retry after some time."}}).to_string();
            // Cost Management names its wait in its own header and sends no Retry-After.
            let header = if api == Api::Cost {
                "x-ms-ratelimit-microsoft.costmanagement-qpu-retry-after"
            } else {
                "retry-after"
            };
            return answer(429, &[(header, retry_after_secs.to_string())], body);
        }
        Fault::ServerError => {
            return error(
                500,
                "InternalServerError",
                "Encountered internal server error.",
            )
        }
        Fault::ExpiredToken => {
            let token = bearer.unwrap();
            state.tokens.get_mut(&token).unwrap().1 = true;
            return expired(api);
        }
    }
    let page = match page(api, &path, &query, &body, origin) {
        Ok(page) => page,
        Err(why) => return error(400, "BadRequest", why),
    };
    if state.cut > 0 {
        state.cut -= 1;
        let half = Bytes::copy_from_slice(&page.as_bytes()[..page.len() / 2]);
        return Response::builder()
            .status(200)
            .header("content-type", "application/json; charset=utf-8")
            .header("content-length", page.len())
            .body(
                CutOff {
                    half: Some(half),
                    waited: false,
                }
                .boxed(),
            )
            .unwrap();
    }
    if fault == Fault::Truncated {
        return answer(200, &[], page.as_bytes()[..page.len() / 2].to_vec());
    }
    answer(200, &[], page)
}

/// Resource Manager and Graph say "expired" in their own words.
fn expired(api: Api) -> Response<Reply> {
    if api.graph() {
        error(
            401,
            "InvalidAuthenticationToken",
            "Lifetime validation failed, the token is expired.",
        )
    } else {
        error(401, "ExpiredAuthenticationToken", "The access token expiry UTC time '11/1/2026 9:00:00 AM' is earlier than current UTC time '11/1/2026 10:00:00 AM'.")
    }
}

/// The secret App Service puts in `IDENTITY_HEADER` for its managed identity endpoint.
pub const IDENTITY_HEADER: &str = "identity-header-for-tests-6f1c";

/// App Service's managed identity endpoint (`IDENTITY_ENDPOINT`): `GET ?api-version=2019-08-01
/// &resource=...` with `X-IDENTITY-HEADER`, answering an MSI token (`expires_on` as text).
fn managed_identity(
    state: &Mutex<State>,
    mut query: BTreeMap<String, String>,
    header: Option<String>,
) -> Response<Reply> {
    let mut state = state.lock().unwrap();
    query.insert(
        "x-identity-header".into(),
        header.clone().unwrap_or_default(),
    );
    state.token_requests.push(query.clone());
    if header.as_deref() != Some(IDENTITY_HEADER) {
        return error(
            401,
            "Unauthorized",
            "the identity header is missing or wrong",
        );
    }
    let resource = query.get("resource").cloned().unwrap_or_default();
    let token = format!(
        "eyJ0eXAiOiJKV1Qi.test-access-token-{}",
        state.issued.len() + 1
    );
    state
        .tokens
        .insert(token.clone(), (format!("{resource}/.default"), false));
    state.issued.push(token.clone());
    let expires_on = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    let body = json!({"access_token": token, "expires_on": expires_on.to_string(), "resource": resource, "token_type": "Bearer"});
    answer(200, &[], body.to_string())
}

/// The client-credentials grant (a secret, or a workload identity's assertion).
fn token(state: &Mutex<State>, path: &str, body: &str) -> Response<Reply> {
    let form: BTreeMap<String, String> = url::form_urlencoded::parse(body.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut state = state.lock().unwrap();
    state.token_requests.push(form.clone());
    let tenant = path.trim_start_matches('/').split('/').next().unwrap_or("");
    let secret_ok = form.get("client_secret").map(String::as_str) == Some(SECRET);
    let assertion_ok =
        state.assertion.is_some() && form.get("client_assertion") == state.assertion.as_ref();
    if tenant != TENANT
        || form.get("client_id").map(String::as_str) != Some(CLIENT)
        || !(secret_ok || assertion_ok)
    {
        let body = json!({
            "error": "invalid_client",
            "error_description": "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.",
            "error_codes": [7000215],
            "timestamp": "2026-11-01 10:00:00Z",
            "trace_id": "0b5e3a1f-0000-4000-8000-00000000aaaa",
            "correlation_id": "0b5e3a1f-0000-4000-8000-00000000bbbb",
        });
        return answer(401, &[], body.to_string());
    }
    let scope = form.get("scope").cloned().unwrap_or_default();
    let token = format!(
        "eyJ0eXAiOiJKV1Qi.test-access-token-{}",
        state.issued.len() + 1
    );
    state.tokens.insert(token.clone(), (scope, false));
    state.issued.push(token.clone());
    let body = json!({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token});
    answer(200, &[], body.to_string())
}

pub fn data(name: &str) -> Option<String> {
    std::fs::read_to_string(data_dir().join(name)).ok()
}

/// The fixtures beside this module, also when the product's tests include it (`#[path]`) to
/// sweep what they pulled through it.
pub fn data_dir() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let from_root = manifest.join("providers/azure/tests/data");
    if from_root.is_dir() {
        from_root
    } else {
        manifest.join("tests/data")
    }
}

/// The fixture page a request asks for: named by `$skiptoken` on later pages, by the day (or,
/// for cost, the month) of the query on the first. A day without fixtures is an empty page.
fn page(
    api: Api,
    path: &str,
    query: &BTreeMap<String, String>,
    body: &str,
    origin: &str,
) -> Result<String, &'static str> {
    let name = match query.get("$skiptoken") {
        Some(token) => token.clone(),
        None => {
            let period = match api {
                Api::Cost => {
                    let body: Value =
                        serde_json::from_str(body).map_err(|_| "the body is not JSON")?;
                    body["timePeriod"]["from"]
                        .as_str()
                        .unwrap_or("")
                        .get(..7)
                        .unwrap_or("")
                        .to_string()
                }
                _ => {
                    let filter = query.get("$filter").ok_or("$filter is required")?;
                    let at = filter.find(" ge ").map(|i| i + 4).unwrap_or(0);
                    filter[at..]
                        .trim_start_matches('\'')
                        .get(..10)
                        .unwrap_or("")
                        .to_string()
                }
            };
            format!("{}.{period}.1", api.prefix())
        }
    };
    let Some(text) = data(&format!("{name}.json")) else {
        return Ok(match api {
            Api::Cost => {
                json!({"properties": {"nextLink": null, "columns": [], "rows": []}}).to_string()
            }
            _ => json!({"value": []}).to_string(),
        });
    };
    let (stem, n) = name.rsplit_once('.').unwrap();
    let next_token = format!("{stem}.{}", n.parse::<u32>().unwrap() + 1);
    let mut pairs: Vec<(String, String)> = query
        .iter()
        .filter(|(key, _)| *key != "$skiptoken")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    pairs.push(("$skiptoken".into(), next_token));
    let encoded: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    Ok(text.replace("{{next}}", &format!("{origin}{path}?{encoded}")))
}
