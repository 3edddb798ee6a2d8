//! The attacks a generated world contains, and their labels.
//!
//! Every attack is planned before any file is written: it is small (at most a few hundred
//! records), so its activity and the extra cost it causes are held in memory, and its label is
//! computed from exactly those records: the window is the first to the last record, the
//! principals and addresses are the ones the records carry, as the normalizer will report them.
//!
//! Attackers come from rented servers: [`HOSTING_PREFIXES`] lists the prefixes, copied from the
//! providers' published lists in `/work/shared/data/ip-ranges` (and written to
//! `/work/notes/gen-hosting-prefixes.txt` for the range fixtures).
//!
//! Variants (`kind` / `variant` in `labels.json`):
//! - `credential_stuffing` — `fast_burst` (dozens of failures in minutes against one user, then
//!   success), `low_and_slow` (one try every half hour or so for a day, from a few rotating
//!   addresses), `password_spray` (one or two tries against every user from one to three
//!   addresses, then one success; on Entra, users with MFA answer 50076), `many_addresses`
//!   (dozens of addresses, a few tries each, against one user), `success_from_hosting` (a
//!   phished password: one or two failures, then success, all from a VPS). On AWS the attacker
//!   then looks around with the console session and creates an access key.
//! - `provisioning` — `crypto_mining_burst` (GPU or large machines in a region the tenant never
//!   used, some requests refused for vCPU quota), `lightsail_vps`, `dormant_principal_instance`
//!   (one machine created by a principal that never provisions, from a hosting address),
//!   `azure_new_region` (a scale set in a location the tenant never used), `gcp_new_zone`
//!   (instances in a zone the project never used, created with a stolen service-account key).
//! - `billing_jump` — `after_provisioning` (the cost of a provisioning attack, labelled whenever
//!   it adds more than [`JUMP_SHARE_OF_COMPUTE`] to the usual daily compute cost of the account
//!   that pays for it),
//!   `data_transfer_jump` and `storage_jump` (no provisioning behind them).
//!
//! The small company, the young and the quiet tenant-cloud (`World::specials`) are each given a
//! mining burst and a stuffing burst after the rounds ([`COVERAGE_VARIANTS`]); the young one only
//! after [`normal::YOUNG_ACCOUNT_HISTORY_DAYS`] days of its data.
//!
//! A provisioning attack that runs up the bill is labelled twice (provisioning and billing_jump)
//! even when only `provisioning` was asked for, because both are in the data.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use chrono::{DateTime, Duration, NaiveDate, Timelike, Utc};

use super::activity::{
    Action, Activity, Actor, ApiOp, Call, CostLine, Failure, Launch, LaunchApi, Origin, SignIn,
    SignInResult,
};
use super::catalog::{self, Cloud, MachineType, Spend};
use super::net::Cidr;
use super::normal::{self, round_cost};
use super::random::Rand;
use super::world::{AutomationKind, Company, Presence, Role, World};
use super::writers;
use auditsweep::eval::labels::{Attack as Label, AttackKind};

/// A hosting or VPS prefix attackers rent servers in, and where it geolocates.
#[derive(Debug, Clone, Copy)]
pub struct HostingPrefix {
    pub provider: &'static str,
    pub cidr: Cidr,
    pub city: &'static str,
    pub country: &'static str,
}

const fn hosting(
    provider: &'static str,
    cidr: Cidr,
    city: &'static str,
    country: &'static str,
) -> HostingPrefix {
    HostingPrefix {
        provider,
        cidr,
        city,
        country,
    }
}

/// Where attacks come from: real prefixes of VPS and cloud providers (DigitalOcean and Linode
/// geofeeds, Hetzner and OVH ASN lists, Vultr's geofeed, AWS `ip-ranges.json` EC2 entries).
#[rustfmt::skip]
pub const HOSTING_PREFIXES: &[HostingPrefix] = &[
    hosting("digitalocean", Cidr::new(134, 209, 16, 0, 20), "London", "GB"),
    hosting("digitalocean", Cidr::new(134, 209, 80, 0, 20), "Amsterdam", "NL"),
    hosting("hetzner", Cidr::new(116, 202, 0, 0, 16), "Falkenstein", "DE"),
    hosting("hetzner", Cidr::new(135, 181, 0, 0, 16), "Helsinki", "FI"),
    hosting("ovh", Cidr::new(151, 127, 0, 0, 16), "Roubaix", "FR"),
    hosting("vultr", Cidr::new(45, 76, 0, 0, 15), "Piscataway", "US"),
    hosting("vultr", Cidr::new(66, 42, 64, 0, 18), "Chicago", "US"),
    hosting("linode", Cidr::new(45, 79, 3, 0, 24), "Richardson", "US"),
    hosting("aws", Cidr::new(52, 4, 0, 0, 14), "Ashburn", "US"),
    hosting("aws", Cidr::new(54, 148, 0, 0, 15), "Boardman", "US"),
];

/// Whether an address is in one of the attackers' hosting prefixes.
pub fn is_hosting_address(address: Ipv4Addr) -> bool {
    HOSTING_PREFIXES
        .iter()
        .any(|prefix| prefix.cidr.contains(address))
}

/// A provisioning attack's cost is also labelled as a billing jump when its daily cost exceeds
/// this share of the tenant's usual daily compute cost.
pub const JUMP_SHARE_OF_COMPUTE: f64 = 0.5;

/// Attacks happen after this share of the window, and after at least [`QUIET_DAYS`] (or half
/// the window, when it is shorter), so that detectors have a week or more of history.
const QUIET_SHARE: f64 = 0.4;
const QUIET_DAYS: u32 = 8;
/// One round of every selected variant per this many tenants (at least one round).
const TENANTS_PER_ROUND: u32 = 10;
/// Planned after the rounds (which they leave as they were) into the small company's main cloud
/// and the young and quiet tenant-clouds (`World::specials`), unless the rounds put the same
/// variant there already, so that each of them is attacked: a first-ever burst of GPU or large
/// machines by a stolen identity from a hosting address, and a credential-stuffing burst.
const COVERAGE_VARIANTS: [Variant; 2] = [Variant::CryptoMiningBurst, Variant::FastBurst];

const ATTACK_BROWSER: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
const SCRIPTED_LOGIN: &str = "python-requests/2.31.0";
/// Legacy ROPC sign-ins, the classic signature of Entra password spraying tools.
const ROPC: &str = "BAV2ROPC";
const ATTACK_AWS_CLI: &str =
    "aws-cli/1.27.62 Python/3.10.6 Linux/5.19.0-kali2-amd64 botocore/1.29.62";
