//! Who exists in a generated world: companies (tenants), their people and service principals,
//! their offices and networks, and the cloud accounts they hold.
//!
//! This module builds the cast; how the cast behaves day to day is `normal`, and it is
//! asked for every behavioural trait (habits, routines) so that all of "normal" stays there.
//! The world is small (a few hundred bytes per person) and is built whole; the events it
//! produces are not.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};

use super::catalog::Cloud;
use super::net::Cidr;
use super::normal::{self, Habits, Routine};
use super::random::Rand;

/// A city people work from, with the consumer/business ISP space of its country and the cloud
/// regions a company based there would pick.
#[derive(Debug)]
pub struct Place {
    pub city: &'static str,
    /// ISO 3166 alpha-2, as Entra and GeoIP report it.
    pub country: &'static str,
    /// Hours east of UTC (daylight saving time is not modelled).
    pub utc_offset: i64,
    /// Residential and business ISP prefixes (not hosting, not documentation, not private).
    pub isp: &'static [Cidr],
    pub aws: &'static [&'static str],
    pub azure: &'static [&'static str],
    pub gcp: &'static [&'static str],
}

impl Place {
    pub fn regions(&self, cloud: Cloud) -> &'static [&'static str] {
        match cloud {
            Cloud::Aws => self.aws,
            Cloud::Azure => self.azure,
            Cloud::Gcp => self.gcp,
        }
    }
}

// ISP prefixes: large access networks of each country, checked against every hosting and cloud
// list in /work/shared/data/ip-ranges (no overlap). Comcast (US), BT (GB), Deutsche Telekom (DE),
// Orange (FR), Telefonica (ES), NTT (JP), SingNet (SG), KT (KR).
const US_ISP: &[Cidr] = &[Cidr::new(73, 0, 0, 0, 8), Cidr::new(98, 192, 0, 0, 10)];
const GB_ISP: &[Cidr] = &[Cidr::new(86, 128, 0, 0, 10)];
const DE_ISP: &[Cidr] = &[Cidr::new(79, 192, 0, 0, 10), Cidr::new(84, 128, 0, 0, 10)];
const FR_ISP: &[Cidr] = &[Cidr::new(90, 0, 0, 0, 9)];
const ES_ISP: &[Cidr] = &[Cidr::new(83, 32, 0, 0, 11)];
const JP_ISP: &[Cidr] = &[Cidr::new(153, 128, 0, 0, 9)];
const SG_ISP: &[Cidr] = &[Cidr::new(116, 86, 0, 0, 15)];
const KR_ISP: &[Cidr] = &[Cidr::new(121, 128, 0, 0, 10)];

/// Where companies are based (the first seven) and where people travel to (all).
pub const PLACES: &[Place] = &[
    Place {
        city: "New York",
        country: "US",
        utc_offset: -5,
        isp: US_ISP,
        aws: &["us-east-1", "us-east-2"],
        azure: &["eastus", "eastus2"],
        gcp: &["us-east1-b", "us-east1-c", "us-east4-a"],
    },
    Place {
        city: "San Francisco",
        country: "US",
        utc_offset: -8,
        isp: US_ISP,
        aws: &["us-west-2", "us-west-1"],
        azure: &["westus2", "westus3"],
        gcp: &["us-west1-a", "us-west1-b", "us-central1-a"],
    },
    Place {
        city: "London",
        country: "GB",
        utc_offset: 0,
        isp: GB_ISP,
        aws: &["eu-west-2", "eu-west-1"],
        azure: &["uksouth", "northeurope"],
        gcp: &["europe-west2-a", "europe-west2-b", "europe-west1-b"],
    },
    Place {
        city: "Berlin",
        country: "DE",
        utc_offset: 1,
        isp: DE_ISP,
        aws: &["eu-central-1", "eu-west-1"],
        azure: &["germanywestcentral", "westeurope"],
        gcp: &["europe-west3-a", "europe-west3-b", "europe-west1-c"],
    },
    Place {
        city: "Paris",
        country: "FR",
        utc_offset: 1,
        isp: FR_ISP,
        aws: &["eu-west-3", "eu-central-1"],
        azure: &["francecentral", "westeurope"],
        gcp: &["europe-west9-a", "europe-west1-b"],
    },
    Place {
        city: "Tokyo",
        country: "JP",
        utc_offset: 9,
        isp: JP_ISP,
        aws: &["ap-northeast-1", "ap-northeast-3"],
        azure: &["japaneast", "japanwest"],
        gcp: &["asia-northeast1-a", "asia-northeast1-b"],
    },
    Place {
        city: "Singapore",
        country: "SG",
        utc_offset: 8,
        isp: SG_ISP,
        aws: &["ap-southeast-1", "ap-southeast-2"],
        azure: &["southeastasia", "eastasia"],
        gcp: &["asia-southeast1-a", "asia-southeast1-b"],
    },
    Place {
        city: "Madrid",
        country: "ES",
        utc_offset: 1,
        isp: ES_ISP,
        aws: &["eu-south-2"],
        azure: &["spaincentral"],
        gcp: &["europe-southwest1-a"],
    },
    Place {
        city: "Seoul",
        country: "KR",
        utc_offset: 9,
        isp: KR_ISP,
        aws: &["ap-northeast-2"],
        azure: &["koreacentral"],
        gcp: &["asia-northeast3-a"],
    },
];

