//! Credential stuffing or spraying, then a success (T1110.003 / T1110.004, then T1078.004).
//!
//! ## Model
//! The anchor of a test is a sign-in whose password was accepted: a success, or an interrupt that
//! is only reached with the right password (MFA required, password expired; see
//! [`super::login_results`]). A finding needs such an anchor *after* failures: against the same
//! user, or from the anchor's source address against other users (spraying). Anchors with no
//! related failure are not tested: they cannot be this technique.
//!
//! For every anchor at time `t` we count
//! - `F24`: failed guesses against the same user in the day before `t`;
//! - `D24`: distinct users of the same tenant with failed guesses from the anchor's address in
//!   the day before `t`.
//!
//! `F24` is compared with its upper tail at the tenant's own tested user-days of the trailing
//! `baseline_days` days, shrunk toward a measured prior tail (`f24_tail`, from
//! `scripts/priors.sh`): people who forgot a password retry until the lockout, so five or six
//! failures are a lump in the benign tail that no negative binomial fits. `D24` is compared with
//! a Gamma-Poisson model of the tenant's anchors shrunk toward `d24_prior`, or of the source
//! itself when it has enough history (an office NAT routinely shows several users' typos).
//! `p_rate = min(1, 2 * min(p))`. Typos (one to three failures,
//! then success) are common in every pool and stay quiet. Signals, with base rates from the
//! tenant's anchors shrunk toward priors: `new_network` (the anchor's /24 or /48 never
//! preceded a success of this user in the window), `hosting_source` (the anchor comes from a
//! hosting range; a VPS company's, `vps_source`, has its own and rarer base rate than a public
//! cloud's), `no_mfa` (the provider says no second factor was used). They are combined
//! exactly with `p_rate`; a user's anchors of one day form one test (Bonferroni over them).
//! Earlier anchors that were significant themselves are left out of the pools.
//!
//! Everything is tenant-local. Failures from the same address against *other* tenants are
//! counted too and named in the finding (`also_failed_elsewhere`), but they never decide it: a
//! tenant's findings do not change when other tenants are in the run.
//!
//! A tenant with fewer than `min_history_days` of sign-in data is judged on the priors
//! (`cold_start`, one severity step lower), without the `new_network` signal.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use super::login_results::{meaning, LoginMeaning};
use super::{
    entity_list, history_range, lower, network_of, parse_ip, raise, Candidate, DetectorOutput,
    EvidenceSample, HostingLookup, TestDays, CANDIDATE_P,
};
use crate::aggregate::{as_pairs, merge_min};
use crate::baseline::{
    combined_p_value, shrunk_tail, signal_rate, CountModel, CountPrior, Signal, TailPrior,
};
use crate::ranges::is_vps_provider;
use crate::report::{Baseline, ColdStart, Detector, Entities, Severity};
use crate::schema::{Category, Event, Provider};

const HOUR: i64 = 3600;
const DAY: i64 = 24 * HOUR;
/// Sign-ins are kept per minute: the same user, result, address and MFA within one minute are
/// one entry with a count.
const MINUTE: i64 = 60;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CredentialStuffingParams {
    pub baseline_days: u32,
    /// Less sign-in data than this: judged on the priors (cold start).
    pub min_history_days: u32,
    /// A source needs this many anchors in the window to be judged against its own history.
    pub min_source_anchors: usize,
    /// Prior tail of the failures against a user in the day before an accepted password, at
    /// user-days with failures (`P(F24 >= k)`, k = 1, 2, ...), worth `prior_weight` user-days.
    pub f24_tail: TailPrior,
    /// Prior on distinct users failing from the anchor's address in the day before.
    pub d24_prior: CountPrior,
    pub prior_new_network: f64,
    pub prior_hosting_source: f64,
    /// Prior base rate of an accepted password from a VPS company's address.
    pub prior_vps_source: f64,
    pub prior_no_mfa: f64,
    pub prior_weight: f64,
    /// Earlier anchors below this p-value are left out of the tenant's pools.
    pub trim_p: f64,
    /// Distinct users failing from one address before it counts as spraying (for the title,
    /// the incident's identity and the MITRE id only; the test itself is statistical).
    pub spray_users: u32,
}

impl Default for CredentialStuffingParams {
    fn default() -> Self {
        CredentialStuffingParams {
            baseline_days: 28,
            min_history_days: 7,
            min_source_anchors: 20,
            // scripts/priors.sh on benign seeds 2 and 12: 10,108 tested user-days, of which
            // 1,996 had 1 failure, 783 2, 329 3, 21 4, 13 5, 50 6 (the lockout) and 2 7.
            f24_tail: TailPrior {
                survival: vec![0.317, 0.120, 0.041, 0.0083, 0.0063, 0.0051],
                decay: 0.5,
            },
            d24_prior: CountPrior {
                pseudo_count: 10.0,
                pseudo_days: 50.0,
                dispersion: 1.0,
                dispersion_days: 50.0,
            },
            prior_new_network: 0.1,
            prior_hosting_source: 0.02,
            prior_vps_source: 0.002,
            prior_no_mfa: 0.3,
            prior_weight: 50.0,
            trim_p: 1e-3,
            spray_users: 5,
        }
    }
}

/// Sign-ins of one user in one minute with one result, address and MFA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
struct Mark {
    time: i64,
    meaning: LoginMeaning,
    ip: Option<IpAddr>,
    mfa: Option<bool>,
    count: u32,
}

impl Mark {
    fn same_entry(&self, other: &Mark) -> bool {
        (self.time, self.meaning, self.ip, self.mfa)
            == (other.time, other.meaning, other.ip, other.mfa)
    }
}

/// A user within a tenant (or account, when the record names no tenant).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
struct UserKey {
    provider: Provider,
    scope: String,
    user: String,
}

