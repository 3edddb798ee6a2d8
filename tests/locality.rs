//! A tenant's findings are a function of its own data and the documented priors.
//!
//! On a generated world of at least ten tenant-clouds over the three clouds, for every tenant:
//! sweeping its files alone, sweeping everything, and sweeping everything with `--tenant` give
//! it the same finding ids; and sweeping one day gives that day's findings the same ids as
//! sweeping the whole month around it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use auditsweep::config::Config;
use auditsweep::detect::HostingLookup;
use auditsweep::eval::input::read_labels;
use auditsweep::ranges::HostingRanges;
use auditsweep::report::Report;
use auditsweep::sweep::{self, day_start, SweepRequest};
use auditsweep_gen::{generate, GenOptions};

fn ranges() -> HostingRanges {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/ip-ranges");
    HostingRanges::load_dir(&dir)
        .expect("the fixture range lists load")
        .0
}

fn run(
    paths: Vec<PathBuf>,
    tenant: Option<&str>,
    window: Option<(chrono::NaiveDate, chrono::NaiveDate)>,
    hosting: &HostingRanges,
) -> Report {
    let config = Config::default();
    let request = SweepRequest {
        paths,
        tenant: tenant.map(str::to_string),
        since: window.map(|(first, _)| day_start(first)),
        until: window.map(|(_, last)| day_start(last) + chrono::Duration::seconds(86_399)),
        config: &config,
        hosting: hosting as &dyn HostingLookup,
        threads: 0,
        out: None,
    };
    sweep::run(&request).expect("the inputs exist").0
}

fn ids_of(report: &Report, tenant: &str) -> BTreeSet<String> {
    report
        .findings
        .iter()
        .filter(|f| f.tenant.as_deref() == Some(tenant))
        .map(|f| f.id.clone())
        .collect()
}

/// The files of one tenant-cloud, as `gen` lays them out (`docs/world-model.md`).
fn files_of(world: &Path, provider: &str, tenant: &str, accounts: &[String]) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    match provider {
        "aws" => {
            for account in accounts {
                paths.push(world.join("aws/AWSLogs").join(account));
                paths.push(world.join("aws/cur").join(account));
            }
        }
        "azure" => paths.push(world.join("azure").join(tenant)),
        _ => {
            for project in accounts {
                paths.push(world.join("gcp").join(project));
            }
            paths.push(world.join("gcp/workspace").join(tenant));
        }
    }
    paths.into_iter().filter(|p| p.exists()).collect()
}

#[test]
fn findings_depend_only_on_the_tenant_and_the_day() {
    let dir = tempfile::tempdir().unwrap();
    let world = dir.path().join("world");
    let mut options = GenOptions::new(world.clone(), 8, 35, 5);
    options.events_scale = 0.05;
    generate(&options).expect("the world generates");
    let labels = read_labels(&world.join("labels.json")).expect("labels.json");
    let tenants = &labels.tenants;
    assert!(tenants.len() >= 10, "{} tenant-clouds", tenants.len());
    let providers: BTreeSet<String> = tenants.iter().map(|t| t.provider.to_string()).collect();
    assert_eq!(providers.len(), 3, "all three clouds: {providers:?}");

    let hosting = ranges();
    let everything: Vec<PathBuf> = ["aws", "azure", "gcp"]
        .iter()
        .map(|c| world.join(c))
        .collect();
    let all = run(everything.clone(), None, None, &hosting);
    assert!(
        all.findings.len() >= labels.attacks.len() / 2,
        "the world's attacks are found: {} findings for {} attacks",
        all.findings.len(),
        labels.attacks.len()
    );
    let mut with_findings = 0;
    for t in tenants {
        let provider = t.provider.to_string();
        let expected = ids_of(&all, &t.tenant);
        with_findings += usize::from(!expected.is_empty());
        let alone = run(
            files_of(&world, &provider, &t.tenant, &t.accounts),
            None,
            None,
            &hosting,
        );
        assert_eq!(
            ids_of(&alone, &t.tenant),
            expected,
            "{provider} tenant {}: its files alone vs everything",
            t.tenant
        );
        let only = run(everything.clone(), Some(&t.tenant), None, &hosting);
        assert_eq!(
            ids_of(&only, &t.tenant),
            expected,
            "{provider} tenant {}: --tenant vs everything",
            t.tenant
        );
        assert!(only
            .findings
            .iter()
            .all(|f| f.tenant.as_deref() == Some(t.tenant.as_str())));
    }
    assert!(with_findings >= 3, "{with_findings} tenants have findings");

    // One day against the month around it: the day's findings keep their ids.
    let mut days: BTreeMap<chrono::NaiveDate, BTreeSet<String>> = BTreeMap::new();
    for finding in &all.findings {
        let mut day = finding.first_seen.date_naive();
        while day <= finding.last_seen.date_naive() {
            days.entry(day).or_default().insert(finding.id.clone());
            day = day.succ_opt().unwrap();
        }
    }
    for (day, ids) in days.iter().step_by(2) {
        let one_day = run(everything.clone(), None, Some((*day, *day)), &hosting);
        let got: BTreeSet<String> = one_day.findings.iter().map(|f| f.id.clone()).collect();
        assert_eq!(&got, ids, "sweeping {day} alone vs the whole month");
    }
}
