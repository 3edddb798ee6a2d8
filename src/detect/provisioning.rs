//! Unexpected provisioning (T1583.003 / T1584.003): VMs, VPSs and instances created beyond a
//! principal's or an account's usual rate, or in a way the account has not seen lately.
//!
//! ## Model
//! The unit of test is one principal's provisioning on one day in one account.
//! - **Rate.** Launches are weighted by instance count (ten instances in one call are ten).
//!   Three counts are tested with the shrunk Gamma-Poisson model of [`crate::baseline`]:
//!   the principal's launches against its own history over the trailing `baseline_days` days
//!   with data, as a hurdle: `P(a launch day) * P(batch >= x)`, the batch sizes being its own
//!   when it launched on at least five days and otherwise those of all sporadic principals of
//!   the run (a person who launched once last month may well launch four today); skipped for
//!   a principal that did not provision in the window (`new_principal` says that); the same
//!   launches against the whole account's history, as the same hurdle (one principal alone
//!   launching more than the account usually does); and the
//!   launches into a region or family new to the account, or by a new principal, against the
//!   sizes of all other such first uses of the run (most first uses are a few instances, a
//!   mining attacker's are dozens). `p_rate = min(1, 3 * min(...))`. Automation that launches
//!   fifty instances every night has a fifty-a-night baseline, so the fifty-first is
//!   unremarkable. Another principal's burst does not leak into this principal's test.
//! - **Novelty signals**, each "not seen in this account within the baseline window":
//!   `new_region`, `new_family` (instance family: `p3` of `p3.2xlarge`, `NC` of
//!   `Standard_NC6s_v3`, `n2` of `n2-standard-4`), `new_principal` (a principal that did not
//!   provision), `new_network` (the caller's /24 or /48 was not seen for this principal in any
//!   call), and `hosting_source` (the caller's address is in a hosting/cloud range of a provider
//!   this principal was not seen calling from).
//! - The four novelties are correlated (a new engineer's first launch is often in a region the
//!   account has not used), so they are not multiplied: their *number* gets an empirical tail
//!   p-value from how many novelties the run's groups show. The hosting source is a Bernoulli
//!   signal whose base rate is learned from the run, shrunk toward a documented prior. Both are
//!   learned twice: from all tests, then without the tests below `trim_p`, so a run full of
//!   attacks does not teach itself that attacks are normal; and a test is left out of its own
//!   null.
//! - The rate and novelty p-values are combined by Fisher's method and the hosting signal exactly
//!   ([`crate::baseline::combined_p_values`]):
//!   a team's first launch in a new region is common and stays quiet; a burst of GPU instances
//!   in a new region, or one instance by a principal that never provisions, from a VPS range,
//!   is not.
//!
//! One operation often leaves several records: Azure writes `Started` then `Succeeded`, GCP a
//! first and a last entry, and an autoscaler rewrites a scale set's capacity many times a day.
//! Records of one principal, day and resource id are one operation: its launches are the largest
//! count any of its records gives (a scale set's capacity is a level, not a delta), its type
//! whichever record names one. Failed attempts are counted: a denied `RunInstances` of GPU
//! types is the attacker's intent, seen.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::{
    entity_list, history_range, network_of, parse_ip, raise, Candidate, DetectorOutput,
    EvidenceSample, HostingLookup, TestDays,
};
use crate::baseline::{
    combined_p_values, empirical_tail, signal_rate, CountModel, CountPrior, Signal,
};
use crate::report::{Baseline, ColdStart, Detector, Entities, Severity};
use crate::schema::{Category, Event, Provider};

/// Instance families with GPUs or accelerators: the mining attacker's favourite.
const ACCELERATOR_FAMILIES: &[&str] = &[
    "p2", "p3", "p3dn", "p4d", "p4de", "p5", "p5e", "g3", "g4dn", "g4ad", "g5", "g5g", "g6", "g6e",
    "inf1", "inf2", "trn1", "dl1", "nc", "nd", "nv", "ncas", "ndasr", "a2", "a3", "g2",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProvisioningParams {
    /// Days of history each test day is compared with.
    pub baseline_days: u32,
    /// Fewer days of data than this in the window: the account is reported as cold start.
    pub min_history_days: u32,
    pub count_prior: CountPrior,
    /// Prior base rate of a hosting source, and how many observations the prior is worth.
    pub prior_hosting_source: f64,
    pub prior_weight: f64,
    /// Tests below this p-value are left out when the base rates are learned again.
    pub trim_p: f64,
}

impl Default for ProvisioningParams {
    fn default() -> Self {
        ProvisioningParams {
            baseline_days: 28,
            min_history_days: 7,
            count_prior: CountPrior::default(),
            prior_hosting_source: 0.01,
            prior_weight: 50.0,
            trim_p: 1e-3,
        }
    }
}

/// Where provisioning is counted: one cloud account (AWS account, subscription, project).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AccountKey {
    pub provider: Provider,
    pub account: String,
}

