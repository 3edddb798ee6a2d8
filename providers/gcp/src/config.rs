//! The GCP keys of one `[[tenant]]` table, and what `auditsweep config check` can say about
//! them without a network call.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use auditsweep_source::{PullError, RateLimit, Source};
use serde::Deserialize;

use crate::auth::{Api, AuthSettings, Bearer, GoogleCredential};
use crate::bigquery::BillingExport;
use crate::gcs::BucketObjects;
use crate::logging::{EntriesList, Scope};

/// Google's documented endpoints; `[tenant.endpoints]` replaces them (tests, sovereign clouds,
/// Private Service Connect).
pub const LOGGING: &str = "https://logging.googleapis.com";
pub const BIGQUERY: &str = "https://bigquery.googleapis.com";
pub const STORAGE: &str = "https://storage.googleapis.com";

/// The provider-specific keys of one `[[tenant]]` table of auditsweep.toml (the main crate
/// strips `name` and `provider` and hands the rest to this struct via serde).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantConfig {
    /// Project ids whose audit logs `entries.list` reads.
    #[serde(default)]
    pub projects: Vec<String>,
    /// The numeric organization id: its own audit logs and, with `workspace_login`, the
    /// Workspace login audit (both live at the organization, not in any project).
    pub organization: Option<String>,
    /// Which Cloud Audit Logs to read: `activity`, `system_event`, `data_access`, `policy`.
    #[serde(default = "default_audit_logs")]
    pub audit_logs: Vec<AuditLog>,
    /// Read the Workspace login audit that Workspace shares into the organization's logs.
    #[serde(default)]
    pub workspace_login: bool,
    /// `entries.list` requests per minute, shared by every source of the tenant: Google's
    /// quota is 60 per minute per project.
    #[serde(default = "default_requests_per_minute")]
    pub requests_per_minute: f64,
    /// Entries per page, at most 1000 (the API's cap).
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// Seconds before a request is given up (connect and whole answer).
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// The Cloud Billing export table in BigQuery.
    pub billing: Option<BillingConfig>,
    /// `[[tenant.buckets]]`: export files in Cloud Storage.
    #[serde(default)]
    pub buckets: Vec<BucketConfig>,
    /// A credentials JSON file (service-account key, `gcloud auth application-default login`
    /// user credentials, external account). Without it and without `credentials_env`:
    /// Application Default Credentials (`GOOGLE_APPLICATION_CREDENTIALS`, gcloud's file, the
    /// metadata server).
    pub credentials_file: Option<PathBuf>,
    /// The name of an environment variable holding the credentials JSON itself.
    pub credentials_env: Option<String>,
    /// The credentials JSON written into the config. Accepted, with a warning.
    pub credentials_json: Option<String>,
    /// The project that quota and billing of the API calls are charged to.
    pub quota_project: Option<String>,
    #[serde(default)]
    pub endpoints: Endpoints,
}

/// A Cloud Audit Log, by the last part of its log name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditLog {
    Activity,
    SystemEvent,
    DataAccess,
    Policy,
}

impl AuditLog {
    /// The URL-encoded log id in a `logName`.
    pub fn log_id(self) -> &'static str {
        match self {
            AuditLog::Activity => "cloudaudit.googleapis.com%2Factivity",
            AuditLog::SystemEvent => "cloudaudit.googleapis.com%2Fsystem_event",
            AuditLog::DataAccess => "cloudaudit.googleapis.com%2Fdata_access",
            AuditLog::Policy => "cloudaudit.googleapis.com%2Fpolicy",
        }
    }

    fn word(self) -> &'static str {
        match self {
            AuditLog::Activity => "activity",
            AuditLog::SystemEvent => "system_event",
            AuditLog::DataAccess => "data_access",
            AuditLog::Policy => "policy",
        }
    }
}

/// `[tenant.billing]`: where the standard usage cost export lands.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BillingConfig {
    /// `project.dataset.gcp_billing_export_v1_XXXXXX_XXXXXX_XXXXXX`.
    pub table: String,
    /// The project the query job runs in (and is billed to); the table's project by default.
    pub project: Option<String>,
    /// The dataset's location (`US`, `EU`, `europe-west4`); BigQuery finds it when omitted.
    pub location: Option<String>,
}