const ATTACK_BOTO: &str = "Boto3/1.26.137 Python/3.10.12 Linux/5.15.0-1034-aws Botocore/1.29.137";
const ATTACK_GCLOUD: &str = "google-cloud-sdk gcloud/460.0.0 command/gcloud.compute.instances.create invocation-id/9b0e6f1a7c3d4e2f environment/None environment-version/None client-os/LINUX client-os-ver/5.15.0 client-pltf-arch/x86_64 interactive/False from-script/True python/3.10.12,gzip(gfe)";
const ATTACK_AZURE: &str = "python/3.10.12 (Linux-5.15.0-91-generic-x86_64-with-glibc2.35) msrest/0.7.1 azure-mgmt-compute/30.4.0";

const fn op(
    service: &'static str,
    name: &'static str,
    read_only: bool,
    resource: &'static str,
) -> ApiOp {
    ApiOp {
        service,
        name,
        read_only,
        resource,
    }
}

/// What an attacker does with a fresh AWS console session or stolen keys.
#[rustfmt::skip]
static AWS_RECON: &[(ApiOp, f64)] = &[
    (op("sts.amazonaws.com", "GetCallerIdentity", true, ""), 2.0),
    (op("ec2.amazonaws.com", "DescribeRegions", true, ""), 2.0),
    (op("ec2.amazonaws.com", "DescribeInstances", true, ""), 3.0),
    (op("iam.amazonaws.com", "ListUsers", true, ""), 2.0),
    (op("iam.amazonaws.com", "GetAccountSummary", true, ""), 1.0),
    (op("servicequotas.amazonaws.com", "GetServiceQuota", true, ""), 1.0),
];
static AWS_PERSIST: ApiOp = op("iam.amazonaws.com", "CreateAccessKey", false, "");
static LIGHTSAIL_RECON: &[(ApiOp, f64)] = &[
    (op("lightsail.amazonaws.com", "GetRegions", true, ""), 1.0),
    (op("lightsail.amazonaws.com", "GetBundles", true, ""), 1.0),
    (
        op("lightsail.amazonaws.com", "GetBlueprints", true, ""),
        1.0,
    ),
];
static AZURE_NEW_GROUP: ApiOp = op(
    "Microsoft.Resources",
    "Microsoft.Resources/subscriptions/resourceGroups/write",
    false,
    "resourceGroups",
);

const VCPU_LIMIT: Failure = Failure {
    code: "Client.VcpuLimitExceeded",
    message: "You have requested more vCPU capacity than your current vCPU limit of 64 allows for the instance bucket that the specified instance type belongs to.",
};

/// Regions where Lightsail runs.
const LIGHTSAIL_REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-2",
    "ca-central-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-central-1",
    "eu-north-1",
    "ap-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-southeast-1",
    "ap-southeast-2",
];

/// How an attack was carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Variant {
    FastBurst,
    LowAndSlow,
    PasswordSpray,
    ManyAddresses,
    SuccessFromHosting,
    CryptoMiningBurst,
    LightsailVps,
    DormantPrincipalInstance,
    AzureNewRegion,
    GcpNewZone,
    DataTransferJump,
    StorageJump,
    /// Not planned on its own: the label of a provisioning attack's cost.
    AfterProvisioning,
}

impl Variant {
    /// Every variant that is planned on its own, in planning order.
    pub const PLANNED: [Variant; 12] = [
        Variant::FastBurst,
        Variant::LowAndSlow,
        Variant::PasswordSpray,
        Variant::ManyAddresses,
        Variant::SuccessFromHosting,
        Variant::CryptoMiningBurst,
        Variant::LightsailVps,
        Variant::DormantPrincipalInstance,
        Variant::AzureNewRegion,
        Variant::GcpNewZone,
        Variant::DataTransferJump,
        Variant::StorageJump,
    ];

    pub fn kind(self) -> AttackKind {
        match self {
            Variant::FastBurst
            | Variant::LowAndSlow
            | Variant::PasswordSpray
            | Variant::ManyAddresses
            | Variant::SuccessFromHosting => AttackKind::CredentialStuffing,
            Variant::CryptoMiningBurst
            | Variant::LightsailVps
            | Variant::DormantPrincipalInstance
            | Variant::AzureNewRegion
            | Variant::GcpNewZone => AttackKind::Provisioning,
            Variant::DataTransferJump | Variant::StorageJump | Variant::AfterProvisioning => {
                AttackKind::BillingJump
            }
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Variant::FastBurst => "fast_burst",
            Variant::LowAndSlow => "low_and_slow",
            Variant::PasswordSpray => "password_spray",
            Variant::ManyAddresses => "many_addresses",
            Variant::SuccessFromHosting => "success_from_hosting",
            Variant::CryptoMiningBurst => "crypto_mining_burst",
            Variant::LightsailVps => "lightsail_vps",
            Variant::DormantPrincipalInstance => "dormant_principal_instance",
            Variant::AzureNewRegion => "azure_new_region",
            Variant::GcpNewZone => "gcp_new_zone",
            Variant::DataTransferJump => "data_transfer_jump",
            Variant::StorageJump => "storage_jump",
            Variant::AfterProvisioning => "after_provisioning",
        }
    }

    /// The clouds the variant can run on, preferred first.
    fn clouds(self) -> &'static [Cloud] {
        match self {
            Variant::FastBurst | Variant::SuccessFromHosting => {
                &[Cloud::Aws, Cloud::Azure, Cloud::Gcp]
            }
            Variant::LowAndSlow | Variant::PasswordSpray => &[Cloud::Azure, Cloud::Gcp, Cloud::Aws],
            Variant::ManyAddresses => &[Cloud::Gcp, Cloud::Aws, Cloud::Azure],
            Variant::CryptoMiningBurst => &[Cloud::Aws, Cloud::Gcp, Cloud::Azure],
            Variant::DormantPrincipalInstance => &[Cloud::Aws, Cloud::Azure, Cloud::Gcp],
            Variant::LightsailVps => &[Cloud::Aws],
            Variant::AzureNewRegion => &[Cloud::Azure],
            Variant::GcpNewZone => &[Cloud::Gcp],
            Variant::DataTransferJump => &[Cloud::Gcp, Cloud::Aws, Cloud::Azure],
            Variant::StorageJump => &[Cloud::Azure, Cloud::Aws, Cloud::Gcp],
            Variant::AfterProvisioning => &[],
        }
    }
}

