//! Unexpected provisioning (T1583.003 / T1584.003): VMs, VPSs and instances created beyond a
//! principal's or an account's usual rate, or in a way the account has not seen lately.
//!
//! ## Model
//! The unit of test is one principal's provisioning on one day in one account. Every statistic
//! comes from that account's own trailing `baseline_days` and from the priors in
//! [`ProvisioningParams`] (`docs/detectors.md` says where each prior comes from), so a verdict
//! never depends on other accounts, tenants or on which days a sweep judges.
//! - **Rate.** Launches are weighted by instance count (ten instances in one call are ten).
//!   Three counts are tested with the shrunk Gamma-Poisson model of [`crate::baseline`]:
//!   the principal's launches against its own history as a hurdle, `P(a launch day) *
//!   P(batch >= x)`, the batch sizes being its own shrunk toward the account's sporadic
//!   principals' batch sizes, themselves shrunk toward `sporadic_size_prior` (a person who
//!   launched once last month may well launch four today);
//!   the same launches against the whole account's history, as the same hurdle; and the
//!   launches into a region or family new to the account, or by a new principal, against the
//!   account's earlier first uses shrunk toward `first_use_size_prior` (most first uses are a
//!   few instances, a mining attacker's are dozens). `p_rate = min(1, 3 * min(...))`.
//! - **Novelty signals**, each "not seen in this account within the baseline window":
//!   `new_region`, `new_family` (instance family: `p3` of `p3.2xlarge`, `NC` of
//!   `Standard_NC6s_v3`, `n2` of `n2-standard-4`), `new_principal` (a principal that did not
//!   provision), `new_network` (the caller's /24 or /48 was not seen for this principal in any
//!   call), and `hosting_source` (the caller's address is in a hosting/cloud range of a provider
//!   this principal was not seen calling from).
//! - The four novelties are correlated (a new engineer's first launch is often in a region the
//!   account has not used), so they are not multiplied: their *number* gets a tail p-value from
//!   a Dirichlet prior (`novelty_prior`, measured on benign worlds) updated with the account's
//!   own earlier tests. The hosting source is a Bernoulli signal with a Beta prior updated the
//!   same way. Earlier tests that were themselves significant (below `trim_p`) are left out,
//!   so an account under attack does not learn that attacks are normal.
//! - The rate and novelty p-values are combined by Fisher's method and the hosting signal exactly
//!   ([`crate::baseline::combined_p_values`]).
//! - **Cold start.** An account with fewer than `min_history_days` days of data is judged on the
//!   priors alone: novelties say nothing there (everything is new), so only the rate, the hosting
//!   signal (a public cloud's address at `cold_cloud_source`, a VPS company's at its own rate)
//!   and an accelerator signal (`prior_accelerator`) count; the finding says
//!   `cold_start` and its severity is one step lower.
//!
//! One operation often leaves several records: Azure writes `Started` then `Succeeded`, GCP a
//! first and a last entry, and an autoscaler rewrites a scale set's capacity many times a day.
//! Records of one principal, day and resource id are one operation: its launches are the largest
//! count any of its records gives (a scale set's capacity is a level, not a delta), its type
//! whichever record names one. Failed attempts are counted: a denied `RunInstances` of GPU
//! types is the attacker's intent, seen.

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::LazyLock;

use chrono::{DateTime, NaiveDate, Utc};
use memchr::memmem;
use serde::{Deserialize, Serialize};

use super::{
    entity_list, history_range, lower, network_of, parse_ip, raise, with_network, Candidate,
    DetectorOutput, EvidenceSample, HostingLookup, TestDays, CANDIDATE_P,
};
use crate::aggregate::{as_pairs, merge_min, merge_sets};
use crate::baseline::{combined_p_values, signal_rate, CountModel, CountPrior, Signal};
use crate::lookup::{self, KeyBuf, ProviderKey};
use crate::ranges::is_vps_provider;
use crate::report::{Baseline, ColdStart, Detector, Entities, Severity};
use crate::schema::{Category, Event, Provider};

/// Instance families with GPUs or accelerators: the mining attacker's favourite.
const ACCELERATOR_FAMILIES: &[&str] = &[
    "p2", "p3", "p3dn", "p4d", "p4de", "p5", "p5e", "g3", "g4dn", "g4ad", "g5", "g5g", "g6", "g6e",
    "inf1", "inf2", "trn1", "dl1", "nc", "nd", "nv", "ncas", "ndasr", "a2", "a3", "g2",
];

