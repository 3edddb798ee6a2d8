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
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SweepParams {
    /// False-discovery rate per detector (Benjamini-Hochberg): the share of reported findings
    /// that may be false alarms, in expectation.
    pub fdr: f64,
}

impl Default for SweepParams {
    fn default() -> Self {
        SweepParams { fdr: 0.01 }
    }
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
        if !(config.sweep.fdr > 0.0 && config.sweep.fdr < 1.0) {
            return Err(ConfigError::Invalid {
                path: path.display().to_string(),
                message: format!(
                    "sweep.fdr must be between 0 and 1, got {}",
                    config.sweep.fdr
                ),
            });
        }
        Ok(config)
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
        !finding.evidence.events.is_empty()
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