/// A source address as one tenant sees it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
struct SourceKey {
    provider: Provider,
    scope: String,
    ip: IpAddr,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
struct UserState {
    tenant: Option<String>,
    account: Option<String>,
    display: Option<String>,
    marks: Vec<Mark>,
    /// Marks at the last compaction: the vector is compacted when it doubles.
    compacted: usize,
    evidence: BTreeMap<NaiveDate, EvidenceSample>,
}

impl UserState {
    fn compact(&mut self) {
        compact_marks(&mut self.marks);
        self.compacted = self.marks.len();
    }
}

fn compact_marks(marks: &mut Vec<Mark>) {
    marks.sort_unstable();
    let mut out: Vec<Mark> = Vec::with_capacity(marks.len());
    for mark in marks.drain(..) {
        match out.last_mut() {
            Some(last) if last.same_entry(&mark) => {
                last.count = last.count.saturating_add(mark.count)
            }
            _ => out.push(mark),
        }
    }
    *marks = out;
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
struct SourceState {
    /// (minute, user) of failed guesses from this address, one entry per user and minute.
    failures: BTreeSet<(i64, String)>,
    evidence: BTreeMap<NaiveDate, EvidenceSample>,
}

/// Sign-in aggregates fed by every login event of a sweep.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoginObservations {
    #[serde(with = "as_pairs")]
    users: BTreeMap<UserKey, UserState>,
    #[serde(with = "as_pairs")]
    sources: BTreeMap<SourceKey, SourceState>,
    /// Days with sign-in data per (provider, scope).
    #[serde(with = "as_pairs")]
    scope_days: BTreeMap<(Provider, String), BTreeSet<NaiveDate>>,
    /// Names the directory knows per (provider, scope): who changed a user and which user was
    /// changed (Entra audits). A failed sign-in name found here is a real account, not a
    /// password typed into the user field (see [`crate::redact`]).
    #[serde(with = "as_pairs", default)]
    directory: BTreeMap<(Provider, String), BTreeSet<String>>,
}

impl LoginObservations {
    pub fn observe(&mut self, event: &Event) {
        if event.category != Category::Login {
            let user_changed = event
                .resource
                .kind
                .as_deref()
                .is_some_and(|kind| kind.eq_ignore_ascii_case("user"));
            if user_changed {
                self.note_directory(event);
            }
            return;
        }
        let Some(user) = event.principal.as_deref() else {
            return;
        };
        let scope = scope_of(event);
        let day = event.time.date_naive();
        self.scope_days
            .entry((event.provider.clone(), scope.clone()))
            .or_default()
            .insert(day);
        let key = UserKey {
            provider: event.provider.clone(),
            scope: scope.clone(),
            user: sign_in_name(user),
        };
        let name = key.user.clone();
        let state = self.users.entry(key).or_default();
        merge_min(&mut state.display, Some(user.to_string()));
        merge_min(&mut state.tenant, event.tenant.clone());
        merge_min(&mut state.account, event.account.clone());
        let meaning = meaning(event);
        let ip = parse_ip(event);
        let minute = event.time.timestamp().div_euclid(MINUTE) * MINUTE;
        state.marks.push(Mark {
            time: minute,
            meaning,
            ip,
            mfa: event.resource.mfa,
            count: 1,
        });
        if state.marks.len() >= 2 * state.compacted + 64 {
            state.compact();
        }
        state.evidence.entry(day).or_default().push(event);
        if meaning.failed_guess() {
            if let Some(ip) = ip {
                let source = self
                    .sources
                    .entry(SourceKey {
                        provider: event.provider.clone(),
                        scope,
                        ip,
                    })
                    .or_default();
                source.failures.insert((minute, name));
                source.evidence.entry(day).or_default().push(event);
            }
        }
    }

    /// A directory change to a user: its initiator and its target are accounts.
    fn note_directory(&mut self, event: &Event) {
        let names = [event.principal.as_deref(), event.resource.id.as_deref()];
        let known = self
            .directory
            .entry((event.provider.clone(), scope_of(event)))
            .or_default();
        known.extend(names.into_iter().flatten().map(sign_in_name));
    }

    /// The names that only ever failed to sign in: no attempt proved the account (a success, an
    /// accepted password stopped later, a locked or disabled account) and the directory never
    /// named them. Display spellings, one per user.
    pub fn unproven_failed_names(&self) -> Vec<&str> {
        self.users
            .iter()
            .filter(|(key, user)| {
                let proven = user.marks.iter().any(|mark| {
                    mark.meaning.password_valid()
                        || matches!(mark.meaning, LoginMeaning::Locked | LoginMeaning::Disabled)
                });
                let in_directory = self
                    .directory
                    .get(&(key.provider.clone(), key.scope.clone()))
                    .is_some_and(|names| names.contains(&key.user));
                !proven && !in_directory
            })
            .filter_map(|(_, user)| user.display.as_deref())
            .collect()
    }

    /// Merges the aggregates of a disjoint input into these.
    pub fn merge(&mut self, other: LoginObservations) {
        for (key, user) in other.users {
            let mine = self.users.entry(key).or_default();
            merge_min(&mut mine.display, user.display);
            merge_min(&mut mine.tenant, user.tenant);
            merge_min(&mut mine.account, user.account);
            mine.marks.extend(user.marks);
            mine.compact();
            merge_evidence(&mut mine.evidence, user.evidence);
        }
        for (key, source) in other.sources {
            let mine = self.sources.entry(key).or_default();
            mine.failures.extend(source.failures);
            merge_evidence(&mut mine.evidence, source.evidence);
        }
        for (key, days) in other.scope_days {
            self.scope_days.entry(key).or_default().extend(days);
        }
        for (key, names) in other.directory {
            self.directory.entry(key).or_default().extend(names);
        }
    }

