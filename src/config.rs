//! `auditsweep.toml`: every threshold the detectors use, and scoped allow-lists for known
//! automation. Unknown keys are rejected, so a typo never silently falls back to a default.
//! `auditsweep.example.toml` at the repository root lists every key with its default, and
//! `docs/configuration.md` the range of every number: a value outside it, a file that is not a
//! config file (a device, over [`MAX_CONFIG_BYTES`]) is refused with the key or file named.

use std::path::Path;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::detect::billing_jump::BillingParams;
use crate::detect::credential_stuffing::CredentialStuffingParams;
use crate::detect::provisioning::ProvisioningParams;
use crate::report::{Detector, Finding};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub sweep: SweepParams,
    pub provisioning: ProvisioningParams,
    pub credential_stuffing: CredentialStuffingParams,
    pub billing: BillingParams,
    /// Known automation and accepted activity; a finding matching a rule is counted, not reported.
    pub allow: Vec<AllowRule>,
    pub redaction: RedactionParams,
    /// The scheduled run (`auditsweep run`): state, inputs and where incidents go.
    pub run: RunParams,
    /// `[pull]`: how far back and how hard `sweep --pull` asks the clouds.
    pub pull: PullParams,
    /// `[[tenant]]`: the clouds to pull from (`sweep --pull`, `config check`).
    pub tenant: Vec<TenantSource>,
}

/// The clouds with an adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Cloud {
    Aws,
    Azure,
    Gcp,
}

impl Cloud {
    pub fn as_str(self) -> &'static str {
        match self {
            Cloud::Aws => "aws",
            Cloud::Azure => "azure",
            Cloud::Gcp => "gcp",
        }
    }
}

/// `[pull]`: settings every adapter shares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PullParams {
    /// Days pulled before the first day judged: the baselines need them (the longest
    /// `baseline_days` and a margin). Billing's monthly lookback wants more; CloudTrail's
    /// `LookupEvents` keeps only 90.
    pub history_days: u32,
    /// Tries per request, the first included.
    pub attempts: u32,
}

impl Default for PullParams {
    fn default() -> PullParams {
        PullParams {
            history_days: 35,
            attempts: 6,
        }
    }
}

/// One `[[tenant]]` table: its name, its cloud, and the cloud's own keys (accounts, regions,
/// sources, authentication, endpoints), which the provider's adapter crate reads and checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TenantSource {
    /// The tenant's name in cursors, saved files and `--tenant`.
    pub name: String,
    pub provider: Cloud,
    #[serde(flatten)]
    pub settings: toml::Table,
}

/// `[run]`: what the hourly job reads, where it keeps its state and where changes go.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunParams {
    /// The state file (SQLite); `--state` overrides it.
    pub state: Option<std::path::PathBuf>,
    /// Files and directories read by every run; only what is new since the last run is read.
    pub inputs: Vec<std::path::PathBuf>,
    /// A JSON report of each run's new and changed incidents, replaced atomically.
    pub report: Option<std::path::PathBuf>,
    /// Also print each run's changes to stdout, as JSON.
    pub stdout: bool,
    /// Ticketing endpoints; every change goes to each of them exactly once.
    pub webhook: Vec<WebhookSink>,
    /// How far behind each source's newest record a late record is still taken, and how long
    /// event ids are kept to drop duplicates (`docs/operations.md`); `None`: 24
    /// (`crate::run::overlap_hours`).
    pub overlap_hours: Option<u32>,
    /// Days of history kept in the stored aggregates; `None`: the longest `baseline_days` of
    /// judged days plus what judging them looks back at (`crate::run::retention_days`).
    pub retention_days: Option<u32>,
    /// Where each run saves what it pulls from the `[[tenant]]` sources, read like an input;
    /// `None`: `<state>.pulled` beside the state.
    pub pulled: Option<std::path::PathBuf>,
}