/// `[[tenant.buckets]]`: a bucket of export files (a log sink's, billing rows exported from
/// BigQuery). Objects under `prefix` updated within the window are pulled whole.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BucketConfig {
    pub bucket: String,
    #[serde(default)]
    pub prefix: String,
    /// Larger objects stop the pull with an error rather than filling memory: a page is
    /// held whole.
    #[serde(default = "default_max_object_mib")]
    pub max_object_mib: u64,
}

/// `[tenant.endpoints]`: base URLs replacing Google's.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoints {
    pub logging: Option<String>,
    pub bigquery: Option<String>,
    pub storage: Option<String>,
    /// The OAuth token endpoint for user (`authorized_user`) credentials, replacing the file's
    /// `token_uri`.
    pub token: Option<String>,
    /// The metadata server (`http://metadata.google.internal` on Google's machines).
    pub metadata: Option<String>,
}

/// What `config check` prints for one tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Check {
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
    /// One line per thing it would pull.
    pub plan: Vec<String>,
}

fn default_audit_logs() -> Vec<AuditLog> {
    vec![AuditLog::Activity, AuditLog::SystemEvent]
}
fn default_requests_per_minute() -> f64 {
    60.0
}
fn default_page_size() -> u32 {
    1000
}
fn default_timeout_secs() -> u64 {
    60
}
fn default_max_object_mib() -> u64 {
    512
}