/// One attack, ready to be merged into the world as it is written.
pub struct PlannedAttack {
    pub company: usize,
    pub presence: usize,
    pub activities: Vec<Activity>,
    pub costs: Vec<CostLine>,
    pub labels: Vec<Label>,
}

/// Plans every attack of the selected kinds. Labels are numbered in time order.
pub fn plan(world: &World, kinds: &BTreeSet<AttackKind>) -> Vec<PlannedAttack> {
    let mut rand = Rand::new(world.seed, "attacks");
    let presences: Vec<(usize, usize)> = world
        .companies
        .iter()
        .flat_map(|c| (0..c.presences.len()).map(move |p| (c.index, p)))
        .collect();
    let rounds = 1 + world.companies.len() as u32 / TENANTS_PER_ROUND;
    let mut planner = Planner {
        world,
        busy: BTreeMap::new(),
        taken_regions: BTreeMap::new(),
        attacks: Vec::new(),
    };
    for round in 0..rounds as usize {
        for variant in Variant::PLANNED {
            if !kinds.contains(&variant.kind()) {
                continue;
            }
            let Some(target) =
                choose_presence(world, variant, round, &presences, &planner.busy, &mut rand)
            else {
                tracing::warn!(
                    variant = variant.name(),
                    "No tenant can host this attack variant; skipped"
                );
                continue;
            };
            let stream = format!("attack/{round}/{}", variant.name());
            planner.place(variant, target, &stream, &mut rand);
        }
    }
    if let Some(specials) = world.specials {
        let mut cover = Rand::new(world.seed, "attacks/coverage");
        let targets = [
            (specials.small, 0),
            (specials.young, 0),
            (specials.quiet, 0),
        ];
        for (company, presence) in targets {
            for variant in COVERAGE_VARIANTS {
                let planned = planner.attacks.iter().any(|attack| {
                    (attack.company, attack.presence) == (company, presence)
                        && attack.labels[0].variant == variant.name()
                });
                if kinds.contains(&variant.kind())
                    && !planned
                    && hosts(
                        variant,
                        &world.companies[company],
                        &world.companies[company].presences[presence],
                    )
                {
                    let stream = format!("attack/cover/{company}/{presence}/{}", variant.name());
                    planner.place(variant, (company, presence), &stream, &mut cover);
                }
            }
        }
    }
    let mut attacks = planner.attacks;
    attacks.sort_by_key(|attack| attack.labels[0].start);
    let mut number = 0;
    for attack in &mut attacks {
        for label in &mut attack.labels {
            number += 1;
            label.id = format!("A{number:03}");
        }
    }
    attacks
}

/// What planning has decided so far: which days and regions each tenant-cloud's attacks use.
struct Planner<'w> {
    world: &'w World,
    busy: BTreeMap<(usize, usize), Vec<u32>>,
    taken_regions: BTreeMap<(usize, usize), Vec<&'static str>>,
    attacks: Vec<PlannedAttack>,
}

impl Planner<'_> {
    /// Plans `variant` on the tenant-cloud `target` on a free day (drawn from `rand`); the
    /// attack itself draws from the stream named `stream`.
    fn place(
        &mut self,
        variant: Variant,
        (company, presence): (usize, usize),
        stream: &str,
        rand: &mut Rand,
    ) {
        let world = self.world;
        let used = self.busy.entry((company, presence)).or_default();
        let Some(day) = choose_day(
            world,
            &world.companies[company].presences[presence],
            used,
            variant,
            rand,
        ) else {
            tracing::debug!(
                variant = variant.name(),
                "No free day left on the chosen tenant-cloud; skipped"
            );
            return;
        };
        used.push(day);
        let mut context = Context {
            world,
            company: &world.companies[company],
            presence: &world.companies[company].presences[presence],
            rand: Rand::new(world.seed, stream),
            day,
            taken: self.taken_regions.entry((company, presence)).or_default(),
        };
        if let Some(built) = build(variant, &mut context) {
            self.attacks
                .push(finish(world, company, presence, variant, built));
        }
    }
}

fn choose_presence(
    world: &World,
    variant: Variant,
    round: usize,
    presences: &[(usize, usize)],
    busy: &BTreeMap<(usize, usize), Vec<u32>>,
    rand: &mut Rand,
) -> Option<(usize, usize)> {
    let clouds = variant.clouds();
    (0..clouds.len()).find_map(|offset| {
        let cloud = clouds[(round + offset) % clouds.len()];
        let mut candidates: Vec<(usize, (usize, usize))> = presences
            .iter()
            .filter(|&&(c, p)| world.companies[c].presences[p].cloud == cloud)
            .filter(|&&(c, p)| {
                hosts(
                    variant,
                    &world.companies[c],
                    &world.companies[c].presences[p],
                )
            })
            .map(|&key| (busy.get(&key).map_or(0, Vec::len), key))
            .collect();
        candidates.sort();
        let fewest = candidates.first()?.0;
        let least_busy: Vec<(usize, usize)> = candidates
            .iter()
            .filter(|(load, _)| *load == fewest)
            .map(|(_, key)| *key)
            .collect();
        Some(*rand.pick(&least_busy))
    })
}

/// Whether a tenant-cloud has what a variant needs.
fn hosts(variant: Variant, company: &Company, presence: &Presence) -> bool {
    match variant {
        Variant::DormantPrincipalInstance => {
            steady_people(company, presence).any(|p| company.people[p].role == Role::Analyst)
        }
        Variant::GcpNewZone => presence
            .automations
            .iter()
            .any(|a| a.kind == AutomationKind::Deployer),
        // A jump needs a usual level to jump from: not in a tenant-cloud that has only just
        // begun (the cost of a provisioning attack there is still labelled, as it is in the data).
        Variant::DataTransferJump | Variant::StorageJump if presence.first_day > 0 => false,
        _ => steady_people(company, presence).next().is_some(),
    }
}

/// People present for the whole window (no new hires, no leavers).
fn steady_people<'c>(
    company: &'c Company,
    presence: &'c Presence,
) -> impl Iterator<Item = usize> + 'c {
    presence.users.iter().copied().filter(|&p| {
        let habits = &company.people[p].habits;
        habits.joins.is_none() && habits.leaves.is_none()
    })
}

