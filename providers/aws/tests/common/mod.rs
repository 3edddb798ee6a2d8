//! What the AWS adapter's tests share: moto as a child process, a bare HTTP/1.0 client to seed
//! it, and a proxy in front of it that injects the conformance faults (moto cannot).
#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use auditsweep_source::conformance::Fault;
use auditsweep_source::{Page, Window};
use chrono::{TimeZone, Utc};

/// The keys every test signs with. moto accepts any; the values are checked to stay out of
/// logs and errors.
pub const KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
pub const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
pub const SESSION_TOKEN: &str = "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKENvalue0123456789";

/// Sets the environment variables the test configs name (the same values in every test, so
/// tests running at once agree).
pub fn credentials_env() -> serde_json::Value {
    // SAFETY of intent: every test of the binary writes the same three values.
    std::env::set_var("AUDITSWEEP_TEST_AWS_KEY_ID", KEY_ID);
    std::env::set_var("AUDITSWEEP_TEST_AWS_SECRET", SECRET);
    std::env::set_var("AUDITSWEEP_TEST_AWS_TOKEN", SESSION_TOKEN);
    serde_json::json!({
        "access_key_id_env": "AUDITSWEEP_TEST_AWS_KEY_ID",
        "secret_access_key_env": "AUDITSWEEP_TEST_AWS_SECRET",
        "session_token_env": "AUDITSWEEP_TEST_AWS_TOKEN",
    })
}