/// What one provisioning operation launched, merged over its records.
#[derive(Debug, Default, Clone)]
struct Operation {
    launches: Option<f64>,
    region: Option<String>,
    family: Option<String>,
}

impl Operation {
    fn merge(&mut self, other: Operation) {
        self.launches = match (self.launches, other.launches) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        self.region = self.region.take().or(other.region);
        self.family = self.family.take().or(other.family);
    }

    /// A record that does not say how many is one instance.
    fn launches(&self) -> f64 {
        self.launches.unwrap_or(1.0)
    }
}

impl DayGroup {
    fn operations(&self) -> impl Iterator<Item = &Operation> {
        self.operations.values().chain(self.anonymous.iter())
    }

    fn launches(&self) -> f64 {
        self.operations().map(Operation::launches).sum()
    }
}

/// One principal's provisioning on one day.
#[derive(Debug, Default)]
struct DayGroup {
    /// Operations by resource id (several records of one operation merge), and records that
    /// name no resource.
    operations: BTreeMap<String, Operation>,
    anonymous: Vec<Operation>,
    regions: BTreeSet<String>,
    families: BTreeSet<String>,
    instance_types: BTreeSet<String>,
    services: BTreeSet<String>,
    resources: BTreeSet<String>,
    principals: BTreeSet<String>,
    src_ips: BTreeSet<String>,
    first: Option<DateTime<Utc>>,
    last: Option<DateTime<Utc>>,
    evidence: EvidenceSample,
}

#[derive(Debug, Default)]
struct AccountState {
    tenant: Option<String>,
    /// Days with any record from this account: a day without records is missing, not zero.
    active_days: BTreeSet<NaiveDate>,
    regions: BTreeMap<String, BTreeSet<NaiveDate>>,
    families: BTreeMap<String, BTreeSet<NaiveDate>>,
    /// principal key -> day -> what it provisioned.
    provisioning: BTreeMap<String, BTreeMap<NaiveDate, DayGroup>>,
    /// (principal key, network or `hosting:<provider>`) -> days the principal called from it.
    networks: HashMap<(String, String), BTreeSet<NaiveDate>>,
}

/// Per-account aggregates fed by every event of a sweep.
#[derive(Debug, Default)]
pub struct ProvisioningObservations {
    accounts: BTreeMap<AccountKey, AccountState>,
}

impl ProvisioningObservations {
    pub fn observe(&mut self, event: &Event, hosting: &dyn HostingLookup) {
        let Some(account) = event.account.clone().or_else(|| event.tenant.clone()) else {
            return;
        };
        let key = AccountKey {
            provider: event.provider.clone(),
            account,
        };
        let state = self.accounts.entry(key).or_default();
        if state.tenant.is_none() {
            state.tenant = event.tenant.clone();
        }
        let day = event.time.date_naive();
        state.active_days.insert(day);
        let principal = event.principal.as_deref().map(principal_key);
        if let (Some(principal), Some(ip)) = (&principal, parse_ip(event)) {
            state
                .networks
                .entry((principal.clone(), network_of(ip)))
                .or_default()
                .insert(day);
            if let Some(provider) = hosting.hosting_provider(ip) {
                state
                    .networks
                    .entry((principal.clone(), format!("hosting:{provider}")))
                    .or_default()
                    .insert(day);
            }
        }
        if event.category != Category::Provision {
            return;
        }
        let principal = principal.unwrap_or_else(|| "(unknown principal)".to_string());
        let family = event
            .resource
            .instance_type
            .as_deref()
            .map(|t| instance_family(event, t));
        let region = event.region.clone();
        if let Some(region) = &region {
            state.regions.entry(region.clone()).or_default().insert(day);
        }
        if let Some(family) = &family {
            state
                .families
                .entry(family.clone())
                .or_default()
                .insert(day);
        }
        let group = state
            .provisioning
            .entry(principal)
            .or_default()
            .entry(day)
            .or_default();
        let operation = Operation {
            launches: event.resource.instance_count.map(|n| f64::from(n.max(1))),
            region: region.clone(),
            family: family.clone(),
        };
        match &event.resource.id {
            Some(id) => group
                .operations
                .entry(id.clone())
                .or_default()
                .merge(operation),
            None => group.anonymous.push(operation),
        }
        group.regions.extend(region);
        group.families.extend(family);
        group
            .instance_types
            .extend(event.resource.instance_type.clone());
        group.services.extend(event.resource.kind.clone());
        group.resources.extend(event.resource.id.clone());
        group.principals.extend(event.principal.clone());
        if group.src_ips.len() < 16 {
            group.src_ips.extend(event.src_ip.clone());
        }
        group.first = Some(group.first.map_or(event.time, |t| t.min(event.time)));
        group.last = Some(group.last.map_or(event.time, |t| t.max(event.time)));
        group.evidence.push(event);
    }

