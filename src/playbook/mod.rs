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

/// The techniques whose playbook a detector's findings carry.
fn techniques(detector: Detector) -> &'static [&'static str] {
    match detector {
        Detector::Provisioning | Detector::BillingJump => &["T1583.003", "T1584.003"],
        Detector::CredentialStuffing => &["T1584.003"],
    }
}

/// The ordered analyst steps for a finding: verification first, then containment.
pub fn next_steps(detector: Detector) -> Vec<String> {
    let chosen: Vec<&Technique> = techniques(detector)
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
            assert!(next_steps(detector).len() >= 3);
            assert!(PLAYBOOKS.escalation.iter().any(|r| r.detector == detector));
        }
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
