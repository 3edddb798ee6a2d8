//! Incidents: one attack, one finding, one ticket.
//!
//! Detectors test entity-days. An attack often spans several: a cost jump lasts a week, a spray
//! runs past midnight, an attacker launches on two consecutive days. Significant tests with the
//! same identity (detector, account, entity) with at most [`MAX_GAP_DAYS`] quiet days between
//! them are one incident. Its id is a fingerprint of the identity and the incident's *first* day, so a later
//! run over a longer window finds the same start and returns the same id with a later
//! `last_seen`; a sweep whose window starts inside an incident still judges the days before it
//! (they are history) and so still finds where the incident began.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;

use super::{entity_list, Candidate, EvidenceSample};
use crate::report::{Entities, Incident, IncidentStatus};

/// Days without a significant test that may lie inside one incident: a jump that pauses for a
/// day (a weekend's lower usage, a day the export missed) is still one incident.
pub const MAX_GAP_DAYS: i64 = 1;

/// Groups significant tests into incidents, in order of identity and first day. Each group is in
/// day order.
pub fn group(mut candidates: Vec<Candidate>) -> Vec<Vec<Candidate>> {
    candidates.sort_by(|a, b| {
        (a.detector, &a.identity, a.day, a.first_seen).cmp(&(
            b.detector,
            &b.identity,
            b.day,
            b.first_seen,
        ))
    });
    let mut groups: Vec<Vec<Candidate>> = Vec::new();
    for candidate in candidates {
        let joins = groups.last().and_then(|g| g.last()).is_some_and(|last| {
            last.detector == candidate.detector
                && last.identity == candidate.identity
                && (candidate.day - last.day).num_days() <= MAX_GAP_DAYS + 1
        });
        if joins {
            groups.last_mut().expect("checked").push(candidate);
        } else {
            groups.push(vec![candidate]);
        }
    }
    groups
}

/// Merges an incident's days into one candidate: the strongest day's baseline, the union of
/// entities, evidence, signals and facts, the highest severity, and the incident's extent.
/// `last_data_day` is the last day with data for the incident's scope: an incident that reaches
/// it is still open.
pub fn merge(parts: Vec<Candidate>, last_data_day: NaiveDate) -> (Candidate, Incident) {
    let strongest = parts
        .iter()
        .enumerate()
        .min_by(|(_, a), (_, b)| a.baseline.p_value.total_cmp(&b.baseline.p_value))
        .map(|(i, _)| i)
        .expect("an incident has at least one day");
    let first_day = parts.first().expect("non-empty").day;
    let last_day = parts.last().expect("non-empty").day;
    let peak = parts
        .iter()
        .map(|c| c.baseline.observed)
        .fold(f64::NEG_INFINITY, f64::max);
    let total_excess: f64 = parts
        .iter()
        .map(|c| (c.baseline.observed - c.baseline.expected).max(0.0))
        .sum();
    let incident = Incident {
        status: if last_day >= last_data_day {
            IncidentStatus::Open
        } else {
            IncidentStatus::Ended
        },
        first_day,
        last_day,
        days: parts.len() as u32,
        peak: round2(peak),
        total_excess: round2(total_excess),
        signed_in: Vec::new(),
    };
    let mut merged = parts[strongest].clone();
    merged.day = first_day;
    merged.first_seen = parts.iter().map(|c| c.first_seen).min().expect("non-empty");
    merged.last_seen = parts.iter().map(|c| c.last_seen).max().expect("non-empty");
    merged.severity = parts.iter().map(|c| c.severity).max().expect("non-empty");
    let mut evidence = EvidenceSample::default();
    let mut signals: Vec<String> = merged.baseline.signals.clone();
    let mut mitre: Vec<String> = merged.mitre.clone();
    let mut facts: BTreeSet<String> = BTreeSet::new();
    let mut signed_in: BTreeSet<String> = BTreeSet::new();
    let mut sources: BTreeSet<String> = BTreeSet::new();
    let mut lists: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for part in &parts {
        evidence.omitted += part.evidence.omitted;
        for event in &part.evidence.events {
            evidence.push(event);
        }
        for signal in &part.baseline.signals {
            if !signals.contains(signal) {
                signals.push(signal.clone());
            }
        }
        for id in &part.mitre {
            if !mitre.contains(id) {
                mitre.push(id.clone());
            }
        }
        facts.extend(part.facts.iter().cloned());
        signed_in.extend(part.signed_in.iter().cloned());
        sources.extend(part.sources.iter().cloned());
        let e = &part.entities;
        for (name, values) in [
            ("principals", &e.principals),
            ("src_ips", &e.src_ips),
            ("regions", &e.regions),
            ("services", &e.services),
            ("resources", &e.resources),
        ] {
            lists
                .entry(name)
                .or_default()
                .extend(values.iter().cloned());
        }
    }
    let mut take =
        |name: &str, cap: usize| entity_list(lists.remove(name).unwrap_or_default(), cap);
    merged.entities = Entities {
        principals: take("principals", 50),
        src_ips: take("src_ips", 50),
        regions: take("regions", 20),
        services: take("services", 20),
        resources: take("resources", 50),
    };
    merged.evidence = evidence.into_evidence();
    merged.baseline.signals = signals;
    merged.mitre = mitre;
    merged.facts = facts;
    let incident = Incident {
        signed_in: signed_in.iter().cloned().collect(),
        ..incident
    };
    merged.signed_in = signed_in;
    merged.sources = sources;
    (merged, incident)
}

