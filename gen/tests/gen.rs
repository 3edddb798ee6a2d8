//! `auditsweep gen`: the world it writes is deterministic, reads back through the normalizer
//! without a single skipped record, and its labels agree with its events.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;

use auditsweep::eval::labels::{AttackKind, Labels};
use auditsweep::normalize::normalize_paths;
use auditsweep::schema::{Category, Provider, Record};
use auditsweep_gen::{self as gen, GenOptions};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

/// A world small enough for a test, with every attack kind and every behaviour.
fn small(dir: &Path, seed: u64) -> GenOptions {
    let mut options = GenOptions::new(dir, 4, 14, seed);
    options.events_scale = 0.05;
    options
}

fn generate(options: &GenOptions) -> gen::GenSummary {
    gen::generate(options).expect("generation succeeds")
}

/// Relative path -> SHA-256 of every file under `root`.
fn tree_digest(root: &Path) -> BTreeMap<PathBuf, String> {
    walk(root)
        .into_iter()
        .map(|path| {
            let bytes = std::fs::read(&path).unwrap();
            let digest = Sha256::digest(&bytes);
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            (path.strip_prefix(root).unwrap().to_path_buf(), hex)
        })
        .collect()
}

fn walk(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn read_labels(root: &Path) -> Labels {
    let labels =
        auditsweep::eval::read_labels(&root.join("labels.json")).expect("labels.json is valid");
    labels.validate().expect("labels are consistent");
    labels
}

/// Every record of the world's provider directories, normalized.
fn normalized(root: &Path) -> (Vec<Record>, auditsweep::normalize::InputSummary) {
    let mut records = Vec::new();
    let paths: Vec<PathBuf> = ["aws", "azure", "gcp"]
        .iter()
        .map(|cloud| root.join(cloud))
        .filter(|path| path.exists())
        .collect();
    let summary = normalize_paths(&paths, &mut |record| records.push(record));
    (records, summary)
}

/// Where each account belongs: the sweep maps a GCP project to its organization through the
/// billing export, and an Azure subscription to its tenant through the labels' tenant list.
fn tenant_of_account(labels: &Labels) -> BTreeMap<(Provider, String), String> {
    labels
        .tenants
        .iter()
        .flat_map(|t| {
            t.accounts
                .iter()
                .map(move |a| ((t.provider.clone(), a.clone()), t.tenant.clone()))
        })
        .collect()
}

fn event_tenant(
    event: &auditsweep::schema::Event,
    accounts: &BTreeMap<(Provider, String), String>,
) -> Option<String> {
    if let Some(account) = &event.account {
        if let Some(tenant) = accounts.get(&(event.provider.clone(), account.clone())) {
            return Some(tenant.clone());
        }
    }
    event.tenant.clone()
}

#[test]
fn the_same_seed_writes_a_byte_identical_world() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let first = generate(&small(a.path(), 21));
    let second = generate(&small(b.path(), 21));
    assert_eq!(first, second);
    let (left, right) = (tree_digest(a.path()), tree_digest(b.path()));
    assert!(
        left.len() > 50,
        "a world has many files, got {}",
        left.len()
    );
    assert_eq!(left, right);
}

#[test]
fn another_seed_writes_another_world() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    generate(&small(a.path(), 21));
    generate(&small(b.path(), 22));
    let (left, right) = (tree_digest(a.path()), tree_digest(b.path()));
    let shared: usize = left
        .iter()
        .filter(|(path, digest)| right.get(*path) == Some(digest))
        .count();
    assert_eq!(shared, 0, "no file is identical across seeds");
}

#[test]
fn the_normalizer_reads_every_record_back() {
    let dir = tempfile::tempdir().unwrap();
    let summary = generate(&small(dir.path(), 5));
    let (records, read) = normalized(dir.path());
    let skips: Vec<String> = read
        .skipped_by_reason
        .iter()
        .map(|(reason, n)| format!("{n} x {reason}"))
        .collect();
    assert_eq!(read.skipped, 0, "skipped records: {skips:?}");
    assert!(read.unreadable.is_empty(), "{:?}", read.unreadable);
    assert_eq!(
        read.events, summary.written.events,
        "every written record is one event"
    );
    assert_eq!(read.billing_rows, summary.written.billing_rows);
    assert_eq!(records.len() as u64, read.records_read);
    // Every source is present: sign-ins and provisioning on all three clouds, billing too.
    for provider in [Provider::Aws, Provider::Azure, Provider::Gcp] {
        for category in [Category::Login, Category::Provision] {
            assert!(
                records.iter().any(|r| matches!(r, Record::Event(e) if e.provider == provider && e.category == category)),
                "no {category:?} events from {provider}"
            );
        }
        assert!(records
            .iter()
            .any(|r| matches!(r, Record::Billing(b) if b.provider == provider)));
    }
    // Provisioning records say what was asked for.
    for record in &records {
        if let Record::Event(event) = record {
            if event.category == Category::Provision
                && event.outcome != Some(auditsweep::schema::Outcome::Failure)
            {
                assert!(
                    event.region.is_some(),
                    "provisioning without region: {:?}",
                    event.source
                );
            }
        }
    }
}