/// How many of [`PLACES`] companies are based in; the rest are travel destinations only.
const HOME_PLACES: usize = 7;

/// Addresses that automation running inside the clouds calls from (CI runners, schedulers,
/// monitoring pollers). They are cloud addresses, yet benign: detectors must not flag a
/// principal for calling from a cloud range it always calls from.
pub const CLOUD_AUTOMATION_PREFIXES: &[(&str, Cidr)] = &[
    ("aws", Cidr::new(18, 232, 0, 0, 14)),
    ("aws", Cidr::new(34, 240, 0, 0, 13)),
    ("azure", Cidr::new(13, 69, 0, 0, 17)),
    ("azure", Cidr::new(13, 68, 128, 0, 17)),
    ("gcp", Cidr::new(34, 14, 0, 0, 17)),
    ("gcp", Cidr::new(23, 236, 48, 0, 20)),
];

const GIVEN_NAMES: &[&str] = &[
    "ana",
    "ben",
    "chloe",
    "daniel",
    "elif",
    "farid",
    "grace",
    "hiro",
    "ines",
    "jonas",
    "kavya",
    "liam",
    "maya",
    "noah",
    "olga",
    "pedro",
    "quinn",
    "rosa",
    "sam",
    "tariq",
    "uma",
    "victor",
    "wen",
    "ximena",
    "yusuf",
    "zoe",
    "aiko",
    "bruno",
    "carla",
    "dmitri",
    "emma",
    "felix",
    "hannah",
    "ivan",
    "julia",
    "kenji",
    "lea",
    "mateo",
    "nina",
    "omar",
    "priya",
    "rahul",
    "sara",
    "tom",
    "valentina",
    "wei",
    "yara",
    "lukas",
    "sofia",
    "arjun",
];

const FAMILY_NAMES: &[&str] = &[
    "schmidt", "garcia", "chen", "novak", "okafor", "rossi", "tanaka", "dubois", "kowalski",
    "silva", "nguyen", "larsen", "moreau", "patel", "kim", "fischer", "costa", "haddad", "ivanova",
    "jensen", "keller", "lopez", "meyer", "nakamura", "oliveira", "peters", "quist", "romero",
    "sato", "weber", "yilmaz", "zhang", "andersen", "bauer", "castillo", "dahl", "evans",
    "fontaine", "gruber", "hansen",
];

const COMPANY_WORDS: &[&str] = &[
    "bluefin",
    "northwind",
    "copperleaf",
    "brightpath",
    "silverline",
    "redwood",
    "lakeside",
    "ironbark",
    "sunstone",
    "clearwater",
    "highland",
    "starling",
    "granite",
    "meadowlark",
    "harborview",
    "juniper",
    "orchid",
    "summitridge",
    "willowbrook",
    "falconry",
];

const COMPANY_TRADES: &[&str] = &[
    "analytics",
    "logistics",
    "health",
    "robotics",
    "media",
    "payments",
    "labs",
    "energy",
    "foods",
    "travel",
    "games",
    "insurance",
    "studio",
    "systems",
    "retail",
    "bio",
];

