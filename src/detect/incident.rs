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
