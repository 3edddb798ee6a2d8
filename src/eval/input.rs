//! Reading the two inputs of an evaluation, with errors that name the file.

use std::path::{Path, PathBuf};

use super::labels::{Labels, LabelsError};
use crate::report::{Report, SCHEMA_VERSION};

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("cannot read {what} {}", path.display())]
    Read {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not a valid {what}", path.display())]
    Parse {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{} is not a valid labels file", path.display())]
    InvalidLabels {
        path: PathBuf,
        #[source]
        source: LabelsError,
    },
    #[error(
        "{} has report schema version {found}, this build reads {SCHEMA_VERSION} and its compatible versions",
        path.display()
    )]
    UnsupportedReportVersion { path: PathBuf, found: String },
}

/// Reads and checks a `labels.json` written by `auditsweep-gen`.
pub fn read_labels(path: &Path) -> Result<Labels, InputError> {
    let labels: Labels = read_json(path, "labels file")?;
    labels
        .validate()
        .map_err(|source| InputError::InvalidLabels {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(labels)
}

/// Reads a report written by `auditsweep sweep`. A report of another major schema version is
/// refused rather than half-read, since its findings may mean something else.
pub fn read_report(path: &Path) -> Result<Report, InputError> {
    /// The version alone, read first: a report of another major version may not parse as this
    /// one's types, and its version is what the user needs to hear about.
    #[derive(serde::Deserialize)]
    struct Versioned {
        schema_version: String,
    }
    let bytes = read_bytes(path, "report")?;
    let versioned: Versioned = parse(&bytes, path, "report")?;
    if major_version(&versioned.schema_version) != major_version(SCHEMA_VERSION) {
        return Err(InputError::UnsupportedReportVersion {
            path: path.to_path_buf(),
            found: versioned.schema_version,
        });
    }
    parse(&bytes, path, "report")
}

fn major_version(version: &str) -> &str {
    version.split('.').next().unwrap_or(version)
}

fn read_json<T: serde::de::DeserializeOwned>(
    path: &Path,
    what: &'static str,
) -> Result<T, InputError> {
    parse(&read_bytes(path, what)?, path, what)
}

/// Reading whole and parsing from a slice is much faster than serde_json's reader interface,
/// and a report or labels file fits in memory by design.
fn read_bytes(path: &Path, what: &'static str) -> Result<Vec<u8>, InputError> {
    std::fs::read(path).map_err(|source| InputError::Read {
        what,
        path: path.to_path_buf(),
        source,
    })
}

fn parse<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    path: &Path,
    what: &'static str,
) -> Result<T, InputError> {
    serde_json::from_slice(bytes).map_err(|source| InputError::Parse {
        what,
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.json");
        let err = read_labels(&missing).unwrap_err();
        assert!(err.to_string().contains("nope.json"), "{err}");

        let broken = dir.path().join("broken.json");
        std::fs::write(&broken, b"{\"seed\": 1,").unwrap();
        let err = read_report(&broken).unwrap_err();
        assert!(matches!(err, InputError::Parse { what: "report", .. }));
        assert!(err.to_string().contains("broken.json"), "{err}");
    }

    #[test]
    fn refuses_labels_with_a_backwards_attack() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("labels.json");
        std::fs::write(
            &path,
            r#"{"seed":1,"start":"2024-03-01T00:00:00Z","days":1,"tenants":[],
               "attacks":[{"id":"a1","kind":"provisioning","variant":"v","provider":"aws",
               "tenant":"t","account":"1","start":"2024-03-01T05:00:00Z","end":"2024-03-01T04:00:00Z"}]}"#,
        )
        .unwrap();
        let err = read_labels(&path).unwrap_err();
        assert!(matches!(err, InputError::InvalidLabels { .. }), "{err}");
    }

    #[test]
    fn major_versions_compare_on_the_first_component() {
        assert_eq!(major_version("1.0"), major_version("1.7"));
        assert_ne!(major_version("2.0"), major_version("1.0"));
    }
}