    /// Sorts and coalesces every sign-in timeline (the canonical form).
    pub fn compact(&mut self) {
        for user in self.users.values_mut() {
            user.compact();
            for sample in user.evidence.values_mut() {
                *sample = std::mem::take(sample).sorted();
            }
        }
        for source in self.sources.values_mut() {
            for sample in source.evidence.values_mut() {
                *sample = std::mem::take(sample).sorted();
            }
        }
    }

    /// The last day with sign-in data per scope (for incidents' open/ended status).
    /// Forgets every sign-in, failure and evidence sample before `cutoff` (the scheduled run's
    /// retention). The directory's names are kept: they say who exists, not when.
    pub fn expire_before(&mut self, cutoff: NaiveDate) {
        let from = cutoff
            .and_time(chrono::NaiveTime::MIN)
            .and_utc()
            .timestamp();
        self.users.retain(|_, user| {
            user.marks.retain(|mark| mark.time >= from);
            user.compacted = user.compacted.min(user.marks.len());
            user.evidence = user.evidence.split_off(&cutoff);
            !user.marks.is_empty()
        });
        self.sources.retain(|_, source| {
            source.failures = source.failures.split_off(&(from, String::new()));
            source.evidence = source.evidence.split_off(&cutoff);
            !source.failures.is_empty() || !source.evidence.is_empty()
        });
        for days in self.scope_days.values_mut() {
            *days = days.split_off(&cutoff);
        }
        self.scope_days.retain(|_, days| !days.is_empty());
    }

    pub fn last_days(&self) -> impl Iterator<Item = (&(Provider, String), Option<NaiveDate>)> {
        self.scope_days.iter().map(|(k, d)| (k, d.last().copied()))
    }
}

fn merge_evidence(
    mine: &mut BTreeMap<NaiveDate, EvidenceSample>,
    other: BTreeMap<NaiveDate, EvidenceSample>,
) {
    for (day, sample) in other {
        mine.entry(day).or_default().merge(sample);
    }
}

/// Where a user name is one person. An AWS IAM user exists in one account (an organization
/// trail names the organization as tenant, and `admin` in two accounts are two people); Entra and
/// Workspace users are tenant-wide.
fn scope_of(event: &Event) -> String {
    match event.provider {
        Provider::Aws => event.account.clone().or_else(|| event.tenant.clone()),
        _ => event.tenant.clone().or_else(|| event.account.clone()),
    }
    .unwrap_or_else(|| "-".into())
}

/// The name a user signs in with. CloudTrail names a successful console sign-in by the user's
/// ARN but a failed one only by `userName`, so an IAM user ARN counts as its last path segment.
fn sign_in_name(principal: &str) -> String {
    let lower = principal.to_ascii_lowercase();
    match lower.split_once(":user/") {
        Some((prefix, path)) if prefix.starts_with("arn:") => {
            path.rsplit('/').next().unwrap_or(path).to_string()
        }
        _ => lower,
    }
}

/// The statistics of one anchor.
#[derive(Debug, Clone)]
struct Anchor<'a> {
    user: &'a UserKey,
    time: i64,
    day: NaiveDate,
    meaning: LoginMeaning,
    ip: Option<IpAddr>,
    mfa: Option<bool>,
    f24: u32,
    d24: u32,
    /// Users of other tenants that failed from the same address in the day before.
    elsewhere: u32,
    first_failure: i64,
    new_network: bool,
}

/// What an anchor leaves for the tenant's later pools.
#[derive(Debug, Clone)]
struct PoolEntry {
    day: NaiveDate,
    f24: u32,
    d24: u32,
    ip: Option<IpAddr>,
    new_network: bool,
    hosting: bool,
    vps: bool,
    no_mfa: bool,
    trimmed: bool,
}

pub fn detect(
    observations: LoginObservations,
    days: TestDays,
    params: &CredentialStuffingParams,
    hosting: &dyn HostingLookup,
) -> DetectorOutput {
    detect_with(observations, days, params, hosting, CANDIDATE_P)
}