/// A window of whole days ending at the start of today (UTC), within LookupEvents' 90 days.
pub fn recent_window(days: i64) -> Window {
    let today = Utc::now().date_naive();
    let start = today - chrono::Duration::days(days);
    Window {
        start: Utc.from_utc_datetime(&start.and_hms_opt(0, 0, 0).unwrap()),
        end: Utc.from_utc_datetime(&today.and_hms_opt(0, 0, 0).unwrap()),
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// moto's server on a free 127.0.0.1 port, killed when dropped.
pub struct Moto {
    child: Child,
    pub port: u16,
}

impl Moto {
    pub fn start() -> Moto {
        let python = std::env::var("AUDITSWEEP_PYTHON").unwrap_or_else(|_| "python3".into());
        let importable = Command::new(&python)
            .args(["-c", "import moto.server, flask"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        assert!(
            importable,
            "moto's server is not importable by {python:?}. Install it as .ci/run does:\n  \
             python3 -m venv target/ci-venv && target/ci-venv/bin/pip install 'moto[server]==5.2.1'\n\
             and run the tests with AUDITSWEEP_PYTHON=$PWD/target/ci-venv/bin/python"
        );
        let port = free_port();
        let child = Command::new(&python)
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| panic!("starting {python} -m moto.server: {err}"));
        let mut moto = Moto { child, port };
        let started = Instant::now();
        loop {
            if let Ok((200, _, _)) = http(port, "GET", "/moto-api/", &[], b"") {
                return moto;
            }
            if let Ok(Some(status)) = moto.child.try_wait() {
                panic!("moto exited at start: {status}");
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "moto did not answer on 127.0.0.1:{port} within a minute"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub type Response = (u16, Vec<(String, String)>, Vec<u8>);

/// One HTTP/1.0 request (no keep-alive, no chunked answers), the answer read to its end.
pub fn http(
    port: u16,
    method: &str,
    target: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> std::io::Result<Response> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut head = format!("{method} {target} HTTP/1.0\r\n");
    let mut has_host = false;
    for (name, value) in headers {
        let lower = name.to_ascii_lowercase();
        if [
            "connection",
            "content-length",
            "transfer-encoding",
            "expect",
        ]
        .contains(&lower.as_str())
        {
            continue;
        }
        has_host |= lower == "host";
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !has_host {
        head.push_str(&format!("Host: 127.0.0.1:{port}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no end of headers"))?;
    let head = String::from_utf8_lossy(&answer[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::other("no status"))?;
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    Ok((status, headers, answer[split + 4..].to_vec()))
}

/// A request the proxy (or a fake) received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON request body")
    }
}

/// A fault's answer: status, content type, body.
pub type Reply = (u16, &'static str, String);

/// A proxy on 127.0.0.1 in front of `upstream` that logs every request and answers the page
/// requests (those `is_page` picks) with the queued faults first.
pub struct Proxy {
    pub url: String,
    faults: Arc<Mutex<VecDeque<Fault>>>,
    log: Arc<Mutex<Vec<Seen>>>,
}

impl Proxy {
    pub fn start(
        upstream: u16,
        is_page: impl Fn(&Seen) -> bool + Send + 'static,
        reply: impl Fn(&Fault) -> Reply + Send + 'static,
    ) -> Proxy {
        let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let url = format!("http://{}", server.server_addr());
        let faults = Arc::new(Mutex::new(VecDeque::new()));
        let log = Arc::new(Mutex::new(Vec::new()));
        let (queue, seen_log) = (faults.clone(), log.clone());
        std::thread::spawn(move || {
            for mut request in server.incoming_requests() {
                let mut body = Vec::new();
                let _ = request.as_reader().read_to_end(&mut body);
                let seen = Seen {
                    method: request.method().to_string(),
                    url: request.url().to_string(),
                    headers: request
                        .headers()
                        .iter()
                        .map(|h| (h.field.to_string(), h.value.to_string()))
                        .collect(),
                    body,
                };
                seen_log.lock().unwrap().push(seen.clone());
                let fault = if is_page(&seen) {
                    queue.lock().unwrap().pop_front().unwrap_or(Fault::Pass)
                } else {
                    Fault::Pass
                };
                let response = match fault {
                    Fault::Pass | Fault::Truncated => {
                        let (status, headers, mut body) =
                            http(upstream, &seen.method, &seen.url, &seen.headers, &seen.body)
                                .expect("moto answers");
                        if fault == Fault::Truncated {
                            body.truncate(body.len() / 2);
                        }
                        let mut response =
                            tiny_http::Response::from_data(body).with_status_code(status);
                        for (name, value) in headers {
                            let lower = name.to_ascii_lowercase();
                            if [
                                "content-length",
                                "transfer-encoding",
                                "connection",
                                "date",
                                "server",
                            ]
                            .contains(&lower.as_str())
                            {
                                continue;
                            }
                            // A cut object without a checksum the SDK could check (CloudTrail
                            // writes its log files without additional checksums): only the
                            // adapter's own check can see that it is not whole.
                            if fault == Fault::Truncated && lower.starts_with("x-amz-checksum-") {
                                continue;
                            }
                            if let Ok(header) = tiny_http::Header::from_bytes(name, value) {
                                response.add_header(header);
                            }
                        }
                        response
                    }
                    fault => {
                        let (status, content_type, body) = reply(&fault);
                        tiny_http::Response::from_string(body)
                            .with_status_code(status)
                            .with_header(
                                tiny_http::Header::from_bytes("Content-Type", content_type)
                                    .unwrap(),
                            )
                    }
                };
                let _ = request.respond(response);
            }
        });
        Proxy { url, faults, log }
    }

    pub fn inject(&self, faults: Vec<Fault>) {
        self.faults.lock().unwrap().extend(faults);
    }

    /// The requests so far, and forgets them.
    pub fn take(&self) -> Vec<Seen> {
        std::mem::take(&mut *self.log.lock().unwrap())
    }
}

/// AWS's JSON-protocol errors (CloudTrail, Cost Explorer) for a fault. AWS sends no
/// `Retry-After` with throttling, so neither do these.
pub fn json_fault(throttling_code: &'static str) -> impl Fn(&Fault) -> Reply {
    move |fault| {
        let (status, code, message) = match fault {
            Fault::Throttle { .. } => (400, throttling_code, "Rate exceeded"),
            Fault::ExpiredToken => (
                400,
                "ExpiredTokenException",
                "The security token included in the request is expired",
            ),
            _ => (
                500,
                "InternalFailure",
                "The request processing has failed because of an unknown error, exception or failure.",
            ),
        };
        let body = serde_json::json!({"__type": code, "message": message}).to_string();
        (status, "application/x-amz-json-1.1", body)
    }
}

/// The ids in a page whose bytes hold CloudTrail records, in any of the shapes handed over.
pub fn event_ids(page: &Page) -> Vec<String> {
    let text = if page.bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&page.bytes[..])
            .read_to_end(&mut out)
            .expect("a whole gzip object");
        out
    } else {
        page.bytes.clone()
    };
    let value: serde_json::Value = serde_json::from_slice(&text).expect("a JSON page");
    if let Some(events) = value["Events"].as_array() {
        return events
            .iter()
            .map(|event| {
                let record: serde_json::Value =
                    serde_json::from_str(event["CloudTrailEvent"].as_str().unwrap()).unwrap();
                record["eventID"].as_str().unwrap().to_string()
            })
            .collect();
    }
    value["Records"]
        .as_array()
        .expect("Records")
        .iter()
        .map(|record| record["eventID"].as_str().unwrap().to_string())
        .collect()
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// The test records, from `tests/data/cloudtrail-records.json`.
pub fn records() -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/cloudtrail-records.json"
    ))
    .unwrap();
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    value["Records"].as_array().unwrap().clone()
}