/// Source addresses kept per principal-day (the smallest, so merging is order-free).
const SRC_IPS_PER_GROUP: usize = 64;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProvisioningParams {
    /// Days of history each test day is compared with.
    pub baseline_days: u32,
    /// Fewer days of data than this in the window: judged on the priors alone (cold start).
    pub min_history_days: u32,
    /// Gamma-Poisson prior on a principal's or account's daily launches.
    pub count_prior: CountPrior,
    /// Prior on the batch sizes (launches - 1) of principals that launch now and then.
    pub sporadic_size_prior: CountPrior,
    /// Prior on the launches of a first use (new region, family or principal).
    pub first_use_size_prior: CountPrior,
    /// Prior probabilities of 0, 1, 2, 3 and 4 novelties on a benign principal-day.
    pub novelty_prior: [f64; 5],
    /// How many tests the novelty prior is worth.
    pub novelty_prior_weight: f64,
    /// Prior base rate of a public-cloud hosting source (where automation runs), and how many
    /// tests the prior is worth.
    pub prior_hosting_source: f64,
    /// Prior base rate of a VPS or hosting company's address new to the principal.
    pub prior_vps_source: f64,
    pub prior_weight: f64,
    /// Rate of accelerator instances on a principal-day in cold start (benign worlds: none in
    /// 8,606 principal-days).
    pub prior_accelerator: f64,
    /// Rate of a public-cloud source new to the principal in cold start, where a young account's
    /// automation makes them common.
    pub cold_cloud_source: f64,
    /// Batch sizes in cold start, when the account's own principals are not known yet: broad,
    /// since automation launches in large batches from its first day.
    pub cold_size_prior: CountPrior,
    /// Earlier tests below this p-value are left out of the account's baselines.
    pub trim_p: f64,
}

impl Default for ProvisioningParams {
    fn default() -> Self {
        ProvisioningParams {
            baseline_days: 28,
            min_history_days: 7,
            count_prior: CountPrior::default(),
            sporadic_size_prior: CountPrior {
                pseudo_count: 20.0,
                pseudo_days: 10.0,
                dispersion: 1.0,
                dispersion_days: 10.0,
            },
            first_use_size_prior: CountPrior {
                pseudo_count: 30.0,
                pseudo_days: 10.0,
                dispersion: 1.0,
                dispersion_days: 10.0,
            },
            novelty_prior: [0.85, 0.12, 0.027, 0.0025, 0.0005],
            novelty_prior_weight: 50.0,
            prior_hosting_source: 0.002,
            prior_vps_source: 1e-4,
            prior_weight: 50.0,
            prior_accelerator: 0.002,
            cold_cloud_source: 0.05,
            cold_size_prior: CountPrior {
                pseudo_count: 200.0,
                pseudo_days: 10.0,
                dispersion: 2.0,
                dispersion_days: 10.0,
            },
            trim_p: 1e-3,
        }
    }
}

/// Where provisioning is counted: one cloud account (AWS account, subscription, project).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AccountKey {
    pub provider: Provider,
    pub account: String,
}

impl ProviderKey for AccountKey {
    fn parts(&self) -> (&Provider, &str) {
        (&self.provider, &self.account)
    }
}

impl<'a> Borrow<dyn ProviderKey + 'a> for AccountKey {
    fn borrow(&self) -> &(dyn ProviderKey + 'a) {
        self
    }
}

/// What one provisioning operation launched, merged over its records.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
struct Operation {
    launches: Option<f64>,
    region: Option<String>,
    family: Option<String>,
    instance_type: Option<String>,
    src_ip: Option<String>,
}

impl Operation {
    /// Records of one operation: the largest count (a level), the smallest name of each field
    /// (they agree in practice; the minimum makes the merge order-free).
    fn merge(&mut self, other: Operation) {
        self.launches = match (self.launches, other.launches) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        merge_min(&mut self.region, other.region);
        merge_min(&mut self.family, other.family);
        merge_min(&mut self.instance_type, other.instance_type);
        merge_min(&mut self.src_ip, other.src_ip);
    }

    /// A record that does not say how many is one instance.
    fn launches(&self) -> f64 {
        self.launches.unwrap_or(1.0)
    }
}

/// One principal's provisioning on one day.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayGroup {
    /// Operations by resource id (several records of one operation merge).
    operations: BTreeMap<String, Operation>,
    /// Records that name no resource, summed per (region, type, address).
    anonymous: BTreeMap<String, Operation>,
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

impl DayGroup {
    fn operations(&self) -> impl Iterator<Item = &Operation> {
        self.operations.values().chain(self.anonymous.values())
    }

    fn launches(&self) -> f64 {
        self.operations().map(Operation::launches).sum()
    }

    fn merge(&mut self, other: DayGroup) {
        for (id, op) in other.operations {
            self.operations.entry(id).or_default().merge(op);
        }
        for (key, op) in other.anonymous {
            add_anonymous(&mut self.anonymous, key, op);
        }
        self.regions.extend(other.regions);
        self.families.extend(other.families);
        self.instance_types.extend(other.instance_types);
        self.services.extend(other.services);
        self.resources.extend(other.resources);
        self.principals.extend(other.principals);
        self.src_ips.extend(other.src_ips);
        cap_set(&mut self.src_ips, SRC_IPS_PER_GROUP);
        merge_min(&mut self.first, other.first);
        self.last = self.last.max(other.last);
        self.evidence.merge(other.evidence);
    }
}

fn add_anonymous(map: &mut BTreeMap<String, Operation>, key: String, op: Operation) {
    match map.get_mut(&key) {
        Some(existing) => {
            existing.launches = Some(existing.launches() + op.launches());
        }
        None => {
            map.insert(key, op);
        }
    }
}

fn cap_set(set: &mut BTreeSet<String>, cap: usize) {
    while set.len() > cap {
        set.pop_last();
    }
}