#[test]
fn labels_agree_with_the_events() {
    let dir = tempfile::tempdir().unwrap();
    generate(&small(dir.path(), 9));
    let labels = read_labels(dir.path());
    let (records, _) = normalized(dir.path());
    assert_labels_agree(&labels, &records);
}

/// Every label's principals and addresses have events of its tenant inside its window, stuffing
/// ends in a success from the attacker, provisioning has a launch from it, billing jumps jump.
fn assert_labels_agree(labels: &Labels, records: &[Record]) {
    let accounts = tenant_of_account(labels);
    let kinds: BTreeSet<AttackKind> = labels.attacks.iter().map(|a| a.kind).collect();
    assert_eq!(kinds.len(), 3, "every kind is injected: {kinds:?}");
    let labeled_tenants: BTreeSet<(Provider, String)> = labels
        .tenants
        .iter()
        .map(|t| (t.provider.clone(), t.tenant.clone()))
        .collect();
    for attack in &labels.attacks {
        assert!(
            labeled_tenants.contains(&(attack.provider.clone(), attack.tenant.clone())),
            "{}",
            attack.id
        );
        assert!(attack.start <= attack.end);
        let inside: Vec<&auditsweep::schema::Event> = records
            .iter()
            .filter_map(|r| match r {
                Record::Event(e) => Some(e.as_ref()),
                Record::Billing(_) => None,
            })
            .filter(|e| e.provider == attack.provider)
            .filter(|e| event_tenant(e, &accounts).as_deref() == Some(attack.tenant.as_str()))
            .filter(|e| e.time >= attack.start && e.time <= attack.end)
            .collect();
        for principal in &attack.principals {
            assert!(
                inside
                    .iter()
                    .any(|e| e.principal.as_deref() == Some(principal.as_str())),
                "{} ({}): principal {principal} has no event in its window",
                attack.id,
                attack.variant
            );
        }
        for address in &attack.src_ips {
            assert!(
                inside
                    .iter()
                    .any(|e| e.src_ip.as_deref() == Some(address.as_str())),
                "{} ({}): address {address} has no event in its window",
                attack.id,
                attack.variant
            );
            let parsed: Ipv4Addr = address.parse().unwrap();
            assert!(
                gen::is_hosting_address(parsed),
                "{} comes from {address}, not a hosting prefix",
                attack.id
            );
        }
        match attack.kind {
            AttackKind::CredentialStuffing => {
                let failures = inside
                    .iter()
                    .filter(|e| {
                        e.category == Category::Login
                            && e.outcome == Some(auditsweep::schema::Outcome::Failure)
                    })
                    .count();
                let successes = inside
                    .iter()
                    .filter(|e| {
                        e.category == Category::Login
                            && e.outcome == Some(auditsweep::schema::Outcome::Success)
                    })
                    .filter(|e| {
                        e.src_ip
                            .as_ref()
                            .is_some_and(|ip| attack.src_ips.contains(ip))
                    })
                    .count();
                assert!(
                    failures >= 1 && successes >= 1,
                    "{}: stuffing then success",
                    attack.id
                );
            }
            AttackKind::Provisioning => {
                assert!(
                    inside.iter().any(|e| e.category == Category::Provision
                        && e.src_ip
                            .as_ref()
                            .is_some_and(|ip| attack.src_ips.contains(ip))),
                    "{}: a provisioning record from the attacker",
                    attack.id
                );
            }
            AttackKind::BillingJump => assert_billing_jump(records, attack),
        }
    }
}

/// Some service of the labelled account costs clearly more inside the window than usual before.
fn assert_billing_jump(records: &[Record], attack: &auditsweep::eval::labels::Attack) {
    let mut daily: BTreeMap<String, BTreeMap<DateTime<Utc>, f64>> = BTreeMap::new();
    for record in records {
        if let Record::Billing(row) = record {
            if row.provider == attack.provider
                && row.account.as_deref() == Some(attack.account.as_str())
            {
                *daily
                    .entry(row.service.clone().unwrap_or_default())
                    .or_default()
                    .entry(row.time)
                    .or_default() += row.cost;
            }
        }
    }
    let jumped = daily.iter().any(|(_, days)| {
        let mut before: Vec<f64> = days
            .iter()
            .filter(|(t, _)| **t < attack.start)
            .map(|(_, c)| *c)
            .collect();
        let peak = days
            .iter()
            .filter(|(t, _)| **t >= attack.start && **t <= attack.end)
            .map(|(_, c)| *c)
            .fold(0.0, f64::max);
        if before.is_empty() {
            return false;
        }
        before.sort_by(f64::total_cmp);
        peak > 1.3 * before[before.len() / 2]
    });
    assert!(
        jumped,
        "{} ({}): no service cost jumps inside the window",
        attack.id, attack.variant
    );
}