/// A day after the quiet start, not next to another attack on the same tenant-cloud, and for
/// billing jumps not touching the day without billing data.
fn choose_day(
    world: &World,
    presence: &Presence,
    used: &[u32],
    variant: Variant,
    rand: &mut Rand,
) -> Option<u32> {
    let days = world.days;
    let mut first = ((f64::from(days) * QUIET_SHARE) as u32).max(QUIET_DAYS.min(days / 2));
    if presence.first_day > 0 {
        // A young tenant-cloud is attacked once it has a few days of data.
        first = first.max(presence.first_day + normal::YOUNG_ACCOUNT_HISTORY_DAYS);
    }
    let first = first.min(days.saturating_sub(1));
    let last = days.saturating_sub(2).max(first);
    let missing = presence.routine.billing.missing_day;
    let billing_only = matches!(variant, Variant::DataTransferJump | Variant::StorageJump);
    let candidates: Vec<u32> = (first..=last)
        .filter(|d| used.iter().all(|u| u.abs_diff(*d) > 1))
        .filter(|d| !billing_only || (*d..d + 5).all(|x| x != missing))
        .collect();
    if candidates.is_empty() {
        return (first..=last).find(|d| !used.contains(d));
    }
    Some(*rand.pick(&candidates))
}

struct Context<'w> {
    world: &'w World,
    company: &'w Company,
    presence: &'w Presence,
    rand: Rand,
    day: u32,
    /// Regions earlier attacks on this tenant-cloud already used.
    taken: &'w mut Vec<&'static str>,
}

/// What building a variant produced.
struct Built {
    account: usize,
    activities: Vec<Activity>,
    costs: Vec<CostLine>,
}

impl Context<'_> {
    /// A time on the attack day (UTC hour range).
    fn time(&mut self, from_hour: f64, to_hour: f64) -> DateTime<Utc> {
        let millis = (self.rand.float(from_hour, to_hour) * 3_600_000.0) as i64;
        self.world.day_start(i64::from(self.day)) + Duration::milliseconds(millis)
    }

    fn hosting(&mut self) -> (Ipv4Addr, &'static HostingPrefix) {
        let prefix = self.rand.pick(HOSTING_PREFIXES);
        (prefix.cidr.address(&mut self.rand), prefix)
    }

    /// A person present all window, preferring those without MFA when asked (attackers succeed
    /// where MFA is not enforced).
    fn victim(&mut self, prefer_no_mfa: bool, role: Option<Role>) -> usize {
        let people: Vec<usize> = steady_people(self.company, self.presence)
            .filter(|&p| role.is_none_or(|r| self.company.people[p].role == r))
            .collect();
        let without_mfa: Vec<usize> = people
            .iter()
            .copied()
            .filter(|&p| !self.company.people[p].habits.mfa)
            .collect();
        if prefer_no_mfa && !without_mfa.is_empty() {
            *self.rand.pick(&without_mfa)
        } else {
            *self.rand.pick(&people)
        }
    }

    /// An engineer or admin whose keys are stolen.
    fn key_owner(&mut self) -> usize {
        let builders: Vec<usize> = steady_people(self.company, self.presence)
            .filter(|&p| self.company.people[p].role != Role::Analyst)
            .collect();
        if builders.is_empty() {
            self.victim(false, None)
        } else {
            *self.rand.pick(&builders)
        }
    }

    /// A region (or zone) the tenant-cloud never uses, benignly or in another attack.
    fn fresh_region(&mut self, from: &[&'static str]) -> &'static str {
        let used = normal::benign_regions(self.presence);
        let fresh: Vec<&'static str> = from
            .iter()
            .copied()
            .filter(|r| !used.contains(r) && !self.taken.contains(r))
            .filter(|r| {
                self.presence.cloud != Cloud::Gcp
                    || !used
                        .iter()
                        .any(|u| catalog::gcp_region(u) == catalog::gcp_region(r))
            })
            .collect();
        let region = if fresh.is_empty() {
            *self.rand.pick(from)
        } else {
            *self.rand.pick(&fresh)
        };
        self.taken.push(region);
        region
    }

    fn sign_in(
        &self,
        person: usize,
        time: DateTime<Utc>,
        address: Ipv4Addr,
        prefix: &HostingPrefix,
        result: SignInResult,
        agent: &'static str,
    ) -> Activity {
        let client = match agent {
            ROPC | SCRIPTED_LOGIN => "Other clients",
            _ => "Browser",
        };
        Activity {
            time,
            account: 0,
            actor: Actor::Person(person),
            origin: Origin::Address(address),
            user_agent: agent,
            action: Action::SignIn(SignIn {
                result,
                city: prefix.city,
                country: prefix.country,
                mfa: result == SignInResult::MfaRequired,
                client,
            }),
        }
    }
}

fn build(variant: Variant, context: &mut Context) -> Option<Built> {
    match variant {
        Variant::FastBurst => Some(fast_burst(context)),
        Variant::LowAndSlow => Some(low_and_slow(context)),
        Variant::PasswordSpray => Some(password_spray(context)),
        Variant::ManyAddresses => Some(many_addresses(context)),
        Variant::SuccessFromHosting => Some(success_from_hosting(context)),
        Variant::CryptoMiningBurst => Some(crypto_mining(context)),
        Variant::LightsailVps => Some(lightsail(context)),
        Variant::DormantPrincipalInstance => Some(dormant_principal(context)),
        Variant::AzureNewRegion => Some(azure_new_region(context)),
        Variant::GcpNewZone => Some(gcp_new_zone(context)),
        Variant::DataTransferJump => Some(cost_jump(context, Spend::DataTransfer)),
        Variant::StorageJump => Some(cost_jump(context, Spend::Storage)),
        Variant::AfterProvisioning => None,
    }
}

/// After a console sign-in on AWS, the attacker looks around and creates an access key.
fn aws_follow_up(
    context: &mut Context,
    person: usize,
    from: DateTime<Utc>,
    address: Ipv4Addr,
    out: &mut Vec<Activity>,
) {
    if context.presence.cloud != Cloud::Aws {
        return;
    }
    let mut time = from;
    for _ in 0..context.rand.int(5, 12) {
        time += Duration::seconds(i64::from(context.rand.int(5, 90)));
        let op = context.rand.pick_weighted(AWS_RECON);
        out.push(call(
            person,
            time,
            address,
            "console.amazonaws.com",
            op,
            global_region(op, context.presence),
        ));
    }
    time += Duration::seconds(i64::from(context.rand.int(30, 300)));
    out.push(call(
        person,
        time,
        address,
        "console.amazonaws.com",
        &AWS_PERSIST,
        "us-east-1",
    ));
}

fn global_region(op: &ApiOp, presence: &Presence) -> &'static str {
    if op.service.starts_with("iam.") {
        "us-east-1"
    } else {
        presence.regions[0]
    }
}