impl TenantConfig {
    /// Problems found without any network call, and the plan, for `auditsweep config check`.
    pub fn check(&self, tenant: &str) -> Check {
        let mut check = Check::default();
        let errors = &mut check.errors;
        for project in &self.projects {
            if !is_project_id(project) {
                errors.push(format!("tenant {tenant}: `{project}` is not a project id"));
            }
        }
        if let Some(org) = &self.organization {
            if org.is_empty() || !org.bytes().all(|b| b.is_ascii_digit()) {
                errors.push(format!(
                    "tenant {tenant}: organization `{org}` is not a numeric organization id"
                ));
            }
        }
        if self.workspace_login && self.organization.is_none() {
            errors.push(format!(
                "tenant {tenant}: workspace_login needs `organization` (the login audit is shared into the organization's logs)"
            ));
        }
        let audit = !self.audit_logs.is_empty() && !self.scopes().is_empty();
        if !audit && !self.workspace_login && self.billing.is_none() && self.buckets.is_empty() {
            errors.push(format!(
                "tenant {tenant}: nothing to pull: name `projects` or an `organization` with audit_logs, workspace_login, `[tenant.billing]` or `[[tenant.buckets]]`"
            ));
        }
        if !(self.requests_per_minute.is_finite() && self.requests_per_minute > 0.0) {
            errors.push(format!(
                "tenant {tenant}: requests_per_minute must be a positive number"
            ));
        }
        if !(1..=1000).contains(&self.page_size) {
            errors.push(format!(
                "tenant {tenant}: page_size must be 1 to 1000 (entries.list's cap)"
            ));
        }
        if self.timeout_secs == 0 {
            errors.push(format!("tenant {tenant}: timeout_secs must be at least 1"));
        }
        if let Some(billing) = &self.billing {
            if parse_table(&billing.table).is_none() {
                errors.push(format!(
                    "tenant {tenant}: billing.table `{}` is not `project.dataset.table`",
                    billing.table
                ));
            }
            if let Some(project) = &billing.project {
                if !is_project_id(project) {
                    errors.push(format!(
                        "tenant {tenant}: billing.project `{project}` is not a project id"
                    ));
                }
            }
        }
        let mut buckets = std::collections::BTreeSet::new();
        for bucket in &self.buckets {
            if !is_bucket_name(&bucket.bucket) {
                errors.push(format!(
                    "tenant {tenant}: `{}` is not a bucket name",
                    bucket.bucket
                ));
            }
            if !buckets.insert((&bucket.bucket, &bucket.prefix)) {
                errors.push(format!(
                    "tenant {tenant}: gs://{}/{} is named twice",
                    bucket.bucket, bucket.prefix
                ));
            }
            if bucket.max_object_mib == 0 {
                errors.push(format!(
                    "tenant {tenant}: max_object_mib must be at least 1"
                ));
            }
        }
        let named = [
            self.credentials_file.is_some(),
            self.credentials_env.is_some(),
            self.credentials_json.is_some(),
        ];
        if named.iter().filter(|n| **n).count() > 1 {
            errors.push(format!(
                "tenant {tenant}: name one of credentials_file, credentials_env, credentials_json"
            ));
        }
        if self.credentials_json.is_some() {
            check.warnings.push(format!(
                "tenant {tenant}: credentials_json writes a credential into the config file; prefer credentials_file or credentials_env"
            ));
        }
        let endpoints = [
            ("logging", &self.endpoints.logging),
            ("bigquery", &self.endpoints.bigquery),
            ("storage", &self.endpoints.storage),
            ("token", &self.endpoints.token),
            ("metadata", &self.endpoints.metadata),
        ];
        for (name, url) in endpoints {
            let Some(url) = url else { continue };
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                check.errors.push(format!(
                    "tenant {tenant}: endpoints.{name} `{url}` is not an http(s) URL"
                ));
            } else if url.starts_with("http://") && !is_loopback(url) && name != "metadata" {
                check.warnings.push(format!(
                    "tenant {tenant}: endpoints.{name} sends tokens over plain http to `{url}`"
                ));
            }
        }
        check.plan = self.plan();
        check
    }

    fn plan(&self) -> Vec<String> {
        let mut plan = Vec::new();
        let rate = format!(
            "{} requests/min shared, {} entries a page",
            self.requests_per_minute, self.page_size
        );
        if !self.audit_logs.is_empty() {
            let logs: Vec<_> = self.audit_logs.iter().map(|l| l.word()).collect();
            for scope in self.scopes() {
                plan.push(format!(
                    "Cloud Logging entries.list: {}, audit logs {} ({rate})",
                    scope.resource_name(),
                    logs.join(", ")
                ));
            }
        }
        if self.workspace_login {
            if let Some(org) = &self.organization {
                plan.push(format!(
                    "Cloud Logging entries.list: organizations/{org}, Workspace login audit (login.googleapis.com in data_access; {rate})"
                ));
            }
        }
        if let Some(billing) = &self.billing {
            let project = self.billing_project(billing).unwrap_or("?");
            plan.push(format!(
                "BigQuery jobs.query in project {project}: billing export rows of {} by usage_start_time{}",
                billing.table,
                billing
                    .location
                    .as_deref()
                    .map(|l| format!(" (location {l})"))
                    .unwrap_or_default()
            ));
        }
        for bucket in &self.buckets {
            plan.push(format!(
                "Cloud Storage objects.list and download: gs://{}/{}, objects updated in the window (json, csv, gzipped or not; at most {} MiB each)",
                bucket.bucket, bucket.prefix, bucket.max_object_mib
            ));
        }
        plan
    }

    fn scopes(&self) -> Vec<Scope> {
        let mut scopes: Vec<Scope> = self.projects.iter().cloned().map(Scope::Project).collect();
        scopes.extend(self.organization.iter().cloned().map(Scope::Organization));
        scopes
    }

    fn billing_project<'a>(&'a self, billing: &'a BillingConfig) -> Option<&'a str> {
        billing
            .project
            .as_deref()
            .or_else(|| parse_table(&billing.table).map(|(project, _, _)| project))
    }

    /// The sources to pull, credentials resolved through Google's own chain: project logs,
    /// organization logs, Workspace logins, the billing table, then the buckets, in that
    /// order. Call it inside a Tokio runtime (google-cloud-auth's token cache runs a task);
    /// a config with `check` errors, or credentials that cannot be read, fail here.
    pub async fn sources(&self, tenant: &str) -> Result<Vec<Box<dyn Source>>, PullError> {
        let check = self.check(tenant);
        if let Some(error) = check.errors.first() {
            return Err(PullError::Fatal(error.clone()));
        }
        let credential = Arc::new(GoogleCredential::new(AuthSettings {
            file: self.credentials_file.clone(),
            env: self.credentials_env.clone(),
            inline: self.credentials_json.clone(),
            quota_project: self.quota_project.clone(),
            token_uri: self.endpoints.token.clone(),
            metadata: self.endpoints.metadata.clone(),
            timeout: Duration::from_secs(self.timeout_secs),
        })?);
        let quota_project = credential.quota_project();
        let client = auditsweep_source::http::client(Duration::from_secs(self.timeout_secs))?;
        let quota = Arc::new(RateLimit::per_minute(self.requests_per_minute));
        let logging = base(self.endpoints.logging.as_deref(), LOGGING);
        let credential: Arc<dyn auditsweep_source::http::Credential> = credential;
        let api = |base: &str| Api {
            base: base.to_string(),
            client: client.clone(),
            bearer: Bearer::new(credential.clone(), quota_project.clone()),
        };
        let mut sources: Vec<Box<dyn Source>> = Vec::new();
        if !self.audit_logs.is_empty() {
            for scope in self.scopes() {
                // The organization's data_access log also holds the Workspace logins; when
                // they are pulled as their own source they are left out here.
                let without_logins =
                    self.workspace_login && matches!(scope, Scope::Organization(_));
                sources.push(Box::new(EntriesList::audit(
                    tenant,
                    scope,
                    &self.audit_logs,
                    without_logins,
                    self.page_size,
                    api(&logging),
                    quota.clone(),
                )));
            }
        }
        if let (true, Some(org)) = (self.workspace_login, &self.organization) {
            sources.push(Box::new(EntriesList::workspace_login(
                tenant,
                org.clone(),
                self.page_size,
                api(&logging),
                quota.clone(),
            )));
        }
        if let Some(billing) = &self.billing {
            let project = self
                .billing_project(billing)
                .unwrap_or_default()
                .to_string();
            sources.push(Box::new(BillingExport::new(
                tenant,
                billing.table.clone(),
                project,
                billing.location.clone(),
                api(&base(self.endpoints.bigquery.as_deref(), BIGQUERY)),
            )));
        }
        for bucket in &self.buckets {
            sources.push(Box::new(BucketObjects::new(
                tenant,
                bucket.bucket.clone(),
                bucket.prefix.clone(),
                bucket.max_object_mib.saturating_mul(1 << 20),
                api(&base(self.endpoints.storage.as_deref(), STORAGE)),
            )));
        }
        Ok(sources)
    }
}

