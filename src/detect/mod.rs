//! The three detectors and what they share.
//!
//! Each detector has two halves: an *observations* type that a sweep feeds one normalized record
//! at a time (it keeps per-entity, per-day aggregates and a bounded sample of evidence, so memory
//! grows with entities and days, not with events), and a pure `detect` function from those
//! observations, the days to test and the parameters to a list of [`Candidate`]s with p-values.
//! [`select`] then applies the run-wide false-discovery-rate control.

pub mod billing_jump;
pub mod credential_stuffing;
pub mod login_results;
pub mod provisioning;

use std::collections::BTreeSet;
use std::net::IpAddr;

use chrono::{DateTime, NaiveDate, Utc};

use crate::report::{Baseline, ColdStart, Detector, Entities, Evidence, Severity};
use crate::schema::{Event, Provider};

/// Evidence events kept per entity-day; the rest are counted.
pub const EVIDENCE_PER_GROUP: usize = 20;

/// Tells whether an address belongs to a hosting / cloud provider, and which.
///
/// A trait so detectors can be tested with a hand-written table and run with the published lists.
pub trait HostingLookup {
    fn hosting_provider(&self, ip: IpAddr) -> Option<String>;
}

/// No range lists loaded: nothing is a hosting address.
pub struct NoHostingRanges;

impl HostingLookup for NoHostingRanges {
    fn hosting_provider(&self, _ip: IpAddr) -> Option<String> {
        None
    }
}

impl HostingLookup for crate::ranges::HostingRanges {
    fn hosting_provider(&self, ip: IpAddr) -> Option<String> {
        self.lookup(ip).map(|info| info.provider.clone())
    }
}

/// The days a run judges; history before `first` still feeds the baselines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TestDays {
    pub first: NaiveDate,
    pub last: NaiveDate,
}

impl TestDays {
    pub fn contains(&self, day: NaiveDate) -> bool {
        day >= self.first && day <= self.last
    }
}

/// A network as an analyst thinks of it: the /24 of an IPv4 address, the /48 of an IPv6 one.
pub fn network_of(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
        }
    }
}

pub fn parse_ip(event: &Event) -> Option<IpAddr> {
    event.src_ip.as_deref()?.parse().ok()
}

/// A bounded sample of the events behind a group, with a count of the rest.
#[derive(Debug, Clone, Default)]
pub struct EvidenceSample {
    pub events: Vec<Event>,
    pub omitted: u64,
}

impl EvidenceSample {
    pub fn push(&mut self, event: &Event) {
        if self.events.len() < EVIDENCE_PER_GROUP {
            self.events.push(event.clone());
        } else {
            self.omitted += 1;
        }
    }

    pub fn into_evidence(mut self) -> Evidence {
        self.events.sort_by(|a, b| {
            a.time
                .cmp(&b.time)
                .then(a.source.record.cmp(&b.source.record))
        });
        Evidence {
            events: self.events,
            omitted: self.omitted,
        }
    }
}

/// A tested entity-day before false-discovery control: everything a finding needs.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub detector: Detector,
    /// The parts of the stable id: what the incident is, never when the run happened.
    pub identity: Vec<String>,
    pub title: String,
    pub provider: Provider,
    pub tenant: Option<String>,
    pub account: Option<String>,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub mitre: Vec<String>,
    pub entities: Entities,
    pub baseline: Baseline,
    pub evidence: Evidence,
    pub severity: Severity,
    /// Facts the playbook's escalation rules read (`hosting_source`, `burst`, ...).
    pub facts: BTreeSet<String>,
}

/// What a detector returns: every tested candidate (most are unremarkable) and the scopes it
/// could not judge for lack of history.
#[derive(Debug, Default)]
pub struct DetectorOutput {
    pub candidates: Vec<Candidate>,
    pub cold_start: Vec<ColdStart>,
    /// Tests that were made but are not listed because their p-value is 1 (a day below the
    /// practical floors): they still count in the false-discovery control.
    pub unlisted_null_tests: u64,
}

/// Applies Benjamini-Hochberg across one detector's tests and keeps candidates under `fdr`.
/// Returns the kept candidates and the number of tests.
pub fn select(
    mut candidates: Vec<Candidate>,
    unlisted_null_tests: u64,
    fdr: f64,
) -> (Vec<Candidate>, u64) {
    let tested = candidates.len() as u64 + unlisted_null_tests;
    let p_values: Vec<f64> = candidates.iter().map(|c| c.baseline.p_value).collect();
    let q_values = crate::baseline::benjamini_hochberg_of(&p_values, tested as usize);
    for (candidate, q) in candidates.iter_mut().zip(q_values) {
        candidate.baseline.q_value = q;
    }
    candidates.retain(|c| c.baseline.q_value <= fdr);
    (candidates, tested)
}

/// Raises a severity by one step, saturating at critical.
pub fn raise(severity: Severity) -> Severity {
    match severity {
        Severity::Low => Severity::Medium,
        Severity::Medium => Severity::High,
        Severity::High | Severity::Critical => Severity::Critical,
    }
}

/// Sorted, de-duplicated, capped list for a finding's entity fields.
pub fn entity_list(items: impl IntoIterator<Item = String>, cap: usize) -> Vec<String> {
    let set: BTreeSet<String> = items.into_iter().filter(|s| !s.is_empty()).collect();
    set.into_iter().take(cap).collect()
}

/// The day window `[day - days, day - 1]`.
pub fn history_range(day: NaiveDate, days: u32) -> (NaiveDate, NaiveDate) {
    let from = day
        .checked_sub_days(chrono::Days::new(u64::from(days.max(1))))
        .unwrap_or(NaiveDate::MIN);
    (from, day.pred_opt().unwrap_or(NaiveDate::MIN))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_are_slash_24_and_slash_48() {
        assert_eq!(
            network_of("203.0.113.77".parse().unwrap()),
            "203.0.113.0/24"
        );
        assert_eq!(
            network_of("2001:db8:1:2::5".parse().unwrap()),
            "2001:db8:1::/48"
        );
    }
}
