//! Why a range list, or a directory of them, could not be loaded at all. A bad entry inside an
//! otherwise readable list is not an error: it is counted in the load report.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum RangeError {
    #[error("{path}: cannot read: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not valid JSON: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path}: not a known range list format: {reason}")]
    UnknownFormat { path: PathBuf, reason: String },
    #[error("{path}: no provider name: name plain CIDR lists and geofeeds after the provider, e.g. hetzner.txt")]
    NoProviderName { path: PathBuf },
    #[error("{path}: no address prefix in {entries} entries ({malformed} malformed)")]
    NoPrefixes {
        path: PathBuf,
        entries: usize,
        malformed: usize,
    },
    #[error("range snapshot, line {line}: {reason}")]
    BadSnapshot { line: usize, reason: String },
}
