//! Speed of parse + normalize for one record of each main format, through the same path a
//! file's reader takes (`normalize_record`: the typed fast path for CloudTrail and Cloud Audit
//! Logs, the `Value` mappers for the rest). Run with `cargo bench --bench parse`.
//!
//! The records are the first of the fixtures `aws/cloudtrail-array.json` (a RunInstances),
//! `azure/entra-signins-graph.json` (a Graph sign-in) and `gcp/audit-log-sink.ndjson` (the
//! first entry of an `instances.bulkInsert`), rewritten on one line as exports write them.

use std::hint::black_box;
use std::path::Path;

use auditsweep::normalize::normalize_record;
use auditsweep::schema::Record;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde_json::Value;

fn fixture(path: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(path);
    let text = std::fs::read_to_string(&path).expect("fixture");
    match text.lines().next().map(serde_json::from_str::<Value>) {
        Some(Ok(first)) if path.extension().is_some_and(|e| e == "ndjson") => first,
        _ => serde_json::from_str(&text).expect("JSON fixture"),
    }
}

fn records() -> Vec<(&'static str, Vec<u8>)> {
    let trail = fixture("aws/cloudtrail-array.json")[0].clone();
    let sign_in = fixture("azure/entra-signins-graph.json")["value"][0].clone();
    let entry = fixture("gcp/audit-log-sink.ndjson");
    [
        ("cloudtrail", trail),
        ("entra_sign_in", sign_in),
        ("gcp_log_entry", entry),
    ]
    .into_iter()
    .map(|(name, record)| (name, serde_json::to_vec(&record).expect("JSON")))
    .collect()
}

fn parse_normalize(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse_normalize");
    for (name, bytes) in records() {
        // The record must map, or the benchmark would time the error path.
        let mut events = 0;
        let summary = normalize_record(&bytes, "bench.json", &mut |_: Record| events += 1);
        assert_eq!((events, summary.skipped), (1, 0), "{name} does not map");
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut kept = None;
                normalize_record(black_box(&bytes), "bench.json", &mut |record| {
                    kept = Some(record)
                });
                kept
            })
        });
    }
    group.finish();
}

criterion_group!(benches, parse_normalize);
criterion_main!(benches);