    /// The tenant an account was seen under (for reports); `None` when no record said.
    pub fn tenants(&self) -> impl Iterator<Item = (&AccountKey, Option<&str>)> {
        self.accounts.iter().map(|(k, s)| (k, s.tenant.as_deref()))
    }
}

/// A principal as a baseline sees it: an assumed-role session (`.../assumed-role/Role/session`)
/// counts as its role, since automation gets a fresh session name on every run.
pub fn principal_key(principal: &str) -> String {
    if let Some(at) = principal.find(":assumed-role/") {
        let rest = &principal[at + ":assumed-role/".len()..];
        if let Some(slash) = rest.find('/') {
            return principal[..at + ":assumed-role/".len() + slash].to_string();
        }
    }
    principal.to_ascii_lowercase()
}

/// The family of an instance type, per cloud naming: `p3.2xlarge` -> `p3`,
/// `Standard_NC6s_v3` -> `nc`, `n2-standard-4` -> `n2`; Lightsail bundles are one family.
pub fn instance_family(event: &Event, instance_type: &str) -> String {
    if event.resource.kind.as_deref() == Some("lightsail:instance") {
        return "lightsail".to_string();
    }
    let lower = instance_type.to_ascii_lowercase();
    match event.provider {
        Provider::Azure => {
            let size = lower
                .strip_prefix("standard_")
                .or_else(|| lower.strip_prefix("basic_"))
                .unwrap_or(&lower);
            size.chars()
                .take_while(|c| c.is_ascii_alphabetic())
                .collect()
        }
        Provider::Gcp => lower.split('-').next().unwrap_or(&lower).to_string(),
        _ => lower.split('.').next().unwrap_or(&lower).to_string(),
    }
}

struct Flags {
    new_region: bool,
    new_family: bool,
    new_principal: bool,
    new_network: bool,
    hosting_source: bool,
}

impl Flags {
    fn novelties(&self) -> usize {
        [
            self.new_region,
            self.new_family,
            self.new_principal,
            self.new_network,
        ]
        .iter()
        .filter(|f| **f)
        .count()
    }
}

struct Tested<'a> {
    key: &'a AccountKey,
    state: &'a AccountState,
    principal: &'a str,
    day: NaiveDate,
    group: &'a DayGroup,
    /// Min of the principal and account rate p-values (before the novel-launch test).
    p_rate: f64,
    /// Launches in a region or instance family new to the account.
    novel_launches: f64,
    observed: f64,
    expected: f64,
    history_days: u32,
    flags: Flags,
}