/// [`detect`], listing every test with a p-value below `keep_p` (1.0 lists all; for tests).
pub fn detect_with(
    mut observations: LoginObservations,
    days: TestDays,
    params: &CredentialStuffingParams,
    hosting: &dyn HostingLookup,
    keep_p: f64,
) -> DetectorOutput {
    observations.compact();
    let observations = &observations;
    let mut by_ip: HashMap<IpAddr, Vec<(&SourceKey, &SourceState)>> = HashMap::new();
    for (key, source) in &observations.sources {
        by_ip.entry(key.ip).or_default().push((key, source));
    }
    let mut by_scope: BTreeMap<(Provider, String), Vec<Anchor>> = BTreeMap::new();
    for anchor in anchors(observations, &by_ip, params, days.last) {
        by_scope
            .entry((anchor.user.provider.clone(), anchor.user.scope.clone()))
            .or_default()
            .push(anchor);
    }
    let mut output = DetectorOutput::default();
    for (scope, mut anchors) in by_scope {
        anchors.sort_by(|a, b| (a.day, a.time, a.user).cmp(&(b.day, b.time, b.user)));
        let scope_days = observations.scope_days.get(&scope);
        let mut pool: Vec<PoolEntry> = Vec::new();
        let mut reported_cold = false;
        let mut start = 0;
        while start < anchors.len() {
            let day = anchors[start].day;
            let end = start + anchors[start..].partition_point(|a| a.day == day);
            let today = &anchors[start..end];
            start = end;
            let (from, to) = history_range(day, params.baseline_days);
            let history_days = scope_days.map_or(0, |d| d.range(from..=to).count()) as u32;
            let cold = history_days < params.min_history_days;
            let window: Vec<&PoolEntry> = pool
                .iter()
                .filter(|p| p.day >= from && p.day <= to && !p.trimmed)
                .collect();
            let fit = |values: Vec<f64>, prior: &CountPrior| CountModel::fit(&values, prior);
            // The tail of F24 is learned at the user-days that are tested (with failures).
            let f24_tested: Vec<u32> = window
                .iter()
                .filter(|p| p.f24 > 0 || p.d24 > 0)
                .map(|p| p.f24)
                .collect();
            let w = params.prior_weight;
            let f24_expected = (f24_tested.iter().map(|f| f64::from(*f)).sum::<f64>()
                + w * params.f24_tail.mean())
                / (f24_tested.len() as f64 + w);
            let d24_pool = fit(
                window.iter().map(|p| f64::from(p.d24)).collect(),
                &params.d24_prior,
            );
            let trials = window.len() as u64;
            let hits =
                |f: &dyn Fn(&PoolEntry) -> bool| window.iter().filter(|p| f(p)).count() as u64;
            let rate_new_network = signal_rate(
                hits(&|p| p.new_network),
                trials,
                params.prior_new_network,
                params.prior_weight,
            );
            let rate_vps = signal_rate(
                hits(&|p| p.vps),
                trials,
                params.prior_vps_source,
                params.prior_weight,
            );
            let rate_hosting = signal_rate(
                hits(&|p| p.hosting && !p.vps),
                trials,
                params.prior_hosting_source,
                params.prior_weight,
            );
            let rate_no_mfa = signal_rate(
                hits(&|p| p.no_mfa),
                trials,
                params.prior_no_mfa,
                params.prior_weight,
            );
            // One test per user-day: the most surprising anchor, Bonferroni over the day's.
            let mut best: BTreeMap<&UserKey, (f64, usize, &Anchor, f64, Vec<String>)> =
                BTreeMap::new();
            let mut entries = Vec::new();
            for anchor in today {
                let hosting_provider = anchor.ip.and_then(|ip| hosting.hosting_provider(ip));
                let mut entry = PoolEntry {
                    day,
                    f24: anchor.f24,
                    d24: anchor.d24,
                    ip: anchor.ip,
                    new_network: anchor.new_network,
                    hosting: hosting_provider.is_some(),
                    vps: hosting_provider.as_deref().is_some_and(is_vps_provider),
                    no_mfa: anchor.mfa == Some(false),
                    trimmed: false,
                };
                if anchor.f24 == 0 && anchor.d24 == 0 {
                    entries.push(entry);
                    continue;
                }
                let source_history: Vec<f64> = window
                    .iter()
                    .filter(|p| p.ip.is_some() && p.ip == anchor.ip)
                    .map(|p| f64::from(p.d24))
                    .collect();
                let d24_model = if source_history.len() >= params.min_source_anchors {
                    fit(source_history, &params.d24_prior)
                } else {
                    d24_pool
                };
                let p_f24 = shrunk_tail(&f24_tested, anchor.f24, &params.f24_tail, w);
                let p_rate =
                    (2.0 * p_f24.min(d24_model.p_at_least(f64::from(anchor.d24)))).min(1.0);
                let signals = [
                    Signal {
                        name: "new_network",
                        present: anchor.new_network && !cold,
                        base_rate: rate_new_network,
                    },
                    Signal {
                        name: "hosting_source",
                        present: hosting_provider.is_some(),
                        base_rate: match hosting_provider.as_deref() {
                            Some(p) if is_vps_provider(p) => rate_vps,
                            Some(_) => rate_hosting,
                            None => (rate_hosting + rate_vps).min(1.0),
                        },
                    },
                    Signal {
                        name: "no_mfa",
                        present: anchor.mfa == Some(false),
                        base_rate: rate_no_mfa,
                    },
                ];
                let p = combined_p_value(p_rate, &signals);
                entry.trimmed = p < params.trim_p;
                entries.push(entry);
                let mut present: Vec<String> = signals
                    .iter()
                    .filter(|s| s.present)
                    .map(|s| s.name.to_string())
                    .collect();
                if let Some(provider) = hosting_provider {
                    if is_vps_provider(&provider) {
                        present.push("vps_source".into());
                    }
                    present.push(format!("hosting:{provider}"));
                }
                if cold {
                    present.push("cold_start".into());
                }
                let slot = best.entry(anchor.user).or_insert((
                    p,
                    0,
                    anchor,
                    f24_expected,
                    present.clone(),
                ));
                slot.1 += 1;
                if p < slot.0 {
                    *slot = (p, slot.1, anchor, f24_expected, present);
                }
            }
            pool.extend(entries);
            if !days.contains(day) {
                continue;
            }
            if cold && !best.is_empty() && !reported_cold {
                output.cold_start.push(ColdStart {
                    detector: Detector::CredentialStuffing,
                    scope: format!("{}/{}", scope.0, scope.1),
                    history_days,
                    needed_days: params.min_history_days,
                });
                reported_cold = true;
            }
            for (_, (p, anchors_that_day, anchor, expected, signals)) in best {
                let tenant = observations.users[anchor.user].tenant.as_deref();
                output.count_test(&scope.0, &scope.1, tenant, day);
                let p_value = (p * anchors_that_day as f64).min(1.0);
                if p_value < keep_p || keep_p >= 1.0 {
                    output.candidates.push(candidate(
                        observations,
                        &by_ip,
                        anchor,
                        p_value,
                        expected,
                        history_days,
                        cold,
                        signals,
                        params,
                    ));
                }
            }
        }
    }
    output
}

