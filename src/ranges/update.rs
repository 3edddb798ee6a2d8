//! `auditsweep ranges update`: fetch the official range lists into the cache directory.
//!
//! The sources are one table, [`SOURCES`]; each can be pointed elsewhere (`NAME=URL`, e.g. a
//! mirror, or a local server in tests). Every download is validated by loading it with the same
//! loader the detectors use, and must come out in the format the table expects, before it
//! replaces the cached file; the replacement is atomic (temp file in the same directory, then
//! rename), so a failed or interrupted update leaves the previous list in place.
//!
//! Lists fetched over anything but HTTPS could be altered on the way, so plain `http://` is
//! refused except to a loopback address, and redirects are held to the same rule.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use super::{FileReport, HostingRanges, ListFormat, RangeError};

/// One list that has a stable official URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source {
    /// Name used on the command line (`--source aws=URL`) and in reports.
    pub name: &'static str,
    pub url: &'static str,
    /// File written in the cache directory; for geofeeds its first word is the provider name.
    pub file_name: &'static str,
    /// The format the download must have.
    pub format: ListFormat,
}

/// The official lists `ranges update` fetches.
pub static SOURCES: &[Source] = &[
    Source {
        name: "aws",
        url: "https://ip-ranges.amazonaws.com/ip-ranges.json",
        file_name: "aws-ip-ranges.json",
        format: ListFormat::AwsIpRanges,
    },
    Source {
        name: "gcp",
        url: "https://www.gstatic.com/ipranges/cloud.json",
        file_name: "gcp-cloud.json",
        format: ListFormat::GcpCloud,
    },
    Source {
        name: "oracle",
        url: "https://docs.oracle.com/iaas/tools/public_ip_ranges.json",
        file_name: "oracle-cloud.json",
        format: ListFormat::OracleCloud,
    },
    Source {
        name: "digitalocean",
        url: "https://www.digitalocean.com/geo/google.csv",
        file_name: "digitalocean-geofeed.csv",
        format: ListFormat::Geofeed,
    },
    Source {
        name: "linode",
        url: "https://geoip.linode.com/",
        file_name: "linode-geofeed.csv",
        format: ListFormat::Geofeed,
    },
];

/// Lists without a stable URL: the user downloads them and drops them into the directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ManualList {
    pub provider: &'static str,
    pub file_name: &'static str,
    pub how: &'static str,
}

pub static MANUAL_LISTS: &[ManualList] = &[
    ManualList {
        provider: "azure",
        file_name: "azure-service-tags.json",
        how: "\"Azure IP Ranges and Service Tags - Public Cloud\" from the Microsoft Download \
              Center (its file URL changes every week)",
    },
    ManualList {
        provider: "hetzner",
        file_name: "hetzner.txt",
        how: "the prefixes announced by AS24940 and AS37153, one CIDR per line",
    },
    ManualList {
        provider: "ovh",
        file_name: "ovh.txt",
        how: "the prefixes announced by AS16276 and AS35540, one CIDR per line",
    },
    ManualList {
        provider: "vultr",
        file_name: "vultr.txt",
        how: "Vultr's geofeed (geofeed.constant.com), or its prefixes one CIDR per line",
    },
];

/// Largest download accepted (the Azure list, the largest, is about 4 MB).
pub const MAX_LIST_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error("unknown source {name:?}; the sources are: {known}")]
    UnknownSource { name: String, known: String },
    #[error("{arg:?}: expected NAME=URL, e.g. aws=https://mirror.example/ip-ranges.json")]
    BadOverride { arg: String },
    #[error("{url}: not a URL: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("{url}: refusing a plain-http URL; range lists are fetched over https (http only to localhost)")]
    InsecureUrl { url: String },
    #[error("cannot set up the HTTP client: {source}")]
    Client {
        #[source]
        source: reqwest::Error,
    },
    /// The download failed before an answer came; `cause` says why, `detail` is the innermost
    /// error's message (`Connection refused (os error 111)`).
    #[error("{url}: {cause}: {detail}")]
    Request {
        url: String,
        cause: FetchCause,
        detail: String,
    },
    #[error("{url}: server answered HTTP {status}{}", status_reason(*.status))]
    Status { url: String, status: u16 },
    #[error("{url}: reading the response failed: {source}")]
    Read {
        url: String,
        #[source]
        source: io::Error,
    },
    #[error("{url}: response larger than {limit} bytes")]
    TooLarge { url: String, limit: u64 },
    #[error("{url}: not a usable range list: {source}")]
    Invalid {
        url: String,
        #[source]
        source: RangeError,
    },
    #[error("{url}: expected {expected}, got {found}")]
    WrongFormat {
        url: String,
        expected: ListFormat,
        found: ListFormat,
    },
    #[error("{path}: cannot write: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// Why a download got no answer, so the user knows whether to look at DNS, the server, a proxy