/// One delivery endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSink {
    /// Names the sink in the outbox: renaming it sends everything again.
    pub name: String,
    /// The endpoint (generic) or the site's base URL (Jira, ServiceNow).
    pub url: String,
    #[serde(default)]
    pub format: WebhookFormat,
    /// Env var holding the HMAC-SHA256 key that signs each body (generic webhooks).
    pub secret_env: Option<String>,
    /// File holding that key, if not in an env var.
    pub secret_file: Option<std::path::PathBuf>,
    /// Env var holding `user:token` for basic auth (Jira: e-mail and API token; ServiceNow:
    /// user and password).
    pub auth_env: Option<String>,
    /// Jira project key.
    pub project: Option<String>,
    /// Jira issue type (default `Task`).
    pub issue_type: Option<String>,
    #[serde(default = "default_timeout")]
    pub timeout_seconds: f64,
    /// Attempts per change within one run; what is still undelivered waits for the next run.
    #[serde(default = "default_attempts")]
    pub attempts: u32,
    /// The first retry's wait, doubled each attempt, plus jitter.
    #[serde(default = "default_backoff")]
    pub backoff_ms: u64,
}

fn default_timeout() -> f64 {
    10.0
}

fn default_attempts() -> u32 {
    4
}

fn default_backoff() -> u64 {
    1000
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WebhookFormat {
    /// POST of the change as JSON (`docs/incident-change.schema.json`).
    #[default]
    Generic,
    /// Jira Cloud: an issue per incident, a comment per later change.
    Jira,
    /// ServiceNow: an incident record per incident, updated on each change.
    #[serde(rename = "servicenow")]
    ServiceNow,
}

/// What [`crate::redact`] does beyond its pattern table, which is always on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedactionParams {
    /// Redact sign-in names that only ever failed, are unknown to the directory and to
    /// `known_principals`, and do not match `identity_pattern`: most are passwords typed into
    /// the user field.
    pub failed_user_names: bool,
    /// A regex of names that look like accounts and are never redacted.
    pub identity_pattern: String,
    /// Names that are accounts even if they never succeed in the inputs (case-insensitive).
    pub known_principals: Vec<String>,
}

impl Default for RedactionParams {
    fn default() -> Self {
        RedactionParams {
            failed_user_names: true,
            identity_pattern: crate::redact::DEFAULT_IDENTITY_PATTERN.to_string(),
            known_principals: Vec::new(),
        }
    }
}

impl RedactionParams {
    /// The failed names of a run to redact, or none when turned off.
    pub fn user_names(&self, failed: &[String]) -> crate::redact::UserNames {
        if !self.failed_user_names {
            return crate::redact::UserNames::default();
        }
        // Validated at load; a pattern that does not compile redacts by the default.
        let identity = regex::Regex::new(&self.identity_pattern).unwrap_or_else(|_| {
            regex::Regex::new(crate::redact::DEFAULT_IDENTITY_PATTERN).expect("default compiles")
        });
        let known = self
            .known_principals
            .iter()
            .map(|name| name.trim().to_lowercase())
            .collect();
        crate::redact::UserNames::decide(failed.iter().map(String::as_str), &known, &identity)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SweepParams {
    /// The per-tenant error control: expected false alarms per tenant-month and detector.
    pub error_budget: crate::detect::ErrorBudget,
}

/// One allow-list entry. Every field given must match; fields left out match anything.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowRule {
    pub detector: Option<Detector>,
    pub account: Option<String>,
    /// The principal, with `*` as a wildcard (`arn:aws:sts::*:assumed-role/terraform-*`).
    pub principal: Option<String>,
    /// A substring of the user agent (`Terraform/`, `aws-sdk-go ... cluster-autoscaler`).
    pub user_agent: Option<String>,
    /// The caller's network.
    pub network: Option<IpNet>,
    /// Why this is allowed; shown in the run summary.
    pub reason: String,
}

/// A config file is a page of settings: anything larger is not one (`--config /dev/urandom`).
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot read config {path}: {why}")]
    NotAFile { path: String, why: String },
    #[error("invalid config {path}: {message}")]
    Invalid { path: String, message: String },
}

/// The values a numeric setting may take: finite, from `min` to `max`, each end excluded when
/// marked open.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds {
    pub min: f64,
    pub max: f64,
    pub min_open: bool,
    pub max_open: bool,
}

impl Bounds {
    const fn closed(min: f64, max: f64) -> Bounds {
        Bounds {
            min,
            max,
            min_open: false,
            max_open: false,
        }
    }

