//! Detection quality: scores a report against the labels of a generated world.
//!
//! The generator (`auditsweep-gen`) knows which attacks it injected; [`evaluate`] pairs them with
//! a report's findings under the rule in [`matching`] and counts, per detector and overall:
//! true positives (attacks detected), false positives (findings matching no attack), false
//! negatives (attacks missed), the ratios in [`metrics`], and how long after an attack began its
//! first evidence appeared. Everything here is a pure function of the two documents, so a score
//! is reproducible from the files alone. `docs/evaluation.md` explains the rule for users.

pub mod input;
pub mod labels;
pub mod matching;
pub mod metrics;
pub mod text;

#[cfg(test)]
mod testing;

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};

pub use input::{read_labels, read_report, InputError};
pub use labels::{Attack, AttackKind, Labels};
pub use metrics::Score;

use crate::report::{Detector, Finding, Report};
use crate::schema::Provider;

/// How [`evaluate`] matches; see [`matching`] for why there is a tolerance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvalOptions {
    pub tolerance: TimeDelta,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            tolerance: TimeDelta::hours(24),
        }
    }
}

/// The result of an evaluation, as `auditsweep eval --json` prints it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// The generator seed of the labeled world.
    pub seed: u64,
    pub tolerance_hours: f64,
    /// Tenants in the world (a company on two clouds is two tenants).
    pub tenants: usize,
    pub days: u32,
    pub tenant_months: f64,
    pub attacks: usize,
    pub findings: usize,
    /// One entry per detector, always all of them, in a fixed order.
    pub detectors: Vec<DetectorScore>,
    pub overall: Score,
    pub detected_attacks: Vec<DetectedAttack>,
    pub missed_attacks: Vec<MissedAttack>,
    pub false_positive_findings: Vec<FalsePositiveFinding>,
    /// Detected attacks that more than one finding matched (several tickets for one incident),
    /// in label order. Absent in evaluations written before it existed, hence the default.
    #[serde(default)]
    pub split_attacks: Vec<SplitAttack>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectorScore {
    pub detector: Detector,
    #[serde(flatten)]
    pub score: Score,
}

/// An attack and the findings that detected it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectedAttack {
    pub id: String,
    pub kind: AttackKind,
    pub variant: String,
    pub finding_ids: Vec<String>,
    /// Earliest matching `first_seen` − attack start, clamped at zero.
    pub delay_seconds: i64,
}

/// An attack that several findings matched: one incident, several tickets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitAttack {
    pub id: String,
    pub kind: AttackKind,
    pub variant: String,
    /// The matching findings, in report order (always more than one).
    pub finding_ids: Vec<String>,
}

/// An attack no finding matched: what a detector developer needs to reproduce it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MissedAttack {
    pub id: String,
    pub kind: AttackKind,
    pub variant: String,
    pub provider: Provider,
    pub tenant: String,
    pub account: String,
    pub start: chrono::DateTime<chrono::Utc>,
}

/// A finding that matched no attack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FalsePositiveFinding {
    pub id: String,
    pub detector: Detector,
    pub title: String,
    pub provider: Provider,
    pub tenant: Option<String>,
    pub account: Option<String>,
    pub first_seen: chrono::DateTime<chrono::Utc>,
}