/// or a TLS-intercepting middlebox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchCause {
    NameResolution,
    Refused,
    Tls,
    Timeout,
    /// A connection failure of another kind (unreachable network, reset).
    Connect,
    Other,
}

impl std::fmt::Display for FetchCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FetchCause::NameResolution => "name resolution failed",
            FetchCause::Refused => "connection refused",
            FetchCause::Tls => "TLS failed",
            FetchCause::Timeout => "timed out",
            FetchCause::Connect => "cannot connect",
            FetchCause::Other => "request failed",
        })
    }
}

fn status_reason(status: u16) -> String {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|code| code.canonical_reason())
        .map_or_else(String::new, |reason| format!(" {reason}"))
}

/// The errors under `err`, outermost first. An `io::Error` wrapping another error reports that
/// error's source as its own, so the wrapped error is listed explicitly.
fn error_chain<'e>(
    err: &'e (dyn std::error::Error + 'static),
) -> Vec<&'e (dyn std::error::Error + 'static)> {
    let mut chain = Vec::new();
    let mut next = Some(err);
    while let Some(current) = next {
        chain.push(current);
        let inner = current
            .downcast_ref::<io::Error>()
            .and_then(|io| io.get_ref())
            .map(|inner| inner as &(dyn std::error::Error + 'static));
        next = match inner {
            Some(inner) => Some(inner),
            None => current.source(),
        };
    }
    chain
}

/// What went wrong in a request that got no answer. hyper names a failed lookup `dns error`
/// (for the system resolver and any other); TLS errors are rustls's, wrapped in `io::Error`.
pub fn classify(err: &(dyn std::error::Error + 'static)) -> FetchCause {
    let chain = error_chain(err);
    let io_kind = |kind: io::ErrorKind| {
        chain.iter().any(|e| {
            e.downcast_ref::<io::Error>()
                .is_some_and(|io| io.kind() == kind)
        })
    };
    let reqwest_err = chain
        .iter()
        .find_map(|e| e.downcast_ref::<reqwest::Error>());
    if chain.iter().any(|e| e.to_string() == "dns error") {
        FetchCause::NameResolution
    } else if chain.iter().any(|e| e.is::<rustls::Error>()) {
        FetchCause::Tls
    } else if io_kind(io::ErrorKind::ConnectionRefused) {
        FetchCause::Refused
    } else if io_kind(io::ErrorKind::TimedOut) || reqwest_err.is_some_and(|e| e.is_timeout()) {
        FetchCause::Timeout
    } else if reqwest_err.is_some_and(|e| e.is_connect()) {
        FetchCause::Connect
    } else {
        FetchCause::Other
    }
}

/// The innermost message: the one that says what happened (`Connection refused (os error
/// 111)`), where the outer ones say what was being done.
fn root_message(err: &(dyn std::error::Error + 'static)) -> String {
    error_chain(err)
        .last()
        .map_or_else(String::new, |root| root.to_string())
}

/// `NAME=URL` from the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceOverride {
    pub name: String,
    pub url: String,
}

impl FromStr for SourceOverride {
    type Err = UpdateError;

    fn from_str(arg: &str) -> Result<Self, Self::Err> {
        match arg.split_once('=') {
            Some((name, url)) if !name.trim().is_empty() && !url.trim().is_empty() => {
                Ok(SourceOverride {
                    name: name.trim().to_owned(),
                    url: url.trim().to_owned(),
                })
            }
            _ => Err(UpdateError::BadOverride {
                arg: arg.to_owned(),
            }),
        }
    }
}

/// A source with its URL after overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedSource {
    pub name: &'static str,
    pub url: String,
    pub file_name: &'static str,
    pub format: ListFormat,
}

/// [`SOURCES`] with `overrides` applied; an override naming no source is an error.
pub fn plan_sources(overrides: &[SourceOverride]) -> Result<Vec<PlannedSource>, UpdateError> {
    for wanted in overrides {
        if !SOURCES.iter().any(|source| source.name == wanted.name) {
            let known: Vec<&str> = SOURCES.iter().map(|source| source.name).collect();
            return Err(UpdateError::UnknownSource {
                name: wanted.name.clone(),
                known: known.join(", "),
            });
        }
    }
    Ok(SOURCES
        .iter()
        .map(|source| {
            let url = overrides
                .iter()
                .rev()
                .find(|wanted| wanted.name == source.name)
                .map_or(source.url, |wanted| wanted.url.as_str());
            PlannedSource {
                name: source.name,
                url: url.to_owned(),
                file_name: source.file_name,
                format: source.format,
            }
        })
        .collect())
}

/// What updating one source did.
#[derive(Debug)]
pub struct SourceOutcome {
    pub name: &'static str,
    pub url: String,
    /// The cached file (written on success, untouched on failure).
    pub path: PathBuf,
    pub result: Result<Updated, UpdateError>,
}

#[derive(Debug)]
pub struct Updated {
    pub bytes: usize,
    pub report: FileReport,
    /// Prefixes the new list gives after dropping and merging.
    pub prefixes: usize,
}

/// Fetches and installs range lists.
pub struct Updater {
    client: reqwest::blocking::Client,
}

impl Updater {
    pub fn new() -> Result<Self, UpdateError> {
        Self::from_builder(reqwest::blocking::Client::builder())
    }

    fn from_builder(builder: reqwest::blocking::ClientBuilder) -> Result<Self, UpdateError> {
        let redirects = reqwest::redirect::Policy::custom(|attempt| {
            if attempt.previous().len() >= 10 {
                attempt.error("too many redirects")
            } else if url_is_allowed(attempt.url()) {
                attempt.follow()
            } else {
                attempt.error("redirected to a plain-http URL")
            }
        });
        let client = builder
            .user_agent(concat!("auditsweep/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(20))
            .timeout(Duration::from_secs(120))
            .redirect(redirects)
            .build()
            .map_err(|source| UpdateError::Client { source })?;
        Ok(Updater { client })
    }

    /// Update every source into `dir` (created if missing); one failure does not stop the rest.
    pub fn update_all(&self, dir: &Path, sources: &[PlannedSource]) -> Vec<SourceOutcome> {
        sources
            .iter()
            .map(|source| {
                let path = dir.join(source.file_name);
                tracing::info!(source = source.name, url = %source.url, "Fetching range list");
                let result = self.update_one(source, &path);
                SourceOutcome {
                    name: source.name,
                    url: source.url.clone(),
                    path,
                    result,
                }
            })
            .collect()
    }

    fn update_one(&self, source: &PlannedSource, path: &Path) -> Result<Updated, UpdateError> {
        let body = self.fetch(&source.url)?;
        let mut ranges = HostingRanges::new();
        let report = ranges
            .add_bytes(path, &body)
            .map_err(|err| UpdateError::Invalid {
                url: source.url.clone(),
                source: err,
            })?;
        if report.format != source.format {
            return Err(UpdateError::WrongFormat {
                url: source.url.clone(),
                expected: source.format,
                found: report.format,
            });
        }
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(|err| UpdateError::Write {
                path: dir.to_owned(),
                source: err,
            })?;
        }
        crate::output::write(path, &body).map_err(|err| UpdateError::Write {
            path: path.to_owned(),
            source: err,
        })?;
        Ok(Updated {
            bytes: body.len(),
            prefixes: ranges.len(),
            report,
        })
    }

    fn fetch(&self, url: &str) -> Result<Vec<u8>, UpdateError> {
        let parsed = reqwest::Url::parse(url).map_err(|err| UpdateError::BadUrl {
            url: url.to_owned(),
            reason: err.to_string(),
        })?;
        if !url_is_allowed(&parsed) {
            return Err(UpdateError::InsecureUrl {
                url: url.to_owned(),
            });
        }
        let response = self
            .client
            .get(parsed)
            .send()
            .map_err(|err| UpdateError::Request {
                url: url.to_owned(),
                cause: classify(&err),
                detail: root_message(&err),
            })?;
        let status = response.status();
        if !status.is_success() {
            return Err(UpdateError::Status {
                url: url.to_owned(),
                status: status.as_u16(),
            });
        }
        let mut body = Vec::new();
        response
            .take(MAX_LIST_BYTES + 1)
            .read_to_end(&mut body)
            .map_err(|source| UpdateError::Read {
                url: url.to_owned(),
                source,
            })?;
        if body.len() as u64 > MAX_LIST_BYTES {
            return Err(UpdateError::TooLarge {
                url: url.to_owned(),
                limit: MAX_LIST_BYTES,
            });
        }
        Ok(body)
    }
}

/// HTTPS anywhere; plain HTTP only to a loopback host (a local mirror or a test server).
pub fn url_is_allowed(url: &reqwest::Url) -> bool {
    match url.scheme() {
        "https" => true,
        "http" => url.host_str().is_some_and(is_loopback_host),
        _ => false,
    }
}

fn is_loopback_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_replace_one_url_and_unknown_names_are_rejected() {
        let overrides = vec!["aws=http://127.0.0.1:9/aws.json"
            .parse::<SourceOverride>()
            .unwrap()];
        let plan = plan_sources(&overrides).unwrap();
        assert_eq!(plan.len(), SOURCES.len());
        assert_eq!(plan[0].url, "http://127.0.0.1:9/aws.json");
        assert_eq!(plan[1].url, SOURCES[1].url);
        let unknown = vec!["azure=https://example.com/x.json"
            .parse::<SourceOverride>()
            .unwrap()];
        assert!(matches!(
            plan_sources(&unknown),
            Err(UpdateError::UnknownSource { .. })
        ));
        assert!("aws".parse::<SourceOverride>().is_err());
        assert!("=https://x".parse::<SourceOverride>().is_err());
    }

    #[test]
    fn official_sources_are_https_and_unique() {
        for (at, source) in SOURCES.iter().enumerate() {
            let url = reqwest::Url::parse(source.url).unwrap();
            assert_eq!(url.scheme(), "https", "{}", source.name);
            assert!(SOURCES[..at].iter().all(|other| other.name != source.name));
            assert!(SOURCES[..at]
                .iter()
                .all(|other| other.file_name != source.file_name));
        }
    }

    #[test]
    fn plain_http_is_allowed_only_to_loopback() {
        let allowed = |url: &str| url_is_allowed(&reqwest::Url::parse(url).unwrap());
        assert!(allowed("https://ip-ranges.amazonaws.com/ip-ranges.json"));
        assert!(allowed("http://127.0.0.1:8080/x.json"));
        assert!(allowed("http://[::1]:8080/x.json"));
        assert!(allowed("http://localhost/x.json"));
        assert!(!allowed("http://ip-ranges.amazonaws.com/ip-ranges.json"));
        assert!(!allowed("http://10.0.0.1/x.json"));
        assert!(!allowed("ftp://127.0.0.1/x.json"));
    }

    #[test]
    fn atomic_write_replaces_the_file_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("aws-ip-ranges.json");
        fs::write(&path, b"old").unwrap();
        crate::output::write(&path, b"new").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("aws-ip-ranges.json")]);
    }

    #[test]
    fn atomic_write_into_a_missing_directory_fails_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("x.json");
        assert!(crate::output::write(&path, b"new").is_err());
        assert!(!path.exists());
    }

    fn request_cause(updater: &Updater, url: &str) -> (FetchCause, String) {
        match updater.fetch(url) {
            Err(UpdateError::Request { cause, detail, .. }) => (cause, detail),
            other => panic!("{url}: expected a failed request, got {other:?}"),
        }
    }

    fn local_updater() -> Updater {
        Updater::from_builder(reqwest::blocking::Client::builder().no_proxy()).unwrap()
    }

    #[test]
    fn a_refused_connection_is_named_with_the_url() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let url = format!("http://127.0.0.1:{port}/ip-ranges.json");
        let (cause, detail) = request_cause(&local_updater(), &url);
        assert_eq!(cause, FetchCause::Refused, "{detail}");
        let err = local_updater().fetch(&url).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("{url}: connection refused: ")),
            "{err}"
        );
    }

    /// A resolver that knows no name, as for `nonexistent.invalid` (RFC 6761), without asking DNS.
    struct NoNames;

    impl reqwest::dns::Resolve for NoNames {
        fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
            let message = format!("no address for {}", name.as_str());
            Box::pin(async move { Err(message.into()) })
        }
    }

    #[test]
    fn a_name_that_does_not_resolve_is_a_name_resolution_failure() {
        let builder = reqwest::blocking::Client::builder()
            .no_proxy()
            .dns_resolver(std::sync::Arc::new(NoNames));
        let updater = Updater::from_builder(builder).unwrap();
        let url = "https://nonexistent.invalid/ip-ranges.json";
        let (cause, detail) = request_cause(&updater, url);
        assert_eq!(cause, FetchCause::NameResolution);
        assert_eq!(detail, "no address for nonexistent.invalid");
    }

    #[test]
    fn https_to_a_plain_http_server_is_a_tls_failure() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            use std::io::Write;
            if let Ok((mut stream, _)) = listener.accept() {
                let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
            }
        });
        let url = format!("https://{addr}/ip-ranges.json");
        let (cause, detail) = request_cause(&local_updater(), &url);
        server.join().unwrap();
        assert_eq!(cause, FetchCause::Tls, "{detail}");
    }

    #[test]
    fn other_failures_are_not_mistaken_for_the_named_causes() {
        let plain = io::Error::other("something else");
        assert_eq!(classify(&plain), FetchCause::Other);
        let timed_out = io::Error::new(io::ErrorKind::TimedOut, "slow");
        assert_eq!(classify(&timed_out), FetchCause::Timeout);
        let refused = io::Error::new(io::ErrorKind::ConnectionRefused, "no");
        assert_eq!(classify(&io::Error::other(refused)), FetchCause::Refused);
        assert_eq!(status_reason(503), " Service Unavailable");
        assert_eq!(status_reason(599), "");
    }
}
