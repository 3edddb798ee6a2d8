//! The analyst playbook each finding carries: what to verify, how to contain, and when to
//! escalate to Tier 2. The text and the escalation rules are data (`playbooks.toml`), written from
//! the T1583.003 and T1584.003 analyst cards, so analysts can review them without reading code.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use serde::Deserialize;

use crate::report::Detector;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Playbooks {
    techniques: BTreeMap<String, Technique>,
    escalation: Vec<EscalationRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Technique {
    name: String,
    verify: Vec<String>,
    contain: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EscalationRule {
    detector: Detector,
    facts: Vec<String>,
    reason: String,
}

static PLAYBOOKS: LazyLock<Playbooks> = LazyLock::new(|| {
    toml::from_str(include_str!("playbooks.toml")).expect("playbooks.toml is valid (tested)")
});

/// The playbooks a finding carries: provisioning the VPS cards'; sign-ins password guessing
/// (T1110) and the compromise card; a billing jump the VPS cards only when anomalous
/// provisioning explains it, else the steps about the cost itself.
fn techniques(detector: Detector, facts: &BTreeSet<String>) -> &'static [&'static str] {
    match detector {
        Detector::Provisioning => &["T1583.003", "T1584.003"],
        Detector::BillingJump if facts.contains("linked_provisioning") => {
            &["T1583.003", "T1584.003"]
        }
        Detector::BillingJump => &["billing"],
        Detector::CredentialStuffing => &["T1110", "T1584.003"],
    }
}

/// The ordered analyst steps for a finding: verification first, then containment.
pub fn next_steps(detector: Detector, facts: &BTreeSet<String>) -> Vec<String> {
    let chosen: Vec<&Technique> = techniques(detector, facts)
        .iter()
        .filter_map(|id| PLAYBOOKS.techniques.get(*id))
        .collect();
    let verify = chosen
        .iter()
        .flat_map(|t| t.verify.iter().map(|s| format!("Verify ({}): {s}", t.name)));
    let contain = chosen.iter().flat_map(|t| {
        t.contain
            .iter()
            .map(|s| format!("Contain ({}): {s}", t.name))
    });
    verify.chain(contain).collect()
}

/// Whether the playbook says to escalate, and why (every rule that fired, joined).
pub fn escalation(detector: Detector, facts: &BTreeSet<String>) -> (bool, String) {
    let reasons: Vec<&str> = PLAYBOOKS
        .escalation
        .iter()
        .filter(|rule| rule.detector == detector && rule.facts.iter().all(|f| facts.contains(f)))
        .map(|rule| rule.reason.as_str())
        .collect();
    if reasons.is_empty() {
        (
            false,
            "No escalation rule fired: handle at Tier 1 with the next steps.".to_string(),
        )
    } else {
        (true, reasons.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_playbook_table_parses_and_covers_both_techniques() {
        assert!(PLAYBOOKS.techniques.contains_key("T1583.003"));
        assert!(PLAYBOOKS.techniques.contains_key("T1584.003"));
        for detector in [
            Detector::Provisioning,
            Detector::CredentialStuffing,
            Detector::BillingJump,
        ] {
            assert!(next_steps(detector, &BTreeSet::new()).len() >= 3);
            assert!(PLAYBOOKS.escalation.iter().any(|r| r.detector == detector));
        }
    }

    #[test]
    fn steps_fit_the_finding() {
        let none = BTreeSet::new();
        let billing = next_steps(Detector::BillingJump, &none).join(" ");
        assert!(!billing.contains("principal") && !billing.contains("new instances"));
        let linked = BTreeSet::from(["linked_provisioning".to_string()]);
        assert!(next_steps(Detector::BillingJump, &linked)
            .join(" ")
            .contains("principal"));
        let sign_in = next_steps(Detector::CredentialStuffing, &none).join(" ");
        assert!(sign_in.contains("Password Guessing") && sign_in.contains("Compromise"));
    }

    #[test]
    fn rules_fire_only_when_all_their_facts_hold() {
        let facts = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        assert!(escalation(Detector::CredentialStuffing, &facts(&["success"])).0);
        assert!(!escalation(Detector::CredentialStuffing, &facts(&["no_mfa"])).0);
        assert!(!escalation(Detector::Provisioning, &facts(&["new_principal"])).0);
        let (yes, why) = escalation(
            Detector::Provisioning,
            &facts(&["new_principal", "new_network", "burst"]),
        );
        assert!(yes && why.contains("high-volume") && why.contains("does not provision"));
    }
}