/// Worlds of at least this many companies get one small company, one young tenant-cloud and one
/// quiet tenant-cloud, each in another company, drawn from the seed (their parameters are in
/// `normal`). Smaller worlds, such as the bundled 3-company demo, have none of them, so their
/// output stays what it was.
pub const SPECIAL_TENANTS_FROM: usize = 4;

/// The companies that are small, or whose main cloud is young or quiet (indices into
/// [`World::companies`]; three different companies).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Specials {
    pub small: usize,
    pub young: usize,
    pub quiet: usize,
}

impl Specials {
    /// Drawn from the seed on a stream of its own, so that no other company's cast changes.
    pub fn draw(seed: u64, companies: usize) -> Option<Specials> {
        if companies < SPECIAL_TENANTS_FROM {
            return None;
        }
        let mut rand = Rand::new(seed, "special-tenants");
        let mut order: Vec<usize> = (0..companies).collect();
        rand.shuffle(&mut order);
        Some(Specials {
            small: order[0],
            young: order[1],
            quiet: order[2],
        })
    }
}

/// The whole cast of a generated world.
pub struct World {
    pub seed: u64,
    /// Midnight UTC of the first generated day.
    pub start: NaiveDate,
    pub days: u32,
    /// Multiplies the volume of background API calls (not sign-ins or provisioning).
    pub events_scale: f64,
    pub companies: Vec<Company>,
    /// The small company and the young and quiet tenant-clouds (`None` below
    /// [`SPECIAL_TENANTS_FROM`] companies).
    pub specials: Option<Specials>,
}

/// A customer organisation; on one or two clouds.
pub struct Company {
    pub index: usize,
    /// The e-mail domain: UPNs and Google accounts are `given.family@domain`.
    pub domain: String,
    pub home: &'static Place,
    pub offices: Vec<Office>,
    pub people: Vec<Person>,
    pub presences: Vec<Presence>,
}

/// An office: everyone working there leaves through one NAT address.
pub struct Office {
    pub place: &'static Place,
    pub nat: Ipv4Addr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Builds and runs things; launches instances now and then; some are on call.
    Engineer,
    /// Cloud administrators: everything engineers do, plus identity changes.
    Admin,
    /// Finance and data people: sign in to look at dashboards and bills; never provision.
    Analyst,
}

pub struct Person {
    pub index: usize,
    /// `given.family`: the left part of e-mail addresses and UPNs, and the IAM user name.
    pub handle: String,
    pub display_name: String,
    pub role: Role,
    /// Index into [`Company::offices`]; `None` for remote workers.
    pub office: Option<usize>,
    /// The ISP prefix the person's home connection is in.
    pub home_isp: Cidr,
    pub habits: Habits,
    /// Entra object id.
    pub object_id: String,
    /// IAM unique id (`AIDA...`) and access key id (`AKIA...`).
    pub aws_user_id: String,
    pub aws_access_key: String,
}

/// One company on one cloud: the unit that `labels.json` calls a tenant.
pub struct Presence {
    pub cloud: Cloud,
    /// What the normalizer reports as tenant: AWS account id, Entra tenant id, GCP organization.
    pub tenant: String,
    pub accounts: Vec<Account>,
    /// The regions (AWS, Azure) or zones (GCP) the company runs in.
    pub regions: Vec<&'static str>,
    /// People with access to this cloud (indices into [`Company::people`]).
    pub users: Vec<usize>,
    pub automations: Vec<Automation>,
    pub routine: Routine,
    /// The billing currency (an EU company on Azure may be billed in EUR).
    pub currency: &'static str,
    /// GCP billing account id (`XXXXXX-XXXXXX-XXXXXX`); empty elsewhere.
    pub billing_account: String,
    /// The first day with any record (0 unless the tenant-cloud is young: then
    /// [`normal::YOUNG_ACCOUNT_DAYS`] before the end).
    pub first_day: u32,
    /// Hardly any admin activity: rare sign-ins and deploys, no nightly batch, no autoscaling.
    pub quiet: bool,
}

