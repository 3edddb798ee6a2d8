//! The three detectors and what they share.
//!
//! Each detector has two halves: an *observations* type that a sweep feeds one normalized record
//! at a time (it keeps per-entity, per-day aggregates and a bounded sample of evidence, so memory
//! grows with entities and days, not with events), and a pure `detect` function from those
//! observations, the last day to judge and the parameters to a list of [`Candidate`]s with
//! p-values and a count of the tests made. Every statistic a test uses comes from the trailing
//! history of its own account or tenant and from documented priors, so a day's verdict never
//! depends on other tenants or on which other days a sweep judges. The sweep then applies the
//! per-tenant error budget ([`ErrorBudget`]) and joins significant days into incidents
//! ([`incident`]).

pub mod billing_jump;
pub mod credential_stuffing;
pub mod incident;
pub mod login_results;
pub mod provisioning;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::report::{Baseline, ColdStart, Detector, Entities, Evidence, Severity};
use crate::schema::{Event, Provider};

/// Evidence events kept per entity-day; the rest are counted.
pub const EVIDENCE_PER_GROUP: usize = 20;

/// Tells whether an address belongs to a hosting / cloud provider, and which.
///
/// A trait so detectors can be tested with a hand-written table and run with the published lists.
/// `Sync`: the files of a sweep are read on several threads at once.
pub trait HostingLookup: Sync {
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
    with_network(ip, str::to_string)
}

/// [`network_of`] without building a `String`: calls `f` with the network's name.
pub fn with_network<R>(ip: IpAddr, f: impl FnOnce(&str) -> R) -> R {
    match ip {
        IpAddr::V4(v4) => {
            // Every event with an address passes here: the digits are written without `fmt`.
            let mut key = crate::lookup::KeyBuf::new();
            for octet in &v4.octets()[..3] {
                let (mut digits, mut at, mut n) = ([0u8; 3], 3, *octet);
                loop {
                    at -= 1;
                    digits[at] = b'0' + n % 10;
                    n /= 10;
                    if n == 0 {
                        break;
                    }
                }
                key.push_str(std::str::from_utf8(&digits[at..]).unwrap_or_default());
                key.push_str(".");
            }
            key.push_str("0/24");
            f(key.as_str())
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            crate::lookup::with_formatted(format_args!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2]), f)
        }
    }
}

pub fn parse_ip(event: &Event) -> Option<IpAddr> {
    event.src_ip.as_deref()?.parse().ok()
}

/// A bounded sample of the events behind a group, with a count of the rest.
///
/// The sample keeps the `EVIDENCE_PER_GROUP` earliest events by (time, file, record), whatever
/// order they arrive in, so two samples of disjoint inputs merge into the sample of their union
/// and a parallel read reports the same evidence as a sequential one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EvidenceSample {
    pub events: Vec<Event>,
    pub omitted: u64,
}

fn evidence_order(a: &Event, b: &Event) -> std::cmp::Ordering {
    a.time
        .cmp(&b.time)
        .then_with(|| a.source.file.cmp(&b.source.file))
        .then(a.source.record.cmp(&b.source.record))
}

impl EvidenceSample {
    pub fn push(&mut self, event: &Event) {
        if self.events.len() < EVIDENCE_PER_GROUP {
            self.events.push(event.clone());
            return;
        }
        self.omitted += 1;
        let latest = self
            .events
            .iter()
            .enumerate()
            .max_by(|(_, a), (_, b)| evidence_order(a, b))
            .map(|(i, _)| i)
            .expect("a full sample is not empty");
        if evidence_order(event, &self.events[latest]).is_lt() {
            self.events[latest] = event.clone();
        }
    }

    pub fn merge(&mut self, other: EvidenceSample) {
        self.omitted += other.omitted;
        for event in &other.events {
            self.push(event);
        }
    }

    /// The sample in time order (for reports and for comparing aggregates).
    pub fn sorted(mut self) -> Self {
        self.events.sort_by(evidence_order);
        self.events
            .dedup_by(|a, b| a.source == b.source && a.time == b.time);
        self
    }

    pub fn into_evidence(self) -> Evidence {
        let sorted = self.sorted();
        Evidence {
            events: sorted.events,
            omitted: sorted.omitted,
        }
    }
}

