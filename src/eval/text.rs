//! The human form of an [`Evaluation`]: a score table, then the attacks missed and the false
//! alarms, each with what a detector developer needs to look them up.

use std::fmt::Write;

use chrono::SecondsFormat;

use super::metrics::Score;
use super::Evaluation;

/// Renders an evaluation as text; undefined ratios print as `n/a`.
pub fn render(evaluation: &Evaluation) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail; the results are ignored for that reason.
    let _ = writeln!(
        out,
        "seed {}: {} tenants x {} days = {:.1} tenant-months, {} attacks, {} findings, tolerance {} h",
        evaluation.seed,
        evaluation.tenants,
        evaluation.days,
        evaluation.tenant_months,
        evaluation.attacks,
        evaluation.findings,
        evaluation.tolerance_hours,
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<20} {:>5} {:>5} {:>5} {:>9} {:>7} {:>6} {:>15} {:>12} {:>16}",
        "detector",
        "TP",
        "FP",
        "FN",
        "precision",
        "recall",
        "F1",
        "FP/tenant-month",
        "median delay",
        "findings/attack"
    );
    for entry in &evaluation.detectors {
        write_row(&mut out, entry.detector.as_str(), &entry.score);
    }
    write_row(&mut out, "overall", &evaluation.overall);

    let _ = writeln!(out);
    let _ = writeln!(out, "missed attacks ({}):", evaluation.missed_attacks.len());
    for attack in &evaluation.missed_attacks {
        let _ = writeln!(
            out,
            "  {}  {}  {}  ({} tenant {} account {}, from {})",
            attack.id,
            attack.kind.as_str(),
            attack.variant,
            attack.provider,
            attack.tenant,
            attack.account,
            attack.start.to_rfc3339_opts(SecondsFormat::Secs, true),
        );
    }
    let _ = writeln!(
        out,
        "false positives ({}):",
        evaluation.false_positive_findings.len()
    );
    for finding in &evaluation.false_positive_findings {
        let _ = writeln!(
            out,
            "  {}  {}  {}  ({} tenant {} account {}, from {})",
            finding.id,
            finding.detector.as_str(),
            finding.title,
            finding.provider,
            finding.tenant.as_deref().unwrap_or("-"),
            finding.account.as_deref().unwrap_or("-"),
            finding
                .first_seen
                .to_rfc3339_opts(SecondsFormat::Secs, true),
        );
    }
    let _ = writeln!(out, "split attacks ({}):", evaluation.split_attacks.len());
    for attack in &evaluation.split_attacks {
        let _ = writeln!(
            out,
            "  {}  {}  {}  {} findings: {}",
            attack.id,
            attack.kind.as_str(),
            attack.variant,
            attack.finding_ids.len(),
            attack.finding_ids.join(", "),
        );
    }
    out
}

fn write_row(out: &mut String, name: &str, score: &Score) {
    let _ = writeln!(
        out,
        "{:<20} {:>5} {:>5} {:>5} {:>9} {:>7} {:>6} {:>15} {:>12} {:>16}",
        name,
        score.true_positives,
        score.false_positives,
        score.false_negatives,
        fraction(score.precision),
        fraction(score.recall),
        fraction(score.f1),
        fraction(score.false_positives_per_tenant_month),
        score
            .median_delay_seconds
            .map_or_else(|| "n/a".to_string(), duration),
        findings_per_attack(score),
    );
}

/// Mean and maximum findings per detected attack, e.g. `1.50 (max 2)`.
fn findings_per_attack(score: &Score) -> String {
    match (score.findings_per_attack, score.max_findings_per_attack) {
        (Some(mean), Some(max)) => format!("{mean:.2} (max {max})"),
        _ => "n/a".to_string(),
    }
}

fn fraction(value: Option<f64>) -> String {
    value.map_or_else(|| "n/a".to_string(), |value| format!("{value:.3}"))
}

/// A delay in the unit a person reads it in: minutes under an hour, hours under two days.
fn duration(seconds: f64) -> String {
    let hours = seconds / 3600.0;
    if seconds < 3600.0 {
        format!("{:.0} min", seconds / 60.0)
    } else if hours < 48.0 {
        format!("{hours:.1} h")
    } else {
        format!("{:.1} d", hours / 24.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::testing::{
        at, attack, finding, labels, provisioning_attack, provisioning_finding, report,
    };
    use crate::eval::{evaluate, AttackKind, EvalOptions};
    use crate::report::Detector;

    #[test]
    fn lists_missed_attacks_and_false_positives_and_prints_undefined_as_na() {
        let world = labels(vec![attack(
            "atk-7",
            AttackKind::CredentialStuffing,
            "t1",
            "acct-1",
            at(10, 0),
            at(10, 2),
        )]);
        let found = report(vec![finding(
            "as-noise",
            Detector::Provisioning,
            Some("t2"),
            None,
            at(3, 0),
            at(3, 1),
        )]);
        let text = render(&evaluate(&world, &found, &EvalOptions::default()));
        assert!(
            text.contains("atk-7  credential_stuffing  test_variant"),
            "{text}"
        );
        assert!(
            text.contains("as-noise  provisioning  test finding as-noise"),
            "{text}"
        );
        let stuffing_row = text
            .lines()
            .find(|line| line.starts_with("credential_stuffing"))
            .unwrap();
        // No findings: precision and delay are undefined.
        assert!(stuffing_row.contains("n/a"), "{stuffing_row}");
        let overall = text
            .lines()
            .find(|line| line.starts_with("overall"))
            .unwrap();
        let columns: Vec<&str> = overall.split_whitespace().collect();
        assert_eq!(&columns[1..4], &["0", "1", "1"]);
    }

    #[test]
    fn shows_findings_per_attack_and_lists_split_attacks() {
        let world = labels(vec![
            provisioning_attack("atk-1", 10),
            provisioning_attack("atk-2", 20),
        ]);
        let prov = provisioning_finding;
        let found = report(vec![prov("f1", 10), prov("f2", 10), prov("f3", 20)]);
        let text = render(&evaluate(&world, &found, &EvalOptions::default()));
        let row = text
            .lines()
            .find(|line| line.starts_with("provisioning"))
            .unwrap();
        assert!(row.ends_with("1.50 (max 2)"), "{row}");
        let billing = text
            .lines()
            .find(|line| line.starts_with("billing_jump"))
            .unwrap();
        assert!(billing.ends_with("n/a"), "{billing}");
        assert!(
            text.contains(
                "split attacks (1):\n  atk-1  provisioning  test_variant  2 findings: f1, f2\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn durations_pick_a_readable_unit() {
        assert_eq!(duration(0.0), "0 min");
        assert_eq!(duration(1800.0), "30 min");
        assert_eq!(duration(5400.0), "1.5 h");
        assert_eq!(duration(3.0 * 86400.0), "3.0 d");
    }
}