/// Scores `report` against `labels`.
///
/// Every finding is compared with every attack (findings × attacks comparisons); a world has at
/// most a few hundred attacks, so an index would buy nothing measurable.
pub fn evaluate(labels: &Labels, report: &Report, options: &EvalOptions) -> Evaluation {
    let mut matches: Vec<Vec<&Finding>> = vec![Vec::new(); labels.attacks.len()];
    let mut unmatched: Vec<&Finding> = Vec::new();
    for finding in &report.findings {
        let mut matched_any = false;
        for (attack, found) in labels.attacks.iter().zip(matches.iter_mut()) {
            if matching::finding_matches(finding, attack, options.tolerance) {
                found.push(finding);
                matched_any = true;
            }
        }
        if !matched_any {
            unmatched.push(finding);
        }
    }

    let mut detected_attacks = Vec::new();
    let mut missed_attacks = Vec::new();
    for (attack, found) in labels.attacks.iter().zip(&matches) {
        match found.iter().map(|finding| finding.first_seen).min() {
            Some(first_evidence) => detected_attacks.push(DetectedAttack {
                id: attack.id.clone(),
                kind: attack.kind,
                variant: attack.variant.clone(),
                finding_ids: found.iter().map(|finding| finding.id.clone()).collect(),
                // Evidence before the labeled start (a billing day that began before the attack)
                // is not detection ahead of time; it counts as no delay.
                delay_seconds: (first_evidence - attack.start).num_seconds().max(0),
            }),
            None => missed_attacks.push(MissedAttack {
                id: attack.id.clone(),
                kind: attack.kind,
                variant: attack.variant.clone(),
                provider: attack.provider.clone(),
                tenant: attack.tenant.clone(),
                account: attack.account.clone(),
                start: attack.start,
            }),
        }
    }
    let false_positive_findings: Vec<FalsePositiveFinding> = unmatched
        .iter()
        .map(|finding| FalsePositiveFinding {
            id: finding.id.clone(),
            detector: finding.detector,
            title: finding.title.clone(),
            provider: finding.provider.clone(),
            tenant: finding.tenant.clone(),
            account: finding.account.clone(),
            first_seen: finding.first_seen,
        })
        .collect();

    let tenant_months = labels.tenant_months();
    let score_of = |kind: Option<AttackKind>| {
        let wanted = |candidate: AttackKind| kind.is_none_or(|kind| kind == candidate);
        let detected: Vec<&DetectedAttack> = detected_attacks
            .iter()
            .filter(|attack| wanted(attack.kind))
            .collect();
        let delays: Vec<i64> = detected.iter().map(|attack| attack.delay_seconds).collect();
        let findings_per_detected: Vec<u64> = detected
            .iter()
            .map(|attack| attack.finding_ids.len() as u64)
            .collect();
        let missed = missed_attacks.iter().filter(|attack| wanted(attack.kind));
        let false_positives = false_positive_findings
            .iter()
            .filter(|finding| wanted(AttackKind::detected_by(finding.detector)));
        Score::new(
            delays.len() as u64,
            false_positives.count() as u64,
            missed.count() as u64,
            tenant_months,
            &delays,
            &findings_per_detected,
        )
    };
    let detectors = AttackKind::ALL
        .iter()
        .map(|&kind| DetectorScore {
            detector: kind.detector(),
            score: score_of(Some(kind)),
        })
        .collect();
    let overall = score_of(None);
    let split_attacks = detected_attacks
        .iter()
        .filter(|attack| attack.finding_ids.len() > 1)
        .map(|attack| SplitAttack {
            id: attack.id.clone(),
            kind: attack.kind,
            variant: attack.variant.clone(),
            finding_ids: attack.finding_ids.clone(),
        })
        .collect();

    Evaluation {
        seed: labels.seed,
        tolerance_hours: options.tolerance.num_seconds() as f64 / 3600.0,
        tenants: labels.tenant_count(),
        days: labels.days,
        tenant_months,
        attacks: labels.attacks.len(),
        findings: report.findings.len(),
        detectors,
        overall,
        detected_attacks,
        missed_attacks,
        false_positive_findings,
        split_attacks,
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{
        at, attack, finding, labels, provisioning_attack, provisioning_finding, report,
    };
    use super::*;

    fn score(evaluation: &Evaluation, detector: Detector) -> &Score {
        &evaluation
            .detectors
            .iter()
            .find(|entry| entry.detector == detector)
            .expect("every detector is listed")
            .score
    }

    fn counts(score: &Score) -> (u64, u64, u64) {
        (
            score.true_positives,
            score.false_positives,
            score.false_negatives,
        )
    }

    #[test]
    fn exact_match_is_one_true_positive() {
        let world = labels(vec![attack(
            "a1",
            AttackKind::Provisioning,
            "t1",
            "acct-1",
            at(10, 0),
            at(10, 2),
        )]);
        let found = report(vec![finding(
            "f1",
            Detector::Provisioning,
            Some("t1"),
            Some("acct-1"),
            at(10, 1),
            at(10, 2),
        )]);
        let evaluation = evaluate(&world, &found, &EvalOptions::default());
        assert_eq!(counts(&evaluation.overall), (1, 0, 0));
        assert_eq!(
            counts(score(&evaluation, Detector::Provisioning)),
            (1, 0, 0)
        );
        assert_eq!(evaluation.overall.precision, Some(1.0));
        assert_eq!(evaluation.overall.recall, Some(1.0));
        assert_eq!(
            evaluation.detected_attacks[0].finding_ids,
            vec!["f1".to_string()]
        );
        assert_eq!(evaluation.detected_attacks[0].delay_seconds, 3600);
    }

    #[test]
    fn wrong_tenant_is_a_false_positive_and_a_false_negative() {
        let world = labels(vec![attack(
            "a1",
            AttackKind::CredentialStuffing,
            "t1",
            "acct-1",
            at(10, 0),
            at(10, 2),
        )]);
        let found = report(vec![finding(
            "f1",
            Detector::CredentialStuffing,
            Some("t2"),
            Some("acct-2"),
            at(10, 1),
            at(10, 1),
        )]);
        let evaluation = evaluate(&world, &found, &EvalOptions::default());
        assert_eq!(counts(&evaluation.overall), (0, 1, 1));
        assert_eq!(evaluation.missed_attacks[0].id, "a1");
        assert_eq!(evaluation.false_positive_findings[0].id, "f1");
    }

    #[test]
    fn two_findings_for_one_attack_count_once() {
        let world = labels(vec![attack(
            "a1",
            AttackKind::Provisioning,
            "t1",
            "acct-1",
            at(10, 0),
            at(10, 6),
        )]);
        let found = report(vec![
            finding(
                "late",
                Detector::Provisioning,
                Some("t1"),
                None,
                at(10, 5),
                at(10, 6),
            ),
            finding(
                "early",
                Detector::Provisioning,
                Some("t1"),
                None,
                at(10, 2),
                at(10, 3),
            ),
        ]);
        let evaluation = evaluate(&world, &found, &EvalOptions::default());
        assert_eq!(counts(&evaluation.overall), (1, 0, 0));
        assert_eq!(evaluation.overall.precision, Some(1.0));
        // The delay is to the first evidence among the matching findings.
        assert_eq!(evaluation.detected_attacks[0].delay_seconds, 2 * 3600);
        assert_eq!(evaluation.detected_attacks[0].finding_ids.len(), 2);
    }

    #[test]
    fn findings_per_attack_counts_the_tickets_of_each_incident() {
        let world = labels(vec![
            provisioning_attack("one", 10),
            provisioning_attack("three", 20),
            attack(
                "stuffed",
                AttackKind::CredentialStuffing,
                "t1",
                "acct-1",
                at(15, 0),
                at(15, 1),
            ),
            attack(
                "missed",
                AttackKind::BillingJump,
                "t1",
                "acct-1",
                at(25, 0),
                at(25, 1),
            ),
        ]);
        let provisioning = provisioning_finding;
        let found = report(vec![
            provisioning("p1", 10),
            provisioning("p2", 20),
            provisioning("p3", 20),
            finding(
                "s1",
                Detector::CredentialStuffing,
                Some("t1"),
                None,
                at(15, 0),
                at(15, 1),
            ),
            provisioning("p4", 20),
        ]);
        let evaluation = evaluate(&world, &found, &EvalOptions::default());
        let prov = score(&evaluation, Detector::Provisioning);
        assert_eq!(prov.findings_per_attack, Some(2.0));
        assert_eq!(prov.max_findings_per_attack, Some(3));
        let stuffing = score(&evaluation, Detector::CredentialStuffing);
        assert_eq!(stuffing.findings_per_attack, Some(1.0));
        assert_eq!(stuffing.max_findings_per_attack, Some(1));
        // Nothing detected: undefined, not zero.
        let billing = score(&evaluation, Detector::BillingJump);
        assert_eq!(billing.findings_per_attack, None);
        assert_eq!(billing.max_findings_per_attack, None);
        // Overall: 1 + 3 + 1 findings over three detected attacks.
        assert_eq!(evaluation.overall.findings_per_attack, Some(5.0 / 3.0));
        assert_eq!(evaluation.overall.max_findings_per_attack, Some(3));
        assert_eq!(
            evaluation.split_attacks,
            vec![SplitAttack {
                id: "three".into(),
                kind: AttackKind::Provisioning,
                variant: "test_variant".into(),
                finding_ids: vec!["p2".into(), "p3".into(), "p4".into()],
            }]
        );
    }

    #[test]
    fn a_finding_matching_nothing_is_a_false_positive_of_its_detector() {
        let world = labels(vec![attack(
            "a1",
            AttackKind::Provisioning,
            "t1",
            "acct-1",
            at(10, 0),
            at(10, 2),
        )]);
        let found = report(vec![
            finding(
                "f1",
                Detector::Provisioning,
                Some("t1"),
                None,
                at(10, 1),
                at(10, 1),
            ),
            finding(
                "noise",
                Detector::BillingJump,
                Some("t1"),
                None,
                at(20, 0),
                at(21, 0),
            ),
        ]);
        let evaluation = evaluate(&world, &found, &EvalOptions::default());
        assert_eq!(counts(&evaluation.overall), (1, 1, 0));
        assert_eq!(
            counts(score(&evaluation, Detector::Provisioning)),
            (1, 0, 0)
        );
        assert_eq!(counts(score(&evaluation, Detector::BillingJump)), (0, 1, 0));
        assert_eq!(
            score(&evaluation, Detector::BillingJump).precision,
            Some(0.0)
        );
        assert_eq!(score(&evaluation, Detector::BillingJump).recall, None);
        assert_eq!(
            score(&evaluation, Detector::CredentialStuffing).precision,
            None
        );
        assert_eq!(evaluation.overall.precision, Some(0.5));
    }

    #[test]
    fn a_finding_of_the_wrong_detector_does_not_detect_the_attack() {
        let world = labels(vec![attack(
            "a1",
            AttackKind::BillingJump,
            "t1",
            "acct-1",
            at(10, 0),
            at(11, 0),
        )]);
        let found = report(vec![finding(
            "f1",
            Detector::Provisioning,
            Some("t1"),
            None,
            at(10, 1),
            at(10, 1),
        )]);
        let evaluation = evaluate(&world, &found, &EvalOptions::default());
        assert_eq!(counts(score(&evaluation, Detector::BillingJump)), (0, 0, 1));
        assert_eq!(
            counts(score(&evaluation, Detector::Provisioning)),
            (0, 1, 0)
        );
    }

    #[test]
    fn one_finding_may_detect_several_attacks() {
        let world = labels(vec![
            attack(
                "a1",
                AttackKind::Provisioning,
                "t1",
                "acct-1",
                at(10, 0),
                at(10, 2),
            ),
            attack(
                "a2",
                AttackKind::Provisioning,
                "t1",
                "acct-1",
                at(11, 0),
                at(11, 2),
            ),
        ]);
        let found = report(vec![finding(
            "f1",
            Detector::Provisioning,
            Some("t1"),
            None,
            at(10, 1),
            at(11, 1),
        )]);
        let evaluation = evaluate(&world, &found, &EvalOptions::default());
        assert_eq!(counts(&evaluation.overall), (2, 0, 0));
        // One finding for several attacks is not a split.
        assert!(evaluation.split_attacks.is_empty());
        assert_eq!(evaluation.overall.findings_per_attack, Some(1.0));
        assert_eq!(evaluation.overall.max_findings_per_attack, Some(1));
    }

    #[test]
    fn tolerance_option_decides_the_edge() {
        let world = labels(vec![attack(
            "a1",
            AttackKind::BillingJump,
            "t1",
            "acct-1",
            at(10, 0),
            at(10, 12),
        )]);
        let found = report(vec![finding(
            "f1",
            Detector::BillingJump,
            Some("t1"),
            None,
            at(11, 12),
            at(12, 0),
        )]);
        let strict = EvalOptions {
            tolerance: TimeDelta::hours(23),
        };
        assert_eq!(
            counts(&evaluate(&world, &found, &strict).overall),
            (0, 1, 1)
        );
        let evaluation = evaluate(&world, &found, &EvalOptions::default());
        assert_eq!(counts(&evaluation.overall), (1, 0, 0));
        assert_eq!(evaluation.tolerance_hours, 24.0);
    }

    #[test]
    fn evidence_before_the_attack_clamps_the_delay_to_zero() {
        let world = labels(vec![
            attack(
                "a1",
                AttackKind::BillingJump,
                "t1",
                "acct-1",
                at(10, 6),
                at(10, 8),
            ),
            attack(
                "a2",
                AttackKind::BillingJump,
                "t1",
                "acct-2",
                at(12, 0),
                at(12, 1),
            ),
            attack(
                "a3",
                AttackKind::BillingJump,
                "t1",
                "acct-3",
                at(14, 0),
                at(14, 1),
            ),
        ]);
        let found = report(vec![
            // A daily billing row starting at midnight, before the attack began at 06:00.
            finding(
                "f1",
                Detector::BillingJump,
                None,
                Some("acct-1"),
                at(10, 0),
                at(11, 0),
            ),
            finding(
                "f2",
                Detector::BillingJump,
                None,
                Some("acct-2"),
                at(12, 4),
                at(13, 0),
            ),
            finding(
                "f3",
                Detector::BillingJump,
                None,
                Some("acct-3"),
                at(14, 10),
                at(15, 0),
            ),
        ]);
        let evaluation = evaluate(&world, &found, &EvalOptions::default());
        let delays: Vec<i64> = evaluation
            .detected_attacks
            .iter()
            .map(|a| a.delay_seconds)
            .collect();
        assert_eq!(delays, vec![0, 4 * 3600, 10 * 3600]);
        assert_eq!(evaluation.overall.median_delay_seconds, Some(4.0 * 3600.0));
    }

    #[test]
    fn false_positives_per_tenant_month_uses_the_world_size() {
        // testing::labels has two tenants over 60 days: 4 tenant-months.
        let world = labels(Vec::new());
        let found = report(vec![
            finding(
                "n1",
                Detector::Provisioning,
                Some("t1"),
                None,
                at(3, 0),
                at(3, 1),
            ),
            finding(
                "n2",
                Detector::CredentialStuffing,
                Some("t2"),
                None,
                at(4, 0),
                at(4, 1),
            ),
        ]);
        let evaluation = evaluate(&world, &found, &EvalOptions::default());
        assert_eq!(evaluation.tenant_months, 4.0);
        assert_eq!(
            evaluation.overall.false_positives_per_tenant_month,
            Some(0.5)
        );
        assert_eq!(
            score(&evaluation, Detector::Provisioning).false_positives_per_tenant_month,
            Some(0.25)
        );
        assert_eq!(evaluation.overall.recall, None);
    }

    #[test]
    fn evaluation_round_trips_through_json() {
        let world = labels(vec![attack(
            "a1",
            AttackKind::Provisioning,
            "t1",
            "acct-1",
            at(10, 0),
            at(10, 2),
        )]);
        let found = report(vec![finding(
            "n1",
            Detector::BillingJump,
            Some("t1"),
            None,
            at(3, 0),
            at(3, 1),
        )]);
        let evaluation = evaluate(&world, &found, &EvalOptions::default());
        let text = serde_json::to_string(&evaluation).unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["detectors"][0]["detector"], "provisioning");
        assert_eq!(value["detectors"][0]["false_negatives"], 1);
        assert!(value["overall"]["precision"].is_number());
        assert!(value["detectors"][0]["precision"].is_null());
        // The new fields are always present, null when undefined.
        assert!(value["detectors"][0]["findings_per_attack"].is_null());
        assert!(value["detectors"][0]["max_findings_per_attack"].is_null());
        assert_eq!(value["split_attacks"], serde_json::json!([]));
        let back: Evaluation = serde_json::from_str(&text).unwrap();
        assert_eq!(back, evaluation);
    }

    #[test]
    fn an_evaluation_written_before_findings_per_attack_still_reads() {
        let evaluation = evaluate(
            &labels(Vec::new()),
            &report(Vec::new()),
            &EvalOptions::default(),
        );
        let mut value = serde_json::to_value(&evaluation).unwrap();
        let object = value.as_object_mut().unwrap();
        object.remove("split_attacks");
        for entry in object["detectors"].as_array_mut().unwrap() {
            let entry = entry.as_object_mut().unwrap();
            entry.remove("findings_per_attack");
            entry.remove("max_findings_per_attack");
        }
        let back: Evaluation = serde_json::from_value(value).unwrap();
        assert_eq!(back, evaluation);
    }
}