/// An AWS account, Azure subscription or GCP project.
pub struct Account {
    pub id: String,
    pub name: String,
    /// GCP project number; empty elsewhere.
    pub number: String,
    /// GCP folder the project is in (billing `ancestry_numbers`); empty elsewhere.
    pub folder: String,
    /// Names of resources calls touch (VMs, buckets, functions), so the same ones recur.
    pub resources: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutomationKind {
    /// CI/CD: deploys on workdays.
    Deployer,
    /// Monitoring: reads the inventory every few minutes (AWS only: the other clouds' activity
    /// logs do not record reads).
    Poller,
    /// Launches a large batch of instances every night and removes it in the morning.
    NightlyBatch,
    /// The cloud's own autoscaler, adding and removing instances as load changes.
    Autoscaler,
}

pub struct Automation {
    pub kind: AutomationKind,
    /// Role, application or service-account name.
    pub name: String,
    /// Index into [`Presence::accounts`].
    pub account: usize,
    /// Entra application id or IAM role id; GCP service accounts use their e-mail.
    pub id: String,
    /// The address it calls from (`None`: the provider logs a service name, or nothing).
    pub address: Option<Ipv4Addr>,
}

impl World {
    /// Builds the cast for `tenants` companies.
    pub fn build(seed: u64, start: NaiveDate, days: u32, tenants: u32, events_scale: f64) -> World {
        let mut rand = Rand::new(seed, "world");
        let mut names: Vec<(usize, usize)> = (0..COMPANY_WORDS.len())
            .flat_map(|w| (0..COMPANY_TRADES.len()).map(move |t| (w, t)))
            .collect();
        rand.shuffle(&mut names);
        let mut ids = BTreeSet::new();
        let specials = Specials::draw(seed, tenants as usize);
        let companies = (0..tenants as usize)
            .map(|index| {
                let (word, trade) = names[index % names.len()];
                let mut slug = format!("{}-{}", COMPANY_WORDS[word], COMPANY_TRADES[trade]);
                if index >= names.len() {
                    slug = format!("{slug}-{}", index / names.len() + 1);
                }
                let mut company_rand = Rand::new(seed, &format!("company/{index}"));
                let traits = Traits {
                    small: specials.is_some_and(|s| s.small == index),
                    young: specials.is_some_and(|s| s.young == index),
                    quiet: specials.is_some_and(|s| s.quiet == index),
                };
                build_company(index, slug, days, traits, &mut company_rand, &mut ids)
            })
            .collect();
        World {
            seed,
            start,
            days,
            events_scale,
            companies,
            specials,
        }
    }

    /// Midnight UTC starting day `day` (0 is the first generated day; may be negative).
    pub fn day_start(&self, day: i64) -> DateTime<Utc> {
        Utc.from_utc_datetime(&self.start.and_hms_opt(0, 0, 0).unwrap_or_default())
            + Duration::days(day)
    }