fn round2(x: f64) -> f64 {
    if x.is_finite() {
        (x * 100.0).round() / 100.0
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Baseline, Detector, Evidence, Severity};
    use crate::schema::Provider;
    use chrono::{TimeZone, Utc};

    fn test_day(entity: &str, day: u32, observed: f64, p_value: f64) -> Candidate {
        let time = Utc.with_ymd_and_hms(2024, 3, day, 12, 0, 0).unwrap();
        Candidate {
            detector: Detector::BillingJump,
            identity: vec![
                "billing_jump".into(),
                "aws".into(),
                "1".into(),
                entity.into(),
            ],
            day: time.date_naive(),
            title: String::new(),
            provider: Provider::Aws,
            tenant: Some("1".into()),
            account: Some("1".into()),
            first_seen: time,
            last_seen: time,
            mitre: vec!["T1496".into()],
            entities: Entities::default(),
            baseline: Baseline {
                observed,
                expected: 10.0,
                p_value,
                threshold: 1e-3,
                window_days: 28,
                method: String::new(),
                signals: vec![format!("day:{day}")],
            },
            evidence: Evidence::default(),
            severity: if observed > 100.0 {
                Severity::High
            } else {
                Severity::Medium
            },
            facts: BTreeSet::new(),
            signed_in: BTreeSet::new(),
            sources: BTreeSet::new(),
            currency: None,
        }
    }

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, 3, d).unwrap()
    }

    #[test]
    fn days_of_one_entity_with_at_most_one_quiet_day_between_are_one_incident() {
        let groups = group(vec![
            test_day("EC2", 7, 50.0, 1e-5),
            test_day("EC2", 1, 50.0, 1e-5),
            test_day("S3", 2, 50.0, 1e-5),
            test_day("EC2", 2, 200.0, 1e-9),
            test_day("EC2", 4, 40.0, 1e-4),
        ]);
        let spans: Vec<(String, Vec<u32>)> = groups
            .iter()
            .map(|g| {
                (
                    g[0].identity[3].clone(),
                    g.iter()
                        .map(|c| c.day.format("%d").to_string().parse().unwrap())
                        .collect(),
                )
            })
            .collect();
        assert_eq!(
            spans,
            [
                ("EC2".to_string(), vec![1, 2, 4]),
                ("EC2".to_string(), vec![7]),
                ("S3".to_string(), vec![2]),
            ]
        );
    }

    #[test]
    fn an_incident_has_its_extent_the_strongest_day_and_every_days_signals() {
        let parts = vec![
            test_day("EC2", 1, 50.0, 1e-5),
            test_day("EC2", 2, 200.0, 1e-9),
            test_day("EC2", 4, 40.0, 1e-4),
        ];
        let (merged, incident) = merge(parts.clone(), day(4));
        assert_eq!((incident.first_day, incident.last_day), (day(1), day(4)));
        assert_eq!(incident.days, 3);
        assert_eq!(incident.peak, 200.0);
        assert_eq!(incident.total_excess, 40.0 + 190.0 + 30.0);
        assert_eq!(incident.status, IncidentStatus::Open);
        assert_eq!(merged.day, day(1), "the id is taken from the first day");
        assert_eq!(merged.baseline.p_value, 1e-9);
        assert_eq!(merged.severity, Severity::High);
        assert_eq!(merged.first_seen, parts[0].first_seen);
        assert_eq!(merged.last_seen, parts[2].last_seen);
        assert_eq!(merged.baseline.signals, ["day:2", "day:1", "day:4"]);
        // Later data back to baseline: the incident ended.
        assert_eq!(merge(parts, day(9)).1.status, IncidentStatus::Ended);
    }
}
