//! Detection quality, kept as a test: the figures the README reports.
//!
//! A generated 30-tenant, 60-day world with every attack variant must give recall 1.0 and
//! precision of at least 0.95 for each detector, and a benign-only world of the same size at
//! most one false positive per 100 tenant-days. Routine API volume is scaled down to a tenth to
//! keep the test quick (sign-ins, launches and billing keep their real rates; the API calls only
//! feed the principals' known networks). The full-volume figures are printed by
//! `scripts/quality.sh`.

use std::path::Path;

use auditsweep::config::Config;
use auditsweep::detect::HostingLookup;
use auditsweep::eval::{evaluate, EvalOptions, Evaluation};
use auditsweep::ranges::HostingRanges;
use auditsweep::sweep::{self, SweepRequest};
use auditsweep_gen::{generate, GenOptions};

const TENANTS: u32 = 30;
const DAYS: u32 = 60;
const EVENTS_SCALE: f64 = 0.1;

fn sweep_and_score(world: &Path) -> Evaluation {
    let ranges_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/ip-ranges");
    let (ranges, _) = HostingRanges::load_dir(&ranges_dir).expect("the fixture range lists load");
    let config = Config::default();
    let request = SweepRequest {
        paths: ["aws", "azure", "gcp"]
            .iter()
            .map(|cloud| world.join(cloud))
            .filter(|p| p.exists())
            .collect(),
        tenant: None,
        since: None,
        until: None,
        config: &config,
        hosting: &ranges as &dyn HostingLookup,
        threads: 0,
        out: None,
    };
    let (report, _) = sweep::run(&request).expect("the world's folders exist");
    assert_eq!(
        report.inputs["skipped"], 0,
        "the generated world reads back whole"
    );
    let labels =
        auditsweep::eval::input::read_labels(&world.join("labels.json")).expect("labels.json");
    evaluate(&labels, &report, &EvalOptions::default())
}

fn world(seed: u64, attacks: bool) -> (tempfile::TempDir, Evaluation) {
    let dir = tempfile::tempdir().unwrap();
    let mut options = GenOptions::new(dir.path().join("world"), TENANTS, DAYS, seed);
    options.events_scale = EVENTS_SCALE;
    if !attacks {
        options.attacks.clear();
    }
    generate(&options).expect("the world generates");
    let evaluation = sweep_and_score(&dir.path().join("world"));
    (dir, evaluation)
}

#[test]
fn every_attack_is_found_and_findings_are_precise() {
    let (_dir, evaluation) = world(1, true);
    let summary = serde_json::to_string_pretty(&evaluation.detectors).unwrap();
    assert!(
        evaluation.attacks >= 40,
        "every variant is in the world: {}",
        evaluation.attacks
    );
    for detector in &evaluation.detectors {
        let score = &detector.score;
        assert_eq!(
            score.recall,
            Some(1.0),
            "{:?} missed attacks: {:#?}\n{summary}",
            detector.detector,
            evaluation.missed_attacks
        );
        assert_eq!(
            score.max_findings_per_attack,
            Some(1),
            "{:?}: one finding (one ticket) per attack: {:#?}",
            detector.detector,
            evaluation.split_attacks
        );
        let precision = score.precision.expect("findings were reported");
        assert!(
            precision >= 0.95,
            "{:?} precision {precision}: {:#?}\n{summary}",
            detector.detector,
            evaluation.false_positive_findings
        );
    }
}

#[test]
fn a_benign_world_raises_at_most_one_false_positive_per_hundred_tenant_days() {
    let (_dir, evaluation) = world(2, false);
    assert_eq!(evaluation.attacks, 0);
    let tenant_days = evaluation.tenants as f64 * evaluation.days as f64;
    let allowed = tenant_days / 100.0;
    assert!(
        (evaluation.findings as f64) <= allowed,
        "{} findings in {tenant_days} tenant-days (allowed {allowed}): {:#?}",
        evaluation.findings,
        evaluation.false_positive_findings
    );
}