    /// The end of the generated period (exclusive).
    pub fn end(&self) -> DateTime<Utc> {
        self.day_start(i64::from(self.days))
    }
}

impl Company {
    pub fn upn(&self, person: &Person) -> String {
        format!("{}@{}", person.handle, self.domain)
    }
}

impl Person {
    /// The home address in effect on `day`: residential leases change now and then, within
    /// the same ISP.
    pub fn home_address(&self, seed: u64, company: usize, day: i64) -> Ipv4Addr {
        let lease = (day + i64::from(self.habits.lease_phase)).div_euclid(normal::HOME_LEASE_DAYS);
        let mut rand = Rand::new(seed, &format!("home/{company}/{}/{lease}", self.index));
        self.home_isp.address(&mut rand)
    }
}

/// What is special about a company: small, or its main cloud (its first presence) young or quiet.
#[derive(Debug, Clone, Copy, Default)]
struct Traits {
    small: bool,
    young: bool,
    quiet: bool,
}

fn build_company(
    index: usize,
    slug: String,
    days: u32,
    traits: Traits,
    rand: &mut Rand,
    ids: &mut BTreeSet<String>,
) -> Company {
    let home = &PLACES[rand.below(HOME_PLACES as u64) as usize];
    let mut size = normal::company_size(rand);
    if traits.small {
        size = normal::SMALL_COMPANY_SIZE;
    }
    let mut offices = vec![Office {
        place: home,
        nat: rand.pick(home.isp).address(rand),
    }];
    if size > 1.5 {
        let second = &PLACES[rand.below(HOME_PLACES as u64) as usize];
        offices.push(Office {
            place: second,
            nat: rand.pick(second.isp).address(rand),
        });
    }
    let headcount = if traits.small {
        normal::SMALL_COMPANY_HEADCOUNT
    } else {
        normal::headcount(size, rand)
    };
    let mut used_handles = BTreeSet::new();
    let people: Vec<Person> = (0..headcount)
        .map(|person| {
            let role = normal::role(person, rand);
            let mut handle;
            loop {
                handle = format!("{}.{}", rand.pick(GIVEN_NAMES), rand.pick(FAMILY_NAMES));
                if used_handles.insert(handle.clone()) {
                    break;
                }
            }
            let office =
                normal::works_from_office(rand).then(|| rand.below(offices.len() as u64) as usize);
            let place = office.map_or(home, |o| offices[o].place);
            let display_name = handle
                .split('.')
                .map(capitalize)
                .collect::<Vec<_>>()
                .join(" ");
            Person {
                index: person,
                handle,
                display_name,
                role,
                office,
                home_isp: *rand.pick(place.isp),
                habits: normal::habits(role, person, days, home, rand),
                object_id: rand.uuid(),
                aws_user_id: format!("AIDA{}", rand.upper_alnum(17)),
                aws_access_key: format!("AKIA{}", rand.upper_alnum(16)),
            }
        })
        .collect();
    let primary = Cloud::ALL[index % 3];
    let mut clouds = vec![primary];
    if normal::uses_second_cloud(index, rand) {
        clouds.push(Cloud::ALL[(index + 1) % 3]);
    }
    let sketch = Sketch {
        slug: &slug,
        home,
        people: &people,
        days,
        size,
    };
    let presences = clouds
        .into_iter()
        .enumerate()
        .map(|(n, cloud)| {
            // Only the main cloud is young or quiet: the company's other cloud is as usual.
            let traits = Traits {
                young: traits.young && n == 0,
                quiet: traits.quiet && n == 0,
                ..Traits::default()
            };
            build_presence(cloud, &sketch, traits, rand, ids)
        })
        .collect();
    Company {
        index,
        domain: format!("{slug}.com"),
        home,
        offices,
        people,
        presences,
    }
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn unique(ids: &mut BTreeSet<String>, mut make: impl FnMut() -> String) -> String {
    loop {
        let id = make();
        if ids.insert(id.clone()) {
            return id;
        }
    }
}

/// What a company's cloud presences are built from.
struct Sketch<'c> {
    slug: &'c str,
    home: &'static Place,
    people: &'c [Person],
    days: u32,
    size: f64,
}

fn build_presence(
    cloud: Cloud,
    sketch: &Sketch,
    traits: Traits,
    rand: &mut Rand,
    ids: &mut BTreeSet<String>,
) -> Presence {
    let Sketch {
        slug,
        home,
        people,
        days,
        size,
    } = *sketch;
    let regions: Vec<&'static str> = home.regions(cloud).to_vec();
    let account_count = match cloud {
        Cloud::Aws => 1,
        Cloud::Azure | Cloud::Gcp => rand.int(1, 2) as usize,
    };
    let stages = ["prod", "dev"];
    let accounts: Vec<Account> = (0..account_count)
        .map(|a| {
            let stage = stages[a];
            let (id, name) = match cloud {
                Cloud::Aws => (unique(ids, || rand.digits(12)), format!("{slug}-{stage}")),
                Cloud::Azure => (unique(ids, || rand.uuid()), format!("{slug}-{stage}")),
                Cloud::Gcp => {
                    let suffix = rand.digits(6);
                    let id = format!("{slug}-{stage}-{suffix}");
                    let id = if id.len() > 30 {
                        format!("{}-{stage}-{suffix}", &slug[..slug.len().min(16)])
                    } else {
                        id
                    };
                    (unique(ids, || id.clone()), format!("{slug} {stage}"))
                }
            };
            let (number, folder) = match cloud {
                Cloud::Gcp => (unique(ids, || rand.digits(12)), rand.digits(12)),
                _ => (String::new(), String::new()),
            };
            Account {
                id,
                name,
                number,
                folder,
                resources: resource_names(cloud, stage, rand),
            }
        })
        .collect();
    let tenant = match cloud {
        Cloud::Aws => accounts[0].id.clone(),
        Cloud::Azure => unique(ids, || rand.uuid()),
        Cloud::Gcp => unique(ids, || rand.digits(12)),
    };
    // Everyone has an identity in the company's directory (Entra, Workspace), and on AWS an
    // IAM user (analysts read Cost Explorer).
    let users: Vec<usize> = people.iter().map(|person| person.index).collect();
    let mut routine = normal::routine(cloud, &regions, days, size, rand);
    let first_day = if traits.young {
        normal::young_first_day(days)
    } else {
        0
    };
    normal::adapt_routine(&mut routine, traits.young, traits.quiet);
    let automations = automations(cloud, &accounts, &routine, rand);
    let currency = normal::currency(cloud, home.country);
    let billing_account = match cloud {
        Cloud::Gcp => format!(
            "{}-{}-{}",
            rand.upper_alnum(6),
            rand.upper_alnum(6),
            rand.upper_alnum(6)
        ),
        _ => String::new(),
    };
    Presence {
        cloud,
        tenant,
        accounts,
        regions,
        users,
        automations,
        routine,
        currency,
        billing_account,
        first_day,
        quiet: traits.quiet,
    }
}

fn resource_names(cloud: Cloud, stage: &str, rand: &mut Rand) -> Vec<String> {
    let bases = [
        "web", "api", "worker", "db", "cache", "etl", "search", "auth", "billing", "media",
    ];
    let mut names: Vec<String> = bases
        .iter()
        .map(|base| match cloud {
            Cloud::Aws | Cloud::Gcp => format!("{base}-{stage}-{}", rand.hex(4)),
            Cloud::Azure => format!("{base}-{stage}-{}", rand.int(1, 9)),
        })
        .collect();
    names.truncate(rand.int(5, bases.len() as u32) as usize);
    names
}

fn automations(
    cloud: Cloud,
    accounts: &[Account],
    routine: &Routine,
    rand: &mut Rand,
) -> Vec<Automation> {
    let mut list = Vec::new();
    let cloud_address = |rand: &mut Rand| {
        let candidates: Vec<Cidr> = CLOUD_AUTOMATION_PREFIXES
            .iter()
            .filter(|(provider, _)| *provider == cloud.as_str())
            .map(|(_, cidr)| *cidr)
            .collect();
        rand.pick(&candidates).address(rand)
    };
    for (account, _) in accounts.iter().enumerate() {
        let id = |rand: &mut Rand| match cloud {
            Cloud::Aws => format!("AROA{}", rand.upper_alnum(17)),
            Cloud::Azure => rand.uuid(),
            Cloud::Gcp => rand.digits(21),
        };
        list.push(Automation {
            kind: AutomationKind::Deployer,
            name: "ci-deployer".into(),
            account,
            id: id(rand),
            address: Some(cloud_address(rand)),
        });
        if cloud == Cloud::Aws {
            list.push(Automation {
                kind: AutomationKind::Poller,
                name: "monitoring-readonly".into(),
                account,
                id: id(rand),
                address: Some(cloud_address(rand)),
            });
        }
        if account == 0 && routine.nightly.is_some() {
            list.push(Automation {
                kind: AutomationKind::NightlyBatch,
                name: "batch-scheduler".into(),
                account,
                id: id(rand),
                address: Some(cloud_address(rand)),
            });
        }
        if account == 0 {
            let name = match cloud {
                Cloud::Aws => "AWSServiceRoleForAutoScaling",
                Cloud::Azure => "aks-cluster-autoscaler",
                Cloud::Gcp => "cloudservices",
            };
            // AWS logs the autoscaling service and GCP logs no address for its own callers;
            // the AKS autoscaler's managed identity calls from the cluster's Azure address.
            let address = (cloud == Cloud::Azure).then(|| cloud_address(rand));
            list.push(Automation {
                kind: AutomationKind::Autoscaler,
                name: name.into(),
                account,
                id: id(rand),
                address,
            });
        }
    }
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world(tenants: u32) -> World {
        World::build(
            7,
            NaiveDate::from_ymd_opt(2025, 3, 3).unwrap(),
            21,
            tenants,
            1.0,
        )
    }

    #[test]
    fn the_same_seed_builds_the_same_cast() {
        let a = world(6);
        let b = world(6);
        for (x, y) in a.companies.iter().zip(&b.companies) {
            assert_eq!(x.domain, y.domain);
            assert_eq!(x.people.len(), y.people.len());
            let tenants = |c: &Company| {
                c.presences
                    .iter()
                    .map(|p| p.tenant.clone())
                    .collect::<Vec<_>>()
            };
            assert_eq!(tenants(x), tenants(y));
        }
    }

    #[test]
    fn tenants_spread_over_all_clouds_and_some_use_two() {
        let w = world(6);
        for cloud in Cloud::ALL {
            assert!(w
                .companies
                .iter()
                .any(|c| c.presences.iter().any(|p| p.cloud == cloud)));
        }
        assert!(w.companies.iter().any(|c| c.presences.len() == 2));
        let aws = w
            .companies
            .iter()
            .flat_map(|c| &c.presences)
            .find(|p| p.cloud == Cloud::Aws)
            .unwrap();
        assert_eq!(
            aws.tenant, aws.accounts[0].id,
            "an AWS tenant is its account"
        );
        assert_eq!(aws.tenant.len(), 12);
    }

    #[test]
    fn places_have_isp_space_and_regions_the_catalog_knows() {
        for place in &PLACES[..HOME_PLACES] {
            for cloud in Cloud::ALL {
                for region in place.regions(cloud) {
                    assert!(cloud.all_regions().contains(region), "{region}");
                }
            }
        }
        for place in PLACES {
            for cidr in place.isp {
                assert!(cidr.is_aligned(), "{cidr}");
            }
        }
        for (_, cidr) in CLOUD_AUTOMATION_PREFIXES {
            assert!(cidr.is_aligned(), "{cidr}");
        }
    }

    #[test]
    fn four_companies_have_a_small_one_and_a_young_and_a_quiet_cloud() {
        let w = World::build(7, NaiveDate::from_ymd_opt(2025, 3, 3).unwrap(), 28, 4, 1.0);
        let specials = w.specials.expect("4 companies have specials");
        let chosen: BTreeSet<usize> = [specials.small, specials.young, specials.quiet].into();
        assert_eq!(chosen.len(), 3, "three different companies: {specials:?}");
        let small = &w.companies[specials.small];
        assert_eq!(small.people.len(), normal::SMALL_COMPANY_HEADCOUNT);
        assert_eq!(small.offices.len(), 1);
        let young = &w.companies[specials.young].presences[0];
        assert_eq!(young.first_day, 28 - normal::YOUNG_ACCOUNT_DAYS);
        assert!(!young.quiet);
        let quiet = &w.companies[specials.quiet].presences[0];
        assert!(quiet.quiet && quiet.first_day == 0);
        assert!(quiet.routine.nightly.is_none() && quiet.routine.first_use.is_none());
        assert!(quiet
            .automations
            .iter()
            .all(|a| a.kind != AutomationKind::NightlyBatch));
        // Everything else is as usual: one young and one quiet tenant-cloud in the world.
        let presences: Vec<&Presence> = w.companies.iter().flat_map(|c| &c.presences).collect();
        assert_eq!(presences.iter().filter(|p| p.first_day > 0).count(), 1);
        assert_eq!(presences.iter().filter(|p| p.quiet).count(), 1);
        // The choice is the seed's.
        let again = World::build(7, NaiveDate::from_ymd_opt(2025, 3, 3).unwrap(), 28, 4, 1.0);
        assert_eq!(again.specials, w.specials);
    }

    #[test]
    fn three_companies_have_no_special_tenants() {
        let w = world(3);
        assert!(w.specials.is_none());
        for presence in w.companies.iter().flat_map(|c| &c.presences) {
            assert!(presence.first_day == 0 && !presence.quiet);
        }
    }

    #[test]
    fn home_addresses_change_by_lease_within_the_isp() {
        let w = world(1);
        let person = &w.companies[0].people[0];
        let first = person.home_address(7, 0, 0);
        assert_eq!(first, person.home_address(7, 0, 0));
        assert!(person.home_isp.contains(first));
        let later = person.home_address(7, 0, normal::HOME_LEASE_DAYS * 3);
        assert!(person.home_isp.contains(later));
    }
}
