//! The scores, with their edge cases decided once.
//!
//! Counts are per attack, not per finding: TP is the number of attacks detected, so precision is
//! `TP / (TP + FP)` where the extra findings of an already detected attack are neither true nor
//! false positives (one incident reported twice is noise a deduplicator fixes, not a false alarm).
//!
//! - precision is undefined (`None`) when nothing was reported (TP + FP = 0);
//! - recall is undefined when there was nothing to find (TP + FN = 0);
//! - F1 is `2·TP / (2·TP + FP + FN)`, the harmonic mean of precision and recall where both exist,
//!   and still defined when only one does (reporting nothing while attacks happened scores 0);
//!   undefined only when there were neither attacks nor findings;
//! - false positives per tenant-month is undefined for a world of zero tenant-months;
//! - the median of an even number of delays is the mean of the middle two;
//! - findings per attack (mean and maximum over detected attacks of the number of findings that
//!   match the attack) are undefined when no attack was detected. The target is 1: one finding
//!   per attack is one ticket per incident.

use serde::{Deserialize, Serialize};

/// The scores of one detector, or of all of them together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    pub true_positives: u64,
    pub false_positives: u64,
    pub false_negatives: u64,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    pub f1: Option<f64>,
    pub false_positives_per_tenant_month: Option<f64>,
    /// Median over detected attacks of (earliest matching `first_seen` − attack start), clamped
    /// at zero.
    pub median_delay_seconds: Option<f64>,
    /// Mean over detected attacks of the number of findings matching the attack (1.0: one ticket
    /// per incident). Absent in evaluations written before it existed, hence the default.
    #[serde(default)]
    pub findings_per_attack: Option<f64>,
    /// The most findings matching any one detected attack.
    #[serde(default)]
    pub max_findings_per_attack: Option<u64>,
}

impl Score {
    /// Derives the ratios from the counts; `delays_seconds` and `findings_per_detected` hold one
    /// value per detected attack (its delay, and how many findings matched it).
    pub fn new(
        true_positives: u64,
        false_positives: u64,
        false_negatives: u64,
        tenant_months: f64,
        delays_seconds: &[i64],
        findings_per_detected: &[u64],
    ) -> Score {
        let (tp, fp, fn_) = (
            true_positives as f64,
            false_positives as f64,
            false_negatives as f64,
        );
        Score {
            true_positives,
            false_positives,
            false_negatives,
            precision: ratio(tp, tp + fp),
            recall: ratio(tp, tp + fn_),
            f1: ratio(2.0 * tp, 2.0 * tp + fp + fn_),
            false_positives_per_tenant_month: ratio(fp, tenant_months),
            median_delay_seconds: median(delays_seconds),
            findings_per_attack: ratio(
                findings_per_detected.iter().sum::<u64>() as f64,
                findings_per_detected.len() as f64,
            ),
            max_findings_per_attack: findings_per_detected.iter().copied().max(),
        }
    }
}

fn ratio(numerator: f64, denominator: f64) -> Option<f64> {
    (denominator > 0.0).then(|| numerator / denominator)
}

/// The median, or `None` for no values.
pub fn median(values: &[i64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let middle = sorted.len() / 2;
    match sorted.len() {
        0 => None,
        n if n % 2 == 1 => Some(sorted[middle] as f64),
        _ => Some((sorted[middle - 1] as f64 + sorted[middle] as f64) / 2.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(actual: Option<f64>, expected: f64) -> bool {
        actual.is_some_and(|value| (value - expected).abs() < 1e-12)
    }

    #[test]
    fn precision_recall_f1_arithmetic() {
        // 3 detected, 1 false alarm, 2 missed.
        let score = Score::new(3, 1, 2, 10.0, &[], &[]);
        assert!(close(score.precision, 0.75));
        assert!(close(score.recall, 0.6));
        // Harmonic mean: 2 · 0.75 · 0.6 / 1.35 = 2/3.
        assert!(close(score.f1, 2.0 / 3.0));
        assert!(close(score.false_positives_per_tenant_month, 0.1));
    }

    #[test]
    fn nothing_reported_leaves_precision_undefined() {
        let score = Score::new(0, 0, 4, 1.0, &[], &[]);
        assert_eq!(score.precision, None);
        assert!(close(score.recall, 0.0));
        assert!(close(score.f1, 0.0));
        assert!(close(score.false_positives_per_tenant_month, 0.0));
        assert_eq!(score.median_delay_seconds, None);
    }

    #[test]
    fn nothing_to_find_leaves_recall_undefined() {
        let score = Score::new(0, 2, 0, 1.0, &[], &[]);
        assert!(close(score.precision, 0.0));
        assert_eq!(score.recall, None);
        assert!(close(score.f1, 0.0));

        let empty = Score::new(0, 0, 0, 1.0, &[], &[]);
        assert_eq!(
            (empty.precision, empty.recall, empty.f1),
            (None, None, None)
        );
    }

    #[test]
    fn zero_tenant_months_leaves_the_rate_undefined() {
        assert_eq!(
            Score::new(1, 1, 0, 0.0, &[], &[]).false_positives_per_tenant_month,
            None
        );
    }

    #[test]
    fn findings_per_attack_is_the_mean_and_max_over_detected_attacks() {
        // Three detected attacks: one finding, one finding, four findings.
        let score = Score::new(3, 0, 0, 1.0, &[0, 0, 0], &[1, 1, 4]);
        assert!(close(score.findings_per_attack, 2.0));
        assert_eq!(score.max_findings_per_attack, Some(4));
        let one_each = Score::new(2, 0, 1, 1.0, &[0, 0], &[1, 1]);
        assert!(close(one_each.findings_per_attack, 1.0));
        assert_eq!(one_each.max_findings_per_attack, Some(1));
        let none = Score::new(0, 1, 1, 1.0, &[], &[]);
        assert_eq!(
            (none.findings_per_attack, none.max_findings_per_attack),
            (None, None)
        );
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[7]), Some(7.0));
        assert_eq!(median(&[30, 10, 20]), Some(20.0));
        assert_eq!(median(&[40, 10, 30, 20]), Some(25.0));
        assert_eq!(median(&[0, 3]), Some(1.5));
    }
}
