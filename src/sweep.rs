//! One sweep: read every input once, feed the detectors' observations, test the requested days
//! against their trailing baselines, control false discoveries, and assemble the report.
//!
//! Tenants: records name their tenant as well as they can (an AWS account stands in for its
//! organization, a GCP project for its organization). Before reporting, an account seen anywhere
//! under a larger tenant (a billing export's organization, an organization trail) is reported
//! under that tenant, so findings from different sources of one customer line up.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};

use crate::aggregate::Aggregates;
use crate::config::Config;
use crate::detect::{billing_jump, credential_stuffing, incident, provisioning};
use crate::detect::{Candidate, HostingLookup, TestDays};
use crate::normalize::{list_inputs, Input, InputSummary, Inputs, Normalizer};
use crate::playbook;
use crate::report::{fingerprint, Coverage, Detector, Finding, Incident, Report, Window};
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
    /// Threads that read the inputs; 0: one per core. The report does not depend on it.
    pub threads: usize,
    /// Where the report will be written: refused when it is one of the inputs.
    pub out: Option<&'a Path>,
}

/// Arguments the sweep refuses: a missing path, a device, a socket, or an `--out` that is an input.
#[derive(Debug, thiserror::Error)]
#[error("{}", refused.iter().map(|(path, why)| format!("{}: {why}", path.display())).collect::<Vec<_>>().join("; "))]
pub struct RefusedInputs {
    pub refused: Vec<(PathBuf, String)>,
}

/// Why a sweep did not run.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("refusing to run: {0}")]
    Refused(#[from] RefusedInputs),
    /// `--tenant` names nothing in the inputs: its report would be empty and look all clear.
    #[error(
        "--tenant {tenant}: no tenant or account of that name in the inputs; {}",
        seen_list(seen)
    )]
    UnknownTenant {
        tenant: String,
        seen: BTreeSet<String>,
    },
}

/// Tenants named in an error: sorted, the first few.
fn seen_list(seen: &BTreeSet<String>) -> String {
    const SHOWN: usize = 20;
    if seen.is_empty() {
        return "they hold no records".to_string();
    }
    let shown: Vec<&str> = seen.iter().take(SHOWN).map(String::as_str).collect();
    let more = seen.len().saturating_sub(SHOWN);
    let more = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    format!("tenants and accounts seen: {}{more}", shown.join(", "))
}

/// What a sweep produced besides the report: for the human summary.
#[derive(Debug, Default)]
pub struct SweepStats {
    pub suppressed: BTreeMap<String, u64>,
    /// Sign-in names that only ever failed, for [`crate::redact::UserNames`].
    pub failed_user_names: Vec<String>,
}

pub fn run(request: &SweepRequest) -> Result<(Report, SweepStats), SweepError> {
    run_from(request, None)
}

/// [`run`] on top of a scheduled run's state (`sweep --state`): the stored aggregates plus what
/// the inputs hold beyond them, judged as one sweep over all of it would be.
pub fn run_from(
    request: &SweepRequest,
    stored: Option<crate::run::Stored>,
) -> Result<(Report, SweepStats), SweepError> {
    let mut inputs = list_inputs(&request.paths);
    if !inputs.refused.is_empty() || !inputs.missing.is_empty() {
        let missing = inputs.missing.drain(..);
        let missing = missing.map(|path| (path, "no such file or directory".to_string()));
        return Err(RefusedInputs {
            refused: missing.chain(inputs.refused).collect(),
        }
        .into());
    }
    if let Some(out) = request.out {
        let files: Vec<PathBuf> = inputs
            .inputs
            .iter()
            .filter_map(|input| match input {
                Input::File(path) => Some(path.clone()),
                Input::Stdin => None,
            })
            .collect();
        if let Some(input) = crate::output::same_file_as(out, &files) {
            let why = format!(
                "the report would overwrite the input {}: name another file",
                input.display()
            );
            return Err(RefusedInputs {
                refused: vec![(out.to_path_buf(), why)],
            }
            .into());
        }
    }
    let from_state = stored.is_some();
    let (aggregates, summary, unused) = match stored {
        None => read_files(&inputs, request.hosting, request.threads),
        Some(stored) => {
            // Files the run read whole and that have not changed add nothing.
            inputs
                .inputs
                .retain(|input| stored.already(input).is_some());
            let already = |input: &Input| stored.already(input).unwrap_or(0);
            let admit = |record: &Record| stored.admit(record);
            let read = read_new(&inputs, request.hosting, request.threads, &already, &admit);
            let (mut aggregates, spans) = stored.into_parts();
            aggregates.merge(read.aggregates);
            let mut summary = InputSummary {
                by_source: spans,
                ..InputSummary::default()
            };
            summary.merge(read.summary);
            (aggregates, summary, read.unused)
        }
    };
    if let Some(tenant) = &request.tenant {
        let seen = tenants_seen(&aggregates, &summary);
        if !seen.contains(tenant) {
            return Err(SweepError::UnknownTenant {
                tenant: tenant.clone(),
                seen,
            });
        }
    }
    // Over a state, an argument whose files the run has all read is no news.
    let empty = if from_state {
        Vec::new()
    } else {
        empty_arguments(&request.paths, &inputs, &unused)
    };
    for warning in &empty {
        tracing::warn!("{warning}");
    }
    let (mut report, stats) = judge(request, aggregates, summary);
    report.warnings.splice(0..0, empty);
    Ok((report, stats))
}

