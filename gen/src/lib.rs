//! `auditsweep gen`: a deterministic, streaming generator of a multi-tenant, multi-cloud world
//! in the providers' native formats, with labelled attacks.
//!
//! The pieces, in the order a reader needs them:
//! - `world`: who exists (companies on one or two clouds, their people, service principals,
//!   offices and networks).
//! - `normal`: everything benign, with its parameters, in one file.
//! - `attacks`: every attack variant, and how its label is derived from its records.
//! - `writers`: one module per cloud, turning the cloud-neutral `activity` model into
//!   CloudTrail, Activity Log, Entra, Cloud Audit Log, Workspace and billing files.
//!
//! Determinism: each tenant-cloud's day draws from its own random stream named after the seed
//! (`random`), so output bytes do not depend on thread count or write order; nothing reads the
//! clock. Streaming: the world (people, accounts) and the attacks are small and built up front;
//! events are generated one tenant-cloud day at a time and written before the next day starts.
//!
//! `docs/world-model.md` describes the world model and the labels format for readers who do not
//! read Rust.

mod activity;
mod attacks;
mod catalog;
mod net;
mod normal;
mod random;
mod world;
mod writers;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use chrono::{Datelike, Duration, NaiveDate};

pub use attacks::{is_hosting_address, HostingPrefix, HOSTING_PREFIXES};
pub use net::Cidr;
pub use world::CLOUD_AUTOMATION_PREFIXES;
pub use writers::WriteStats;

use activity::{Activity, CostLine};
use auditsweep::eval::labels::{AttackKind, LabeledTenant, Labels};
use random::Rand;
use world::World;

/// The first day of a world when `--start` is not given: fixed, so that a seed alone decides
/// the output. A Monday.
pub const DEFAULT_START: (i32, u32, u32) = (2025, 3, 3);

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenOptions {
    /// The output directory (created if missing).
    pub out: PathBuf,
    pub tenants: u32,
    pub days: u32,
    pub seed: u64,
    /// Which kinds of attacks to inject (empty: none).
    pub attacks: BTreeSet<AttackKind>,
    pub start: NaiveDate,
    /// Multiplies the volume of routine API calls (1.0: a realistic volume).
    pub events_scale: f64,
}

impl GenOptions {
    /// Options with every attack kind, the default start and a realistic volume.
    pub fn new(out: impl Into<PathBuf>, tenants: u32, days: u32, seed: u64) -> GenOptions {
        let (year, month, day) = DEFAULT_START;
        GenOptions {
            out: out.into(),
            tenants,
            days,
            seed,
            attacks: AttackKind::ALL.into_iter().collect(),
            start: NaiveDate::from_ymd_opt(year, month, day).unwrap_or_default(),
            events_scale: 1.0,
        }
    }
}

