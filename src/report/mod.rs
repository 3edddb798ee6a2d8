//! The JSON report: the contract with ticketing systems and `auditsweep eval`.
//!
//! Its shape is documented by `docs/report.schema.json`; tests parse reports back into these
//! types and validate them against the schema. A finding's `id` is a fingerprint of what the
//! incident *is* (detector, account, entity, first day), never of when the run happened, so a re-run
//! over the same data yields the same ids and a ticketing system never opens a ticket twice.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::normalize::InputSummary;
use crate::schema::{Event, Provider};

/// Bumped on any change a consumer must know about; additions of optional fields do not bump it.
/// 2.0: findings are incidents (`incident`), and `baseline.q_value` became `baseline.threshold`.
/// 3.0: a data gap is a range of days (`first_day`, `last_day`, `days`), not one entry per day.
pub const SCHEMA_VERSION: &str = "3.0";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Detector {
    Provisioning,
    CredentialStuffing,
    BillingJump,
}

impl Detector {
    pub fn as_str(self) -> &'static str {
        match self {
            Detector::Provisioning => "provisioning",
            Detector::CredentialStuffing => "credential_stuffing",
            Detector::BillingJump => "billing_jump",
        }
    }
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

/// What the baseline expected and how surprising the observation was.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// What was observed in the tested window (launches, failures, cost...).
    pub observed: f64,
    /// What the baseline expected for that window.
    pub expected: f64,
    /// The probability of seeing at least `observed` under the baseline model.
    pub p_value: f64,
    /// The per-test threshold the p-value had to be at or below: the tenant's error budget
    /// divided by its tests in the 30 days ending on the tested day (`docs/detectors.md`).
    pub threshold: f64,
    /// Days of history the baseline was learned from.
    pub window_days: u32,
    /// The model and test, in a few words.
    pub method: String,
    /// What was unusual besides the rate: `new_region`, `hosting_source`, ...
    pub signals: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entities {
    pub principals: Vec<String>,
    pub src_ips: Vec<String>,
    pub regions: Vec<String>,
    pub services: Vec<String>,
    pub resources: Vec<String>,
}

/// The evidence events, capped; `omitted` says how many more there were.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub events: Vec<Event>,
    pub omitted: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Escalation {
    pub escalate: bool,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub id: String,
    pub detector: Detector,
    pub title: String,
    pub severity: Severity,
    pub provider: Provider,
    pub tenant: Option<String>,
    pub account: Option<String>,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub mitre: Vec<String>,
    pub entities: Entities,
    pub baseline: Baseline,
    pub evidence: Evidence,
    pub escalate: bool,
    pub escalation_reason: String,
    pub next_steps: Vec<String>,
    /// Ids of other findings that explain or are explained by this one (a billing jump and the
    /// provisioning behind it).
    pub related: Vec<String>,
    /// The incident's extent: a finding is an incident, not a test day.
    pub incident: Incident,
}

/// Whether an incident still shows in the newest data of its scope.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentStatus {
    #[default]
    /// Its last anomalous day is the newest day with data: it may go on.
    Open,
    /// Later days with data were back to baseline.
    Ended,
}

/// The days an incident spans and what it amounted to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub status: IncidentStatus,
    pub first_day: chrono::NaiveDate,
    pub last_day: chrono::NaiveDate,
    /// Anomalous days (tests that passed the threshold) in the incident.
    pub days: u32,
    /// The highest daily `observed` (launches, failures, users, cost).
    pub peak: f64,
    /// The sum over its days of `observed - expected` (for billing: the excess cost).
    pub total_excess: f64,
    /// Sign-in findings: the users whose password was accepted (the others were only tried).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signed_in: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Window {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// What could not be judged, so silence is never mistaken for "all clear".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Coverage {
    /// Entities tested per detector.
    pub tests: BTreeMap<String, u64>,
    /// Entities whose history was too short to judge, per detector, with a sample.
    pub cold_start: Vec<ColdStart>,
    /// Runs of days inside the window with no data from a source that otherwise reports daily,
    /// at most [`MAX_DATA_GAPS`] of them.
    pub data_gaps: Vec<DataGap>,
    /// Gaps beyond [`MAX_DATA_GAPS`], counted and not listed: a report stays small whatever the
    /// input.
    pub data_gaps_omitted: u64,
}

