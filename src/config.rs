//! `auditsweep.toml`: every threshold the detectors use, and scoped allow-lists for known
//! automation. Unknown keys are rejected, so a typo never silently falls back to a default.
//! `auditsweep.example.toml` at the repository root lists every key with its default.

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

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid config {path}: {message}")]
    Invalid { path: String, message: String },
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let config: Config = toml::from_str(&text).map_err(|err| ConfigError::Invalid {
            path: path.display().to_string(),
            message: err.to_string(),
        })?;
        config.validate().map_err(|message| ConfigError::Invalid {
            path: path.display().to_string(),
            message,
        })?;
        Ok(config)
    }

    /// Rejects values the statistics cannot work with, naming the key.
    pub fn validate(&self) -> Result<(), String> {
        let mut problems = Vec::new();
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
        if let Err(err) = regex::Regex::new(&self.redaction.identity_pattern) {
            problems.push(format!(
                "redaction.identity_pattern must be a regular expression: {err}"
            ));
        }
        let mut check = |ok: bool, key: &str, what: &str, value: f64| {
            if !ok {
                problems.push(format!("{key} must be {what}, got {value}"));
            }
        };
        let fraction = |x: f64| x > 0.0 && x < 1.0;
        let budget = &self.sweep.error_budget;
        check(
            budget.false_alarms_per_tenant_month.is_finite()
                && budget.false_alarms_per_tenant_month > 0.0
                && budget.false_alarms_per_tenant_month <= 30.0,
            "sweep.error_budget.false_alarms_per_tenant_month",
            "above 0 and at most 30",
            budget.false_alarms_per_tenant_month,
        );
        check(
            (1..=1_000_000).contains(&budget.min_family),
            "sweep.error_budget.min_family",
            "from 1 to 1000000",
            f64::from(budget.min_family),
        );
        let windows = [
            (
                "provisioning",
                self.provisioning.baseline_days,
                self.provisioning.min_history_days,
            ),
            (
                "credential_stuffing",
                self.credential_stuffing.baseline_days,
                self.credential_stuffing.min_history_days,
            ),
            (
                "billing",
                self.billing.baseline_days,
                self.billing.min_history_days,
            ),
        ];
        for (section, baseline_days, min_history_days) in windows {
            let days = f64::from(baseline_days);
            check(
                (1..=3660).contains(&baseline_days),
                &format!("{section}.baseline_days"),
                "from 1 to 3660",
                days,
            );
            check(
                min_history_days <= baseline_days,
                &format!("{section}.min_history_days"),
                "at most baseline_days",
                f64::from(min_history_days),
            );
        }
        check(
            (2..=self.billing.min_history_days.max(2))
                .contains(&self.billing.min_cold_history_days),
            "billing.min_cold_history_days",
            "from 2 to min_history_days",
            f64::from(self.billing.min_cold_history_days),
        );
        let lookback = self.billing.monthly_lookback_days;
        check(
            (1..=3660).contains(&lookback),
            "billing.monthly_lookback_days",
            "from 1 to 3660",
            f64::from(lookback),
        );
        for (section, prior) in [
            ("provisioning.count_prior", &self.provisioning.count_prior),
            (
                "provisioning.sporadic_size_prior",
                &self.provisioning.sporadic_size_prior,
            ),
            (
                "provisioning.first_use_size_prior",
                &self.provisioning.first_use_size_prior,
            ),
            (
                "provisioning.cold_size_prior",
                &self.provisioning.cold_size_prior,
            ),
            (
                "credential_stuffing.d24_prior",
                &self.credential_stuffing.d24_prior,
            ),
        ] {
            let key = |name: &str| format!("{section}.{name}");
            check(
                prior.pseudo_count.is_finite() && prior.pseudo_count >= 0.0,
                &key("pseudo_count"),
                "0 or more",
                prior.pseudo_count,
            );
            check(
                prior.pseudo_days.is_finite() && prior.pseudo_days > 0.0,
                &key("pseudo_days"),
                "more than 0",
                prior.pseudo_days,
            );
            check(
                prior.dispersion.is_finite() && (0.0..=1e6).contains(&prior.dispersion),
                &key("dispersion"),
                "from 0 to 1e6",
                prior.dispersion,
            );
            check(
                prior.dispersion_days.is_finite() && prior.dispersion_days >= 0.0,
                &key("dispersion_days"),
                "0 or more",
                prior.dispersion_days,
            );
        }
        let p = &self.provisioning;
        check(
            fraction(p.prior_hosting_source),
            "provisioning.prior_hosting_source",
            "between 0 and 1",
            p.prior_hosting_source,
        );
        check(
            p.prior_weight >= 0.0,
            "provisioning.prior_weight",
            "0 or more",
            p.prior_weight,
        );
        check(
            p.trim_p > 0.0 && p.trim_p <= 1.0,
            "provisioning.trim_p",
            "in (0, 1]",
            p.trim_p,
        );
        check(
            fraction(p.prior_vps_source),
            "provisioning.prior_vps_source",
            "between 0 and 1",
            p.prior_vps_source,
        );
        check(
            fraction(p.cold_cloud_source),
            "provisioning.cold_cloud_source",
            "between 0 and 1",
            p.cold_cloud_source,
        );
        check(
            fraction(p.prior_accelerator),
            "provisioning.prior_accelerator",
            "between 0 and 1",
            p.prior_accelerator,
        );
        check(
            p.novelty_prior_weight.is_finite() && p.novelty_prior_weight > 0.0,
            "provisioning.novelty_prior_weight",
            "more than 0",
            p.novelty_prior_weight,
        );
        for (k, value) in p.novelty_prior.iter().enumerate() {
            check(
                value.is_finite() && *value > 0.0,
                &format!("provisioning.novelty_prior[{k}]"),
                "more than 0",
                *value,
            );
        }
        let tail = &self.credential_stuffing.f24_tail;
        let falling = tail.survival.windows(2).all(|w| w[1] <= w[0]);
        check(
            !tail.survival.is_empty()
                && falling
                && tail
                    .survival
                    .iter()
                    .all(|s| s.is_finite() && *s > 0.0 && *s <= 1.0),
            "credential_stuffing.f24_tail.survival",
            "a non-empty, non-increasing list of probabilities above 0",
            tail.survival.first().copied().unwrap_or(f64::NAN),
        );
        check(
            fraction(tail.decay),
            "credential_stuffing.f24_tail.decay",
            "between 0 and 1",
            tail.decay,
        );
        check(
            self.credential_stuffing.trim_p > 0.0 && self.credential_stuffing.trim_p <= 1.0,
            "credential_stuffing.trim_p",
            "in (0, 1]",
            self.credential_stuffing.trim_p,
        );
        let c = &self.credential_stuffing;
        for (key, value) in [
            ("credential_stuffing.prior_new_network", c.prior_new_network),
            (
                "credential_stuffing.prior_hosting_source",
                c.prior_hosting_source,
            ),
            ("credential_stuffing.prior_no_mfa", c.prior_no_mfa),
            ("credential_stuffing.prior_vps_source", c.prior_vps_source),
        ] {
            check(fraction(value), key, "between 0 and 1", value);
        }
        check(
            c.prior_weight >= 0.0,
            "credential_stuffing.prior_weight",
            "0 or more",
            c.prior_weight,
        );
        let b = &self.billing;
        check(
            b.min_increase >= 0.0,
            "billing.min_increase",
            "0 or more",
            b.min_increase,
        );
        check(
            b.min_ratio >= 1.0,
            "billing.min_ratio",
            "1 or more",
            b.min_ratio,
        );
        check(
            b.relative_sd_floor >= 0.0,
            "billing.relative_sd_floor",
            "0 or more",
            b.relative_sd_floor,
        );
        check(
            b.absolute_sd_floor > 0.0,
            "billing.absolute_sd_floor",
            "more than 0",
            b.absolute_sd_floor,
        );
        check(
            b.trim_p > 0.0 && b.trim_p <= 1.0,
            "billing.trim_p",
            "in (0, 1]",
            b.trim_p,
        );
        check(
            b.linked_weight.is_finite() && (1.0..=1000.0).contains(&b.linked_weight),
            "billing.linked_weight",
            "from 1 to 1000",
            b.linked_weight,
        );
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