    /// Above `min`, at most `max`.
    const fn above(min: f64, max: f64) -> Bounds {
        Bounds {
            min_open: true,
            ..Bounds::closed(min, max)
        }
    }

    /// A probability that is neither impossible nor certain.
    const FRACTION: Bounds = Bounds {
        min: 0.0,
        max: 1.0,
        min_open: true,
        max_open: true,
    };

    pub fn contains(&self, value: f64) -> bool {
        let above_min = if self.min_open {
            value > self.min
        } else {
            value >= self.min
        };
        let below_max = if self.max_open {
            value < self.max
        } else {
            value <= self.max
        };
        value.is_finite() && above_min && below_max
    }
}

impl std::fmt::Display for Bounds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (min, max) = (number(self.min), number(self.max));
        match (self.min_open, self.max_open) {
            (false, false) => write!(f, "from {min} to {max}"),
            (true, false) => write!(f, "above {min} and at most {max}"),
            (false, true) => write!(f, "at least {min} and below {max}"),
            (true, true) => write!(f, "between {min} and {max}, exclusive"),
        }
    }
}

/// 1e6 rather than 1000000 (and 5e307 rather than 308 digits): errors and
/// docs/configuration.md read alike.
fn number(x: f64) -> String {
    if x.abs() >= 1e6 {
        format!("{x:e}")
    } else {
        x.to_string()
    }
}

