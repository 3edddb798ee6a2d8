//! The ground truth `auditsweep-gen` writes next to a generated world (`labels.json`).
//!
//! Only the fields the evaluator reads are typed; unknown fields are ignored on purpose, so the
//! generator can add detail (benign decoys, attack parameters) without breaking older evaluators.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::report::Detector;
use crate::schema::Provider;

/// The world a report is judged against: who exists, for how long, and which attacks happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Labels {
    /// The generator seed, kept so a score can be traced back to the world it came from.
    pub seed: u64,
    /// Start of the generated period.
    pub start: DateTime<Utc>,
    /// Length of the generated period in days.
    pub days: u32,
    pub tenants: Vec<LabeledTenant>,
    pub attacks: Vec<Attack>,
}

/// One tenant: a company on one cloud, named as the normalizer reports it (AWS account or
/// organization, Entra tenant id, GCP organization). A company on two clouds is two tenants.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabeledTenant {
    pub tenant: String,
    pub provider: Provider,
    #[serde(default)]
    pub accounts: Vec<String>,
}

/// One injected attack and the window in which its activity happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attack {
    pub id: String,
    pub kind: AttackKind,
    /// The generator's name for how the attack was carried out (`password_spraying`, `lightsail`...).
    pub variant: String,
    pub provider: Provider,
    pub tenant: String,
    pub account: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    #[serde(default)]
    pub principals: Vec<String>,
    #[serde(default)]
    pub src_ips: Vec<String>,
}

/// What an attack is, named as the detector meant to find it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttackKind {
    Provisioning,
    CredentialStuffing,
    BillingJump,
}

impl AttackKind {
    /// Every kind, in the order reports list detectors.
    pub const ALL: [AttackKind; 3] = [
        AttackKind::Provisioning,
        AttackKind::CredentialStuffing,
        AttackKind::BillingJump,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AttackKind::Provisioning => "provisioning",
            AttackKind::CredentialStuffing => "credential_stuffing",
            AttackKind::BillingJump => "billing_jump",
        }
    }

    /// The detector whose findings count for attacks of this kind.
    pub fn detector(self) -> Detector {
        match self {
            AttackKind::Provisioning => Detector::Provisioning,
            AttackKind::CredentialStuffing => Detector::CredentialStuffing,
            AttackKind::BillingJump => Detector::BillingJump,
        }
    }

    /// The kind of attack a detector's findings can detect. The match is exhaustive, so a new
    /// detector cannot be added without deciding what it is scored against.
    pub fn detected_by(detector: Detector) -> AttackKind {
        match detector {
            Detector::Provisioning => AttackKind::Provisioning,
            Detector::CredentialStuffing => AttackKind::CredentialStuffing,
            Detector::BillingJump => AttackKind::BillingJump,
        }
    }
}

/// Why a labels file, although valid JSON of the right shape, cannot be scored against.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LabelsError {
    #[error("attack `{id}` ends ({end}) before it starts ({start})")]
    EndBeforeStart {
        id: String,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    },
    #[error("attack id `{0}` appears more than once")]
    DuplicateAttackId(String),
}

impl Labels {
    /// Checks what serde cannot: attack windows run forwards and attack ids are unique (the
    /// report of missed attacks names them by id).
    pub fn validate(&self) -> Result<(), LabelsError> {
        let mut seen = BTreeSet::new();
        for attack in &self.attacks {
            if attack.end < attack.start {
                return Err(LabelsError::EndBeforeStart {
                    id: attack.id.clone(),
                    start: attack.start,
                    end: attack.end,
                });
            }
            if !seen.insert(attack.id.as_str()) {
                return Err(LabelsError::DuplicateAttackId(attack.id.clone()));
            }
        }
        Ok(())
    }

    /// Distinct tenants, by provider and tenant id, so a repeated entry does not inflate the
    /// exposure that false positives are divided by.
    pub fn tenant_count(&self) -> usize {
        self.tenants
            .iter()
            .map(|tenant| (&tenant.provider, tenant.tenant.as_str()))
            .collect::<BTreeSet<_>>()
            .len()
    }

    /// Tenants × days / 30: the exposure that false positives are normalized by.
    pub fn tenant_months(&self) -> f64 {
        self.tenant_count() as f64 * f64::from(self.days) / 30.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{
        "seed": 7, "start": "2024-03-01T00:00:00Z", "days": 60, "generator_version": "x",
        "tenants": [
            {"tenant": "t1", "provider": "aws", "accounts": ["111122223333"]},
            {"tenant": "t1", "provider": "gcp", "accounts": ["proj-a"], "region_set": ["us"]},
            {"tenant": "t2", "provider": "azure", "accounts": ["sub-1"]}
        ],
        "attacks": [{
            "id": "a1", "kind": "billing_jump", "variant": "storage_jump", "provider": "aws",
            "tenant": "t1", "account": "111122223333",
            "start": "2024-03-10T00:00:00Z", "end": "2024-03-11T00:00:00Z", "cost_usd": 900.0
        }]
    }"#;

    #[test]
    fn parses_labels_ignoring_unknown_fields_and_defaulting_empty_lists() {
        let labels: Labels = serde_json::from_str(SAMPLE).unwrap();
        assert_eq!(labels.attacks[0].kind, AttackKind::BillingJump);
        assert_eq!(labels.attacks[0].provider, Provider::Aws);
        assert!(labels.attacks[0].principals.is_empty());
        assert!(labels.validate().is_ok());
    }

    #[test]
    fn tenant_months_count_each_tenant_on_each_cloud_once() {
        let mut labels: Labels = serde_json::from_str(SAMPLE).unwrap();
        // `t1` on AWS and on GCP are two tenants; 3 tenants x 60 days = 6 tenant-months.
        assert_eq!(labels.tenant_count(), 3);
        assert!((labels.tenant_months() - 6.0).abs() < 1e-12);
        let repeated = labels.tenants[2].clone();
        labels.tenants.push(repeated);
        assert_eq!(labels.tenant_count(), 3);
    }

    #[test]
    fn kinds_and_detectors_map_one_to_one() {
        for kind in AttackKind::ALL {
            assert_eq!(AttackKind::detected_by(kind.detector()), kind);
            assert_eq!(kind.detector().as_str(), kind.as_str());
        }
    }

    #[test]
    fn rejects_unknown_kind() {
        let text = SAMPLE.replace("billing_jump", "exfiltration");
        assert!(serde_json::from_str::<Labels>(&text).is_err());
    }

    #[test]
    fn rejects_backwards_windows_and_duplicate_ids() {
        let mut labels: Labels = serde_json::from_str(SAMPLE).unwrap();
        let mut twin = labels.attacks[0].clone();
        labels.attacks.push(twin.clone());
        assert_eq!(
            labels.validate(),
            Err(LabelsError::DuplicateAttackId("a1".into()))
        );
        twin.id = "a2".into();
        std::mem::swap(&mut twin.start, &mut twin.end);
        labels.attacks[1] = twin;
        assert!(matches!(
            labels.validate(),
            Err(LabelsError::EndBeforeStart { id, .. }) if id == "a2"
        ));
    }
}