/// Every tenant and account the inputs name, as `--tenant` may give them.
fn tenants_seen(aggregates: &Aggregates, summary: &InputSummary) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    for key in summary.by_source.keys() {
        if let Some((_, tenant)) = key.split_once('/').filter(|(_, t)| *t != "-") {
            seen.insert(tenant.to_string());
        }
    }
    for ((_, account), tenant) in &aggregates.tenant_of_account {
        seen.insert(account.clone());
        seen.insert(tenant.clone());
    }
    seen.extend(
        aggregates
            .provisioning
            .last_days()
            .map(|(k, _)| k.account.clone()),
    );
    seen.extend(
        aggregates
            .billing
            .last_days()
            .map(|((_, a), _)| a.to_string()),
    );
    seen.extend(aggregates.logins.last_days().map(|((_, s), _)| s.clone()));
    seen
}

/// Warnings for the arguments that gave the detectors nothing: an empty file or directory, or
/// one whose every record was skipped. `unused` are the indices of such files in `inputs`.
fn empty_arguments(paths: &[PathBuf], inputs: &Inputs, unused: &[usize]) -> Vec<String> {
    let mut warnings = Vec::new();
    for path in paths {
        let under: Vec<usize> = (0..inputs.inputs.len())
            .filter(|&i| match &inputs.inputs[i] {
                Input::File(file) => file.starts_with(path),
                Input::Stdin => path.as_os_str() == "-",
            })
            .collect();
        let name = if path.as_os_str() == "-" {
            "<stdin>".to_string()
        } else {
            path.display().to_string()
        };
        if under.is_empty() {
            if path.is_dir() {
                warnings.push(format!("{name}: no input files in this directory"));
            }
        } else if under.iter().all(|i| unused.binary_search(i).is_ok()) {
            let files = match under.len() {
                1 if !path.is_dir() => String::new(),
                1 => " in its 1 file".to_string(),
                n => format!(" in its {n} files"),
            };
            warnings.push(format!(
                "{name}: no records{files} (empty, or every record skipped)"
            ));
        }
    }
    warnings.dedup();
    warnings
}

/// Reads every input into the detectors' aggregates and the ledger, on `threads` threads (0:
/// one per core).
///
/// Files are independent: each thread folds whole files into its own aggregates, and the
/// partial results merge ([`Aggregates::merge`]), in file order for the ledger, so the result
/// is the one a single thread gets.
pub fn read(
    inputs: &Inputs,
    hosting: &dyn HostingLookup,
    threads: usize,
) -> (Aggregates, InputSummary) {
    let read = read_new(inputs, hosting, threads, &|_| 0, &|_| true);
    (read.aggregates, read.summary)
}

/// [`read`], and the indices (sorted) of the inputs that gave no event or billing row.
fn read_files(
    inputs: &Inputs,
    hosting: &dyn HostingLookup,
    threads: usize,
) -> (Aggregates, InputSummary, Vec<usize>) {
    let read = read_new(inputs, hosting, threads, &|_| 0, &|_| true);
    (read.aggregates, read.summary, read.unused)
}

