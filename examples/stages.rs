//! Splits one thread's sweep time into its stages, for `scripts/bench.sh`: each pass does one
//! more stage than the last over the same inputs, and the differences are the stages' costs.
//!
//! 1. read + inflate: every input opened as the reader opens it and read to the end;
//! 2. + split + parse + normalize: every record mapped into the schema, then dropped;
//! 3. + aggregate: the records folded into the detectors' aggregates (`sweep::read`);
//! 4. detect: the detectors, incidents and the report (`sweep::judge`), from those aggregates;
//! 5. report: the report serialized as the CLI writes it.
//!
//! Prints one JSON object: bytes (compressed as stored, JSON as read), records and seconds.
//!
//! Usage: `cargo run --release --example stages -- [--ip-ranges DIR] PATH...`

use std::io::Read;
use std::path::PathBuf;
use std::time::Instant;

use auditsweep::config::Config;
use auditsweep::normalize::{list_inputs, open_input, Input, Normalizer};
use auditsweep::ranges::HostingRanges;
use auditsweep::schema::Record;
use auditsweep::sweep::{self, SweepRequest};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut ranges_dir = PathBuf::from("fixtures/ip-ranges");
    let mut paths = Vec::new();
    while let Some(arg) = args.next() {
        if arg == "--ip-ranges" {
            ranges_dir = args.next().map(PathBuf::from).unwrap_or(ranges_dir);
        } else {
            paths.push(PathBuf::from(arg));
        }
    }
    let (ranges, _) = HostingRanges::load_dir(&ranges_dir)?;
    let inputs = list_inputs(&paths);

    let clock = Instant::now();
    let (mut stored, mut json) = (0u64, 0u64);
    let mut buffer = vec![0u8; 1 << 20];
    for input in &inputs.inputs {
        if let Input::File(path) = input {
            stored += std::fs::metadata(path)?.len();
        }
        let mut reader = open_input(input)?;
        loop {
            match reader.read(&mut buffer)? {
                0 => break,
                n => json += n as u64,
            }
        }
    }
    let read = clock.elapsed().as_secs_f64();

    let clock = Instant::now();
    let mut records = 0u64;
    {
        let mut sink = |_: Record| records += 1;
        let mut normalizer = Normalizer::new(&mut sink);
        for input in &inputs.inputs {
            normalizer.read_input(input);
        }
        normalizer.finish();
    }
    let normalize = clock.elapsed().as_secs_f64();

    let clock = Instant::now();
    let (aggregates, summary) = sweep::read(&inputs, &ranges, 1);
    let aggregate = clock.elapsed().as_secs_f64();

    let config = Config::default();
    let request = SweepRequest {
        paths,
        tenant: None,
        since: None,
        until: None,
        config: &config,
        hosting: &ranges,
        threads: 1,
    };
    let clock = Instant::now();
    let (report, _) = sweep::judge(&request, aggregates, summary);
    let detect = clock.elapsed().as_secs_f64();

    let clock = Instant::now();
    let serialized = serde_json::to_vec_pretty(&report)?;
    let written = clock.elapsed().as_secs_f64();

    let stages = serde_json::json!({
        "files": inputs.inputs.len(),
        "stored_bytes": stored,
        "json_bytes": json,
        "records": records,
        "findings": report.findings.len(),
        "report_bytes": serialized.len(),
        "seconds": {
            "read_inflate": read,
            "parse_normalize": (normalize - read).max(0.0),
            "aggregate": (aggregate - normalize).max(0.0),
            "detect": detect,
            "report": written,
        },
    });
    println!("{stages}");
    Ok(())
}