/// One account's provisioning aggregates.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountState {
    /// The tenant the account was seen under (the smallest name, if records disagree).
    tenant: Option<String>,
    /// Days with any record from this account: a day without records is missing, not zero.
    active_days: BTreeSet<NaiveDate>,
    regions: BTreeMap<String, BTreeSet<NaiveDate>>,
    families: BTreeMap<String, BTreeSet<NaiveDate>>,
    /// principal key -> day -> what it provisioned.
    provisioning: BTreeMap<String, BTreeMap<NaiveDate, DayGroup>>,
    /// principal key -> network (or `hosting:<provider>`) -> days the principal called from it.
    networks: BTreeMap<String, BTreeMap<String, BTreeSet<NaiveDate>>>,
}

impl AccountState {
    fn merge(&mut self, other: AccountState) {
        merge_min(&mut self.tenant, other.tenant);
        self.active_days.extend(other.active_days);
        merge_sets(&mut self.regions, other.regions);
        merge_sets(&mut self.families, other.families);
        for (principal, days) in other.provisioning {
            let mine = self.provisioning.entry(principal).or_default();
            for (day, group) in days {
                mine.entry(day).or_default().merge(group);
            }
        }
        for (principal, networks) in other.networks {
            merge_sets(self.networks.entry(principal).or_default(), networks);
        }
    }
}

/// Per-account aggregates fed by every event of a sweep.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProvisioningObservations {
    #[serde(with = "as_pairs")]
    accounts: BTreeMap<AccountKey, AccountState>,
}

impl ProvisioningObservations {
    pub fn observe(&mut self, event: &Event, hosting: &dyn HostingLookup) {
        let Some(account) = event.account.as_ref().or(event.tenant.as_ref()) else {
            return;
        };
        // Every event passes here: keys are looked up without being built (crate::lookup).
        let state = lookup::provider_entry(&mut self.accounts, &event.provider, account, || {
            AccountKey {
                provider: event.provider.clone(),
                account: account.clone(),
            }
        });
        if let Some(tenant) = &event.tenant {
            if state.tenant.as_ref().is_none_or(|current| tenant < current) {
                state.tenant = Some(tenant.clone());
            }
        }
        let day = event.time.date_naive();
        state.active_days.insert(day);
        let principal = event.principal.as_deref().map(|principal| {
            let mut key = KeyBuf::new();
            write_principal_key(principal, &mut key);
            key
        });
        if let (Some(principal), Some(ip)) = (&principal, parse_ip(event)) {
            let networks = lookup::entry(&mut state.networks, principal.as_str());
            with_network(ip, |network| lookup::entry(networks, network).insert(day));
            if let Some(provider) = hosting.hosting_provider(ip) {
                lookup::with_formatted(format_args!("hosting:{provider}"), |key| {
                    lookup::entry(networks, key).insert(day)
                });
            }
        }
        if event.category != Category::Provision {
            return;
        }
        let principal = principal.map_or_else(
            || "(unknown principal)".to_string(),
            |key| key.as_str().to_string(),
        );
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
            instance_type: event.resource.instance_type.clone(),
            src_ip: event.src_ip.clone(),
        };
        match &event.resource.id {
            Some(id) => group
                .operations
                .entry(id.clone())
                .or_default()
                .merge(operation),
            None => {
                let key = format!(
                    "{}|{}|{}",
                    region.as_deref().unwrap_or(""),
                    event.resource.instance_type.as_deref().unwrap_or(""),
                    event.src_ip.as_deref().unwrap_or("")
                );
                add_anonymous(&mut group.anonymous, key, operation);
            }
        }
        group.regions.extend(region);
        group.families.extend(family);
        group
            .instance_types
            .extend(event.resource.instance_type.clone());
        group.services.extend(event.resource.kind.clone());
        group.resources.extend(event.resource.id.clone());
        group.principals.extend(event.principal.clone());
        group.src_ips.extend(event.src_ip.clone());
        cap_set(&mut group.src_ips, SRC_IPS_PER_GROUP);
        merge_min(&mut group.first, Some(event.time));
        group.last = group.last.max(Some(event.time));
        group.evidence.push(event);
    }

    /// Merges the aggregates of a disjoint input into these.
    pub fn merge(&mut self, other: ProvisioningObservations) {
        for (key, state) in other.accounts {
            self.accounts.entry(key).or_default().merge(state);
        }
    }

    /// Evidence samples in time order (the canonical form, for comparing aggregates).
    pub fn compact(&mut self) {
        for state in self.accounts.values_mut() {
            for groups in state.provisioning.values_mut() {
                for group in groups.values_mut() {
                    group.evidence = std::mem::take(&mut group.evidence).sorted();
                }
            }
        }
    }

    /// Forgets every day before `cutoff` (the scheduled run's retention); an account with no
    /// day left goes.
    pub fn expire_before(&mut self, cutoff: NaiveDate) {
        self.accounts.retain(|_, state| {
            state.active_days = state.active_days.split_off(&cutoff);
            for days in state
                .regions
                .values_mut()
                .chain(state.families.values_mut())
            {
                *days = days.split_off(&cutoff);
            }
            state.regions.retain(|_, days| !days.is_empty());
            state.families.retain(|_, days| !days.is_empty());
            for groups in state.provisioning.values_mut() {
                *groups = groups.split_off(&cutoff);
            }
            state.provisioning.retain(|_, groups| !groups.is_empty());
            for networks in state.networks.values_mut() {
                for days in networks.values_mut() {
                    *days = days.split_off(&cutoff);
                }
                networks.retain(|_, days| !days.is_empty());
            }
            state.networks.retain(|_, networks| !networks.is_empty());
            !state.active_days.is_empty()
        });
    }

    /// The last day with data per account (for incidents' open/ended status).
    pub fn last_days(&self) -> impl Iterator<Item = (&AccountKey, Option<NaiveDate>)> {
        self.accounts
            .iter()
            .map(|(k, s)| (k, s.active_days.last().copied()))
    }

    /// The tenant an account was seen under (for reports); `None` when no record said.
    pub fn tenants(&self) -> impl Iterator<Item = (&AccountKey, Option<&str>)> {
        self.accounts.iter().map(|(k, s)| (k, s.tenant.as_deref()))
    }
}