/// What [`read_new`] read.
pub struct Read {
    pub aggregates: Aggregates,
    pub summary: InputSummary,
    /// The highest record number seen per file (line number in NDJSON).
    pub last_record: BTreeMap<PathBuf, u64>,
    /// The newest record's time per file (Unix seconds), for files with records.
    pub newest: BTreeMap<PathBuf, i64>,
    /// Records left out because an earlier run read them (the head of an appended file).
    pub already_read: u64,
    /// Indices (sorted) of the inputs that gave no event or billing row.
    pub unused: Vec<usize>,
}

/// [`read`], leaving out the first `already(file)` records of each file (those an earlier
/// scheduled run read before the file grew) and the records `admit` refuses (duplicates by
/// event id, for the scheduled run).
pub fn read_new(
    inputs: &Inputs,
    hosting: &dyn HostingLookup,
    threads: usize,
    already: &(dyn Fn(&Input) -> u64 + Sync),
    admit: &(dyn Fn(&Record) -> bool + Sync),
) -> Read {
    let mut listed = InputSummary::default();
    {
        let mut nothing = |_: Record| {};
        let mut normalizer = Normalizer::new(&mut nothing);
        normalizer.note_listing(inputs);
        listed.merge(normalizer.finish());
    }
    let read_one = |mut read: Read, (i, input): (usize, &Input)| {
        let skip = already(input);
        let mut last = 0;
        let mut newest: Option<i64> = None;
        let mut dropped = 0;
        let mut sink = |record: Record| {
            let number = record.source().record;
            last = last.max(number);
            newest = newest.max(Some(record.time().timestamp()));
            if number <= skip {
                dropped += 1;
            } else if admit(&record) {
                read.aggregates.observe(record, hosting);
            }
        };
        let mut normalizer = Normalizer::new(&mut sink);
        normalizer.read_input(input);
        let file = normalizer.finish();
        if file.events + file.billing_rows == 0 {
            read.unused.push(i);
        }
        read.summary.merge(file);
        read.already_read += dropped;
        if let Input::File(path) = input {
            read.last_record.insert(path.clone(), last.max(skip));
            if let Some(newest) = newest {
                read.newest.insert(path.clone(), newest);
            }
        }
        read
    };
    let start = || Read {
        aggregates: Aggregates::new(),
        summary: InputSummary::default(),
        last_record: BTreeMap::new(),
        newest: BTreeMap::new(),
        already_read: 0,
        unused: Vec::new(),
    };
    let merge = |mut a: Read, b: Read| {
        a.aggregates.merge(b.aggregates);
        a.summary.merge(b.summary);
        a.last_record.extend(b.last_record);
        a.newest.extend(b.newest);
        a.already_read += b.already_read;
        a.unused.extend(b.unused);
        a
    };
    let mut read = if threads == 1 || inputs.inputs.len() <= 1 {
        inputs.inputs.iter().enumerate().fold(start(), read_one)
    } else {
        use rayon::prelude::*;
        let parallel = || {
            inputs
                .inputs
                .par_iter()
                .enumerate()
                .fold(start, read_one)
                .reduce(start, merge)
        };
        match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
            Ok(pool) => pool.install(parallel),
            Err(err) => {
                tracing::warn!(
                    "Cannot start {threads} threads ({err}): reading on the global pool"
                );
                parallel()
            }
        }
    };
    listed.merge(read.summary);
    read.summary = listed;
    read.unused.sort_unstable();
    read
}