fn base(configured: Option<&str>, default: &str) -> String {
    configured
        .unwrap_or(default)
        .trim_end_matches('/')
        .to_string()
}

/// Project ids: 6 to 30 lowercase letters, digits and hyphens, starting with a letter; older
/// domain-scoped ids (`example.com:project`) too.
fn is_project_id(id: &str) -> bool {
    let id = id
        .rsplit_once(':')
        .map_or(id, |(domain, id)| if domain.is_empty() { "" } else { id });
    (6..=30).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && !id.ends_with('-')
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// `project.dataset.table`, each part of the characters BigQuery allows in ids (the table goes
/// into the SQL between backticks, so nothing else may pass).
pub(crate) fn parse_table(table: &str) -> Option<(&str, &str, &str)> {
    let mut parts = table.splitn(3, '.');
    let (project, dataset, name) = (parts.next()?, parts.next()?, parts.next()?);
    let word = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    (is_project_id(project) && word(dataset) && word(name)).then_some((project, dataset, name))
}

/// Bucket names: 3 to 63 lowercase letters, digits, `-`, `_` and `.`, starting and ending
/// with a letter or digit (dotted names may be longer; they are rare and refused here).
fn is_bucket_name(name: &str) -> bool {
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    (3..=63).contains(&name.len())
        && edge(name.chars().next())
        && edge(name.chars().last())
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.')
        })
}

