//! Which provider operations are provisioning or sign-ins: one data table per cloud
//! (`src/normalize/tables/*.tsv`), so a reviewer reads the whole mapping in one screen and
//! adding an operation is a one-line change. Anything not listed is `api`.

use std::collections::HashMap;
use std::sync::LazyLock;

use crate::schema::Category;

/// `(service, operation) -> category`, both compared case-insensitively.
pub(crate) struct OperationTable {
    entries: HashMap<(String, String), Category>,
}

impl OperationTable {
    /// Parses `category  service  operation` lines; `#` starts a comment.
    ///
    /// Panics on a malformed line: the tables are compiled into the binary and a unit test
    /// parses each one, so a typo fails the build's tests, not a user's run.
    fn parse(name: &str, text: &str) -> Self {
        let mut entries = HashMap::new();
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
            let key = (service.to_ascii_lowercase(), operation.to_ascii_lowercase());
            if entries.insert(key, category).is_some() {
                panic!("{name} line {}: duplicate entry", number + 1);
            }
        }
        OperationTable { entries }
    }

    pub(crate) fn category(&self, service: &str, operation: &str) -> Category {
        let key = (service.to_ascii_lowercase(), operation.to_ascii_lowercase());
        self.entries.get(&key).copied().unwrap_or(Category::Api)
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