pub fn detect(
    observations: ProvisioningObservations,
    days: TestDays,
    params: &ProvisioningParams,
    hosting: &dyn HostingLookup,
) -> DetectorOutput {
    let mut output = DetectorOutput::default();
    let sporadic_sizes = sporadic_launch_sizes(&observations, params);
    let mut tested = Vec::new();
    for (key, state) in &observations.accounts {
        let mut reported_cold = false;
        for (principal, by_day) in &state.provisioning {
            for (&day, group) in by_day.range(days.first..=days.last) {
                let (from, to) = history_range(day, params.baseline_days);
                let history: Vec<NaiveDate> = state.active_days.range(from..=to).copied().collect();
                if (history.len() as u32) < params.min_history_days {
                    if !reported_cold {
                        output.cold_start.push(ColdStart {
                            detector: Detector::Provisioning,
                            scope: format!("{}/{}", key.provider, key.account),
                            history_days: history.len() as u32,
                            needed_days: params.min_history_days,
                        });
                        reported_cold = true;
                    }
                    continue;
                }
                tested.push(test_group(
                    key,
                    state,
                    principal,
                    day,
                    group,
                    &history,
                    params,
                    hosting,
                    &sporadic_sizes,
                ));
            }
        }
    }
    // The size of first uses: most are a few instances (a team trying a region); a first use
    // of fifty GPU instances is not. Learned from all first uses of the run.
    // Each first use is judged against the others (leave one out), so a large attack does not
    // widen its own baseline.
    let sizes = tested.iter().map(|t| t.novel_launches).filter(|n| *n > 0.0);
    let (n, sum, sum_sq) = sizes.fold((0.0, 0.0, 0.0), |(n, s, q), x| (n + 1.0, s + x, q + x * x));
    for test in &mut tested {
        let x = test.novel_launches;
        let p_novel = if x > 0.0 {
            CountModel::fit_moments(n - 1.0, sum - x, sum_sq - x * x, &params.count_prior)
                .p_at_least(x)
        } else {
            1.0
        };
        test.p_rate = (3.0 * test.p_rate.min(p_novel)).min(1.0);
    }
    // Base rates are learned from the tests the run judged unremarkable: a first pass with all
    // tests, then again without the clear discoveries, so that a run full of attacks does not
    // teach itself that attacks are normal (a trimmed, robust estimate of the null).
    let everything = vec![true; tested.len()];
    let first = NullModel::learn(&tested, &everything, params);
    let unremarkable: Vec<bool> = tested
        .iter()
        .map(|t| first.p_value(t, true) >= params.trim_p)
        .collect();
    let null = NullModel::learn(&tested, &unremarkable, params);
    for (test, learned_from_it) in tested.iter().zip(&unremarkable) {
        let p_value = null.p_value(test, *learned_from_it);
        output.candidates.push(candidate(test, p_value, params));
    }
    output
}

/// Launch days a principal needs in the window before its own batch sizes are its baseline.
const SIZE_HISTORY_DAYS: usize = 5;

/// Batch sizes (launches on a day with any, minus one) as a count model.
fn launch_size_model(launch_days: &[f64], prior: &CountPrior) -> CountModel {
    let extra: Vec<f64> = launch_days.iter().map(|n| n - 1.0).collect();
    CountModel::fit(&extra, prior)
}

/// `P(X >= x)` for a day's launches as a hurdle: `P(a launch day) * P(batch >= x)`. The batch
/// sizes are the history's own when it has `SIZE_HISTORY_DAYS` launch days, else the run's
/// sporadic batch sizes.
fn hurdle_p_value(
    history: &[f64],
    launches: f64,
    sporadic_sizes: &CountModel,
    prior: &CountPrior,
) -> f64 {
    let launch_days: Vec<f64> = history.iter().copied().filter(|n| *n > 0.0).collect();
    let own_sizes;
    let sizes = if launch_days.len() >= SIZE_HISTORY_DAYS {
        own_sizes = launch_size_model(&launch_days, prior);
        &own_sizes
    } else {
        sporadic_sizes
    };
    let launch_day_rate = (launch_days.len() as f64 + 0.5) / (history.len() as f64 + 1.0);
    (launch_day_rate.min(1.0) * sizes.p_at_least(launches - 1.0)).min(1.0)
}

/// The batch sizes of principals that launch now and then (on fewer than half the days their
/// account has data): the baseline for a sporadic principal's next batch, since its own few
/// launch days say little about how large a batch may be.
fn sporadic_launch_sizes(
    observations: &ProvisioningObservations,
    params: &ProvisioningParams,
) -> CountModel {
    let mut sizes = Vec::new();
    for state in observations.accounts.values() {
        for by_day in state.provisioning.values() {
            if by_day.len() * 2 < state.active_days.len() {
                sizes.extend(by_day.values().map(DayGroup::launches));
            }
        }
    }
    launch_size_model(&sizes, &params.count_prior)
}

/// What normal provisioning looks like in this run: how often groups show 0..4 novelties
/// (new region, family, principal, network: correlated, so counted together rather than
/// multiplied), and how often a hosting source.
struct NullModel {
    novelty_counts: [u64; 5],
    hosting: u64,
    trials: u64,
    prior_hosting_source: f64,
    prior_weight: f64,
}

impl NullModel {
    fn learn(tested: &[Tested], include: &[bool], params: &ProvisioningParams) -> NullModel {
        let mut novelty_counts = [0u64; 5];
        let mut hosting = 0u64;
        let mut trials = 0u64;
        for (test, _) in tested.iter().zip(include).filter(|(_, keep)| **keep) {
            novelty_counts[test.flags.novelties()] += 1;
            hosting += u64::from(test.flags.hosting_source);
            trials += 1;
        }
        NullModel {
            novelty_counts,
            hosting,
            trials,
            prior_hosting_source: params.prior_hosting_source,
            prior_weight: params.prior_weight,
        }
    }