#[test]
fn without_attacks_there_are_no_labels_and_no_attacker_addresses() {
    let dir = tempfile::tempdir().unwrap();
    let mut options = small(dir.path(), 9);
    options.attacks = BTreeSet::new();
    let summary = generate(&options);
    assert_eq!(summary.attacks, 0);
    let labels = read_labels(dir.path());
    assert!(labels.attacks.is_empty());
    assert_eq!(labels.tenants.len(), summary.tenant_clouds);
    let (records, _) = normalized(dir.path());
    for record in &records {
        if let Record::Event(event) = record {
            if let Some(Ok(address)) = event.src_ip.as_deref().map(str::parse::<Ipv4Addr>) {
                assert!(
                    !gen::is_hosting_address(address),
                    "benign event from an attacker prefix: {:?}",
                    event.source
                );
            }
        }
    }
}

#[test]
fn events_scale_changes_routine_volume_but_not_sign_ins_or_launches() {
    let count = |scale: f64| {
        let dir = tempfile::tempdir().unwrap();
        let mut options = GenOptions::new(dir.path(), 3, 5, 4);
        options.attacks = BTreeSet::new();
        options.events_scale = scale;
        generate(&options);
        let (records, _) = normalized(dir.path());
        let mut by_category: BTreeMap<&str, usize> = BTreeMap::new();
        for record in &records {
            if let Record::Event(event) = record {
                let name = match event.category {
                    Category::Login => "login",
                    Category::Provision => "provision",
                    Category::Api => "api",
                };
                *by_category.entry(name).or_default() += 1;
            }
        }
        by_category
    };
    let (low, high) = (count(0.1), count(1.0));
    assert_eq!(low["login"], high["login"]);
    assert_eq!(low["provision"], high["provision"]);
    assert!(
        high["api"] > 3 * low["api"],
        "api volume: {} at 0.1, {} at 1.0",
        low["api"],
        high["api"]
    );
}

#[test]
fn a_directory_holding_a_world_is_not_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let options = small(dir.path(), 1);
    generate(&options);
    let err = gen::generate(&options).unwrap_err();
    assert!(matches!(err, gen::GenError::OutputNotEmpty { .. }), "{err}");
}

#[test]
fn attack_kinds_parse_from_the_command_line_spelling() {
    assert_eq!(gen::parse_attacks("all").unwrap().len(), 3);
    assert!(gen::parse_attacks("none").unwrap().is_empty());
    let two = gen::parse_attacks("provisioning, billing_jump").unwrap();
    assert_eq!(
        two,
        [AttackKind::Provisioning, AttackKind::BillingJump]
            .into_iter()
            .collect()
    );
    assert!(gen::parse_attacks("provisioning,exfiltration").is_err());
}

#[test]
fn the_cli_writes_a_world_and_rejects_bad_options() {
    let binary = env!("CARGO_BIN_EXE_auditsweep-gen");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("world");
    let status = Command::new(binary)
        .args(["-q", "--out"])
        .arg(&out)
        .args([
            "--tenants",
            "2",
            "--days",
            "3",
            "--seed",
            "3",
            "--attacks",
            "none",
            "--events-scale",
            "0.05",
        ])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(read_labels(&out).attacks.is_empty());
    let bad = Command::new(binary)
        .args(["-q", "--out"])
        .arg(dir.path().join("other"))
        .args([
            "--tenants",
            "2",
            "--days",
            "3",
            "--seed",
            "3",
            "--attacks",
            "exfiltration",
        ])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let zero = Command::new(binary)
        .args(["-q", "--out"])
        .arg(dir.path().join("zero"))
        .args(["--tenants", "0", "--days", "3", "--seed", "3"])
        .output()
        .unwrap();
    assert_eq!(zero.status.code(), Some(2));
}

#[test]
fn the_demo_fixture_is_what_its_readme_command_writes() {
    // fixtures/demo/README.md: gen --tenants 3 --days 14 --seed 7 --events-scale 0.02
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/demo");
    let dir = tempfile::tempdir().unwrap();
    let mut options = GenOptions::new(dir.path(), 3, 14, 7);
    options.events_scale = 0.02;
    generate(&options);
    let mut stored = tree_digest(&demo);
    stored.remove(Path::new("README.md"));
    let fresh = tree_digest(dir.path());
    assert!(
        stored == fresh,
        "fixtures/demo differs from what the generator writes now; regenerate it with the command \
         in fixtures/demo/README.md (after removing its aws/, azure/, gcp/ and labels.json)"
    );
    let labels = read_labels(&demo);
    let kinds: BTreeSet<AttackKind> = labels.attacks.iter().map(|a| a.kind).collect();
    assert_eq!(kinds.len(), 3, "the demo has an attack of each kind");
}

