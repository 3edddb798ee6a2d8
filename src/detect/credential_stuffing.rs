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
//! - `F1`, `F24`: failed guesses against the same user in the hour and the day before `t`;
//! - `D24`: distinct users with failed guesses from the anchor's address in the day before `t`,
//!   across every provider and tenant (failures on Entra ID and then a success on AWS from the
//!   same address are one story).
//!
//! Each count is compared with a Gamma-Poisson model fitted to the same count at the anchors of the
//! trailing `baseline_days` days: pooled over every tenant of the run for `F1`/`F24` (a user
//! has too few anchors alone, and a small tenant too few to know how often people mistype), and over the source itself for `D24` when it has enough history (an office NAT
//! routinely shows several users' typos) or pooled otherwise. `p_rate = min(1, 3 * min(p))`.
//! Typos (one to three failures, then success) are common in every pool and stay quiet.
//! Signals, with base rates learned per run: `new_network` (the anchor's /24 or /48 never
//! preceded a success of this user in the window), `hosting_source` (the anchor comes from a
//! hosting/VPS range), `no_mfa` (the provider says no second factor was used). They are combined
//! exactly with `p_rate`; a user's anchors of one day form one test (Bonferroni over them).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use super::login_results::{meaning, LoginMeaning};
use super::{
    entity_list, history_range, network_of, parse_ip, raise, Candidate, DetectorOutput,
    EvidenceSample, HostingLookup, TestDays,
};
use crate::baseline::{combined_p_value, signal_rate, CountModel, CountPrior, Signal};
use crate::report::{Baseline, ColdStart, Detector, Entities, Severity};
use crate::schema::{Category, Event, Provider};

const HOUR: i64 = 3600;
const DAY: i64 = 24 * HOUR;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CredentialStuffingParams {
    pub baseline_days: u32,
    pub min_history_days: u32,
    /// A source needs this many anchors in the window to be judged against its own history.
    pub min_source_anchors: usize,
    pub count_prior: CountPrior,
    pub prior_new_network: f64,
    pub prior_hosting_source: f64,
    pub prior_no_mfa: f64,
    pub prior_weight: f64,
    /// Distinct users failing from one address before it counts as spraying (for the title
    /// and MITRE id only; the test itself is statistical).
    pub spray_users: u32,
}