    /// Fisher combination of the rate and novelty p-values, with the hosting signal exact.
    /// A test that helped learn the model is left out of its own null (leave one out), so a
    /// lone event is not made ordinary by itself.
    fn p_value(&self, test: &Tested, learned_from_it: bool) -> f64 {
        let mut novelty_counts = self.novelty_counts;
        let (mut hosting, mut trials) = (self.hosting, self.trials);
        if learned_from_it {
            novelty_counts[test.flags.novelties()] -= 1;
            hosting -= u64::from(test.flags.hosting_source);
            trials -= 1;
        }
        let p_novelty = empirical_tail(&novelty_counts, test.flags.novelties());
        let hosting = Signal {
            name: "hosting_source",
            present: test.flags.hosting_source,
            base_rate: signal_rate(
                hosting,
                trials,
                self.prior_hosting_source,
                self.prior_weight,
            ),
        };
        combined_p_values(&[test.p_rate, p_novelty], &[hosting])
    }
}

#[allow(clippy::too_many_arguments)]
fn test_group<'a>(
    key: &'a AccountKey,
    state: &'a AccountState,
    principal: &'a str,
    day: NaiveDate,
    group: &'a DayGroup,
    history: &[NaiveDate],
    params: &ProvisioningParams,
    hosting: &dyn HostingLookup,
    sporadic_sizes: &CountModel,
) -> Tested<'a> {
    let (from, to) = history_range(day, params.baseline_days);
    let by_day = &state.provisioning[principal];
    let launches = group.launches();
    let principal_history: Vec<f64> = history
        .iter()
        .map(|d| by_day.get(d).map_or(0.0, DayGroup::launches))
        .collect();
    let account_total = |d: &NaiveDate| -> f64 {
        state
            .provisioning
            .values()
            .filter_map(|days| days.get(d))
            .map(DayGroup::launches)
            .sum()
    };
    let account_history: Vec<f64> = history.iter().map(account_total).collect();
    let principal_model = CountModel::fit(&principal_history, &params.count_prior);
    let new_principal = by_day.range(from..=to).next().is_none();
    let p_principal = if new_principal {
        1.0
    } else {
        hurdle_p_value(
            &principal_history,
            launches,
            sporadic_sizes,
            &params.count_prior,
        )
    };
    let p_account = hurdle_p_value(
        &account_history,
        launches,
        sporadic_sizes,
        &params.count_prior,
    );
    let p_rate = p_principal.min(p_account);

    let seen_in_window = |days: Option<&BTreeSet<NaiveDate>>| {
        days.is_some_and(|d| d.range(from..=to).next().is_some())
    };
    let new_region = group
        .regions
        .iter()
        .any(|r| !seen_in_window(state.regions.get(r)));
    let new_family = group
        .families
        .iter()
        .any(|f| !seen_in_window(state.families.get(f)));
    let novel_launches: f64 = group
        .operations()
        .filter(|op| {
            new_principal
                || op
                    .region
                    .as_ref()
                    .is_some_and(|r| !seen_in_window(state.regions.get(r)))
                || op
                    .family
                    .as_ref()
                    .is_some_and(|f| !seen_in_window(state.families.get(f)))
        })
        .map(Operation::launches)
        .sum();
    let network_seen =
        |token: String| seen_in_window(state.networks.get(&(principal.to_string(), token)));
    let ips: Vec<std::net::IpAddr> = group
        .src_ips
        .iter()
        .filter_map(|ip| ip.parse().ok())
        .collect();
    let new_network = ips.iter().any(|ip| !network_seen(network_of(*ip)));
    let hosting_source = ips.iter().any(|ip| {
        hosting
            .hosting_provider(*ip)
            .is_some_and(|provider| !network_seen(format!("hosting:{provider}")))
    });
    Tested {
        key,
        state,
        principal,
        day,
        group,
        p_rate,
        novel_launches,
        observed: launches,
        expected: principal_model.mean,
        history_days: history.len() as u32,
        flags: Flags {
            new_region,
            new_family,
            new_principal,
            new_network,
            hosting_source,
        },
    }
}