fn anchors<'a>(
    observations: &'a LoginObservations,
    by_ip: &HashMap<IpAddr, Vec<(&SourceKey, &SourceState)>>,
    params: &CredentialStuffingParams,
    last: NaiveDate,
) -> Vec<Anchor<'a>> {
    let mut anchors = Vec::new();
    for (key, user) in &observations.users {
        // Networks this user succeeded from, by day, to judge "new network" per anchor.
        let mut success_networks: HashMap<String, BTreeSet<NaiveDate>> = HashMap::new();
        for mark in user.marks.iter().filter(|m| m.meaning.password_valid()) {
            if let Some(ip) = mark.ip {
                success_networks
                    .entry(network_of(ip))
                    .or_default()
                    .insert(day_of(mark.time));
            }
        }
        // (time, cumulative failures up to and including it)
        let mut failures: Vec<(i64, u32)> = Vec::new();
        let mut total = 0u32;
        for mark in user.marks.iter().filter(|m| m.meaning.failed_guess()) {
            total = total.saturating_add(mark.count);
            failures.push((mark.time, total));
        }
        let failures_in = |from_exclusive: i64, to: i64| -> (u32, Option<i64>) {
            let start = failures.partition_point(|&(t, _)| t <= from_exclusive);
            let end = failures.partition_point(|&(t, _)| t <= to);
            if end <= start {
                return (0, None);
            }
            let before = if start == 0 { 0 } else { failures[start - 1].1 };
            (failures[end - 1].1 - before, Some(failures[start].0))
        };
        for mark in user.marks.iter().filter(|m| m.meaning.password_valid()) {
            let day = day_of(mark.time);
            if day > last {
                break;
            }
            let (from, to) = history_range(day, params.baseline_days);
            let familiar = |network: &str| {
                success_networks
                    .get(network)
                    .is_some_and(|days| days.range(from..=to).next().is_some())
            };
            let new_network = mark.ip.is_some_and(|ip| !familiar(&network_of(ip)));
            let (f24, first_user_failure) = failures_in(mark.time - DAY, mark.time);
            let mut d24 = 0;
            let mut elsewhere = 0;
            let mut first_source_failure = None;
            if let Some(ip) = mark.ip {
                for (source_key, source) in by_ip.get(&ip).into_iter().flatten() {
                    let (users, first) =
                        distinct_users(&source.failures, mark.time - DAY, mark.time);
                    if source_key.provider == key.provider && source_key.scope == key.scope {
                        d24 = users;
                        first_source_failure = first;
                    } else {
                        elsewhere += users;
                    }
                }
            }
            let first_failure = [first_user_failure, first_source_failure]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(mark.time);
            anchors.push(Anchor {
                user: key,
                time: mark.time,
                day,
                meaning: mark.meaning,
                ip: mark.ip,
                mfa: mark.mfa,
                f24,
                d24,
                elsewhere,
                first_failure,
                new_network,
            });
        }
    }
    anchors
}

/// Distinct users failing in `(from, to]`, and the first such failure.
fn distinct_users(failures: &BTreeSet<(i64, String)>, from: i64, to: i64) -> (u32, Option<i64>) {
    let mut users: BTreeSet<&str> = BTreeSet::new();
    let mut first = None;
    for (t, user) in failures.range((from + 1, String::new())..) {
        if *t > to {
            break;
        }
        first.get_or_insert(*t);
        users.insert(user);
    }
    (users.len() as u32, first)
}

fn day_of(time: i64) -> NaiveDate {
    to_time(time).date_naive()
}

fn to_time(time: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(time, 0).single().unwrap_or_default()
}

/// Whether an anchor is part of a spray from its source (the incident is the source's) rather
/// than guessing against one user (the incident is the user's).
fn is_spray(anchor: &Anchor, params: &CredentialStuffingParams) -> bool {
    anchor.ip.is_some() && (anchor.d24 >= params.spray_users || anchor.f24 == 0)
}