impl Default for CredentialStuffingParams {
    fn default() -> Self {
        CredentialStuffingParams {
            baseline_days: 28,
            min_history_days: 7,
            min_source_anchors: 20,
            count_prior: CountPrior::default(),
            prior_new_network: 0.1,
            prior_hosting_source: 0.02,
            prior_no_mfa: 0.3,
            prior_weight: 50.0,
            spray_users: 5,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Mark {
    time: i64,
    meaning: LoginMeaning,
    ip: Option<IpAddr>,
    mfa: Option<bool>,
}

/// A user within a tenant (or account, when the record names no tenant).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct UserKey {
    provider: Provider,
    scope: String,
    user: String,
}

#[derive(Debug, Default)]
struct UserState {
    tenant: Option<String>,
    account: Option<String>,
    display: String,
    marks: Vec<Mark>,
    evidence: BTreeMap<NaiveDate, EvidenceSample>,
}

#[derive(Debug, Default)]
struct SourceState {
    /// (time, user id) of failed guesses from this address.
    failures: Vec<(i64, u32)>,
    evidence: BTreeMap<NaiveDate, EvidenceSample>,
}

/// Sign-in aggregates fed by every login event of a sweep.
#[derive(Debug, Default)]
pub struct LoginObservations {
    user_ids: HashMap<UserKey, u32>,
    users: Vec<(UserKey, UserState)>,
    sources: HashMap<IpAddr, SourceState>,
    /// Days with sign-in data per (provider, scope).
    scope_days: BTreeMap<(Provider, String), BTreeSet<NaiveDate>>,
}

impl LoginObservations {
    pub fn observe(&mut self, event: &Event) {
        if event.category != Category::Login {
            return;
        }
        let Some(user) = event.principal.as_deref() else {
            return;
        };
        // An AWS IAM user exists in one account (an organization trail names the organization as
        // tenant, and `admin` in two accounts are two people); Entra and Workspace users are
        // tenant-wide.
        let scope = match event.provider {
            Provider::Aws => event.account.clone().or_else(|| event.tenant.clone()),
            _ => event.tenant.clone().or_else(|| event.account.clone()),
        }
        .unwrap_or_else(|| "-".into());
        let day = event.time.date_naive();
        self.scope_days
            .entry((event.provider.clone(), scope.clone()))
            .or_default()
            .insert(day);
        let key = UserKey {
            provider: event.provider.clone(),
            scope,
            user: sign_in_name(user),
        };
        let next_id = self.users.len() as u32;
        let id = *self.user_ids.entry(key.clone()).or_insert(next_id);
        if id == next_id {
            self.users.push((
                key,
                UserState {
                    display: user.to_string(),
                    ..UserState::default()
                },
            ));
        }
        let state = &mut self.users[id as usize].1;
        if state.tenant.is_none() {
            state.tenant = event.tenant.clone();
        }
        if state.account.is_none() {
            state.account = event.account.clone();
        }
        let meaning = meaning(event);
        let ip = parse_ip(event);
        state.marks.push(Mark {
            time: event.time.timestamp(),
            meaning,
            ip,
            mfa: event.resource.mfa,
        });
        state.evidence.entry(day).or_default().push(event);
        if meaning.failed_guess() {
            if let Some(ip) = ip {
                let source = self.sources.entry(ip).or_default();
                source.failures.push((event.time.timestamp(), id));
                source.evidence.entry(day).or_default().push(event);
            }
        }
    }
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
struct Anchor {
    user: u32,
    time: i64,
    day: NaiveDate,
    meaning: LoginMeaning,
    ip: Option<IpAddr>,
    mfa: Option<bool>,
    f1: u32,
    f24: u32,
    d24: u32,
    first_failure: i64,
    new_network: bool,
}

/// An anchor's day and its `F1`, `F24`, `D24`, as a baseline pool keeps them.
type PoolEntry = (NaiveDate, u32, u32, u32);

/// The most surprising anchor of a user-day so far: p, anchors seen, the anchor, expected
/// failures, history days, signals.
type BestAnchor<'a> = (f64, usize, &'a Anchor, f64, f64, Vec<String>);

pub fn detect(
    mut observations: LoginObservations,
    days: TestDays,
    params: &CredentialStuffingParams,
    hosting: &dyn HostingLookup,
) -> DetectorOutput {
    for (_, user) in &mut observations.users {
        user.marks.sort_by_key(|m| m.time);
    }
    for source in observations.sources.values_mut() {
        source.failures.sort_unstable();
    }
    let anchors = anchors(&observations, params);

    // Pools: the (day, F1, F24, D24) of every anchor of the run (typing mistakes are human,
    // not per tenant, and a small tenant has too few anchors to know its tail); per source, its
    // D24 by day.
    let mut pool_of_run: Vec<PoolEntry> = Vec::new();
    let mut source_pool: HashMap<IpAddr, Vec<(NaiveDate, u32)>> = HashMap::new();
    for anchor in &anchors {
        pool_of_run.push((anchor.day, anchor.f1, anchor.f24, anchor.d24));
        if let Some(ip) = anchor.ip {
            source_pool
                .entry(ip)
                .or_default()
                .push((anchor.day, anchor.d24));
        }
    }

    let mut output = DetectorOutput::default();
    let mut cold_scopes = BTreeSet::new();
    let mut tested: Vec<(&Anchor, f64, f64, f64)> = Vec::new();
    for anchor in anchors
        .iter()
        .filter(|a| days.contains(a.day) && (a.f24 > 0 || a.d24 > 0))
    {
        let key = &observations.users[anchor.user as usize].0;
        let scope = (key.provider.clone(), key.scope.clone());
        let (from, to) = history_range(anchor.day, params.baseline_days);
        let history_days = observations
            .scope_days
            .get(&scope)
            .map_or(0, |d| d.range(from..=to).count()) as u32;
        if history_days < params.min_history_days {
            if cold_scopes.insert(scope.clone()) {
                output.cold_start.push(ColdStart {
                    detector: Detector::CredentialStuffing,
                    scope: format!("{}/{}", scope.0, scope.1),
                    history_days,
                    needed_days: params.min_history_days,
                });
            }
            continue;
        }
        let pool: Vec<&(NaiveDate, u32, u32, u32)> = pool_of_run
            .iter()
            .filter(|(d, ..)| *d >= from && *d <= to)
            .collect();
        let fit = |values: Vec<f64>| CountModel::fit(&values, &params.count_prior);
        let f1_model = fit(pool.iter().map(|p| p.1 as f64).collect());
        let f24_model = fit(pool.iter().map(|p| p.2 as f64).collect());
        let source_history: Vec<f64> = anchor
            .ip
            .and_then(|ip| source_pool.get(&ip))
            .map(|p| {
                p.iter()
                    .filter(|(d, _)| *d >= from && *d <= to)
                    .map(|(_, v)| *v as f64)
                    .collect()
            })
            .unwrap_or_default();
        let d24_model = if source_history.len() >= params.min_source_anchors {
            fit(source_history)
        } else {
            fit(pool.iter().map(|p| p.3 as f64).collect())
        };
        let p_rate = (3.0
            * f1_model
                .p_at_least(anchor.f1 as f64)
                .min(f24_model.p_at_least(anchor.f24 as f64))
                .min(d24_model.p_at_least(anchor.d24 as f64)))
        .min(1.0);
        tested.push((anchor, p_rate, f24_model.mean, history_days as f64));
    }

    let trials = tested.len() as u64;
    let hosting_of = |a: &Anchor| a.ip.and_then(|ip| hosting.hosting_provider(ip));
    let hits = |f: &dyn Fn(&Anchor) -> bool| tested.iter().filter(|(a, ..)| f(a)).count() as u64;
    let rate_new_network = signal_rate(
        hits(&|a| a.new_network),
        trials,
        params.prior_new_network,
        params.prior_weight,
    );
    let rate_hosting = signal_rate(
        hits(&|a| hosting_of(a).is_some()),
        trials,
        params.prior_hosting_source,
        params.prior_weight,
    );
    let rate_no_mfa = signal_rate(
        hits(&|a| a.mfa == Some(false)),
        trials,
        params.prior_no_mfa,
        params.prior_weight,
    );

    // One test per user-day: the most surprising anchor, Bonferroni over the day's anchors.
    let mut best: BTreeMap<(u32, NaiveDate), BestAnchor> = BTreeMap::new();
    for (anchor, p_rate, expected, history_days) in &tested {
        let hosting_provider = hosting_of(anchor);
        let signals = [
            Signal {
                name: "new_network",
                present: anchor.new_network,
                base_rate: rate_new_network,
            },
            Signal {
                name: "hosting_source",
                present: hosting_provider.is_some(),
                base_rate: rate_hosting,
            },
            Signal {
                name: "no_mfa",
                present: anchor.mfa == Some(false),
                base_rate: rate_no_mfa,
            },
        ];
        let p = combined_p_value(*p_rate, &signals);
        let mut present: Vec<String> = signals
            .iter()
            .filter(|s| s.present)
            .map(|s| s.name.to_string())
            .collect();
        if let Some(provider) = hosting_provider {
            present.push(format!("hosting:{provider}"));
        }
        let entry = best.entry((anchor.user, anchor.day)).or_insert((
            p,
            0,
            anchor,
            *expected,
            *history_days,
            present.clone(),
        ));
        entry.1 += 1;
        if p < entry.0 {
            *entry = (p, entry.1, anchor, *expected, *history_days, present);
        }
    }
    for ((_, _), (p, anchors_that_day, anchor, expected, history_days, signals)) in best {
        let p_value = (p * anchors_that_day as f64).min(1.0);
        output.candidates.push(candidate(
            &observations,
            anchor,
            p_value,
            expected,
            history_days as u32,
            signals,
            params,
        ));
    }
    output
}

fn anchors(observations: &LoginObservations, params: &CredentialStuffingParams) -> Vec<Anchor> {
    let mut anchors = Vec::new();
    for (id, (_, user)) in observations.users.iter().enumerate() {
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
        let failures: Vec<i64> = user
            .marks
            .iter()
            .filter(|m| m.meaning.failed_guess())
            .map(|m| m.time)
            .collect();
        for mark in user.marks.iter().filter(|m| m.meaning.password_valid()) {
            let day = day_of(mark.time);
            let (from, to) = history_range(day, params.baseline_days);
            let familiar = |network: &Option<String>| {
                network.as_ref().is_some_and(|n| {
                    success_networks
                        .get(n)
                        .is_some_and(|days| days.range(from..=to).next().is_some())
                })
            };
            let new_network = mark.ip.is_some_and(|ip| !familiar(&Some(network_of(ip))));
            let guesses_since = |since: i64| {
                let start = failures.partition_point(|&t| t <= since);
                let end = failures.partition_point(|&t| t <= mark.time);
                (
                    (end - start) as u32,
                    failures.get(start).copied().filter(|_| end > start),
                )
            };
            let (f1, _) = guesses_since(mark.time - HOUR);
            let (f24, first_user_failure) = guesses_since(mark.time - DAY);
            let (d24, first_source_failure) = mark
                .ip
                .and_then(|ip| observations.sources.get(&ip))
                .map(|source| distinct_users(&source.failures, mark.time - DAY, mark.time))
                .unwrap_or((0, None));
            let first_failure = [first_user_failure, first_source_failure]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(mark.time);
            anchors.push(Anchor {
                user: id as u32,
                time: mark.time,
                day,
                meaning: mark.meaning,
                ip: mark.ip,
                mfa: mark.mfa,
                f1,
                f24,
                d24,
                first_failure,
                new_network,
            });
        }
    }
    anchors
}

fn distinct_users(failures: &[(i64, u32)], from: i64, to: i64) -> (u32, Option<i64>) {
    let start = failures.partition_point(|&(t, _)| t <= from);
    let end = failures.partition_point(|&(t, _)| t <= to);
    let users: BTreeSet<u32> = failures[start..end].iter().map(|&(_, u)| u).collect();
    (
        users.len() as u32,
        failures.get(start).map(|&(t, _)| t).filter(|_| end > start),
    )
}

fn day_of(time: i64) -> NaiveDate {
    to_time(time).date_naive()
}

fn to_time(time: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(time, 0).single().unwrap_or_default()
}

fn candidate(
    observations: &LoginObservations,
    anchor: &Anchor,
    p_value: f64,
    expected: f64,
    history_days: u32,
    signals: Vec<String>,
    params: &CredentialStuffingParams,
) -> Candidate {
    let (key, user) = &observations.users[anchor.user as usize];
    let window_start = anchor.time - DAY;
    // The story: the failed guesses before the anchor, and the anchor itself.
    let in_window = |e: &&Event| {
        let t = e.time.timestamp();
        let guess = t >= anchor.first_failure.min(window_start)
            && t <= anchor.time
            && meaning(e).failed_guess();
        let is_anchor = t == anchor.time && parse_ip(e) == anchor.ip;
        guess || is_anchor
    };
    let mut evidence = EvidenceSample::default();
    let mut principals = BTreeSet::from([user.display.clone()]);
    let mut src_ips = BTreeSet::new();
    let days = [anchor.day.pred_opt().unwrap_or(anchor.day), anchor.day];
    for day in days {
        if let Some(sample) = user.evidence.get(&day) {
            evidence.omitted += sample.omitted;
            for event in sample.events.iter().filter(in_window) {
                evidence.push(event);
                src_ips.extend(event.src_ip.clone());
            }
        }
        if let Some(source) = anchor.ip.and_then(|ip| observations.sources.get(&ip)) {
            if let Some(sample) = source.evidence.get(&day) {
                for event in sample.events.iter().filter(in_window) {
                    if !evidence.events.iter().any(|e| e.source == event.source) {
                        evidence.push(event);
                    }
                    principals.extend(event.principal.clone());
                }
            }
        }
    }
    if let Some(ip) = anchor.ip {
        src_ips.insert(ip.to_string());
    }
    let spraying = anchor.d24 >= params.spray_users;
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
    if anchor.new_network && anchor.mfa == Some(false) {
        severity = raise(severity);
    }
    let technique = if spraying { "T1110.003" } else { "T1110.004" };
    let mut mitre = vec![technique.to_string(), "T1078.004".to_string()];
    if hosting {
        mitre.push("T1584.003".to_string());
    }
    let outcome = if succeeded {
        "then signed in"
    } else {
        "then passed the password check"
    };
    let title = if spraying {
        format!(
            "Password spraying from {} against {} users, {} as {}",
            anchor.ip.map(|i| i.to_string()).unwrap_or_default(),
            anchor.d24,
            outcome,
            user.display
        )
    } else {
        format!(
            "{} failed sign-ins against {} in 24 h, {}",
            anchor.f24, user.display, outcome
        )
    };
    let mut facts: BTreeSet<String> = signals.iter().cloned().collect();
    if succeeded {
        facts.insert("success".into());
    }
    facts.insert("failures_then_success".into());
    Candidate {
        detector: Detector::CredentialStuffing,
        identity: vec!["credential_stuffing".into(), key.provider.to_string(), key.scope.clone(), key.user.clone(), anchor.day.to_string()],
        title,
        provider: key.provider.clone(),
        tenant: user.tenant.clone(),
        account: user.account.clone(),
        first_seen: to_time(anchor.first_failure.min(anchor.time)),
        last_seen: to_time(anchor.time),
        mitre,
        entities: Entities {
            principals: entity_list(principals, 25),
            src_ips: entity_list(src_ips, 25),
            regions: Vec::new(),
            services: Vec::new(),
            resources: Vec::new(),
        },
        baseline: Baseline {
            observed: anchor.f24.max(anchor.d24) as f64,
            expected: (expected * 100.0).round() / 100.0,
            p_value,
            q_value: 1.0,
            window_days: history_days,
            method: "Gamma-Poisson failures before an accepted password (per user 1 h/24 h, distinct users per source 24 h) combined exactly with network, hosting and MFA signals".into(),
            signals,
        },
        evidence: evidence.into_evidence(),
        severity,
        facts,
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
        assert_eq!(found[0].mitre[0], "T1110.003");
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
    fn failures_on_entra_then_a_success_on_aws_from_the_same_address_is_one_story() {
        let mut obs = LoginObservations::default();
        normal_month(&mut obs);
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
        let aws_login = |day, minute, ip: &str| {
            let mut e = login(
                day,
                minute,
                "arn:aws:iam::111122223333:user/ops",
                ip,
                Outcome::Success,
                None,
            );
            e.provider = Provider::Aws;
            e.tenant = Some("111122223333".into());
            e.account = Some("111122223333".into());
            e
        };
        for day in 1..=28 {
            obs.observe(&aws_login(day, 5, "198.51.100.9"));
        }
        obs.observe(&aws_login(29, 58, "5.161.1.1"));
        let found = the_one_finding_on_day_29(obs);
        assert_eq!(found[0].provider, Provider::Aws);
        assert!(
            found[0]
                .entities
                .principals
                .iter()
                .any(|p| p == "user3@example.com"),
            "the sprayed Entra users are named"
        );
        assert!(found[0]
            .evidence
            .events
            .iter()
            .any(|e| e.provider == Provider::Azure));
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