/// The detectors, the per-tenant error budget, incidents and the report, from aggregates.
pub fn judge(
    request: &SweepRequest,
    aggregates: Aggregates,
    summary: InputSummary,
) -> (Report, SweepStats) {
    let Aggregates {
        provisioning,
        logins,
        billing,
        tenant_of_account,
        ..
    } = aggregates;
    // The data's span, from the input ledger (it already knows each source's first and last).
    let first = summary.by_source.values().filter_map(|c| c.first).min();
    let last = summary.by_source.values().filter_map(|c| c.last).max();

    let data_first = first.map(|t| t.date_naive());
    let data_last = last.map(|t| t.date_naive());
    let test_first = request.since.map(|t| t.date_naive()).or(data_first);
    let test_last = request.until.map(|t| t.date_naive()).or(data_last);
    let now = Utc::now();
    let mut window = Window {
        start: request.since.or(first).unwrap_or(now),
        end: request.until.or(last).unwrap_or(now),
    };
    let warnings = nothing_to_judge(request, &summary, first.zip(last));
    for warning in &warnings {
        tracing::warn!("{warning}");
    }
    if window.start > window.end {
        // `--since` after the data (or `--until` before it): the window is empty, never inverted.
        if request.since.is_some() {
            window.end = window.start;
        } else {
            window.start = window.end;
        }
    }
    let empty = |window: Window| {
        let mut report = Report::new(window, &summary, Coverage::default(), Vec::new());
        report.warnings = warnings.clone();
        (report, SweepStats::default())
    };
    let (Some(data_first), Some(test_first), Some(test_last)) = (data_first, test_first, test_last)
    else {
        return empty(window);
    };
    if test_first > test_last {
        // A window with no data in it (`--since` after the last record, say): nothing to judge.
        return empty(window);
    }
    let window_days = TestDays {
        first: test_first,
        last: test_last,
    };
    // Every day up to the window's end is judged, history included: an incident that began
    // before `--since` is found from its first day and keeps its id.
    let judged = TestDays {
        first: data_first.min(test_first),
        last: test_last,
    };
    let failed_user_names = logins
        .unproven_failed_names()
        .into_iter()
        .map(str::to_string)
        .collect();
    let config = request.config;
    let mut coverage = Coverage {
        data_gaps: billing.gaps(window_days),
        ..Coverage::default()
    };
    // The newest day with data per detector and scope: an incident that reaches it is open.
    let mut last_data: BTreeMap<(Detector, Provider, String), NaiveDate> = BTreeMap::new();
    for (key, day) in provisioning.last_days() {
        if let Some(day) = day {
            let scope = (
                Detector::Provisioning,
                key.provider.clone(),
                key.account.clone(),
            );
            last_data.insert(scope, day);
        }
    }
    for ((provider, account), day) in billing.last_days() {
        if let Some(day) = day {
            let scope = (Detector::BillingJump, provider.clone(), account.to_string());
            last_data.insert(scope, day);
        }
    }
    for ((provider, scope), day) in logins.last_days() {
        if let Some(day) = day {
            let scope = (
                Detector::CredentialStuffing,
                provider.clone(),
                scope.clone(),
            );
            last_data.insert(scope, day);
        }
    }
    let outputs = [
        (
            Detector::Provisioning,
            provisioning::detect(provisioning, judged, &config.provisioning, request.hosting),
        ),
        (
            Detector::CredentialStuffing,
            credential_stuffing::detect(
                logins,
                judged,
                &config.credential_stuffing,
                request.hosting,
            ),
        ),
        (
            Detector::BillingJump,
            billing_jump::detect(&billing, judged, &config.billing),
        ),
    ];
    let mut significant: Vec<Candidate> = Vec::new();
    for (detector, output) in outputs {
        coverage.cold_start.extend(output.cold_start);
        // The family of each test: its tenant's tests of this detector, per day.
        let mut family: BTreeMap<(Provider, String), BTreeMap<NaiveDate, u64>> = BTreeMap::new();
        let mut tested_in_window = 0u64;
        for (scope, days) in &output.tests {
            let tenant = resolve(
                &scope.0,
                Some(&scope.1),
                output.tenants.get(scope).cloned().flatten(),
                &tenant_of_account,
            );
            let counts = family.entry((scope.0.clone(), tenant)).or_default();
            for (day, n) in days {
                *counts.entry(*day).or_default() += u64::from(*n);
                if window_days.contains(*day) {
                    tested_in_window += u64::from(*n);
                }
            }
        }
        coverage
            .tests
            .insert(detector.as_str().to_string(), tested_in_window);
        for mut candidate in output.candidates {
            resolve_tenant(&mut candidate, &tenant_of_account);
            let tenant = candidate
                .tenant
                .clone()
                .or_else(|| candidate.account.clone())
                .unwrap_or_default();
            let tests = family
                .get(&(candidate.provider.clone(), tenant))
                .map_or(0, |days| {
                    let from = candidate.day - Duration::days(FAMILY_DAYS - 1);
                    days.range(from..=candidate.day).map(|(_, n)| n).sum()
                });
            let mut threshold = config.sweep.error_budget.threshold(tests);
            if detector == Detector::BillingJump
                && explained_by_provisioning(&candidate, &significant)
            {
                // A cost jump right after anomalous provisioning in the same account is what
                // that provisioning predicts: the test gets a larger share of the budget.
                threshold = (threshold * config.billing.linked_weight).min(1.0);
                candidate
                    .facts
                    .insert("after_anomalous_provisioning".into());
            }
            candidate.baseline.threshold = threshold;
            if candidate.baseline.p_value <= threshold {
                significant.push(candidate);
            }
        }
    }
    // Incidents: significant days of one entity joined; only those reaching into the window
    // are reported.
    let mut incidents: Vec<(String, Candidate, Incident)> = Vec::new();
    for parts in incident::group(significant) {
        // Every detector's identity is (detector, provider, scope, entity...).
        let first = &parts[0];
        let scope = first.identity.get(2).cloned().unwrap_or_default();
        let last_day = last_data
            .get(&(first.detector, first.provider.clone(), scope))
            .copied()
            .unwrap_or(test_last)
            .min(test_last);
        let (mut merged, incident) = incident::merge(parts, last_day);
        let in_window = request.since.is_none_or(|s| merged.last_seen >= s)
            && request.until.is_none_or(|u| merged.first_seen <= u)
            && incident.last_day >= test_first;
        if !in_window {
            continue;
        }
        retitle(&mut merged, &incident);
        let mut parts: Vec<String> = merged.identity.clone();
        parts.push(incident.first_day.to_string());
        let id = fingerprint(&parts.iter().map(String::as_str).collect::<Vec<_>>());
        incidents.push((id, merged, incident));
    }
    let mut links = link_billing_to_provisioning(&mut incidents);

    let mut stats = SweepStats {
        failed_user_names,
        ..SweepStats::default()
    };
    let mut findings: Vec<Finding> = Vec::new();
    for (id, candidate, incident) in incidents {
        let related = links.remove(&id).unwrap_or_default();
        let finding = into_finding(id, candidate, incident, related.into_iter().collect());
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
    coverage.cold_start.dedup();
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
    let mut report = Report::new(window, &summary, coverage, findings);
    report.warnings = warnings;
    (report, stats)
}

fn plural(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// What the report must say when the run judged nothing: no records at all, or a window
/// that misses the data, with the span the data has.
fn nothing_to_judge(
    request: &SweepRequest,
    summary: &InputSummary,
    span: Option<(DateTime<Utc>, DateTime<Utc>)>,
) -> Vec<String> {
    let time = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let Some((first, last)) = span else {
        let warning = if summary.records_read == 0 {
            format!(
                "no records in the inputs ({} read): nothing was judged",
                plural(summary.files, "file")
            )
        } else {
            format!(
                "none of the {} records read could be used (all skipped): nothing was judged",
                summary.records_read
            )
        };
        return vec![warning];
    };
    let data = format!("the data spans {} to {}", time(first), time(last));
    let mut warnings = Vec::new();
    if let Some(since) = request.since.filter(|since| *since > last) {
        warnings.push(format!(
            "--since {} is after the newest record: the window holds no data ({data})",
            time(since)
        ));
    }
    if let Some(until) = request.until.filter(|until| *until < first) {
        warnings.push(format!(
            "--until {} is before the oldest record: the window holds no data ({data})",
            time(until)
        ));
    }
    warnings
}

/// Whether significant provisioning in the billing candidate's account began on its day or in
/// the two days before (instances bill from the hour they start).
fn explained_by_provisioning(billing: &Candidate, significant: &[Candidate]) -> bool {
    significant.iter().any(|p| {
        p.detector == Detector::Provisioning
            && p.provider == billing.provider
            && p.account == billing.account
            && p.day <= billing.day
            && p.day >= billing.day - Duration::days(2)
    })
}

/// Days of the family a test's threshold counts: the 30 days ending on its day.
pub const FAMILY_DAYS: i64 = 30;

/// The tenant of a scope: the record's own tenant, unless it only repeats the account, in which
/// case the larger tenant the account was seen under (an organization, a billing account).
fn resolve(
    provider: &Provider,
    account: Option<&String>,
    tenant: Option<String>,
    tenant_of_account: &BTreeMap<(Provider, String), String>,
) -> String {
    let Some(account) = account else {
        return tenant.unwrap_or_default();
    };
    let stands_in = tenant.is_none() || tenant.as_ref() == Some(account);
    if stands_in {
        if let Some(larger) = tenant_of_account.get(&(provider.clone(), account.clone())) {
            return larger.clone();
        }
    }
    tenant.unwrap_or_else(|| account.clone())
}

fn resolve_tenant(
    candidate: &mut Candidate,
    tenant_of_account: &BTreeMap<(Provider, String), String>,
) {
    if candidate.account.is_none() {
        return;
    }
    let tenant = resolve(
        &candidate.provider,
        candidate.account.as_ref(),
        candidate.tenant.clone(),
        tenant_of_account,
    );
    candidate.tenant = Some(tenant);
}

/// Titles that describe the whole incident.
fn retitle(candidate: &mut Candidate, incident: &Incident) {
    match candidate.detector {
        Detector::BillingJump => {
            let service = candidate.identity.get(3).cloned().unwrap_or_default();
            let account = candidate.account.clone().unwrap_or_default();
            let currency = candidate.currency.clone().unwrap_or_default();
            candidate.title = if incident.days > 1 {
                format!(
                    "{service} cost in {account} above baseline on {} days from {} to {}: peak {:.2} {currency} (expected {:.2}), {:.2} {currency} in excess",
                    incident.days,
                    incident.first_day,
                    incident.last_day,
                    incident.peak,
                    candidate.baseline.expected,
                    incident.total_excess
                )
            } else {
                format!(
                    "{service} cost in {account} jumped to {:.2} {currency} on {} (expected {:.2})",
                    candidate.baseline.observed, incident.first_day, candidate.baseline.expected
                )
            };
        }
        Detector::CredentialStuffing => {
            let succeeded = candidate.facts.contains("success");
            candidate.title = credential_stuffing::title(candidate, succeeded);
            if incident.days > 1 {
                candidate.title.push_str(&format!(
                    " ({} days, {} to {})",
                    incident.days, incident.first_day, incident.last_day
                ));
            }
        }
        Detector::Provisioning => {
            if incident.days > 1 {
                candidate.title.push_str(&format!(
                    "; anomalous on {} days, {} to {}",
                    incident.days, incident.first_day, incident.last_day
                ));
            }
        }
    }
}

/// A billing jump is explained by provisioning incidents in the same account from two days
/// before the jump to its end (instances bill from the hour they start). Returns the related
/// ids of each incident that has any.
fn link_billing_to_provisioning(
    incidents: &mut [(String, Candidate, Incident)],
) -> BTreeMap<String, BTreeSet<String>> {
    let provisioning: Vec<(String, Provider, Option<String>, DateTime<Utc>)> = incidents
        .iter()
        .filter(|(_, c, _)| c.detector == Detector::Provisioning)
        .map(|(id, c, _)| {
            (
                id.clone(),
                c.provider.clone(),
                c.account.clone(),
                c.first_seen,
            )
        })
        .collect();
    let mut links: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (own, candidate, _) in incidents
        .iter_mut()
        .filter(|(_, c, _)| c.detector == Detector::BillingJump)
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
    links
}

fn into_finding(
    id: String,
    candidate: Candidate,
    incident: Incident,
    related: Vec<String>,
) -> Finding {
    let facts = &candidate.facts;
    let (escalate, escalation_reason) = playbook::escalation(candidate.detector, facts);
    let next_steps = playbook::next_steps(candidate.detector, facts);
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
        next_steps,
        related,
        incident,
    }
}

/// Midnight UTC of a day, for window arithmetic in callers.
pub fn day_start(day: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).expect("midnight exists"))
}
