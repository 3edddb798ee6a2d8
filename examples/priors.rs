//! Measures the detectors' priors on benign worlds: how often the signals and counts that the
//! priors stand for occur when nothing is wrong. `scripts/priors.sh` runs it on generated benign
//! worlds; `docs/detectors.md` explains each default against these figures.
//!
//! Usage: `cargo run --release --example priors -- --ip-ranges DIR WORLD...`

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use auditsweep::aggregate::Aggregates;
use auditsweep::config::Config;
use auditsweep::detect::{credential_stuffing, provisioning, HostingLookup, TestDays};
use auditsweep::ranges::HostingRanges;
use chrono::NaiveDate;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut ranges_dir = PathBuf::from("fixtures/ip-ranges");
    let mut worlds = Vec::new();
    while let Some(arg) = args.next() {
        if arg == "--ip-ranges" {
            ranges_dir = args.next().map(PathBuf::from).unwrap_or(ranges_dir);
        } else {
            worlds.push(PathBuf::from(arg));
        }
    }
    let (ranges, _) = HostingRanges::load_dir(&ranges_dir)?;
    let config = Config::default();
    let all_days = TestDays {
        first: NaiveDate::MIN,
        last: NaiveDate::MAX,
    };
    let mut novelties = [0u64; 5];
    let mut signals: BTreeMap<&str, u64> = BTreeMap::new();
    let mut provisioning_tests = 0u64;
    let mut failures: BTreeMap<u64, u64> = BTreeMap::new();
    let mut sign_in_signals: BTreeMap<&str, u64> = BTreeMap::new();
    let mut sign_in_tests = 0u64;
    for world in &worlds {
        let aggregates = read(world, &ranges);
        let out = provisioning::detect_with(
            aggregates.provisioning,
            all_days,
            &config.provisioning,
            &ranges,
            1.0,
        );
        for test in &out.candidates {
            let has = |name: &str| test.baseline.signals.iter().any(|s| s == name);
            if has("cold_start") {
                continue;
            }
            provisioning_tests += 1;
            let n = ["new_region", "new_family", "new_principal", "new_network"]
                .iter()
                .filter(|s| has(s))
                .count();
            novelties[n] += 1;
            for name in ["hosting_source", "vps_source", "accelerator_family"] {
                if has(name) {
                    *signals.entry(name).or_default() += 1;
                }
            }
        }
        let out = credential_stuffing::detect_with(
            aggregates.logins,
            all_days,
            &config.credential_stuffing,
            &ranges,
            1.0,
        );
        for test in &out.candidates {
            let has = |name: &str| test.baseline.signals.iter().any(|s| s == name);
            if has("cold_start") {
                continue;
            }
            sign_in_tests += 1;
            if !test.facts.contains("spray") {
                *failures.entry(test.baseline.observed as u64).or_default() += 1;
            }
            for name in ["new_network", "hosting_source", "no_mfa"] {
                if has(name) {
                    *sign_in_signals.entry(name).or_default() += 1;
                }
            }
        }
    }
    let share = |n: u64, of: u64| n as f64 / of.max(1) as f64;
    println!("provisioning: {provisioning_tests} principal-days outside cold start");
    let shares: Vec<String> = novelties
        .iter()
        .map(|n| format!("{:.4}", share(*n, provisioning_tests)))
        .collect();
    println!("  novelties 0..4: [{}]", shares.join(", "));
    for name in ["hosting_source", "vps_source", "accelerator_family"] {
        let n = signals.get(name).copied().unwrap_or(0);
        println!("  {name}: {n} ({:.4})", share(n, provisioning_tests));
    }
    println!("sign-ins: {sign_in_tests} user-days with failures before an accepted password");
    let tail: Vec<String> = failures.iter().map(|(k, n)| format!("{k}:{n}")).collect();
    println!(
        "  failures in the 24 h before (count:user-days): {}",
        tail.join(" ")
    );
    for name in ["new_network", "hosting_source", "no_mfa"] {
        let n = sign_in_signals.get(name).copied().unwrap_or(0);
        println!("  {name}: {n} ({:.4})", share(n, sign_in_tests));
    }
    Ok(())
}

fn read(world: &Path, ranges: &HostingRanges) -> Aggregates {
    let paths: Vec<_> = ["aws", "azure", "gcp"]
        .iter()
        .map(|cloud| world.join(cloud))
        .filter(|path| path.exists())
        .collect();
    let inputs = auditsweep::normalize::list_inputs(&paths);
    auditsweep::sweep::read(&inputs, ranges as &dyn HostingLookup, 0).0
}