/// A principal as a baseline sees it: an assumed-role session (`.../assumed-role/Role/session`)
/// counts as its role, since automation gets a fresh session name on every run.
pub fn principal_key(principal: &str) -> String {
    let mut key = KeyBuf::new();
    write_principal_key(principal, &mut key);
    key.as_str().to_string()
}

/// [`principal_key`], written into `key`.
fn write_principal_key(principal: &str, key: &mut KeyBuf) {
    static ASSUMED_ROLE: LazyLock<memmem::Finder<'static>> =
        LazyLock::new(|| memmem::Finder::new(":assumed-role/"));
    if let Some(at) = ASSUMED_ROLE.find(principal.as_bytes()) {
        let role = at + ":assumed-role/".len();
        if let Some(slash) = principal[role..].find('/') {
            return key.push_str(&principal[..role + slash]);
        }
    }
    key.push_lowercase(principal)
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

#[derive(Debug, Clone, Copy, Default)]
struct Flags {
    new_region: bool,
    new_family: bool,
    new_principal: bool,
    new_network: bool,
    hosting_source: bool,
    /// The new hosting provider is a VPS company, not a public cloud.
    vps_source: bool,
    accelerators: bool,
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

/// What a test leaves for the account's later baselines.
#[derive(Debug, Clone, Copy)]
struct PastTest {
    day: NaiveDate,
    novelties: usize,
    hosting: bool,
    vps: bool,
    novel_launches: f64,
    /// Significant itself, or judged in cold start (where everything is new): left out of
    /// later baselines.
    trimmed: bool,
}

/// The unusual part of a principal-day, for the title: what is new, not the routine batch.
#[derive(Debug, Default)]
struct Unusual {
    launches: f64,
    types: BTreeMap<String, f64>,
    regions: BTreeSet<String>,
    hosting_ips: BTreeSet<String>,
    routine_launches: f64,
}

struct Tested<'a> {
    key: &'a AccountKey,
    state: &'a AccountState,
    principal: &'a str,
    day: NaiveDate,
    group: &'a DayGroup,
    p_rate: f64,
    novel_launches: f64,
    observed: f64,
    expected: f64,
    history_days: u32,
    cold: bool,
    flags: Flags,
    unusual: Unusual,
    hosting_providers: BTreeSet<String>,
}

/// Principal-days that were significant themselves (outside cold start), with the regions and
/// families they launched in: an attacker's first visit must not make the second one look
/// familiar, so the networks, hosting providers, regions and families of these days do not count
/// as "seen". (The principal itself and its launch counts stay history: excluding them would let
/// a new automation's first anomalous day make every later day new again.)
#[derive(Debug, Default)]
struct Anomalous {
    principal_days: BTreeSet<(String, NaiveDate)>,
    region_days: BTreeSet<(String, NaiveDate)>,
    family_days: BTreeSet<(String, NaiveDate)>,
}

impl Anomalous {
    fn record(&mut self, principal: &str, day: NaiveDate, group: &DayGroup) {
        self.principal_days.insert((principal.to_string(), day));
        for region in &group.regions {
            self.region_days.insert((region.clone(), day));
        }
        for family in &group.families {
            self.family_days.insert((family.clone(), day));
        }
    }

    fn principal_day(&self, principal: &str, day: NaiveDate) -> bool {
        !self.principal_days.is_empty()
            && self.principal_days.contains(&(principal.to_string(), day))
    }
}

/// The account's earlier, unremarkable tests in the window: what its baselines learn from.
struct AccountNull {
    novelty_counts: [f64; 5],
    /// Tests with a new public-cloud source, and with a new VPS source.
    hosting: u64,
    vps: u64,
    trials: u64,
    first_use: (f64, f64, f64),
}

impl AccountNull {
    fn learn(past: &[PastTest], from: NaiveDate, to: NaiveDate) -> AccountNull {
        let mut null = AccountNull {
            novelty_counts: [0.0; 5],
            hosting: 0,
            vps: 0,
            trials: 0,
            first_use: (0.0, 0.0, 0.0),
        };
        for test in past
            .iter()
            .filter(|t| t.day >= from && t.day <= to && !t.trimmed)
        {
            null.novelty_counts[test.novelties] += 1.0;
            null.hosting += u64::from(test.hosting && !test.vps);
            null.vps += u64::from(test.vps);
            null.trials += 1;
            if test.novel_launches > 0.0 {
                let x = test.novel_launches;
                null.first_use = (
                    null.first_use.0 + 1.0,
                    null.first_use.1 + x,
                    null.first_use.2 + x * x,
                );
            }
        }
        null
    }

    /// `P(N >= n)` under the Dirichlet prior updated with the account's counts.
    fn novelty_tail(&self, n: usize, params: &ProvisioningParams) -> f64 {
        if n == 0 {
            return 1.0;
        }
        let prior_total: f64 = params.novelty_prior.iter().sum::<f64>().max(1e-12);
        let weight = |k: usize| {
            params.novelty_prior[k] / prior_total * params.novelty_prior_weight
                + self.novelty_counts[k]
        };
        let total: f64 = (0..5).map(weight).sum();
        let tail: f64 = (n..5).map(weight).sum();
        (tail / total).clamp(1e-12, 1.0)
    }
}

pub fn detect(
    observations: ProvisioningObservations,
    days: TestDays,
    params: &ProvisioningParams,
    hosting: &dyn HostingLookup,
) -> DetectorOutput {
    detect_with(observations, days, params, hosting, CANDIDATE_P)
}

/// [`detect`], listing every test with a p-value below `keep_p` (1.0 lists all; for tests).
pub fn detect_with(
    observations: ProvisioningObservations,
    days: TestDays,
    params: &ProvisioningParams,
    hosting: &dyn HostingLookup,
    keep_p: f64,
) -> DetectorOutput {
    let mut output = DetectorOutput::default();
    for (key, state) in &observations.accounts {
        let mut reported_cold = false;
        let mut past: Vec<PastTest> = Vec::new();
        let mut anomalous = Anomalous::default();
        // Every day with provisioning up to the last judged day, in order: earlier days are the
        // baseline of later ones whether or not this sweep judges them.
        let mut by_day: BTreeMap<NaiveDate, Vec<(&String, &DayGroup)>> = BTreeMap::new();
        for (principal, groups) in &state.provisioning {
            for (day, group) in groups.range(..=days.last) {
                by_day.entry(*day).or_default().push((principal, group));
            }
        }
        for (day, groups) in by_day {
            let (from, to) = history_range(day, params.baseline_days);
            let history: Vec<NaiveDate> = state.active_days.range(from..=to).copied().collect();
            let cold = (history.len() as u32) < params.min_history_days;
            let null = AccountNull::learn(&past, from, to);
            let sporadic = if cold {
                CountModel::fit(&[], &params.cold_size_prior)
            } else {
                sporadic_size_model(state, &history, params)
            };
            let mut today = Vec::new();
            let mut significant_today = Vec::new();
            for (principal, group) in groups {
                let context = Context {
                    key,
                    state,
                    history: &history,
                    cold,
                    params,
                    hosting,
                    sporadic: &sporadic,
                    null: &null,
                    anomalous: &anomalous,
                };
                let test = test_group(&context, principal, day, group);
                let p_value = p_value_of(&test, &null, params);
                if p_value < params.trim_p && !cold {
                    significant_today.push((principal, group));
                }
                today.push(PastTest {
                    day,
                    novelties: test.flags.novelties(),
                    hosting: test.flags.hosting_source,
                    vps: test.flags.vps_source,
                    novel_launches: test.novel_launches,
                    trimmed: p_value < params.trim_p || cold,
                });
                if !days.contains(day) {
                    continue;
                }
                if cold && !reported_cold {
                    output.cold_start.push(ColdStart {
                        detector: Detector::Provisioning,
                        scope: format!("{}/{}", key.provider, key.account),
                        history_days: history.len() as u32,
                        needed_days: params.min_history_days,
                    });
                    reported_cold = true;
                }
                output.count_test(&key.provider, &key.account, state.tenant.as_deref(), day);
                if p_value < keep_p || keep_p >= 1.0 {
                    output.candidates.push(candidate(&test, p_value, params));
                }
            }
            past.extend(today);
            for (principal, group) in significant_today {
                anomalous.record(principal, day, group);
            }
        }
    }
    output
}

/// What every test of one account-day shares.
struct Context<'a> {
    key: &'a AccountKey,
    state: &'a AccountState,
    /// The account's days with data in the window.
    history: &'a [NaiveDate],
    cold: bool,
    params: &'a ProvisioningParams,
    hosting: &'a dyn HostingLookup,
    sporadic: &'a CountModel,
    null: &'a AccountNull,
    anomalous: &'a Anomalous,
}