#[allow(clippy::too_many_arguments)]
fn candidate(
    observations: &LoginObservations,
    by_ip: &HashMap<IpAddr, Vec<(&SourceKey, &SourceState)>>,
    anchor: &Anchor,
    p_value: f64,
    expected: f64,
    history_days: u32,
    cold: bool,
    signals: Vec<String>,
    params: &CredentialStuffingParams,
) -> Candidate {
    let key = anchor.user;
    let user = &observations.users[key];
    let display = user.display.clone().unwrap_or_else(|| key.user.clone());
    let window_start = anchor.time - DAY;
    // The story: the failed guesses before the anchor, and the anchor itself.
    let in_window = |e: &&Event| {
        let t = e.time.timestamp();
        let guess = t >= anchor.first_failure.min(window_start)
            && t < anchor.time + MINUTE
            && meaning(e).failed_guess();
        let is_anchor = t.div_euclid(MINUTE) * MINUTE == anchor.time
            && parse_ip(e) == anchor.ip
            && meaning(e).password_valid();
        guess || is_anchor
    };
    let spraying = is_spray(anchor, params);
    let mut evidence = EvidenceSample::default();
    let mut principals = BTreeSet::from([display.clone()]);
    let mut src_ips = BTreeSet::new();
    let days = [anchor.day.pred_opt().unwrap_or(anchor.day), anchor.day];
    let source = anchor.ip.and_then(|ip| {
        by_ip.get(&ip).and_then(|sources| {
            sources
                .iter()
                .find(|(k, _)| k.provider == key.provider && k.scope == key.scope)
                .map(|(_, s)| *s)
        })
    });
    for day in days {
        if let Some(sample) = user.evidence.get(&day) {
            evidence.omitted += sample.omitted;
            for event in sample.events.iter().filter(in_window) {
                evidence.push(event);
                src_ips.extend(event.src_ip.clone());
            }
        }
        if let Some(source) = source.filter(|_| spraying) {
            if let Some(sample) = source.evidence.get(&day) {
                for event in sample.events.iter().filter(in_window) {
                    if !evidence.events.iter().any(|e| e.source == event.source) {
                        evidence.push(event);
                    }
                }
            }
        }
    }
    if spraying {
        // The users the source tried in the day before the anchor, as the aggregate knows them.
        if let Some(source) = source {
            for (t, name) in source.failures.range((window_start + 1, String::new())..) {
                if *t > anchor.time {
                    break;
                }
                let user_key = UserKey {
                    provider: key.provider.clone(),
                    scope: key.scope.clone(),
                    user: name.clone(),
                };
                let shown = observations
                    .users
                    .get(&user_key)
                    .and_then(|u| u.display.clone())
                    .unwrap_or_else(|| name.clone());
                principals.insert(shown);
            }
        }
    }
    if let Some(ip) = anchor.ip {
        src_ips.insert(ip.to_string());
    }
    let succeeded = anchor.meaning == LoginMeaning::Success;
    let mut severity = if succeeded {
        Severity::High
    } else {
        Severity::Medium
    };
    let hosting = signals.iter().any(|s| s == "hosting_source");
    if hosting {
        severity = raise(severity);
    }
    if anchor.new_network && anchor.mfa == Some(false) && !cold {
        severity = raise(severity);
    }
    if cold {
        severity = lower(severity);
    }
    let mut signals = signals;
    let mut facts: BTreeSet<String> = signals.iter().cloned().collect();
    if anchor.elsewhere > 0 {
        signals.push(format!("also_failed_elsewhere:{}", anchor.elsewhere));
        facts.insert("also_failed_elsewhere".into());
    }
    let technique = if spraying && anchor.d24 >= params.spray_users {
        "T1110.003"
    } else {
        "T1110.004"
    };
    let mut mitre = vec![
        "T1110".to_string(),
        technique.to_string(),
        "T1078.004".to_string(),
    ];
    if hosting {
        mitre.push("T1584.003".to_string());
    }
    if succeeded {
        facts.insert("success".into());
    }
    facts.insert("failures_then_success".into());
    if spraying {
        facts.insert("spray".into());
    }
    let ip = anchor.ip.map(|i| i.to_string()).unwrap_or_default();
    // Sprays against one tenant on consecutive days are one incident, from however many
    // addresses (attackers rotate a few at once); other guessing is the user's incident.
    let sources: BTreeSet<String> = if spraying {
        BTreeSet::from([ip])
    } else {
        BTreeSet::new()
    };
    let identity = if spraying {
        vec![
            "credential_stuffing".into(),
            key.provider.to_string(),
            key.scope.clone(),
            "spray".into(),
        ]
    } else {
        vec![
            "credential_stuffing".into(),
            key.provider.to_string(),
            key.scope.clone(),
            key.user.clone(),
        ]
    };
    let observed = if spraying { anchor.d24 } else { anchor.f24 };
    let candidate = Candidate {
        detector: Detector::CredentialStuffing,
        identity,
        day: anchor.day,
        title: String::new(),
        provider: key.provider.clone(),
        tenant: user.tenant.clone(),
        account: user.account.clone(),
        first_seen: to_time(anchor.first_failure.min(anchor.time)),
        last_seen: to_time(anchor.time + MINUTE - 1),
        mitre,
        entities: Entities {
            principals: entity_list(principals, 200),
            src_ips: entity_list(src_ips, 50),
            regions: Vec::new(),
            services: Vec::new(),
            resources: Vec::new(),
        },
        baseline: Baseline {
            observed: f64::from(observed),
            expected: (expected * 100.0).round() / 100.0,
            p_value,
            threshold: 1.0,
            window_days: history_days,
            method: "Gamma-Poisson failures before an accepted password (per user 1 h/24 h, distinct users per source 24 h) against the tenant's own sign-ins and priors, combined exactly with network, hosting and MFA signals".into(),
            signals,
        },
        evidence: evidence.into_evidence(),
        severity,
        facts,
        signed_in: BTreeSet::from([display]),
        sources,
        currency: None,
    };
    let title = title(&candidate, succeeded);
    Candidate { title, ..candidate }
}