/// One numeric setting as [`Config::numeric_settings`] lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct NumericSetting {
    /// The dotted key, as the config file spells it (`provisioning.count_prior.dispersion`).
    pub key: String,
    pub value: f64,
    pub bounds: Bounds,
    /// Whether the key takes whole numbers (the config file must write them without a point).
    pub integer: bool,
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let name = path.display().to_string();
        let text = read_capped(path).map_err(|err| match err {
            Capped::Io(source) => ConfigError::Read {
                path: name.clone(),
                source,
            },
            Capped::Refused(why) => ConfigError::NotAFile {
                path: name.clone(),
                why,
            },
        })?;
        let config: Config = toml::from_str(&text).map_err(|err| ConfigError::Invalid {
            path: name.clone(),
            message: one_line(&text, &err),
        })?;
        config.validate().map_err(|message| ConfigError::Invalid {
            path: name.clone(),
            message,
        })?;
        Ok(config)
    }

    /// Every numeric setting with its value and bounds: the one list `validate` checks and
    /// `docs/configuration.md` documents (a test keeps the two in step).
    pub fn numeric_settings(&self) -> Vec<NumericSetting> {
        let mut list = Vec::new();
        let mut real = |key: &str, value: f64, bounds: Bounds| {
            list.push(NumericSetting {
                key: key.to_string(),
                value,
                bounds,
                integer: false,
            })
        };
        let budget = &self.sweep.error_budget;
        real(
            "sweep.error_budget.false_alarms_per_tenant_month",
            budget.false_alarms_per_tenant_month,
            Bounds::above(0.0, 30.0),
        );
        let p = &self.provisioning;
        for (k, value) in p.novelty_prior.iter().enumerate() {
            let key = format!("provisioning.novelty_prior[{k}]");
            real(&key, *value, Bounds::above(0.0, 1.0));
        }
        real(
            "provisioning.novelty_prior_weight",
            p.novelty_prior_weight,
            Bounds::above(0.0, 1e6),
        );
        real(
            "provisioning.prior_hosting_source",
            p.prior_hosting_source,
            Bounds::FRACTION,
        );
        real(
            "provisioning.prior_vps_source",
            p.prior_vps_source,
            Bounds::FRACTION,
        );
        real(
            "provisioning.prior_weight",
            p.prior_weight,
            Bounds::closed(0.0, 1e6),
        );
        real(
            "provisioning.prior_accelerator",
            p.prior_accelerator,
            Bounds::FRACTION,
        );
        real(
            "provisioning.cold_cloud_source",
            p.cold_cloud_source,
            Bounds::FRACTION,
        );
        real("provisioning.trim_p", p.trim_p, Bounds::above(0.0, 1.0));
        let c = &self.credential_stuffing;
        // A tail: each probability above 0 and at most the one before it.
        let mut previous = 1.0;
        for (k, value) in c.f24_tail.survival.iter().enumerate() {
            let key = format!("credential_stuffing.f24_tail.survival[{k}]");
            real(&key, *value, Bounds::above(0.0, previous));
            previous = *value;
        }
        real(
            "credential_stuffing.f24_tail.decay",
            c.f24_tail.decay,
            Bounds::FRACTION,
        );
        for (key, value) in [
            ("credential_stuffing.prior_new_network", c.prior_new_network),
            (
                "credential_stuffing.prior_hosting_source",
                c.prior_hosting_source,
            ),
            ("credential_stuffing.prior_vps_source", c.prior_vps_source),
            ("credential_stuffing.prior_no_mfa", c.prior_no_mfa),
        ] {
            real(key, value, Bounds::FRACTION);
        }
        real(
            "credential_stuffing.prior_weight",
            c.prior_weight,
            Bounds::closed(0.0, 1e6),
        );
        real(
            "credential_stuffing.trim_p",
            c.trim_p,
            Bounds::above(0.0, 1.0),
        );
        let b = &self.billing;
        real(
            "billing.min_increase",
            b.min_increase,
            Bounds::closed(0.0, 1e12),
        );
        real("billing.min_ratio", b.min_ratio, Bounds::closed(1.0, 1e6));
        real(
            "billing.relative_sd_floor",
            b.relative_sd_floor,
            Bounds::closed(0.0, 100.0),
        );
        real(
            "billing.absolute_sd_floor",
            b.absolute_sd_floor,
            Bounds::above(0.0, 1e12),
        );
        real("billing.trim_p", b.trim_p, Bounds::above(0.0, 1.0));
        real(
            "billing.linked_weight",
            b.linked_weight,
            Bounds::closed(1.0, 1000.0),
        );
        for (section, prior) in self.count_priors() {
            let key = |name: &str| format!("{section}.{name}");
            real(
                &key("pseudo_count"),
                prior.pseudo_count,
                Bounds::closed(0.0, 1e6),
            );
            real(
                &key("pseudo_days"),
                prior.pseudo_days,
                Bounds::closed(0.01, 1e6),
            );
            real(
                &key("dispersion"),
                prior.dispersion,
                Bounds::closed(0.0, 1e6),
            );
            real(
                &key("dispersion_days"),
                prior.dispersion_days,
                Bounds::closed(0.0, 1e6),
            );
        }
        let mut whole = |key: &str, value: f64, bounds: Bounds| {
            list.push(NumericSetting {
                key: key.to_string(),
                value,
                bounds,
                integer: true,
            })
        };
        whole(
            "sweep.error_budget.min_family",
            f64::from(budget.min_family),
            Bounds::closed(1.0, 1e6),
        );
        for (section, baseline_days, min_history_days) in [
            ("provisioning", p.baseline_days, p.min_history_days),
            ("credential_stuffing", c.baseline_days, c.min_history_days),
            ("billing", b.baseline_days, b.min_history_days),
        ] {
            whole(
                &format!("{section}.baseline_days"),
                f64::from(baseline_days),
                Bounds::closed(1.0, 3660.0),
            );
            whole(
                &format!("{section}.min_history_days"),
                f64::from(min_history_days),
                Bounds::closed(0.0, f64::from(baseline_days)),
            );
        }
        whole(
            "billing.min_cold_history_days",
            f64::from(b.min_cold_history_days),
            Bounds::closed(2.0, f64::from(b.min_history_days.max(2))),
        );
        whole(
            "billing.monthly_lookback_days",
            f64::from(b.monthly_lookback_days),
            Bounds::closed(1.0, 3660.0),
        );
        whole(
            "credential_stuffing.min_source_anchors",
            c.min_source_anchors as f64,
            Bounds::closed(1.0, 1e6),
        );
        whole(
            "credential_stuffing.spray_users",
            f64::from(c.spray_users),
            Bounds::closed(1.0, 1e6),
        );
        whole(
            "pull.history_days",
            f64::from(self.pull.history_days),
            Bounds::closed(0.0, 3660.0),
        );
        whole(
            "pull.attempts",
            f64::from(self.pull.attempts),
            Bounds::closed(1.0, 20.0),
        );
        list
    }

    fn count_priors(&self) -> [(&'static str, &crate::baseline::CountPrior); 5] {
        let p = &self.provisioning;
        [
            ("provisioning.count_prior", &p.count_prior),
            ("provisioning.sporadic_size_prior", &p.sporadic_size_prior),
            ("provisioning.first_use_size_prior", &p.first_use_size_prior),
            ("provisioning.cold_size_prior", &p.cold_size_prior),
            (
                "credential_stuffing.d24_prior",
                &self.credential_stuffing.d24_prior,
            ),
        ]
    }

    /// Rejects values the statistics cannot work with, naming the key: every numeric setting
    /// out of its bounds (infinities and NaN included), and a tail prior without a value.
    pub fn validate(&self) -> Result<(), String> {
        let mut problems: Vec<String> = self
            .numeric_settings()
            .into_iter()
            .filter(|setting| !setting.bounds.contains(setting.value))
            .map(|setting| {
                format!(
                    "{} must be {}, got {}",
                    setting.key,
                    setting.bounds,
                    number(setting.value)
                )
            })
            .collect();
        let mut names = std::collections::BTreeSet::new();
        for (index, sink) in self.run.webhook.iter().enumerate() {
            let key = format!("run.webhook[{index}]");
            if sink.name.trim().is_empty() || !names.insert(sink.name.clone()) {
                problems.push(format!("{key}.name must be non-empty and unique"));
            }
            match reqwest::Url::parse(&sink.url) {
                Ok(url) if url.scheme() == "http" || url.scheme() == "https" => {
                    if !url.username().is_empty()
                        || url.password().is_some()
                        || url.query().is_some()
                    {
                        problems.push(format!(
                            "{key}.url must not carry credentials or a query: put the secret in an env var (secret_env, auth_env)"
                        ));
                    }
                }
                _ => problems.push(format!("{key}.url must be an http or https URL")),
            }
            if !(sink.timeout_seconds.is_finite()
                && sink.timeout_seconds > 0.0
                && sink.timeout_seconds <= 600.0)
            {
                problems.push(format!(
                    "{key}.timeout_seconds must be above 0 and at most 600, got {}",
                    sink.timeout_seconds
                ));
            }
            if !(1..=20).contains(&sink.attempts) {
                problems.push(format!(
                    "{key}.attempts must be from 1 to 20, got {}",
                    sink.attempts
                ));
            }
            if sink.backoff_ms > 600_000 {
                problems.push(format!(
                    "{key}.backoff_ms must be at most 600000, got {}",
                    sink.backoff_ms
                ));
            }
            if sink.format == WebhookFormat::Jira && sink.project.is_none() {
                problems.push(format!("{key}.project is required for format = \"jira\""));
            }
        }
        let mut tenants = std::collections::BTreeSet::new();
        for (index, tenant) in self.tenant.iter().enumerate() {
            let valid = !tenant.name.is_empty()
                && tenant
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
                && !tenant.name.starts_with('.');
            if !valid || !tenants.insert(tenant.name.clone()) {
                problems.push(format!(
                    "tenant[{index}].name must be unique, of letters, digits, '-', '_' and '.', got {:?}",
                    tenant.name
                ));
            }
        }
        if let Some(hours) = self.run.overlap_hours {
            if !(1..=8760).contains(&hours) {
                problems.push(format!(
                    "run.overlap_hours must be from 1 to 8760, got {hours}"
                ));
            }
        }
        if let Some(days) = self.run.retention_days {
            if !(1..=3660).contains(&days) {
                problems.push(format!(
                    "run.retention_days must be from 1 to 3660, got {days}"
                ));
            }
        }
        if let Err(err) = regex::Regex::new(&self.redaction.identity_pattern) {
            problems.push(format!(
                "redaction.identity_pattern must be a regular expression: {err}"
            ));
        }
        if self.credential_stuffing.f24_tail.survival.is_empty() {
            problems.push("credential_stuffing.f24_tail.survival must not be empty".to_string());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }

    /// The first allow rule that covers a finding: the detector and account match, and every
    /// evidence event matches the principal, user-agent and network conditions.
    pub fn allowed_by(&self, finding: &Finding) -> Option<&AllowRule> {
        self.allow.iter().find(|rule| rule.covers(finding))
    }
}

impl AllowRule {
    fn covers(&self, finding: &Finding) -> bool {
        if self.detector.is_some_and(|d| d != finding.detector) {
            return false;
        }
        if self
            .account
            .as_ref()
            .is_some_and(|a| Some(a) != finding.account.as_ref())
        {
            return false;
        }
        let event_conditions =
            self.principal.is_some() || self.user_agent.is_some() || self.network.is_some();
        if !event_conditions {
            return true;
        }
        // Evidence is a sample: events beyond it were not seen, and may be the attacker's.
        finding.evidence.omitted == 0
            && !finding.evidence.events.is_empty()
            && finding.evidence.events.iter().all(|event| {
                let principal_ok = self.principal.as_deref().is_none_or(|pattern| {
                    event
                        .principal
                        .as_deref()
                        .is_some_and(|p| wildcard_match(pattern, p))
                });
                let agent_ok = self.user_agent.as_deref().is_none_or(|needle| {
                    event
                        .user_agent
                        .as_deref()
                        .is_some_and(|ua| ua.contains(needle))
                });
                let network_ok = self.network.is_none_or(|net| {
                    event
                        .src_ip
                        .as_deref()
                        .and_then(|ip| ip.parse::<std::net::IpAddr>().ok())
                        .is_some_and(|ip| net.contains(&ip))
                });
                principal_ok && agent_ok && network_ok
            })
    }
}

/// `*` matches any run of characters; everything else literally, case-insensitively.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    let pattern = pattern.to_ascii_lowercase();
    let text = text.to_ascii_lowercase();
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let mut rest = text.as_str();
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
    }
    true
}