/// Worlds of four or more companies have a young tenant-cloud (its records begin 14 days before
/// the end), a quiet one (hardly any provisioning) and a small company (5 people), each attacked
/// by a first-ever burst of machines from a hosting address and by credential stuffing.
#[test]
fn a_world_of_four_companies_has_a_young_a_quiet_and_a_small_tenant_and_attacks_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut options = GenOptions::new(dir.path(), 4, 28, 3);
    options.events_scale = 0.05;
    generate(&options);
    let labels = read_labels(dir.path());
    let (records, _) = normalized(dir.path());
    assert_labels_agree(&labels, &records);
    let accounts = tenant_of_account(&labels);
    let start = labels.start;
    let day = |n: i64| start + chrono::Duration::days(n);

    #[derive(Default)]
    struct Seen {
        first_event: Option<DateTime<Utc>>,
        first_bill: Option<DateTime<Utc>>,
        benign_provisioning: usize,
        people: BTreeSet<String>,
    }
    let mut seen: BTreeMap<(Provider, String), Seen> = BTreeMap::new();
    for record in &records {
        match record {
            Record::Event(event) => {
                let Some(tenant) = event_tenant(event, &accounts) else {
                    continue;
                };
                let entry = seen.entry((event.provider.clone(), tenant)).or_default();
                entry.first_event =
                    Some(entry.first_event.map_or(event.time, |t| t.min(event.time)));
                let from_attacker = event
                    .src_ip
                    .as_deref()
                    .and_then(|ip| ip.parse::<Ipv4Addr>().ok())
                    .is_some_and(gen::is_hosting_address);
                if event.category == Category::Provision && !from_attacker {
                    entry.benign_provisioning += 1;
                }
                if event.category == Category::Login
                    && event.outcome == Some(auditsweep::schema::Outcome::Success)
                    && !from_attacker
                {
                    entry.people.extend(event.principal.clone());
                }
            }
            Record::Billing(row) => {
                let Some(tenant) = row
                    .account
                    .as_ref()
                    .and_then(|a| accounts.get(&(row.provider.clone(), a.clone())))
                else {
                    continue;
                };
                let entry = seen
                    .entry((row.provider.clone(), tenant.clone()))
                    .or_default();
                entry.first_bill = Some(entry.first_bill.map_or(row.time, |t| t.min(row.time)));
            }
        }
    }
    let attacked = |key: &(Provider, String), variant: &str, from: DateTime<Utc>| {
        labels.attacks.iter().any(|a| {
            a.provider == key.0 && a.tenant == key.1 && a.variant == variant && a.start >= from
        })
    };
    let covered = |key: &(Provider, String), from: DateTime<Utc>| {
        attacked(key, "crypto_mining_burst", from) && attacked(key, "fast_burst", from)
    };

    // Young: nothing at all before 14 days before the end, neither events nor billing.
    let young: Vec<&(Provider, String)> = seen
        .iter()
        .filter(|(_, s)| s.first_event.is_some_and(|t| t >= day(1)))
        .map(|(key, _)| key)
        .collect();
    assert_eq!(young.len(), 1, "one young tenant-cloud: {young:?}");
    let young_seen = &seen[young[0]];
    let first = young_seen.first_event.unwrap();
    assert!(first >= day(14) && first < day(15), "first record {first}");
    assert!(young_seen.first_bill.is_some_and(|t| t >= day(14)));
    assert!(
        covered(young[0], day(18)),
        "the young tenant-cloud is attacked after 4 days of data"
    );
    for (key, s) in &seen {
        if key != young[0] {
            assert!(s.first_event.is_some_and(|t| t < day(1)), "{key:?}");
        }
    }

    // Quiet: a few benign launches at most in four weeks (no nightly batch, no autoscaling).
    let quiet: Vec<&(Provider, String)> = seen
        .iter()
        .filter(|(_, s)| s.benign_provisioning <= 10)
        .map(|(key, _)| key)
        .collect();
    assert_eq!(quiet.len(), 1, "one quiet tenant-cloud: {quiet:?}");
    assert!(
        covered(quiet[0], start),
        "the quiet tenant-cloud is attacked"
    );

    // Small: five people sign in (the quiet tenant-cloud's people rarely do, so it is not this).
    let small: Vec<&(Provider, String)> = seen
        .iter()
        .filter(|(key, _)| *key != quiet[0] && *key != young[0])
        .filter(|(key, s)| s.people.len() <= 5 && covered(key, start))
        .map(|(key, _)| key)
        .collect();
    assert!(!small.is_empty(), "a company of five people is attacked");
}