/// A title from what the finding lists: the users tried and those whose password was accepted.
pub fn title(candidate: &Candidate, succeeded: bool) -> String {
    let outcome = if succeeded || candidate.facts.contains("success") {
        "signed in"
    } else {
        "passed the password check"
    };
    let signed_in: Vec<&str> = candidate.signed_in.iter().map(String::as_str).collect();
    let shown = |names: &[&str]| -> String {
        let mut s = names.iter().take(3).copied().collect::<Vec<_>>().join(", ");
        if names.len() > 3 {
            s.push_str(&format!(" and {} more", names.len() - 3));
        }
        s
    };
    if candidate.facts.contains("spray") {
        let sources: Vec<&str> = candidate.sources.iter().map(String::as_str).collect();
        let source = shown(&sources);
        format!(
            "Password spraying from {source} against {} users, then {} {outcome}",
            candidate.entities.principals.len(),
            shown(&signed_in),
        )
    } else {
        format!(
            "{} failed sign-ins against {} within 24 h from {} addresses, then {outcome}",
            candidate.baseline.observed,
            shown(&signed_in),
            candidate.entities.src_ips.len(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::NoHostingRanges;
    use crate::schema::{Outcome, Resource, SourceRef};

    fn login(
        day: u32,
        minute: u32,
        user: &str,
        ip: &str,
        outcome: Outcome,
        reason: Option<&str>,
    ) -> Event {
        Event {
            event_id: None,
            time: Utc.with_ymd_and_hms(2024, 3, day, 9, 0, 0).unwrap()
                + chrono::Duration::minutes(minute as i64),
            provider: Provider::Azure,
            tenant: Some("tenant-1".into()),
            account: None,
            region: None,
            category: Category::Login,
            class_uid: 3002,
            operation: "signIn".into(),
            principal: Some(user.into()),
            src_ip: Some(ip.into()),
            user_agent: None,
            outcome: Some(outcome),
            reason: reason.map(str::to_string),
            resource: Resource {
                mfa: Some(true),
                ..Resource::default()
            },
            source: SourceRef {
                file: "t".into(),
                record: (day * 10000 + minute) as u64,
            },
        }
    }

    /// 28 days of 20 users signing in from the office, with a typo now and then.
    fn normal_month(obs: &mut LoginObservations) {
        for day in 1..=28 {
            for u in 0..20 {
                let user = format!("user{u}@example.com");
                if (day + u) % 9 == 0 {
                    obs.observe(&login(
                        day,
                        u * 3,
                        &user,
                        "198.51.100.7",
                        Outcome::Failure,
                        Some("50126: Invalid password"),
                    ));
                    obs.observe(&login(
                        day,
                        u * 3 + 1,
                        &user,
                        "198.51.100.7",
                        Outcome::Success,
                        None,
                    ));
                } else {
                    obs.observe(&login(
                        day,
                        u * 3,
                        &user,
                        "198.51.100.7",
                        Outcome::Success,
                        None,
                    ));
                }
            }
        }
    }

    /// One failed guess each against twenty users from a VPS address, on day 29.
    fn spray_twenty_users(obs: &mut LoginObservations) {
        for u in 0..20 {
            obs.observe(&login(
                29,
                30 + u,
                &format!("user{u}@example.com"),
                "5.161.1.1",
                Outcome::Failure,
                Some("50126"),
            ));
        }
    }

    fn days(first: u32, last: u32) -> TestDays {
        TestDays {
            first: NaiveDate::from_ymd_opt(2024, 3, first).unwrap(),
            last: NaiveDate::from_ymd_opt(2024, 3, last).unwrap(),
        }
    }

    #[test]
    fn an_iam_user_is_one_user_whether_named_by_arn_or_by_name() {
        assert_eq!(
            sign_in_name("arn:aws:iam::111122223333:user/ops/Carol"),
            "carol"
        );
        assert_eq!(sign_in_name("carol"), "carol");
        assert_eq!(sign_in_name("Carol@Example.com"), "carol@example.com");
        assert_eq!(
            sign_in_name("arn:aws:iam::111122223333:root"),
            "arn:aws:iam::111122223333:root"
        );
    }

    /// Judges day 29 and returns its significant candidates (p < 1e-6), asserting there is
    /// exactly one.
    fn the_one_finding_on_day_29(obs: LoginObservations) -> Vec<Candidate> {
        let out = detect(
            obs,
            days(29, 29),
            &CredentialStuffingParams::default(),
            &NoHostingRanges,
        );
        let all: Vec<_> = out
            .candidates
            .iter()
            .map(|c| (c.title.clone(), c.baseline.p_value))
            .collect();
        let found: Vec<Candidate> = out
            .candidates
            .into_iter()
            .filter(|c| c.baseline.p_value < 1e-6)
            .collect();
        assert_eq!(found.len(), 1, "{all:?}");
        found
    }

    #[test]
    fn a_typo_then_success_is_not_a_finding() {
        let mut obs = LoginObservations::default();
        normal_month(&mut obs);
        obs.observe(&login(
            29,
            0,
            "user3@example.com",
            "198.51.100.7",
            Outcome::Failure,
            Some("50126"),
        ));
        obs.observe(&login(
            29,
            1,
            "user3@example.com",
            "198.51.100.7",
            Outcome::Failure,
            Some("50126"),
        ));
        obs.observe(&login(
            29,
            2,
            "user3@example.com",
            "198.51.100.7",
            Outcome::Success,
            None,
        ));
        let out = detect(
            obs,
            days(29, 29),
            &CredentialStuffingParams::default(),
            &NoHostingRanges,
        );
        assert!(
            out.candidates.iter().all(|c| c.baseline.p_value > 1e-3),
            "{:?}",
            out.candidates
                .iter()
                .map(|c| &c.baseline)
                .collect::<Vec<_>>()
        );
    }

    /// 5.161.0.0/16 is a VPS company's (Hetzner), 3.0.0.0/8 a public cloud's (AWS).
    struct TwoRanges;
    impl HostingLookup for TwoRanges {
        fn hosting_provider(&self, ip: IpAddr) -> Option<String> {
            let ip = ip.to_string();
            if ip.starts_with("5.161.") {
                Some("hetzner".into())
            } else if ip.starts_with("3.") {
                Some("aws".into())
            } else {
                None
            }
        }
    }

    #[test]
    fn an_accepted_password_from_a_vps_company_is_rarer_than_from_a_public_cloud() {
        let p_from = |ip: &str| {
            let mut obs = LoginObservations::default();
            normal_month(&mut obs);
            for i in 0..3 {
                obs.observe(&login(
                    29,
                    i,
                    "user5@example.com",
                    ip,
                    Outcome::Failure,
                    Some("50126"),
                ));
            }
            obs.observe(&login(
                29,
                5,
                "user5@example.com",
                ip,
                Outcome::Success,
                None,
            ));
            let out = detect_with(
                obs,
                days(29, 29),
                &CredentialStuffingParams::default(),
                &TwoRanges,
                1.0,
            );
            let test = out
                .candidates
                .into_iter()
                .find(|c| c.signed_in.contains("user5@example.com"))
                .unwrap();
            (test.baseline.p_value, test.baseline.signals)
        };
        let (vps, vps_signals) = p_from("5.161.1.1");
        let (cloud, cloud_signals) = p_from("3.80.1.1");
        assert!(vps_signals.contains(&"vps_source".to_string()));
        assert!(!cloud_signals.contains(&"vps_source".to_string()));
        assert!(cloud_signals.contains(&"hosting_source".to_string()));
        assert!(vps * 3.0 < cloud, "{vps} vs {cloud}");
    }

    #[test]
    fn a_burst_then_success_is_found() {
        let mut obs = LoginObservations::default();
        normal_month(&mut obs);
        for i in 0..40 {
            obs.observe(&login(
                29,
                i,
                "user5@example.com",
                "5.161.1.1",
                Outcome::Failure,
                Some("50126"),
            ));
        }
        obs.observe(&login(
            29,
            41,
            "user5@example.com",
            "5.161.1.1",
            Outcome::Success,
            None,
        ));
        let found = the_one_finding_on_day_29(obs);
        assert_eq!(found[0].entities.principals, vec!["user5@example.com"]);
        assert!(found[0]
            .baseline
            .signals
            .contains(&"new_network".to_string()));
        assert_eq!(
            found[0].evidence.events.len() + found[0].evidence.omitted as usize,
            41
        );
    }

    #[test]
    fn spraying_many_users_then_one_success_from_the_same_source_is_found() {
        let mut obs = LoginObservations::default();
        normal_month(&mut obs);
        spray_twenty_users(&mut obs);
        obs.observe(&login(
            29,
            55,
            "user7@example.com",
            "5.161.1.1",
            Outcome::Success,
            None,
        ));
        let found = the_one_finding_on_day_29(obs);
        assert!(found[0].title.contains("spraying"), "{}", found[0].title);
        assert!(found[0].mitre.contains(&"T1110.003".to_string()));
        // The finding lists every user the source tried, and the one that signed in.
        assert_eq!(found[0].entities.principals.len(), 20);
        assert_eq!(
            found[0].signed_in,
            BTreeSet::from(["user7@example.com".to_string()])
        );
        assert!(
            found[0].title.contains("against 20 users"),
            "{}",
            found[0].title
        );
    }

    #[test]
    fn failures_without_a_later_success_are_not_a_finding() {
        let mut obs = LoginObservations::default();
        normal_month(&mut obs);
        obs.observe(&login(
            29,
            0,
            "user5@example.com",
            "198.51.100.7",
            Outcome::Success,
            None,
        ));
        for i in 1..40 {
            obs.observe(&login(
                29,
                i,
                "user5@example.com",
                "5.161.1.1",
                Outcome::Failure,
                Some("50126"),
            ));
        }
        let out = detect(
            obs,
            days(29, 29),
            &CredentialStuffingParams::default(),
            &NoHostingRanges,
        );
        assert!(out.candidates.iter().all(|c| c.baseline.p_value > 1e-3));
    }

    #[test]
    fn failures_in_another_tenant_are_named_but_never_decide() {
        let aws_login = |day, minute, ip: &str, outcome: Outcome| {
            let mut e = login(
                day,
                minute,
                "arn:aws:iam::111122223333:user/ops",
                ip,
                outcome,
                (outcome == Outcome::Failure).then_some("Failed authentication"),
            );
            e.provider = Provider::Aws;
            e.tenant = Some("111122223333".into());
            e.account = Some("111122223333".into());
            e
        };
        let aws_history = |obs: &mut LoginObservations, guesses: u32| {
            for day in 1..=28 {
                obs.observe(&aws_login(day, 5, "198.51.100.9", Outcome::Success));
            }
            for i in 0..guesses {
                obs.observe(&aws_login(29, 20 + i % 30, "5.161.1.1", Outcome::Failure));
            }
            obs.observe(&aws_login(29, 58, "5.161.1.1", Outcome::Success));
        };
        let entra_spray = |obs: &mut LoginObservations| {
            normal_month(obs);
            spray_twenty_users(obs);
        };
        let aws_findings = |obs: LoginObservations| -> Vec<Candidate> {
            detect(
                obs,
                days(29, 29),
                &CredentialStuffingParams::default(),
                &NoHostingRanges,
            )
            .candidates
            .into_iter()
            .filter(|c| c.provider == Provider::Aws && c.baseline.p_value < 1e-4)
            .collect()
        };
        // The address sprayed Entra, then signed in on AWS with no failure there: the AWS
        // tenant's own data show nothing to judge.
        let mut obs = LoginObservations::default();
        entra_spray(&mut obs);
        aws_history(&mut obs, 0);
        assert!(aws_findings(obs).is_empty());
        // Guessing on AWS too: the finding is the AWS tenant's own, the same with or without
        // the other tenant, and it names the other tenant's failures.
        let mut alone = LoginObservations::default();
        aws_history(&mut alone, 30);
        let mut together = LoginObservations::default();
        entra_spray(&mut together);
        aws_history(&mut together, 30);
        let (alone, together) = (aws_findings(alone), aws_findings(together));
        assert_eq!(alone.len(), 1);
        assert_eq!(together.len(), 1);
        assert_eq!(alone[0].baseline.p_value, together[0].baseline.p_value);
        assert!(together[0]
            .baseline
            .signals
            .contains(&"also_failed_elsewhere:20".to_string()));
        assert!(together[0].facts.contains("also_failed_elsewhere"));
    }

    #[test]
    fn an_mfa_prompt_after_a_burst_counts_as_a_guessed_password() {
        let mut obs = LoginObservations::default();
        normal_month(&mut obs);
        for i in 0..30 {
            obs.observe(&login(
                29,
                i,
                "user9@example.com",
                "5.161.1.1",
                Outcome::Failure,
                Some("50126"),
            ));
        }
        obs.observe(&login(
            29,
            31,
            "user9@example.com",
            "5.161.1.1",
            Outcome::Failure,
            Some("50074: Strong Authentication is required."),
        ));
        let found = the_one_finding_on_day_29(obs);
        assert_eq!(found[0].severity, Severity::Medium);
    }
}