/// A tested entity-day: everything a finding needs. Significant tests of one entity on
/// consecutive days become one incident ([`incident`]).
#[derive(Debug, Clone)]
pub struct Candidate {
    pub detector: Detector,
    /// What the incident is about (detector, account, entity), never when: the stable id is a
    /// fingerprint of these parts and the incident's first day.
    pub identity: Vec<String>,
    /// The day this test judged.
    pub day: NaiveDate,
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
    /// Sign-in findings: the users whose password was accepted.
    pub signed_in: BTreeSet<String>,
    /// Sign-in findings of a spray: the addresses it came from.
    pub sources: BTreeSet<String>,
    /// Billing findings: the currency of the costs.
    pub currency: Option<String>,
}

/// Where a test's family is counted: the account (or sign-in scope) and the day. The sweep maps
/// accounts to tenants, so the per-tenant error budget sees every test of the tenant.
pub type TestScope = (Provider, String);

/// What a detector returns: the tests that could be significant, and how many tests it made per
/// scope and day (most are unremarkable and never become candidates).
#[derive(Debug, Default)]
pub struct DetectorOutput {
    /// Tests with a p-value below [`CANDIDATE_P`]; the rest cannot pass any threshold.
    pub candidates: Vec<Candidate>,
    pub cold_start: Vec<ColdStart>,
    /// Tests made, per scope and day (candidates included).
    pub tests: BTreeMap<TestScope, BTreeMap<NaiveDate, u32>>,
    /// The tenant each scope's records named, as candidates carry it before resolution.
    pub tenants: BTreeMap<TestScope, Option<String>>,
}

impl DetectorOutput {
    pub fn count_test(
        &mut self,
        provider: &Provider,
        scope: &str,
        tenant: Option<&str>,
        day: NaiveDate,
    ) {
        let key = (provider.clone(), scope.to_string());
        *self
            .tests
            .entry(key.clone())
            .or_default()
            .entry(day)
            .or_default() += 1;
        self.tenants
            .entry(key)
            .or_insert_with(|| tenant.map(str::to_string));
    }
}

/// A test with a larger p-value than this is never reported: the per-test threshold is at most
/// `false_alarms_per_tenant_month / min_family` (see [`ErrorBudget`]).
pub const CANDIDATE_P: f64 = 0.01;

/// The per-tenant error control.
///
/// The family is one detector's tests of one tenant over the 30 days ending on the test's day.
/// A test is significant when its p-value is at most `false_alarms_per_tenant_month / n`, where
/// `n` is the number of tests in that family (at least `min_family`). Under the null each test
/// passes with that probability, so the expected number of false alarms per tenant and month is
/// at most the budget (a per-family error rate, Bonferroni's bound). The threshold depends only
/// on the tenant's own trailing data, never on other tenants or on which days a sweep judges.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ErrorBudget {
    /// Expected false alarms per tenant and month, per detector.
    pub false_alarms_per_tenant_month: f64,
    /// The family is never counted smaller than this many tests (a quiet tenant's month).
    pub min_family: u32,
}

impl Default for ErrorBudget {
    fn default() -> Self {
        ErrorBudget {
            false_alarms_per_tenant_month: 0.01,
            min_family: 30,
        }
    }
}

impl ErrorBudget {
    /// The per-test threshold for a family of `tests` tests.
    pub fn threshold(&self, tests: u64) -> f64 {
        self.false_alarms_per_tenant_month / (tests.max(u64::from(self.min_family)) as f64)
    }
}

/// Lowers a severity by one step (cold start: the baseline is mostly prior), saturating at low.
pub fn lower(severity: Severity) -> Severity {
    match severity {
        Severity::Critical => Severity::High,
        Severity::High => Severity::Medium,
        Severity::Medium | Severity::Low => Severity::Low,
    }
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
        for ip in ["0.0.0.1", "9.10.99.100", "255.255.255.255", "10.0.200.3"] {
            let ip: std::net::Ipv4Addr = ip.parse().unwrap();
            let [a, b, c, _] = ip.octets();
            assert_eq!(network_of(ip.into()), format!("{a}.{b}.{c}.0/24"));
        }
    }
}
