//! One sweep: read every input once, feed the detectors' observations, test the requested days
//! against their trailing baselines, control false discoveries, and assemble the report.
//!
//! Tenants: records name their tenant as well as they can (an AWS account stands in for its
//! organization, a GCP project for its organization). Before reporting, an account seen anywhere
//! under a larger tenant (a billing export's organization, an organization trail) is reported
//! under that tenant, so findings from different sources of one customer line up.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};

use crate::config::Config;
use crate::detect::billing_jump::{self, BillingObservations};
use crate::detect::credential_stuffing::{self, LoginObservations};
use crate::detect::provisioning::{self, ProvisioningObservations};
use crate::detect::{select, Candidate, HostingLookup, TestDays};
use crate::normalize::{InputSummary, Normalizer};
use crate::playbook;
use crate::report::{fingerprint, Coverage, Detector, Finding, Report, Window};
use crate::schema::{Provider, Record};

pub struct SweepRequest<'a> {
    pub paths: Vec<PathBuf>,
    /// Report only this tenant (or account).
    pub tenant: Option<String>,
    /// First and last instant to judge; history before `since` still feeds baselines.
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub config: &'a Config,
    pub hosting: &'a dyn HostingLookup,
}

/// What a sweep produced besides the report: for the human summary.
#[derive(Debug, Default)]
pub struct SweepStats {
    pub suppressed: BTreeMap<String, u64>,
}

pub fn run(request: &SweepRequest) -> (Report, SweepStats) {
    let mut observations = Observations::default();
    let mut sink = |record: Record| observations.observe(record, request.hosting);
    let mut normalizer = Normalizer::new(&mut sink);
    for path in &request.paths {
        normalizer.read_path(path);
    }
    let summary: InputSummary = normalizer.finish();
    let Observations {
        provisioning,
        logins,
        billing,
        tenant_of_account,
    } = observations;
    // The data's span, from the input ledger (it already knows each source's first and last).
    let first = summary.by_source.values().filter_map(|c| c.first).min();
    let last = summary.by_source.values().filter_map(|c| c.last).max();

    let data_first = first.map(|t| t.date_naive());
    let data_last = last.map(|t| t.date_naive());
    let test_first = request.since.map(|t| t.date_naive()).or(data_first);
    let test_last = request.until.map(|t| t.date_naive()).or(data_last);
    let window = Window {
        start: request.since.or(first).unwrap_or_else(Utc::now),
        end: request.until.or(last).unwrap_or_else(Utc::now),
    };
    let (Some(test_first), Some(test_last)) = (test_first, test_last) else {
        return (
            Report::new(window, &summary, Coverage::default(), Vec::new()),
            SweepStats::default(),
        );
    };
    if test_first > test_last {
        // A window with no data in it (`--since` after the last record, say): nothing to judge.
        return (
            Report::new(window, &summary, Coverage::default(), Vec::new()),
            SweepStats::default(),
        );
    }
    let days = TestDays {
        first: test_first,
        last: test_last,
    };
    let config = request.config;
    let mut coverage = Coverage {
        data_gaps: billing.gaps(days),
        ..Coverage::default()
    };
    let outputs = [
        (
            Detector::Provisioning,
            provisioning::detect(provisioning, days, &config.provisioning, request.hosting),
        ),
        (
            Detector::CredentialStuffing,
            credential_stuffing::detect(logins, days, &config.credential_stuffing, request.hosting),
        ),
        (
            Detector::BillingJump,
            billing_jump::detect(&billing, days, &config.billing),
        ),
    ];
    let mut kept: Vec<Candidate> = Vec::new();
    for (detector, output) in outputs {
        coverage.cold_start.extend(output.cold_start);
        let in_window: Vec<Candidate> = output
            .candidates
            .into_iter()
            .filter(|c| {
                request.since.is_none_or(|s| c.last_seen >= s)
                    && request.until.is_none_or(|u| c.first_seen <= u)
            })
            .collect();
        let (selected, tested) = select(in_window, output.unlisted_null_tests, config.sweep.fdr);
        coverage.tests.insert(detector.as_str().to_string(), tested);
        kept.extend(selected);
    }
    for candidate in &mut kept {
        resolve_tenant(candidate, &tenant_of_account);
    }
    link_billing_to_provisioning(&mut kept);

    let mut stats = SweepStats::default();
    let mut findings: Vec<Finding> = Vec::new();
    for candidate in kept {
        let finding = into_finding(candidate);
        if let Some(tenant) = &request.tenant {
            if finding.tenant.as_ref() != Some(tenant) && finding.account.as_ref() != Some(tenant) {
                continue;
            }
        }
        if let Some(rule) = config.allowed_by(&finding) {
            *stats.suppressed.entry(rule.reason.clone()).or_default() += 1;
            continue;
        }
        findings.push(finding);
    }
    findings.sort_by(|a, b| {
        a.first_seen
            .cmp(&b.first_seen)
            .then_with(|| a.id.cmp(&b.id))
    });
    // A related finding that was allowed or belongs to another tenant is not in this report.
    let reported: BTreeSet<String> = findings.iter().map(|f| f.id.clone()).collect();
    for finding in &mut findings {
        finding.related.retain(|id| reported.contains(id));
    }
    coverage
        .cold_start
        .sort_by(|a, b| (a.detector, &a.scope).cmp(&(b.detector, &b.scope)));
    let mut summary = summary;
    if let Some(tenant) = &request.tenant {
        // A report for one tenant names nothing of the others.
        let belongs = |provider: &Provider, id: &str| {
            id == tenant
                || tenant_of_account.get(&(provider.clone(), id.to_string())) == Some(tenant)
        };
        coverage.cold_start.retain(|c| {
            let mut parts = c.scope.split('/');
            let provider = Provider::from_name(parts.next().unwrap_or(""));
            parts.next().is_some_and(|id| belongs(&provider, id))
        });
        coverage.data_gaps.retain(|g| {
            g.account
                .as_deref()
                .is_some_and(|a| belongs(&g.provider, a))
        });
        summary.by_source.retain(|key, _| {
            let (provider, id) = key.split_once('/').unwrap_or((key, ""));
            belongs(&Provider::from_name(provider), id)
        });
    }
    (Report::new(window, &summary, coverage, findings), stats)
}