fn candidate(test: &Tested, p_value: f64, params: &ProvisioningParams) -> Candidate {
    let flags = &test.flags;
    let named = [
        ("new_region", flags.new_region),
        ("new_family", flags.new_family),
        ("new_principal", flags.new_principal),
        ("new_network", flags.new_network),
        ("hosting_source", flags.hosting_source),
    ];
    let mut present: Vec<String> = named
        .iter()
        .filter(|(_, on)| *on)
        .map(|(name, _)| name.to_string())
        .collect();
    let burst = test.p_rate < 1e-4;
    if burst {
        present.insert(0, "burst".to_string());
    }
    let accelerators = test
        .group
        .families
        .iter()
        .any(|f| ACCELERATOR_FAMILIES.contains(&f.as_str()));
    if accelerators {
        present.push("accelerator_family".to_string());
    }
    let mut severity = if burst || flags.hosting_source {
        Severity::High
    } else {
        Severity::Medium
    };
    if accelerators && (burst || flags.new_region) {
        severity = raise(severity);
    }
    if flags.hosting_source && (flags.new_principal || flags.new_network) {
        severity = raise(severity);
    }
    let mut mitre = vec!["T1584.003".to_string(), "T1583.003".to_string()];
    if accelerators {
        mitre.push("T1496".to_string());
    }
    if flags.hosting_source || flags.new_network {
        mitre.push("T1078.004".to_string());
    }
    let group = test.group;
    let what = group
        .instance_types
        .iter()
        .next()
        .cloned()
        .unwrap_or_else(|| "instances".to_string());
    let title = format!(
        "{} launched {} {} in {} ({})",
        short_principal(test.principal),
        test.observed,
        what,
        group.regions.iter().cloned().collect::<Vec<_>>().join(", "),
        present.join(", ")
    );
    let day = test.day.to_string();
    let first_seen = group.first.expect("a group has at least one event");
    Candidate {
        detector: Detector::Provisioning,
        identity: vec![
            "provisioning".into(),
            test.key.provider.to_string(),
            test.key.account.clone(),
            test.principal.to_string(),
            day,
        ],
        title,
        provider: test.key.provider.clone(),
        tenant: test.state.tenant.clone(),
        account: Some(test.key.account.clone()),
        first_seen,
        last_seen: group.last.unwrap_or(first_seen),
        mitre,
        entities: Entities {
            principals: entity_list(group.principals.iter().cloned(), 10),
            src_ips: entity_list(group.src_ips.iter().cloned(), 20),
            regions: entity_list(group.regions.iter().cloned(), 10),
            services: entity_list(group.services.iter().cloned(), 10),
            resources: entity_list(group.resources.iter().cloned().chain(group.instance_types.iter().cloned()), 20),
        },
        baseline: Baseline {
            observed: test.observed,
            expected: (test.expected * 100.0).round() / 100.0,
            p_value,
            q_value: 1.0,
            window_days: params.baseline_days.min(test.history_days.max(1)),
            method: "Gamma-Poisson daily launches (principal and account) combined exactly with novelty signals"
                .to_string(),
            signals: present.clone(),
        },
        evidence: group.evidence.clone().into_evidence(),
        severity,
        facts: present.into_iter().collect(),
    }
}