impl Coverage {
    /// Keeps the first [`MAX_DATA_GAPS`] gaps and counts the rest.
    fn bound_gaps(&mut self) {
        if self.data_gaps.len() > MAX_DATA_GAPS {
            let omitted = self.data_gaps.len() - MAX_DATA_GAPS;
            self.data_gaps.truncate(MAX_DATA_GAPS);
            self.data_gaps_omitted += omitted as u64;
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColdStart {
    pub detector: Detector,
    pub scope: String,
    pub history_days: u32,
    pub needed_days: u32,
}

/// Gaps a report lists; the rest are counted in `data_gaps_omitted`.
pub const MAX_DATA_GAPS: usize = 1000;

/// Consecutive missing days of one source, as one entry: a source that stops reporting for a
/// year is one gap, not 365.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataGap {
    pub provider: Provider,
    pub account: Option<String>,
    pub source: String,
    /// The first and the last missing day, inclusive.
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    /// Missing days in the range: `last_day - first_day + 1`.
    pub days: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: String,
    pub generated_at: DateTime<Utc>,
    pub window: Window,
    /// Why the run judged less than it was asked to (an input without records, a window that
    /// misses the data), in words; empty when it judged everything.
    #[serde(default)]
    pub warnings: Vec<String>,
    pub inputs: InputSummaryView,
    pub coverage: Coverage,
    pub findings: Vec<Finding>,
}

/// The input ledger as the report shows it (the normalizer's summary, serialized as is).
pub type InputSummaryView = serde_json::Value;

impl Report {
    pub fn new(
        window: Window,
        inputs: &InputSummary,
        coverage: Coverage,
        findings: Vec<Finding>,
    ) -> Self {
        let mut coverage = coverage;
        coverage.bound_gaps();
        Report {
            schema_version: SCHEMA_VERSION.to_string(),
            generated_at: Utc::now(),
            window,
            warnings: Vec::new(),
            inputs: serde_json::to_value(inputs).unwrap_or(serde_json::Value::Null),
            coverage,
            findings,
        }
    }
}

/// A stable fingerprint: the same parts give the same id on every run and every machine.
pub fn fingerprint(parts: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0x1f]);
    }
    let digest = hasher.finalize();
    let hex: String = digest.iter().take(10).map(|b| format!("{b:02x}")).collect();
    format!("as-{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_lists_a_bounded_number_of_gaps_and_counts_the_rest() {
        let day = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        let gap = DataGap {
            provider: Provider::Aws,
            account: Some("111122223333".into()),
            source: "billing".into(),
            first_day: day,
            last_day: day,
            days: 1,
        };
        let coverage = Coverage {
            data_gaps: vec![gap; MAX_DATA_GAPS + 7],
            ..Coverage::default()
        };
        let window = Window {
            start: Utc::now(),
            end: Utc::now(),
        };
        let report = Report::new(window, &InputSummary::default(), coverage, Vec::new());
        assert_eq!(report.coverage.data_gaps.len(), MAX_DATA_GAPS);
        assert_eq!(report.coverage.data_gaps_omitted, 7);
    }

    #[test]
    fn fingerprints_are_stable_and_separate_parts() {
        assert_eq!(fingerprint(&["a", "bc"]), fingerprint(&["a", "bc"]));
        assert_ne!(fingerprint(&["a", "bc"]), fingerprint(&["ab", "c"]));
        assert_eq!(fingerprint(&["provisioning", "111122223333"]).len(), 23);
    }
}