fn call(
    person: usize,
    time: DateTime<Utc>,
    address: Ipv4Addr,
    agent: &'static str,
    op: &'static ApiOp,
    region: &'static str,
) -> Activity {
    Activity {
        time,
        account: 0,
        actor: Actor::Person(person),
        origin: Origin::Address(address),
        user_agent: agent,
        action: Action::Call(Call {
            op,
            region,
            failure: None,
        }),
    }
}

fn login_agent(cloud: Cloud, scripted: bool) -> &'static str {
    match (cloud, scripted) {
        (Cloud::Azure, true) => ROPC,
        (_, true) => SCRIPTED_LOGIN,
        (_, false) => ATTACK_BROWSER,
    }
}

fn fast_burst(context: &mut Context) -> Built {
    let victim = context.victim(true, None);
    let (address, prefix) = context.hosting();
    let agent = login_agent(context.presence.cloud, true);
    let mut time = context.time(0.0, 20.0);
    let mut activities = Vec::new();
    for _ in 0..context.rand.int(30, 80) {
        activities.push(context.sign_in(
            victim,
            time,
            address,
            prefix,
            SignInResult::WrongPassword,
            agent,
        ));
        time += Duration::seconds(i64::from(context.rand.int(2, 8)));
    }
    activities.push(context.sign_in(victim, time, address, prefix, SignInResult::Success, agent));
    aws_follow_up(context, victim, time, address, &mut activities);
    Built {
        account: 0,
        activities,
        costs: Vec::new(),
    }
}