enum Capped {
    Io(std::io::Error),
    Refused(String),
}

/// Reads a config file of at most [`MAX_CONFIG_BYTES`]: a regular file or a pipe
/// (`--config <(...)`); a device, directory or socket is refused before it is opened.
fn read_capped(path: &Path) -> Result<String, Capped> {
    use std::io::Read;
    let metadata = std::fs::metadata(path).map_err(Capped::Io)?;
    let kind = metadata.file_type();
    #[cfg(unix)]
    let pipe = std::os::unix::fs::FileTypeExt::is_fifo(&kind);
    #[cfg(not(unix))]
    let pipe = false;
    if !kind.is_file() && !pipe {
        let what = if kind.is_dir() {
            "a directory"
        } else {
            "a device or socket"
        };
        return Err(Capped::Refused(format!("{what}, not a config file")));
    }
    let too_large = || {
        Capped::Refused(format!(
            "larger than {} KiB, not a config file",
            MAX_CONFIG_BYTES / 1024
        ))
    };
    if metadata.len() > MAX_CONFIG_BYTES {
        return Err(too_large());
    }
    let file = std::fs::File::open(path).map_err(Capped::Io)?;
    let mut bytes = Vec::new();
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(Capped::Io)?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(too_large());
    }
    String::from_utf8(bytes).map_err(|_| Capped::Refused("not UTF-8 text".to_string()))
}