/// Why generation failed.
#[derive(Debug, thiserror::Error)]
pub enum GenError {
    #[error("invalid option: {0}")]
    InvalidOption(String),
    #[error("{} already holds a generated world ({found}); remove it or choose another directory", dir.display())]
    OutputNotEmpty { dir: PathBuf, found: String },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What a run wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenSummary {
    /// Tenant-cloud pairs (the `tenants` entries of `labels.json`).
    pub tenant_clouds: usize,
    /// Labelled attacks.
    pub attacks: usize,
    pub written: WriteStats,
}

/// Parses `all`, `none` or a comma-separated list of attack kinds.
pub fn parse_attacks(spec: &str) -> Result<BTreeSet<AttackKind>, GenError> {
    match spec.trim() {
        "all" => Ok(AttackKind::ALL.into_iter().collect()),
        "none" | "" => Ok(BTreeSet::new()),
        list => list
            .split(',')
            .map(str::trim)
            .map(|name| {
                AttackKind::ALL
                    .into_iter()
                    .find(|kind| kind.as_str() == name)
                    .ok_or_else(|| {
                        GenError::InvalidOption(format!(
                            "unknown attack kind `{name}` (expected all, none, or a list of provisioning, credential_stuffing, billing_jump)"
                        ))
                    })
            })
            .collect(),
    }
}

/// Names of the top-level entries a world consists of; a directory holding any of them is
/// refused rather than mixed with a new world.
const WORLD_ENTRIES: &[&str] = &["aws", "azure", "gcp", "labels.json"];

/// Generates a world into `options.out`.
pub fn generate(options: &GenOptions) -> Result<GenSummary, GenError> {
    validate(options)?;
    let world = World::build(
        options.seed,
        options.start,
        options.days,
        options.tenants,
        options.events_scale,
    );
    let planned = attacks::plan(&world, &options.attacks);
    let labels = labels(&world, &planned);
    let root = options.out.as_path();
    let body = serde_json::to_string_pretty(&labels).map_err(|err| GenError::Write {
        path: root.join("labels.json"),
        source: err.into(),
    })?;
    writers::write_file(
        &root.join("labels.json"),
        format!("{body}\n").as_bytes(),
        false,
    )?;

    let units: Vec<(usize, usize)> = world
        .companies
        .iter()
        .flat_map(|company| (0..company.presences.len()).map(move |p| (company.index, p)))
        .collect();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, Result<WriteStats, GenError>)>> = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(units.len())
        .max(1);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(company, presence)) = units.get(index) else {
                    break;
                };
                let result = generate_presence(&world, company, presence, &planned, root);
                let failed = result.is_err();
                if let Ok(mut results) = results.lock() {
                    results.push((index, result));
                }
                if failed {
                    // Let the other workers finish their unit; no new ones start.
                    next.store(units.len(), Ordering::Relaxed);
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_default();
    results.sort_by_key(|(index, _)| *index);
    let mut written = WriteStats::default();
    written.add(WriteStats {
        files: 1,
        bytes: body.len() as u64 + 1,
        ..WriteStats::default()
    });
    for (_, result) in results {
        written.add(result?);
    }
    Ok(GenSummary {
        tenant_clouds: labels.tenants.len(),
        attacks: labels.attacks.len(),
        written,
    })
}

fn validate(options: &GenOptions) -> Result<(), GenError> {
    if options.tenants == 0 {
        return Err(GenError::InvalidOption(
            "--tenants must be at least 1".into(),
        ));
    }
    if options.days == 0 || options.days > 3660 {
        return Err(GenError::InvalidOption(
            "--days must be between 1 and 3660".into(),
        ));
    }
    if !options.events_scale.is_finite()
        || options.events_scale < 0.0
        || options.events_scale > 1000.0
    {
        return Err(GenError::InvalidOption(
            "--events-scale must be a number between 0 and 1000".into(),
        ));
    }
    let found: Vec<&str> = WORLD_ENTRIES
        .iter()
        .copied()
        .filter(|entry| options.out.join(entry).exists())
        .collect();
    if !found.is_empty() {
        return Err(GenError::OutputNotEmpty {
            dir: options.out.clone(),
            found: found.join(", "),
        });
    }
    Ok(())
}

fn labels(world: &World, planned: &[attacks::PlannedAttack]) -> Labels {
    let tenants = world
        .companies
        .iter()
        .flat_map(|company| &company.presences)
        .map(|presence| LabeledTenant {
            tenant: presence.tenant.clone(),
            provider: presence.cloud.provider(),
            accounts: presence.accounts.iter().map(|a| a.id.clone()).collect(),
        })
        .collect();
    let mut attacks: Vec<_> = planned
        .iter()
        .flat_map(|a| a.labels.iter().cloned())
        .collect();
    attacks.sort_by(|a, b| a.id.cmp(&b.id));
    Labels {
        seed: world.seed,
        start: world.day_start(0),
        days: world.days,
        tenants,
        attacks,
    }
}