fn p_value_of(test: &Tested, null: &AccountNull, params: &ProvisioningParams) -> f64 {
    let flags = &test.flags;
    // One signal with the base rate of the kind of source seen: a new VPS company's address is
    // far rarer for benign principals than a public cloud's.
    let cloud_rate = signal_rate(
        null.hosting,
        null.trials,
        params.prior_hosting_source,
        params.prior_weight,
    );
    let vps_rate = signal_rate(
        null.vps,
        null.trials,
        params.prior_vps_source,
        params.prior_weight,
    );
    let hosting = Signal {
        name: "hosting_source",
        present: flags.hosting_source,
        base_rate: if flags.vps_source {
            vps_rate
        } else if flags.hosting_source {
            cloud_rate
        } else {
            (cloud_rate + vps_rate).min(1.0)
        },
    };
    if test.cold {
        // Everything is new in a young account: novelty says nothing, and its automation calls
        // from public clouds in its first days, so a public-cloud source is common there
        // (`cold_cloud_source`); a VPS source and the kind of instance keep their rarity.
        let source = Signal {
            name: "hosting_source",
            present: flags.hosting_source,
            base_rate: if flags.vps_source {
                vps_rate
            } else {
                params.cold_cloud_source
            },
        };
        let accelerator = Signal {
            name: "accelerator_family",
            present: flags.accelerators,
            base_rate: params.prior_accelerator,
        };
        return combined_p_values(&[test.p_rate], &[source, accelerator]);
    }
    let p_novelty = null.novelty_tail(flags.novelties(), params);
    // Rate and novelty together (a burst in a new region), or either alone with the source (a
    // single VPS by a principal that never provisions): Bonferroni over the three.
    let joint = combined_p_values(&[test.p_rate, p_novelty], std::slice::from_ref(&hosting));
    let novelty = combined_p_values(&[p_novelty], std::slice::from_ref(&hosting));
    let rate = combined_p_values(&[test.p_rate], &[hosting]);
    (3.0 * joint.min(novelty).min(rate)).min(1.0)
}

