//! Which provider operations are provisioning or sign-ins: one data table per cloud
//! (`src/normalize/tables/*.tsv`), so a reviewer reads the whole mapping in one screen and
//! adding an operation is a one-line change. Anything not listed is `api`.

use std::sync::LazyLock;

use rustc_hash::FxHashMap;

use crate::lookup::KeyBuf;
use crate::schema::Category;

/// `service\0operation -> category`, both lowercased: every record is looked up here, so the
/// key is built on the stack and hashed with a fast non-cryptographic hash (the table is ours).
pub(crate) struct OperationTable {
    entries: FxHashMap<String, Category>,
}

/// The table's key of a (service, operation) pair.
fn key(service: &str, operation: &str) -> KeyBuf {
    let mut key = KeyBuf::new();
    key.push_lowercase(service);
    key.push_lowercase("\0");
    key.push_lowercase(operation);
    key
}

impl OperationTable {
    /// Parses `category  service  operation` lines; `#` starts a comment.
    ///
    /// Panics on a malformed line: the tables are compiled into the binary and a unit test
    /// parses each one, so a typo fails the build's tests, not a user's run.
    fn parse(name: &str, text: &str) -> Self {
        let mut entries = FxHashMap::default();
        for (number, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [category, service, operation] = fields[..] else {
                panic!(
                    "{name} line {}: want `category service operation`",
                    number + 1
                );
            };
            let category = match category {
                "provision" => Category::Provision,
                "login" => Category::Login,
                "api" => Category::Api,
                other => panic!("{name} line {}: unknown category {other:?}", number + 1),
            };
            if entries
                .insert(key(service, operation).as_str().to_string(), category)
                .is_some()
            {
                panic!("{name} line {}: duplicate entry", number + 1);
            }
        }
        OperationTable { entries }
    }

    pub(crate) fn category(&self, service: &str, operation: &str) -> Category {
        let key = key(service, operation);
        self.entries
            .get(key.as_str())
            .copied()
            .unwrap_or(Category::Api)
    }
}

pub(crate) static AWS: LazyLock<OperationTable> =
    LazyLock::new(|| OperationTable::parse("aws.tsv", include_str!("tables/aws.tsv")));
pub(crate) static AZURE: LazyLock<OperationTable> =
    LazyLock::new(|| OperationTable::parse("azure.tsv", include_str!("tables/azure.tsv")));
pub(crate) static GCP: LazyLock<OperationTable> =
    LazyLock::new(|| OperationTable::parse("gcp.tsv", include_str!("tables/gcp.tsv")));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_parses() {
        assert!(AWS.entries.len() > 5);
        assert!(AZURE.entries.len() > 1);
        assert!(GCP.entries.len() > 1);
    }

    #[test]
    fn lookups_ignore_case_and_default_to_api() {
        assert_eq!(
            AWS.category("ec2.amazonaws.com", "RunInstances"),
            Category::Provision
        );
        assert_eq!(
            AWS.category("EC2.amazonaws.com", "runinstances"),
            Category::Provision
        );
        assert_eq!(
            AWS.category("signin.amazonaws.com", "ConsoleLogin"),
            Category::Login
        );
        assert_eq!(AWS.category("s3.amazonaws.com", "GetObject"), Category::Api);
    }
}