/// `arn:aws:sts::1:assumed-role/Deploy` -> `assumed-role/Deploy`; emails and names as they are.
fn short_principal(principal: &str) -> &str {
    principal
        .rsplit(':')
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or(principal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::NoHostingRanges;
    use crate::schema::{Outcome, Resource, SourceRef};
    use chrono::TimeZone;

    struct OneRange;
    impl HostingLookup for OneRange {
        fn hosting_provider(&self, ip: std::net::IpAddr) -> Option<String> {
            ip.to_string()
                .starts_with("5.161.")
                .then(|| "hetzner".to_string())
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn event(
        day: u32,
        hour: u32,
        principal: &str,
        op_category: Category,
        count: u32,
        itype: &str,
        region: &str,
        ip: &str,
    ) -> Event {
        Event {
            time: Utc.with_ymd_and_hms(2024, 3, day, hour, 0, 0).unwrap(),
            provider: Provider::Aws,
            tenant: Some("111122223333".into()),
            account: Some("111122223333".into()),
            region: Some(region.into()),
            category: op_category,
            class_uid: 6003,
            operation: if op_category == Category::Provision {
                "RunInstances"
            } else {
                "DescribeInstances"
            }
            .into(),
            principal: Some(principal.into()),
            src_ip: Some(ip.into()),
            user_agent: None,
            outcome: Some(Outcome::Success),
            reason: None,
            resource: Resource {
                kind: Some("ec2:instance".into()),
                instance_type: Some(itype.into()),
                instance_count: Some(count),
                ..Resource::default()
            },
            source: SourceRef {
                file: "t".into(),
                record: 1,
            },
        }
    }

    const CI: &str = "arn:aws:sts::111122223333:assumed-role/ci-nightly/run-1";
    const DEV: &str = "arn:aws:iam::111122223333:user/dev";

    /// 28 days of a nightly batch of ~40 m5 instances in us-east-1 and a developer's API calls.
    fn quiet_month(obs: &mut ProvisioningObservations, hosting: &dyn HostingLookup) {
        for day in 1..=28 {
            if day % 3 == 0 {
                // Teams trying a region now and then, with a few instances.
                let region = [
                    "eu-west-1",
                    "eu-central-1",
                    "us-west-2",
                    "ap-south-1",
                    "ca-central-1",
                ][(day / 3) as usize % 5];
                let team = format!("arn:aws:iam::111122223333:user/team{}", day % 4);
                obs.observe(
                    &event(
                        day,
                        11,
                        &team,
                        Category::Provision,
                        1 + day % 3,
                        "t3.medium",
                        region,
                        "203.0.113.60",
                    ),
                    hosting,
                );
            }
            let session = CI.replace("run-1", &format!("run-{day}"));
            obs.observe(
                &event(
                    day,
                    2,
                    &session,
                    Category::Provision,
                    38 + day % 5,
                    "m5.large",
                    "us-east-1",
                    "198.51.100.10",
                ),
                hosting,
            );
            obs.observe(
                &event(
                    day,
                    10,
                    DEV,
                    Category::Api,
                    1,
                    "",
                    "us-east-1",
                    "203.0.113.50",
                ),
                hosting,
            );
        }
    }

    /// Day 29's run of the nightly batch.
    fn tonights_batch(obs: &mut ProvisioningObservations, count: u32, hosting: &dyn HostingLookup) {
        let batch = event(
            29,
            2,
            CI,
            Category::Provision,
            count,
            "m5.large",
            "us-east-1",
            "198.51.100.10",
        );
        obs.observe(&batch, hosting);
    }

    fn days(first: u32, last: u32) -> TestDays {
        TestDays {
            first: NaiveDate::from_ymd_opt(2024, 3, first).unwrap(),
            last: NaiveDate::from_ymd_opt(2024, 3, last).unwrap(),
        }
    }

    fn significant(output: &DetectorOutput) -> Vec<&Candidate> {
        output
            .candidates
            .iter()
            .filter(|c| c.baseline.p_value < 1e-4)
            .collect()
    }

    #[test]
    fn nightly_automation_is_not_an_anomaly() {
        let mut obs = ProvisioningObservations::default();
        quiet_month(&mut obs, &NoHostingRanges);
        tonights_batch(&mut obs, 41, &NoHostingRanges);
        let out = detect(
            obs,
            days(29, 29),
            &ProvisioningParams::default(),
            &NoHostingRanges,
        );
        assert_eq!(out.candidates.len(), 1);
        assert!(
            out.candidates[0].baseline.p_value > 0.05,
            "{:?}",
            out.candidates[0].baseline
        );
    }

    #[test]
    fn gpu_burst_in_a_new_region_is_found() {
        let mut obs = ProvisioningObservations::default();
        quiet_month(&mut obs, &NoHostingRanges);
        tonights_batch(&mut obs, 40, &NoHostingRanges);
        obs.observe(
            &event(
                29,
                3,
                CI,
                Category::Provision,
                30,
                "p3.16xlarge",
                "ap-southeast-1",
                "198.51.100.10",
            ),
            &NoHostingRanges,
        );
        let out = detect(
            obs,
            days(8, 29),
            &ProvisioningParams::default(),
            &NoHostingRanges,
        );
        let found = significant(&out);
        assert_eq!(
            found.len(),
            1,
            "{:?}",
            out.candidates
                .iter()
                .map(|c| (&c.title, c.baseline.p_value))
                .collect::<Vec<_>>()
        );
        let finding = found[0];
        for signal in ["burst", "new_region", "new_family", "accelerator_family"] {
            assert!(
                finding.baseline.signals.iter().any(|s| s == signal),
                "{signal}: {:?}",
                finding.baseline.signals
            );
        }
        assert_eq!(finding.severity, Severity::Critical);
        assert!(finding.mitre.contains(&"T1496".to_string()));
    }

    #[test]
    fn a_developer_who_never_provisions_launching_from_a_vps_is_found() {
        let mut obs = ProvisioningObservations::default();
        quiet_month(&mut obs, &OneRange);
        tonights_batch(&mut obs, 40, &OneRange);
        obs.observe(
            &event(
                29,
                14,
                DEV,
                Category::Provision,
                1,
                "c5.xlarge",
                "us-east-1",
                "5.161.10.20",
            ),
            &OneRange,
        );
        let out = detect(obs, days(8, 29), &ProvisioningParams::default(), &OneRange);
        let dev = out
            .candidates
            .iter()
            .find(|c| c.entities.principals == [DEV])
            .unwrap();
        // One instance is little evidence; a hosting source and a principal that never
        // provisions make it the most surprising launch of the month by far.
        let others = out
            .candidates
            .iter()
            .filter(|c| c.entities.principals != [DEV]);
        let least_other = others.map(|c| c.baseline.p_value).fold(1.0, f64::min);
        assert!(dev.baseline.p_value < 0.01, "{:?}", dev.baseline);
        assert!(
            dev.baseline.p_value * 10.0 < least_other,
            "{} vs {least_other}",
            dev.baseline.p_value
        );
        assert!(dev.baseline.signals.contains(&"hosting_source".to_string()));
        assert!(dev.baseline.signals.contains(&"new_principal".to_string()));
    }

    #[test]
    fn a_first_launch_in_a_new_region_by_a_usual_principal_stays_quiet() {
        let mut obs = ProvisioningObservations::default();
        quiet_month(&mut obs, &NoHostingRanges);
        tonights_batch(&mut obs, 40, &NoHostingRanges);
        obs.observe(
            &event(
                29,
                4,
                CI,
                Category::Provision,
                3,
                "m5.large",
                "eu-west-1",
                "198.51.100.10",
            ),
            &NoHostingRanges,
        );
        let out = detect(
            obs,
            days(8, 29),
            &ProvisioningParams::default(),
            &NoHostingRanges,
        );
        assert!(
            significant(&out).is_empty(),
            "{:?}",
            out.candidates
                .iter()
                .map(|c| &c.baseline)
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn too_little_history_is_reported_as_cold_start() {
        let mut obs = ProvisioningObservations::default();
        obs.observe(
            &event(
                1,
                2,
                CI,
                Category::Provision,
                50,
                "p3.2xlarge",
                "us-east-1",
                "198.51.100.10",
            ),
            &NoHostingRanges,
        );
        let out = detect(
            obs,
            days(1, 1),
            &ProvisioningParams::default(),
            &NoHostingRanges,
        );
        assert!(out.candidates.is_empty());
        assert_eq!(out.cold_start.len(), 1);
        assert_eq!(out.cold_start[0].history_days, 0);
    }

    #[test]
    fn records_of_one_operation_are_one_launch() {
        let mut obs = ProvisioningObservations::default();
        let with_id = |hour, count, outcome: Option<Outcome>, id: &str| {
            let mut e = event(
                1,
                hour,
                CI,
                Category::Provision,
                count,
                "m5.large",
                "us-east-1",
                "198.51.100.10",
            );
            e.outcome = outcome;
            e.resource.id = Some(id.to_string());
            e
        };
        // Azure-style Started then Succeeded of one VM.
        obs.observe(&with_id(2, 5, None, "vm-1"), &NoHostingRanges);
        obs.observe(
            &with_id(2, 5, Some(Outcome::Success), "vm-1"),
            &NoHostingRanges,
        );
        // An autoscaler writing a scale set's capacity three times: a level, not a delta.
        for capacity in [10, 12, 11] {
            obs.observe(
                &with_id(3, capacity, Some(Outcome::Success), "vmss-1"),
                &NoHostingRanges,
            );
        }
        let account = obs.accounts.values().next().unwrap();
        let group = account
            .provisioning
            .values()
            .next()
            .unwrap()
            .values()
            .next()
            .unwrap();
        assert_eq!(group.launches(), 5.0 + 12.0);
        assert_eq!(account.active_days.len(), 1);
    }

    #[test]
    fn families_per_cloud() {
        let mut e = event(1, 1, DEV, Category::Provision, 1, "", "x", "198.51.100.1");
        assert_eq!(instance_family(&e, "p3.2xlarge"), "p3");
        e.provider = Provider::Azure;
        assert_eq!(instance_family(&e, "Standard_NC6s_v3"), "nc");
        e.provider = Provider::Gcp;
        assert_eq!(instance_family(&e, "n2-standard-4"), "n2");
        assert_eq!(
            principal_key(CI),
            "arn:aws:sts::111122223333:assumed-role/ci-nightly"
        );
    }
}