/// How many batches the sporadic model is worth as the prior of a history's own batch sizes.
const SPORADIC_BATCHES: f64 = 2.0;

/// `P(X >= x)` for a day's launches as a hurdle: `P(a launch day) * P(batch >= x)`. The batch
/// sizes are the history's own, shrunk toward `sporadic` (worth `SPORADIC_BATCHES` batches), so
/// four nightly batches of thirty say more than the sizes of people who launch now and then, and
/// no launches at all leave the sporadic model.
fn hurdle_p_value(
    history: &[f64],
    launches: f64,
    sporadic: &CountModel,
    prior: &CountPrior,
) -> f64 {
    let extra: Vec<f64> = history
        .iter()
        .filter(|n| **n > 0.0)
        .map(|n| n - 1.0)
        .collect();
    let toward_sporadic = CountPrior {
        pseudo_count: sporadic.mean * SPORADIC_BATCHES,
        pseudo_days: SPORADIC_BATCHES,
        dispersion: sporadic.dispersion.max(prior.dispersion),
        dispersion_days: prior.dispersion_days,
    };
    let sizes = CountModel::fit(&extra, &toward_sporadic);
    let launch_day_rate = (extra.len() as f64 + 0.5) / (history.len() as f64 + 1.0);
    (launch_day_rate.min(1.0) * sizes.p_at_least(launches - 1.0)).min(1.0)
}

/// The batch sizes of the account's principals that launch now and then (on fewer than half
/// its days with data in the window), shrunk toward the prior: the baseline for a sporadic
/// principal's next batch, since its own few launch days say little about how large it may be.
fn sporadic_size_model(
    state: &AccountState,
    history: &[NaiveDate],
    params: &ProvisioningParams,
) -> CountModel {
    let (Some(&from), Some(&to)) = (history.first(), history.last()) else {
        return CountModel::fit(&[], &params.sporadic_size_prior);
    };
    let mut sizes = Vec::new();
    for groups in state.provisioning.values() {
        let window: Vec<f64> = groups
            .range(from..=to)
            .map(|(_, g)| g.launches() - 1.0)
            .collect();
        if !window.is_empty() && window.len() * 2 < history.len() {
            sizes.extend(window);
        }
    }
    CountModel::fit(&sizes, &params.sporadic_size_prior)
}

fn test_group<'a>(
    context: &Context<'a>,
    principal: &'a str,
    day: NaiveDate,
    group: &'a DayGroup,
) -> Tested<'a> {
    let &Context {
        key,
        state,
        history,
        cold,
        params,
        hosting,
        sporadic,
        null,
        anomalous,
    } = context;
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
        hurdle_p_value(&principal_history, launches, sporadic, &params.count_prior)
    };
    let p_account = hurdle_p_value(&account_history, launches, sporadic, &params.count_prior);

    let seen_in_window = |days: Option<&BTreeSet<NaiveDate>>,
                          tainted: &dyn Fn(NaiveDate) -> bool| {
        days.is_some_and(|d| d.range(from..=to).any(|d| !tainted(*d)))
    };
    let region_seen = |r: &String| {
        seen_in_window(state.regions.get(r), &|d| {
            anomalous.region_days.contains(&(r.clone(), d))
        })
    };
    let family_seen = |f: &String| {
        seen_in_window(state.families.get(f), &|d| {
            anomalous.family_days.contains(&(f.clone(), d))
        })
    };
    let new_region_of = |r: &Option<String>| r.as_ref().is_some_and(|r| !region_seen(r));
    let new_family_of = |f: &Option<String>| f.as_ref().is_some_and(|f| !family_seen(f));
    let new_region = group.regions.iter().any(|r| !region_seen(r));
    let new_family = group.families.iter().any(|f| !family_seen(f));
    let networks = state.networks.get(principal);
    let network_seen = |token: &str| {
        seen_in_window(networks.and_then(|n| n.get(token)), &|d| {
            anomalous.principal_day(principal, d)
        })
    };
    let ip_flags = |ip: &str| -> (bool, Option<String>) {
        let Ok(ip) = ip.parse::<IpAddr>() else {
            return (false, None);
        };
        let new_network = !network_seen(&network_of(ip));
        let provider = hosting
            .hosting_provider(ip)
            .filter(|provider| !network_seen(&format!("hosting:{provider}")));
        (new_network, provider)
    };
    let mut new_network = false;
    let mut hosting_providers = BTreeSet::new();
    for ip in &group.src_ips {
        let (new, provider) = ip_flags(ip);
        new_network |= new;
        hosting_providers.extend(provider);
    }
    let mut unusual = Unusual::default();
    let mut novel_launches = 0.0;
    for op in group.operations() {
        let novel = new_principal || new_region_of(&op.region) || new_family_of(&op.family);
        let (new_net, provider) = op.src_ip.as_deref().map_or((false, None), ip_flags);
        if novel {
            novel_launches += op.launches();
        }
        if novel || new_net || provider.is_some() {
            unusual.launches += op.launches();
            let kind = op
                .instance_type
                .clone()
                .unwrap_or_else(|| "instances".to_string());
            *unusual.types.entry(kind).or_default() += op.launches();
            unusual.regions.extend(op.region.clone());
            if provider.is_some() {
                unusual.hosting_ips.extend(op.src_ip.clone());
            }
        } else {
            unusual.routine_launches += op.launches();
        }
    }
    let p_novel = if novel_launches > 0.0 && !cold {
        let (n, sum, sum_sq) = null.first_use;
        CountModel::fit_moments(n, sum, sum_sq, &params.first_use_size_prior)
            .p_at_least(novel_launches)
    } else {
        1.0
    };
    let p_rate = (3.0 * p_principal.min(p_account).min(p_novel)).min(1.0);
    let accelerators = group
        .families
        .iter()
        .any(|f| ACCELERATOR_FAMILIES.contains(&f.as_str()));
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
        cold,
        flags: Flags {
            new_region,
            new_family,
            new_principal,
            new_network,
            hosting_source: !hosting_providers.is_empty(),
            vps_source: hosting_providers.iter().any(|p| is_vps_provider(p)),
            accelerators,
        },
        unusual,
        hosting_providers,
    }
}