/// A TOML error on one line (the parser's own message spans several, with a caret): the line
/// and column, the problem, and the line of the file it is on, which names the key.
fn one_line(text: &str, err: &toml::de::Error) -> String {
    let message = err.message().trim();
    let Some(span) = err.span() else {
        return message.to_string();
    };
    let mut start = span.start.min(text.len());
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let line = text[..start].matches('\n').count() + 1;
    let column = text[line_start..start].chars().count() + 1;
    let source = text[line_start..line_end].trim();
    format!("line {line}, column {column}: {message}: `{source}`")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_config_is_the_default() {
        let example: Config = toml::from_str(include_str!("../auditsweep.example.toml")).unwrap();
        let defaults = Config {
            allow: example.allow.clone(),
            ..Config::default()
        };
        assert_eq!(example, defaults);
        assert!(!example.allow.is_empty(), "the example shows an allow rule");
    }

    #[test]
    fn unknown_keys_are_rejected_with_the_key_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auditsweep.toml");
        std::fs::write(&path, "[provisioning]\nbaseline_dayz = 3\n").unwrap();
        let err = Config::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("baseline_dayz") && err.contains("auditsweep.toml"),
            "{err}"
        );
    }

    #[test]
    fn values_the_statistics_cannot_use_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auditsweep.toml");
        for (text, key) in [
            (
                "[provisioning]\nbaseline_days = 0\n",
                "provisioning.baseline_days",
            ),
            (
                "[billing]\nmonthly_lookback_days = 0\n",
                "billing.monthly_lookback_days",
            ),
            (
                "[billing]\nbaseline_days = 4294967295\n",
                "billing.baseline_days",
            ),
            (
                "[provisioning.count_prior]\npseudo_days = 0.0\n",
                "provisioning.count_prior.pseudo_days",
            ),
            (
                "[credential_stuffing]\nmin_history_days = 40\n",
                "credential_stuffing.min_history_days",
            ),
            ("[billing]\nlinked_weight = 0.5\n", "billing.linked_weight"),
            (
                "[sweep.error_budget]\nfalse_alarms_per_tenant_month = inf\n",
                "sweep.error_budget.false_alarms_per_tenant_month",
            ),
            (
                "[provisioning]\nnovelty_prior = [1.0, 0.0, 0.0, 0.0, 0.0]\n",
                "provisioning.novelty_prior[1]",
            ),
            (
                "[credential_stuffing.d24_prior]\ndispersion = 5e307\n",
                "credential_stuffing.d24_prior.dispersion",
            ),
            (
                "[credential_stuffing.f24_tail]\nsurvival = [0.1, 0.2]\ndecay = 0.5\n",
                "credential_stuffing.f24_tail.survival",
            ),
        ] {
            std::fs::write(&path, text).unwrap();
            let err = Config::load(&path).unwrap_err().to_string();
            assert!(err.contains(key), "{text}: {err}");
        }
        assert!(Config::default().validate().is_ok());
    }

    #[test]
    fn an_allow_rule_never_covers_evidence_it_did_not_see() {
        use crate::report::{Baseline, Detector, Entities, Evidence, Finding, Severity};
        let rule = AllowRule {
            detector: None,
            account: None,
            principal: Some("arn:aws:sts::*:assumed-role/terraform-*".into()),
            user_agent: None,
            network: None,
            reason: "iac".into(),
        };
        let event: crate::schema::Event = serde_json::from_value(serde_json::json!({
            "time": "2024-01-01T00:00:00Z", "provider": "aws", "tenant": null, "account": null,
            "region": null, "category": "provision", "class_uid": 6003, "operation": "RunInstances",
            "principal": "arn:aws:sts::1:assumed-role/terraform-ci/s", "src_ip": null, "user_agent": null,
            "outcome": "success", "reason": null,
            "resource": {"type": null, "id": null, "instance_type": null, "instance_count": null, "mfa": null, "location": null},
            "source": {"file": "f", "record": 1}
        }))
        .unwrap();
        let mut finding = Finding {
            id: "as-0".into(),
            detector: Detector::Provisioning,
            title: "t".into(),
            severity: Severity::High,
            provider: crate::schema::Provider::Aws,
            tenant: None,
            account: None,
            first_seen: event.time,
            last_seen: event.time,
            mitre: vec![],
            entities: Entities::default(),
            baseline: Baseline {
                observed: 1.0,
                expected: 0.0,
                p_value: 0.0,
                threshold: 0.0,
                window_days: 1,
                method: String::new(),
                signals: vec![],
            },
            evidence: Evidence {
                events: vec![event],
                omitted: 0,
            },
            escalate: false,
            escalation_reason: String::new(),
            next_steps: vec![],
            related: vec![],
            incident: Default::default(),
        };
        assert!(rule.covers(&finding));
        finding.evidence.omitted = 3;
        assert!(
            !rule.covers(&finding),
            "unseen evidence may be the attacker's"
        );
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match(
            "arn:aws:sts::*:assumed-role/terraform-*",
            "arn:aws:sts::1:assumed-role/terraform-ci/s"
        ));
        assert!(!wildcard_match(
            "arn:aws:sts::*:assumed-role/terraform-*",
            "arn:aws:iam::1:user/bob"
        ));
        assert!(wildcard_match("bob@example.com", "BOB@example.com"));
    }
}