fn low_and_slow(context: &mut Context) -> Built {
    let victim = context.victim(true, None);
    let sources: Vec<(Ipv4Addr, &'static HostingPrefix)> = (0..context.rand.int(3, 6))
        .map(|_| context.hosting())
        .collect();
    let agent = login_agent(context.presence.cloud, true);
    let mut time = context.time(0.0, 6.0);
    let end = time + Duration::hours(i64::from(context.rand.int(20, 26)));
    let mut activities = Vec::new();
    while time < end {
        let (address, prefix) = *context.rand.pick(&sources);
        activities.push(context.sign_in(
            victim,
            time,
            address,
            prefix,
            SignInResult::WrongPassword,
            agent,
        ));
        time += Duration::minutes(i64::from(context.rand.int(25, 70)));
    }
    let (address, prefix) = *context.rand.pick(&sources);
    activities.push(context.sign_in(victim, time, address, prefix, SignInResult::Success, agent));
    aws_follow_up(context, victim, time, address, &mut activities);
    Built {
        account: 0,
        activities,
        costs: Vec::new(),
    }
}

fn password_spray(context: &mut Context) -> Built {
    let mut targets: Vec<usize> = steady_people(context.company, context.presence).collect();
    context.rand.shuffle(&mut targets);
    targets.truncate(40);
    let sources: Vec<(Ipv4Addr, &'static HostingPrefix)> = (0..context.rand.int(1, 3))
        .map(|_| context.hosting())
        .collect();
    let agent = login_agent(context.presence.cloud, true);
    let cloud = context.presence.cloud;
    let winner = targets
        .iter()
        .copied()
        .find(|&p| !context.company.people[p].habits.mfa)
        .unwrap_or(targets[targets.len() - 1]);
    let mut time = context.time(1.0, 20.0);
    let mut activities = Vec::new();
    let mut guessed_with_mfa = 0;
    for round in 0..context.rand.int(1, 2) {
        for (n, &target) in targets.iter().enumerate() {
            if target == winner {
                continue;
            }
            let (address, prefix) = sources[(n + round as usize) % sources.len()];
            // On Entra the spray guesses a few passwords right; MFA stops it there (50076).
            let has_mfa = context.company.people[target].habits.mfa;
            let result = if cloud == Cloud::Azure
                && has_mfa
                && guessed_with_mfa < 2
                && context.rand.chance(0.1)
            {
                guessed_with_mfa += 1;
                SignInResult::MfaRequired
            } else {
                SignInResult::WrongPassword
            };
            activities.push(context.sign_in(target, time, address, prefix, result, agent));
            time += Duration::seconds(i64::from(context.rand.int(3, 20)));
        }
        time += Duration::minutes(i64::from(context.rand.int(20, 50)));
    }
    let (address, prefix) = sources[0];
    activities.push(context.sign_in(winner, time, address, prefix, SignInResult::Success, agent));
    aws_follow_up(context, winner, time, address, &mut activities);
    Built {
        account: 0,
        activities,
        costs: Vec::new(),
    }
}

fn many_addresses(context: &mut Context) -> Built {
    let victim = context.victim(true, None);
    let agent = login_agent(context.presence.cloud, true);
    let start = context.time(0.0, 18.0);
    let span = f64::from(context.rand.int(2, 4)) * 3600.0;
    let mut activities = Vec::new();
    let mut last = start;
    let mut sources = Vec::new();
    for _ in 0..context.rand.int(20, 40) {
        let (address, prefix) = context.hosting();
        sources.push((address, prefix));
        for _ in 0..context.rand.int(1, 3) {
            let time = start + Duration::seconds(context.rand.float(0.0, span) as i64);
            last = last.max(time);
            activities.push(context.sign_in(
                victim,
                time,
                address,
                prefix,
                SignInResult::WrongPassword,
                agent,
            ));
        }
    }
    let (address, prefix) = *context.rand.pick(&sources);
    let time = last + Duration::seconds(i64::from(context.rand.int(10, 120)));
    activities.push(context.sign_in(victim, time, address, prefix, SignInResult::Success, agent));
    aws_follow_up(context, victim, time, address, &mut activities);
    Built {
        account: 0,
        activities,
        costs: Vec::new(),
    }
}

fn success_from_hosting(context: &mut Context) -> Built {
    let victim = context.victim(true, None);
    let (address, prefix) = context.hosting();
    let agent = login_agent(context.presence.cloud, false);
    let mut time = context.time(0.0, 22.0);
    let mut activities = Vec::new();
    for _ in 0..context.rand.int(1, 2) {
        activities.push(context.sign_in(
            victim,
            time,
            address,
            prefix,
            SignInResult::WrongPassword,
            agent,
        ));
        time += Duration::seconds(i64::from(context.rand.int(15, 90)));
    }
    activities.push(context.sign_in(victim, time, address, prefix, SignInResult::Success, agent));
    aws_follow_up(context, victim, time, address, &mut activities);
    Built {
        account: 0,
        activities,
        costs: Vec::new(),
    }
}

/// Launches as an attacker's tooling makes them: who, from where, with which agent.
struct Launcher {
    actor: Actor,
    address: Ipv4Addr,
    agent: &'static str,
    account: usize,
}

impl Launcher {
    fn launch(&self, time: DateTime<Utc>, launch: Launch) -> Activity {
        Activity {
            time,
            account: self.account,
            actor: self.actor,
            origin: Origin::Address(self.address),
            user_agent: self.agent,
            action: Action::Launch(launch),
        }
    }

    fn call(&self, time: DateTime<Utc>, op: &'static ApiOp, region: &'static str) -> Activity {
        Activity {
            time,
            account: self.account,
            actor: self.actor,
            origin: Origin::Address(self.address),
            user_agent: self.agent,
            action: Action::Call(Call {
                op,
                region,
                failure: None,
            }),
        }
    }
}

fn attacker_agent(cloud: Cloud, rand: &mut Rand) -> &'static str {
    match cloud {
        Cloud::Aws => rand.choose(&[ATTACK_AWS_CLI, ATTACK_BOTO]),
        Cloud::Azure => ATTACK_AZURE,
        Cloud::Gcp => ATTACK_GCLOUD,
    }
}

/// The machines run from their launch until they are found (or the window ends): one cost line
/// per UTC day, for the hours they ran that day.
fn running_cost(
    world: &World,
    account: usize,
    spend: Spend,
    region: &'static str,
    machines: &[(DateTime<Utc>, MachineType, u32)],
    until: DateTime<Utc>,
) -> Vec<CostLine> {
    let mut by_day: BTreeMap<NaiveDate, f64> = BTreeMap::new();
    for &(from, machine, count) in machines {
        let mut at = from;
        while at < until {
            let next_midnight =
                world.day_start(0) + Duration::days((at - world.day_start(0)).num_days() + 1);
            let to = next_midnight.min(until);
            let hours = (to - at).num_seconds() as f64 / 3600.0;
            *by_day.entry(at.date_naive()).or_default() +=
                hours * machine.usd_per_hour * f64::from(count);
            at = to;
        }
    }
    by_day
        .into_iter()
        .map(|(day, cost)| CostLine {
            day,
            account,
            spend,
            cost: round_cost(cost),
            line_type: "Usage",
            region: Some(region),
        })
        .collect()
}

/// Until when stolen machines run: a few days, never past the window.
fn run_until(context: &mut Context, from: DateTime<Utc>, hours: (u32, u32)) -> DateTime<Utc> {
    (from + Duration::hours(i64::from(context.rand.int(hours.0, hours.1)))).min(context.world.end())
}

fn crypto_mining(context: &mut Context) -> Built {
    let cloud = context.presence.cloud;
    let (address, _) = context.hosting();
    let (actor, account) = match cloud {
        Cloud::Gcp => deployer_key(context),
        _ => (Actor::Person(context.key_owner()), 0),
    };
    let agent = attacker_agent(cloud, &mut context.rand);
    let launcher = Launcher {
        actor,
        address,
        agent,
        account,
    };
    let region = context.fresh_region(cloud.all_regions());
    let machine = *context.rand.pick(catalog::machines(cloud).mining);
    let mut time = context.time(0.0, 20.0);
    let mut activities = Vec::new();
    if cloud == Cloud::Aws {
        for _ in 0..context.rand.int(2, 4) {
            let op = context.rand.pick_weighted(AWS_RECON);
            activities.push(launcher.call(time, op, global_region(op, context.presence)));
            time += Duration::seconds(i64::from(context.rand.int(3, 40)));
        }
    }
    let mut running = Vec::new();
    let calls = match cloud {
        Cloud::Azure => 1,
        _ => context.rand.int(3, 6),
    };
    for n in 0..calls {
        let (api, count) = match cloud {
            Cloud::Aws if context.rand.chance(0.3) => {
                (LaunchApi::Ec2RequestSpotInstances, context.rand.int(5, 20))
            }
            Cloud::Aws => (LaunchApi::Ec2RunInstances, context.rand.int(5, 20)),
            Cloud::Azure => (LaunchApi::AzureScaleSet, context.rand.int(10, 30)),
            Cloud::Gcp => (LaunchApi::GceBulkInsert, context.rand.int(4, 10)),
        };
        let refused = cloud == Cloud::Aws && n == 0 && context.rand.chance(0.5);
        activities.push(launcher.launch(
            time,
            Launch {
                api,
                region,
                machine_type: machine.name,
                count,
                name: format!("xmrig-{}", context.rand.hex(5)),
                failure: refused.then_some(VCPU_LIMIT),
            },
        ));
        if !refused {
            running.push((time, machine, count));
        }
        time += Duration::seconds(i64::from(context.rand.int(10, 120)));
    }
    let until = run_until(context, time, (36, 96));
    let costs = running_cost(
        context.world,
        account,
        Spend::Compute,
        region,
        &running,
        until,
    );
    Built {
        account,
        activities,
        costs,
    }
}

/// A leaked CI service-account key (GCP attackers rarely get a human's password and MFA).
fn deployer_key(context: &mut Context) -> (Actor, usize) {
    let deployers: Vec<usize> = context
        .presence
        .automations
        .iter()
        .enumerate()
        .filter(|(_, a)| a.kind == AutomationKind::Deployer)
        .map(|(i, _)| i)
        .collect();
    let index = *context.rand.pick(&deployers);
    (
        Actor::Automation(index),
        context.presence.automations[index].account,
    )
}

fn lightsail(context: &mut Context) -> Built {
    let (address, _) = context.hosting();
    let agent = attacker_agent(Cloud::Aws, &mut context.rand);
    let launcher = Launcher {
        actor: Actor::Person(context.key_owner()),
        address,
        agent,
        account: 0,
    };
    let region = *context.rand.pick(LIGHTSAIL_REGIONS);
    let bundle = catalog::LIGHTSAIL_BUNDLES[context.rand.int(2, 3) as usize];
    let mut time = context.time(0.0, 22.0);
    let mut activities = Vec::new();
    for (op, _) in LIGHTSAIL_RECON {
        activities.push(launcher.call(time, op, region));
        time += Duration::seconds(i64::from(context.rand.int(2, 30)));
    }
    let count = context.rand.int(1, 3);
    activities.push(launcher.launch(
        time,
        Launch {
            api: LaunchApi::LightsailCreateInstances,
            region,
            machine_type: bundle.name,
            count,
            name: format!("Ubuntu-{}", context.rand.hex(4)),
            failure: None,
        },
    ));
    let until = context.world.end();
    let costs = running_cost(
        context.world,
        0,
        Spend::Vps,
        region,
        &[(time, bundle, count)],
        until,
    );
    Built {
        account: 0,
        activities,
        costs,
    }
}

fn dormant_principal(context: &mut Context) -> Built {
    let cloud = context.presence.cloud;
    let analyst = context.victim(false, Some(Role::Analyst));
    let (address, _) = context.hosting();
    let agent = attacker_agent(cloud, &mut context.rand);
    let account = 0;
    let launcher = Launcher {
        actor: Actor::Person(analyst),
        address,
        agent,
        account,
    };
    let region = context.presence.regions[0];
    let machine = *context.rand.pick(catalog::machines(cloud).batch);
    let time = context.time(0.0, 23.0);
    let api = match cloud {
        Cloud::Aws => LaunchApi::Ec2RunInstances,
        Cloud::Azure => LaunchApi::AzureVirtualMachine,
        Cloud::Gcp => LaunchApi::GceInsert,
    };
    let activities = vec![launcher.launch(
        time,
        Launch {
            api,
            region,
            machine_type: machine.name,
            count: 1,
            name: format!("srv-{}", context.rand.hex(6)),
            failure: None,
        },
    )];
    let until = context.world.end();
    let costs = running_cost(
        context.world,
        account,
        Spend::Compute,
        region,
        &[(time, machine, 1)],
        until,
    );
    Built {
        account,
        activities,
        costs,
    }
}

fn azure_new_region(context: &mut Context) -> Built {
    let (address, _) = context.hosting();
    let launcher = Launcher {
        actor: Actor::Person(context.key_owner()),
        address,
        agent: ATTACK_AZURE,
        account: 0,
    };
    let region = context.fresh_region(catalog::AZURE_LOCATIONS);
    let machine = *context.rand.pick(catalog::AZURE_MACHINES.mining);
    let mut time = context.time(0.0, 22.0);
    let activities = {
        let mut list = vec![launcher.call(time, &AZURE_NEW_GROUP, region)];
        time += Duration::seconds(i64::from(context.rand.int(20, 90)));
        let count = context.rand.int(10, 30);
        list.push(launcher.launch(
            time,
            Launch {
                api: LaunchApi::AzureScaleSet,
                region,
                machine_type: machine.name,
                count,
                name: format!("vmss{}", context.rand.hex(6)),
                failure: None,
            },
        ));
        list
    };
    let Action::Launch(launch) = &activities[1].action else {
        unreachable!("built above")
    };
    let running = vec![(time, machine, launch.count)];
    let until = run_until(context, time, (24, 72));
    let costs = running_cost(context.world, 0, Spend::Compute, region, &running, until);
    Built {
        account: 0,
        activities,
        costs,
    }
}

fn gcp_new_zone(context: &mut Context) -> Built {
    let (actor, account) = deployer_key(context);
    let (address, _) = context.hosting();
    let launcher = Launcher {
        actor,
        address,
        agent: ATTACK_GCLOUD,
        account,
    };
    let zone = context.fresh_region(catalog::GCP_ZONES);
    let machine = *context.rand.pick(catalog::GCP_MACHINES.batch);
    let mut time = context.time(0.0, 22.0);
    let mut activities = Vec::new();
    let mut running = Vec::new();
    for _ in 0..context.rand.int(4, 8) {
        activities.push(launcher.launch(
            time,
            Launch {
                api: LaunchApi::GceInsert,
                region: zone,
                machine_type: machine.name,
                count: 1,
                name: format!("instance-{}", context.rand.hex(6)),
                failure: None,
            },
        ));
        running.push((time, machine, 1));
        time += Duration::seconds(i64::from(context.rand.int(5, 20)));
    }
    let until = run_until(context, time, (24, 72));
    let costs = running_cost(
        context.world,
        account,
        Spend::Compute,
        zone,
        &running,
        until,
    );
    Built {
        account,
        activities,
        costs,
    }
}

/// A jump with no provisioning behind it: traffic (exfiltration, a hijacked bucket serving
/// files) or storage (someone parking data) multiplies for a few days.
fn cost_jump(context: &mut Context, spend: Spend) -> Built {
    let profile = &context.presence.routine.billing;
    let base = profile
        .daily
        .iter()
        .find(|(s, ..)| *s == spend)
        .map_or(50.0, |(_, base, ..)| *base);
    let days = context.rand.int(3, 5);
    let costs = (0..days)
        .map(|n| {
            let factor = match spend {
                Spend::Storage => 2.0 + 1.5 * f64::from(n),
                _ => context.rand.float(8.0, 20.0),
            };
            CostLine {
                day: context.world.start + Duration::days(i64::from(context.day + n)),
                account: 0,
                spend,
                cost: round_cost(base * factor * context.rand.jitter(0.1)),
                line_type: "Usage",
                region: Some(context.presence.regions[0]),
            }
        })
        .filter(|line| {
            line.day < context.world.start + Duration::days(i64::from(context.world.days))
        })
        .collect();
    Built {
        account: 0,
        activities: Vec::new(),
        costs,
    }
}

/// Turns what a variant built into labels: its own, and a billing jump when its cost is large.
fn finish(
    world: &World,
    company: usize,
    presence: usize,
    variant: Variant,
    mut built: Built,
) -> PlannedAttack {
    // In a very short window the tail of a slow attack can fall after the end: it is not
    // written, so it is not labelled either.
    built
        .activities
        .retain(|activity| activity.time < world.end());
    let the_company = &world.companies[company];
    let the_presence = &the_company.presences[presence];
    let tenant_wide = built
        .activities
        .iter()
        .all(|a| matches!(a.action, Action::SignIn(_)));
    let account = if tenant_wide && !built.activities.is_empty() {
        the_presence.tenant.clone()
    } else {
        the_presence.accounts[built.account].id.clone()
    };
    let label = |variant: Variant, start, end, principals, src_ips| Label {
        id: String::new(),
        kind: variant.kind(),
        variant: variant.name().into(),
        provider: the_presence.cloud.provider(),
        tenant: the_presence.tenant.clone(),
        account: account.clone(),
        start,
        end,
        principals,
        src_ips,
    };
    let cost_window = |costs: &[CostLine]| -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let first = costs.iter().map(|c| c.day).min()?;
        let last = costs.iter().map(|c| c.day).max()?;
        let start = world.day_start((first - world.start).num_days());
        let end = world.day_start((last - world.start).num_days() + 1) - Duration::seconds(1);
        Some((start, end))
    };
    let mut labels = Vec::new();
    if built.activities.is_empty() {
        if let Some((start, end)) = cost_window(&built.costs) {
            labels.push(label(variant, start, end, Vec::new(), Vec::new()));
        }
    } else {
        let start = built
            .activities
            .iter()
            .map(|a| a.time)
            .min()
            .unwrap_or_default();
        // The window ends with the last record the attack causes, follow-ups included
        // (an Azure `Succeeded`, a GCP operation's last entry), rounded out to whole seconds.
        let end = built
            .activities
            .iter()
            .map(|a| writers::last_record_bound(the_presence.cloud, a))
            .max()
            .unwrap_or_default();
        let end = if end.nanosecond() > 0 {
            end.with_nanosecond(0).unwrap_or(end) + Duration::seconds(1)
        } else {
            end
        };
        let principals: BTreeSet<String> = built
            .activities
            .iter()
            .filter_map(|a| writers::logged_principal(world, the_company, the_presence, a))
            .collect();
        let addresses: BTreeSet<Ipv4Addr> = built
            .activities
            .iter()
            .filter_map(|a| a.origin.address())
            .collect();
        labels.push(label(
            variant,
            start.with_nanosecond(0).unwrap_or(start),
            end,
            principals.into_iter().collect(),
            addresses.iter().map(Ipv4Addr::to_string).collect(),
        ));
        let compute_base = the_presence
            .routine
            .billing
            .daily
            .iter()
            .find(|(s, ..)| *s == Spend::Compute)
            .map_or(0.0, |(_, base, ..)| *base);
        // The jump is judged in the account that pays for it: a dev project carries only a
        // share of the tenant's routine compute.
        let account = built.costs.first().map_or(0, |c| c.account);
        let account_base =
            compute_base * super::normal::account_spend_share(the_presence.accounts.len(), account);
        let peak = built.costs.iter().map(|c| c.cost).fold(0.0, f64::max);
        if peak > JUMP_SHARE_OF_COMPUTE * account_base {
            if let Some((start, end)) = cost_window(&built.costs) {
                labels.push(label(
                    Variant::AfterProvisioning,
                    start,
                    end,
                    Vec::new(),
                    Vec::new(),
                ));
            }
        }
    }
    PlannedAttack {
        company,
        presence,
        activities: built.activities,
        costs: built.costs,
        labels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world(tenants: u32) -> World {
        World::build(
            5,
            NaiveDate::from_ymd_opt(2025, 3, 3).unwrap(),
            21,
            tenants,
            0.1,
        )
    }

    fn all_kinds() -> BTreeSet<AttackKind> {
        AttackKind::ALL.into_iter().collect()
    }

    #[test]
    fn every_variant_is_planned_once_in_a_small_world() {
        let world = world(4);
        let attacks = plan(&world, &all_kinds());
        let variants: BTreeSet<String> = attacks
            .iter()
            .flat_map(|a| &a.labels)
            .map(|l| l.variant.clone())
            .collect();
        for variant in Variant::PLANNED {
            if variant == Variant::DormantPrincipalInstance
                && !world
                    .companies
                    .iter()
                    .any(|c| c.presences.iter().any(|p| hosts(variant, c, p)))
            {
                continue;
            }
            assert!(
                variants.contains(variant.name()),
                "{} missing",
                variant.name()
            );
        }
        assert!(
            variants.contains("after_provisioning"),
            "the mining burst runs up the bill"
        );
    }

    #[test]
    fn attacks_come_from_hosting_prefixes_and_new_regions() {
        let world = world(6);
        for attack in plan(&world, &all_kinds()) {
            let presence = &world.companies[attack.company].presences[attack.presence];
            let benign = normal::benign_regions(presence);
            for activity in &attack.activities {
                let address = activity
                    .origin
                    .address()
                    .expect("attackers call from an address");
                assert!(is_hosting_address(address), "{address}");
                if let Action::Launch(launch) = &activity.action {
                    if matches!(
                        attack.labels[0].variant.as_str(),
                        "crypto_mining_burst" | "azure_new_region" | "gcp_new_zone"
                    ) {
                        assert!(
                            !benign.contains(&launch.region),
                            "{} is not new",
                            launch.region
                        );
                    }
                }
            }
            for label in &attack.labels {
                assert!(label.start <= label.end);
                assert!(label.start >= world.day_start(0) && label.end <= world.end());
            }
        }
    }

    #[test]
    fn the_small_young_and_quiet_tenant_clouds_are_attacked() {
        let world = World::build(5, NaiveDate::from_ymd_opt(2025, 3, 3).unwrap(), 28, 4, 0.1);
        let specials = world.specials.expect("4 companies have specials");
        let attacks = plan(&world, &all_kinds());
        for company in [specials.small, specials.young, specials.quiet] {
            let variants: BTreeSet<&str> = attacks
                .iter()
                .filter(|a| a.company == company && a.presence == 0)
                .flat_map(|a| &a.labels)
                .map(|l| l.variant.as_str())
                .collect();
            assert!(
                variants.contains("crypto_mining_burst") && variants.contains("fast_burst"),
                "company {company}: {variants:?}"
            );
        }
        // The young tenant-cloud is attacked only once it has a few days of data.
        let young = &world.companies[specials.young].presences[0];
        assert_eq!(young.first_day, 14);
        let earliest = world.day_start(i64::from(
            young.first_day + normal::YOUNG_ACCOUNT_HISTORY_DAYS,
        ));
        for attack in attacks
            .iter()
            .filter(|a| a.company == specials.young && a.presence == 0)
        {
            for label in &attack.labels {
                assert!(
                    label.start >= earliest,
                    "{} at {}",
                    label.variant,
                    label.start
                );
                assert!(
                    label.variant != "data_transfer_jump" && label.variant != "storage_jump",
                    "no billing-only jump without a usual level"
                );
            }
        }
    }

    #[test]
    fn selection_limits_the_kinds() {
        let world = world(4);
        let only: BTreeSet<AttackKind> = [AttackKind::CredentialStuffing].into_iter().collect();
        let attacks = plan(&world, &only);
        assert!(!attacks.is_empty());
        assert!(attacks
            .iter()
            .flat_map(|a| &a.labels)
            .all(|l| l.kind == AttackKind::CredentialStuffing));
        assert!(plan(&world, &BTreeSet::new()).is_empty());
    }

    #[test]
    fn hosting_prefixes_are_well_formed() {
        for prefix in HOSTING_PREFIXES {
            assert!(prefix.cidr.is_aligned(), "{}", prefix.cidr);
        }
        assert!(is_hosting_address(Ipv4Addr::new(45, 79, 3, 20)));
        assert!(!is_hosting_address(Ipv4Addr::new(73, 1, 2, 3)));
    }
}