/// Writes everything of one tenant-cloud: its audit and sign-in logs day by day, then its
/// billing exports month by month.
fn generate_presence(
    world: &World,
    company_index: usize,
    presence_index: usize,
    planned: &[attacks::PlannedAttack],
    root: &Path,
) -> Result<WriteStats, GenError> {
    let company = &world.companies[company_index];
    let presence = &company.presences[presence_index];
    let scope = writers::Scope {
        world,
        company,
        presence,
    };
    let mine: Vec<&attacks::PlannedAttack> = planned
        .iter()
        .filter(|a| a.company == company_index && a.presence == presence_index)
        .collect();
    let mut attack_days: BTreeMap<i64, Vec<Activity>> = BTreeMap::new();
    for attack in &mine {
        for activity in &attack.activities {
            let day = (activity.time - world.day_start(0)).num_days();
            attack_days.entry(day).or_default().push(activity.clone());
        }
    }
    let mut stats = WriteStats::default();
    let mut pending: Vec<Activity> = Vec::new();
    let mut generated = -2i64;
    for day in 0..i64::from(world.days) {
        // Local days up to tomorrow can hold events of this UTC day (time zones east of UTC).
        while generated < day + 1 {
            generated += 1;
            let context = normal::Day {
                world,
                company,
                presence,
                presence_index,
                day: generated,
            };
            normal::day_activity(&context, &mut pending);
        }
        let (from, to) = (world.day_start(day), world.day_start(day + 1));
        let mut today: Vec<Activity> = Vec::new();
        pending.retain(|activity| {
            if activity.time >= to {
                return true;
            }
            if activity.time >= from {
                today.push(activity.clone());
            }
            false
        });
        if let Some(attack) = attack_days.remove(&day) {
            today.extend(attack);
        }
        if day < i64::from(presence.first_day) {
            // A young tenant-cloud does not exist yet.
            continue;
        }
        today.sort_by_key(|activity| activity.time);
        let mut rand = Rand::new(
            world.seed,
            &format!("render/{company_index}/{presence_index}/{day}"),
        );
        let mut files = writers::DayFiles::new();
        for activity in &today {
            writers::render(&scope, activity, &mut rand, &mut files);
        }
        stats.add(files.write(root)?);
    }
    stats.add(write_billing(world, &scope, presence_index, &mine, root)?);
    Ok(stats)
}

fn write_billing(
    world: &World,
    scope: &writers::Scope,
    presence_index: usize,
    attacks: &[&attacks::PlannedAttack],
    root: &Path,
) -> Result<WriteStats, GenError> {
    let presence = scope.presence;
    let missing = world.start + Duration::days(i64::from(presence.routine.billing.missing_day));
    let mut stats = WriteStats::default();
    let mut month_start = world.start.with_day(1).unwrap_or(world.start);
    let end = world.start + Duration::days(i64::from(world.days));
    while month_start < end {
        let next_month = month_start
            .checked_add_months(chrono::Months::new(1))
            .unwrap_or(end);
        let mut by_account: Vec<Vec<CostLine>> = vec![Vec::new(); presence.accounts.len()];
        let mut date = month_start.max(world.start);
        while date < next_month.min(end) {
            let day = (date - world.start).num_days() as u32;
            if day < presence.first_day {
                date += Duration::days(1);
                continue;
            }
            for line in normal::day_costs(world, scope.company, presence_index, day) {
                by_account[line.account].push(line);
            }
            if date != missing {
                for attack in attacks {
                    for line in attack.costs.iter().filter(|line| line.day == date) {
                        by_account[line.account].push(line.clone());
                    }
                }
            }
            date += Duration::days(1);
        }
        for (account, lines) in by_account.iter().enumerate() {
            if !lines.is_empty() {
                stats.add(writers::write_billing(
                    scope,
                    account,
                    month_start,
                    lines,
                    root,
                )?);
            }
        }
        month_start = next_month;
    }
    Ok(stats)
}