fn is_loopback(url: &str) -> bool {
    let host = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest)
        .split(['/', '?'])
        .next()
        .unwrap_or("");
    let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
    matches!(host, "127.0.0.1" | "localhost" | "[::1]")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> TenantConfig {
        toml_like(text)
    }

    /// The tests write configs as JSON: the main crate hands the TOML table to serde, and
    /// the struct reads any self-describing format the same way.
    fn toml_like(text: &str) -> TenantConfig {
        serde_json::from_str(text).expect("a valid config")
    }

    #[test]
    fn defaults_are_google_s_quota_and_the_admin_logs() {
        let tenant = config(r#"{"projects": ["example-prod-481516"]}"#);
        assert_eq!(tenant.requests_per_minute, 60.0);
        assert_eq!(tenant.page_size, 1000);
        assert_eq!(
            tenant.audit_logs,
            vec![AuditLog::Activity, AuditLog::SystemEvent]
        );
        let check = tenant.check("acme");
        assert!(check.errors.is_empty(), "{check:?}");
        assert_eq!(
            check.plan,
            vec!["Cloud Logging entries.list: projects/example-prod-481516, audit logs activity, system_event (60 requests/min shared, 1000 entries a page)"]
        );
    }

    #[test]
    fn problems_are_found_without_the_network() {
        let tenant = config(
            r#"{"projects": ["Bad_Project"], "organization": "acme.com", "page_size": 5000,
                "requests_per_minute": 0, "billing": {"table": "p.d.t`; DROP"},
                "credentials_json": "{\"type\":\"service_account\"}",
                "endpoints": {"logging": "http://logging.example.net", "bigquery": "ftp://x"}}"#,
        );
        let check = tenant.check("acme");
        let errors = check.errors.join("\n");
        for expected in [
            "`Bad_Project` is not a project id",
            "organization `acme.com`",
            "page_size",
            "requests_per_minute",
            "billing.table",
            "endpoints.bigquery",
        ] {
            assert!(errors.contains(expected), "{expected} missing in {errors}");
        }
        let warnings = check.warnings.join("\n");
        assert!(warnings.contains("credentials_json"), "{warnings}");
        assert!(warnings.contains("plain http"), "{warnings}");
        assert!(
            !warnings.contains("service_account"),
            "a credential was echoed"
        );
    }

    #[test]
    fn workspace_login_needs_the_organization_and_unknown_keys_are_refused() {
        let check = config(r#"{"projects": ["example-prod-481516"], "workspace_login": true}"#)
            .check("acme");
        assert!(check.errors.iter().any(|e| e.contains("workspace_login")));
        assert!(serde_json::from_str::<TenantConfig>(r#"{"project": ["x"]}"#).is_err());
        assert!(serde_json::from_str::<TenantConfig>(r#"{"audit_logs": ["admin"]}"#).is_err());
        let nothing = config(r#"{"audit_logs": []}"#).check("acme");
        assert!(nothing.errors.iter().any(|e| e.contains("nothing to pull")));
    }

    #[test]
    fn the_plan_names_every_source() {
        let tenant = config(
            r#"{"projects": ["example-prod-481516"], "organization": "123456789012",
                "workspace_login": true, "audit_logs": ["activity", "data_access"],
                "billing": {"table": "example-billing.billing.gcp_billing_export_v1_012345_6789AB_CDEF01", "location": "US"}}"#,
        );
        let check = tenant.check("acme");
        assert!(check.errors.is_empty(), "{check:?}");
        assert_eq!(check.plan.len(), 4, "{:?}", check.plan);
        assert!(check.plan[1].starts_with(
            "Cloud Logging entries.list: organizations/123456789012, audit logs activity, data_access"
        ));
        assert!(check.plan[2].contains("Workspace login audit"));
        assert!(check.plan[3].contains("jobs.query in project example-billing"));
        assert!(check.plan[3].contains("(location US)"));
    }

    #[test]
    fn ids_and_tables() {
        assert!(is_project_id("example-prod-481516"));
        assert!(is_project_id("example.com:my-project"));
        assert!(!is_project_id("short"));
        assert!(!is_project_id("ends-with-"));
        assert!(!is_project_id(":no-domain-1"));
        assert_eq!(
            parse_table("example-billing.ds.gcp_billing_export_v1_X"),
            Some(("example-billing", "ds", "gcp_billing_export_v1_X"))
        );
        assert_eq!(parse_table("example-billing.ds"), None);
        assert_eq!(parse_table("example-billing.ds.t`x"), None);
        assert!(is_bucket_name("example-audit-sink"));
        assert!(!is_bucket_name("Example"));
        assert!(!is_bucket_name("gs://x"));
        assert!(is_loopback("http://127.0.0.1:8080/x"));
        assert!(!is_loopback("http://logging.example.net"));
    }
}