fn candidate(test: &Tested, p_value: f64, params: &ProvisioningParams) -> Candidate {
    let flags = &test.flags;
    let novelty_named = !test.cold;
    let named = [
        ("new_region", flags.new_region && novelty_named),
        ("new_family", flags.new_family && novelty_named),
        ("new_principal", flags.new_principal && novelty_named),
        ("new_network", flags.new_network && novelty_named),
        ("hosting_source", flags.hosting_source),
        ("vps_source", flags.vps_source),
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
    if flags.accelerators {
        present.push("accelerator_family".to_string());
    }
    let mut severity = if burst || flags.hosting_source {
        Severity::High
    } else {
        Severity::Medium
    };
    if flags.accelerators && (burst || flags.new_region) {
        severity = raise(severity);
    }
    if flags.hosting_source && (flags.new_principal || flags.new_network) {
        severity = raise(severity);
    }
    if test.cold {
        severity = lower(severity);
        present.push("cold_start".to_string());
    }
    let mut mitre = vec!["T1584.003".to_string(), "T1583.003".to_string()];
    if flags.accelerators {
        mitre.push("T1496".to_string());
    }
    if flags.hosting_source || flags.new_network {
        mitre.push("T1078.004".to_string());
    }
    let group = test.group;
    let title = title(test, &present);
    let first_seen = group.first.expect("a group has at least one event");
    let mut src_ips: Vec<String> = test.unusual.hosting_ips.iter().cloned().collect();
    src_ips.extend(group.src_ips.iter().cloned());
    let mut facts: BTreeSet<String> = present.iter().cloned().collect();
    facts.extend(
        test.hosting_providers
            .iter()
            .map(|p| format!("hosting:{p}")),
    );
    Candidate {
        detector: Detector::Provisioning,
        identity: vec![
            "provisioning".into(),
            test.key.provider.to_string(),
            test.key.account.clone(),
            test.principal.to_string(),
        ],
        day: test.day,
        title,
        provider: test.key.provider.clone(),
        tenant: test.state.tenant.clone(),
        account: Some(test.key.account.clone()),
        first_seen,
        last_seen: group.last.unwrap_or(first_seen),
        mitre,
        entities: Entities {
            principals: entity_list(group.principals.iter().cloned(), 10),
            src_ips: entity_list(src_ips, 20),
            regions: entity_list(group.regions.iter().cloned(), 10),
            services: entity_list(group.services.iter().cloned(), 10),
            resources: entity_list(
                group
                    .resources
                    .iter()
                    .cloned()
                    .chain(group.instance_types.iter().cloned()),
                20,
            ),
        },
        baseline: Baseline {
            observed: test.observed,
            expected: (test.expected * 100.0).round() / 100.0,
            p_value,
            threshold: 1.0,
            window_days: params.baseline_days.min(test.history_days.max(1)),
            method: "Gamma-Poisson daily launches (principal and account) combined exactly with novelty signals, against the account's own history and priors"
                .to_string(),
            signals: present,
        },
        evidence: group.evidence.clone().into_evidence(),
        severity,
        facts,
        signed_in: BTreeSet::new(),
        sources: BTreeSet::new(),
        currency: None,
    }
}

/// Names what is unusual (the new types, regions and sources), not a sum with the routine batch
/// the same principal launched that day.
fn title(test: &Tested, present: &[String]) -> String {
    let unusual = &test.unusual;
    let (launches, types, regions): (f64, Vec<(String, f64)>, Vec<String>) =
        if unusual.launches > 0.0 {
            (
                unusual.launches,
                unusual.types.iter().map(|(k, v)| (k.clone(), *v)).collect(),
                unusual.regions.iter().cloned().collect(),
            )
        } else {
            let mut types: BTreeMap<String, f64> = BTreeMap::new();
            for op in test.group.operations() {
                let kind = op
                    .instance_type
                    .clone()
                    .unwrap_or_else(|| "instances".to_string());
                *types.entry(kind).or_default() += op.launches();
            }
            (
                test.observed,
                types.into_iter().collect(),
                test.group.regions.iter().cloned().collect(),
            )
        };
    let what = match types.as_slice() {
        [(kind, _)] => format!("{launches} {kind}"),
        many => {
            let mut sorted = many.to_vec();
            sorted.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            let names: Vec<String> = sorted
                .iter()
                .take(3)
                .map(|(k, n)| format!("{n} {k}"))
                .collect();
            format!("{launches} instances ({})", names.join(", "))
        }
    };
    let mut title = format!("{} launched {what}", short_principal(test.principal));
    if !regions.is_empty() {
        title.push_str(&format!(" in {}", regions.join(", ")));
    }
    if let Some(ip) = unusual.hosting_ips.iter().next() {
        let provider = test
            .hosting_providers
            .iter()
            .next()
            .cloned()
            .unwrap_or_default();
        title.push_str(&format!(" from {ip} ({provider})"));
    }
    if unusual.launches > 0.0 && unusual.routine_launches > 0.0 {
        title.push_str(&format!(
            " besides {} routine launches",
            unusual.routine_launches
        ));
    }
    title.push_str(&format!(" ({})", present.join(", ")));
    title
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

    /// 5.161.0.0/16 is a VPS company's (Hetzner), 3.0.0.0/8 a public cloud's (AWS).
    struct OneRange;
    impl HostingLookup for OneRange {
        fn hosting_provider(&self, ip: std::net::IpAddr) -> Option<String> {
            let ip = ip.to_string();
            if ip.starts_with("5.161.") {
                Some("hetzner".to_string())
            } else if ip.starts_with("3.") {
                Some("aws".to_string())
            } else {
                None
            }
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
            event_id: None,
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
        let out = detect_with(
            obs,
            days(29, 29),
            &ProvisioningParams::default(),
            &NoHostingRanges,
            1.0,
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
        // The title names the unusual fleet, not its sum with the nightly batch of the same role.
        assert!(
            finding
                .title
                .starts_with("assumed-role/ci-nightly launched 30 p3.16xlarge in ap-southeast-1"),
            "{}",
            finding.title
        );
        assert!(
            finding.title.contains("besides 40 routine launches"),
            "{}",
            finding.title
        );
    }

    /// The developer's day-29 launch of one instance, from `ip`, judged after the quiet month.
    fn developer_launch_from(ip: &str) -> Candidate {
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
                ip,
            ),
            &OneRange,
        );
        let out = detect_with(
            obs,
            days(29, 29),
            &ProvisioningParams::default(),
            &OneRange,
            1.0,
        );
        out.candidates
            .into_iter()
            .find(|c| c.entities.principals == [DEV])
            .unwrap()
    }

    #[test]
    fn a_vps_company_address_is_stronger_evidence_than_a_public_cloud_one() {
        let vps = developer_launch_from("5.161.10.20");
        let cloud = developer_launch_from("3.80.10.20");
        for c in [&vps, &cloud] {
            assert!(c.baseline.signals.contains(&"hosting_source".to_string()));
        }
        assert!(vps.baseline.signals.contains(&"vps_source".to_string()));
        assert!(!cloud.baseline.signals.contains(&"vps_source".to_string()));
        assert!(
            vps.baseline.p_value * 5.0 < cloud.baseline.p_value,
            "{} vs {}",
            vps.baseline.p_value,
            cloud.baseline.p_value
        );
    }

    #[test]
    fn an_attackers_first_visit_does_not_make_the_second_familiar() {
        let mut obs = ProvisioningObservations::default();
        quiet_month(&mut obs, &OneRange);
        // The developer's stolen key launches GPUs from a VPS on day 20, and again on day 27.
        for day in [20, 27] {
            obs.observe(
                &event(
                    day,
                    3,
                    DEV,
                    Category::Provision,
                    12,
                    "p3.8xlarge",
                    "sa-east-1",
                    "5.161.10.20",
                ),
                &OneRange,
            );
        }
        let out = detect_with(
            obs,
            days(20, 27),
            &ProvisioningParams::default(),
            &OneRange,
            1.0,
        );
        let of_day = |d: u32| {
            out.candidates
                .iter()
                .find(|c| c.entities.principals == [DEV] && c.day == days(d, d).first)
                .unwrap()
        };
        let (first, second) = (of_day(20), of_day(27));
        assert!(first.baseline.p_value < 1e-6, "{:?}", first.baseline);
        for signal in ["new_region", "new_family", "new_network", "hosting_source"] {
            assert!(
                second.baseline.signals.contains(&signal.to_string()),
                "{signal}: {:?}",
                second.baseline.signals
            );
        }
        assert!(second.baseline.p_value < 1e-5, "{:?}", second.baseline);
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
        // Judged on the priors, and said so: a first-ever GPU batch is not hidden.
        assert!(out
            .candidates
            .iter()
            .all(|c| c.baseline.signals.contains(&"cold_start".to_string())));
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