/// The per-detector aggregates, fed by one record at a time.
#[derive(Default)]
struct Observations {
    provisioning: ProvisioningObservations,
    logins: LoginObservations,
    billing: BillingObservations,
    /// (provider, account) -> the larger tenant it was seen under.
    tenant_of_account: BTreeMap<(Provider, String), String>,
}

impl Observations {
    fn observe(&mut self, record: Record, hosting: &dyn HostingLookup) {
        let (provider, tenant, account) = (record.provider(), record.tenant(), record.account());
        if let (Some(tenant), Some(account)) = (tenant, account) {
            if tenant != account {
                self.tenant_of_account
                    .entry((provider.clone(), account.to_string()))
                    .or_insert_with(|| tenant.to_string());
            }
        }
        match record {
            Record::Event(event) => {
                self.provisioning.observe(&event, hosting);
                self.logins.observe(&event);
            }
            Record::Billing(row) => self.billing.observe(&row),
        }
    }
}

fn resolve_tenant(
    candidate: &mut Candidate,
    tenant_of_account: &BTreeMap<(Provider, String), String>,
) {
    let Some(account) = &candidate.account else {
        return;
    };
    let stands_in = candidate.tenant.is_none() || candidate.tenant.as_ref() == Some(account);
    if stands_in {
        if let Some(tenant) = tenant_of_account.get(&(candidate.provider.clone(), account.clone()))
        {
            candidate.tenant = Some(tenant.clone());
        }
    }
}

/// A billing jump is explained by provisioning findings in the same account from two days
/// before the jump to its end (instances bill from the hour they start).
fn link_billing_to_provisioning(candidates: &mut [Candidate]) {
    let provisioning: Vec<(String, Provider, Option<String>, DateTime<Utc>)> = candidates
        .iter()
        .filter(|c| c.detector == Detector::Provisioning)
        .map(|c| {
            (
                fingerprint_of(c),
                c.provider.clone(),
                c.account.clone(),
                c.first_seen,
            )
        })
        .collect();
    let mut links: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for candidate in candidates
        .iter_mut()
        .filter(|c| c.detector == Detector::BillingJump)
    {
        let from = candidate.first_seen - Duration::days(2);
        let explaining: Vec<&String> = provisioning
            .iter()
            .filter(|(_, p, a, t)| {
                *p == candidate.provider
                    && *a == candidate.account
                    && *t >= from
                    && *t <= candidate.last_seen
            })
            .map(|(id, ..)| id)
            .collect();
        let own = fingerprint_of(candidate);
        if explaining.is_empty() {
            candidate.facts.insert("unexplained".into());
        } else {
            candidate.facts.insert("linked_provisioning".into());
            candidate
                .baseline
                .signals
                .push("linked_provisioning".into());
            for id in explaining {
                links.entry(own.clone()).or_default().insert(id.clone());
                links.entry(id.clone()).or_default().insert(own.clone());
            }
        }
    }
    for candidate in candidates.iter_mut() {
        if let Some(related) = links.remove(&fingerprint_of(candidate)) {
            candidate.facts.insert(format!(
                "related:{}",
                related.iter().cloned().collect::<Vec<_>>().join(",")
            ));
        }
    }
}

fn fingerprint_of(candidate: &Candidate) -> String {
    let parts: Vec<&str> = candidate.identity.iter().map(String::as_str).collect();
    fingerprint(&parts)
}

fn into_finding(candidate: Candidate) -> Finding {
    let id = fingerprint_of(&candidate);
    let related: Vec<String> = candidate
        .facts
        .iter()
        .filter_map(|f| f.strip_prefix("related:"))
        .flat_map(|ids| ids.split(',').map(str::to_string))
        .collect();
    let facts: BTreeSet<String> = candidate
        .facts
        .iter()
        .filter(|f| !f.starts_with("related:"))
        .cloned()
        .collect();
    let (escalate, escalation_reason) = playbook::escalation(candidate.detector, &facts);
    Finding {
        id,
        detector: candidate.detector,
        title: candidate.title,
        severity: candidate.severity,
        provider: candidate.provider,
        tenant: candidate.tenant,
        account: candidate.account,
        first_seen: candidate.first_seen,
        last_seen: candidate.last_seen,
        mitre: candidate.mitre,
        entities: candidate.entities,
        baseline: candidate.baseline,
        evidence: candidate.evidence,
        escalate,
        escalation_reason,
        next_steps: playbook::next_steps(candidate.detector),
        related,
    }
}

/// Midnight UTC of a day, for window arithmetic in callers.
pub fn day_start(day: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).expect("midnight exists"))
}
