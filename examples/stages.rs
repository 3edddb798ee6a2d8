//! Splits one thread's sweep time into its stages, for `scripts/bench.sh`.
//!
//! 1. read + inflate: every input opened as the reader opens it and read to the end (its own
//!    pass, the faster of two);
//! 2. split + parse + normalize: one pass of the whole reader, less stages 1 and 3;
//! 3. aggregate: the records folded into the detectors' aggregates, timed record by record
//!    inside that pass;
//! 4. detect: the detectors, incidents and the report (`sweep::judge`), from those aggregates;
//! 5. report: the report serialized as the CLI writes it.
//!
//! Prints one JSON object: bytes (compressed as stored, JSON as read), records and seconds.
//!
//! Usage: `cargo run --release --example stages -- [--ip-ranges DIR] PATH...`

use std::io::Read;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use auditsweep::aggregate::Aggregates;
use auditsweep::config::Config;
use auditsweep::normalize::{list_inputs, open_input, Input, Normalizer};
use auditsweep::ranges::HostingRanges;
use auditsweep::schema::Record;
use auditsweep::sweep::{self, SweepRequest};

/// The allocator of the `auditsweep` binary, so the split is the sweep's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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

    // Read + inflate alone, twice: the first pass may also pay for the disk, the second reads
    // from the page cache as the timed passes do.
    let (mut stored, mut json, mut read) = (0u64, 0u64, f64::MAX);
    let mut buffer = vec![0u8; 1 << 20];
    for _ in 0..2 {
        let clock = Instant::now();
        (stored, json) = (0, 0);
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
        read = read.min(clock.elapsed().as_secs_f64());
    }

    // One pass of the whole reader, the aggregation timed record by record inside it, so the
    // split does not depend on comparing runs on a machine whose speed varies.
    let clock = Instant::now();
    let mut records = 0u64;
    let mut aggregates = Aggregates::new();
    let mut aggregate = Duration::ZERO;
    let summary = {
        let mut sink = |record: Record| {
            records += 1;
            let start = Instant::now();
            aggregates.observe(record, &ranges);
            aggregate += start.elapsed();
        };
        let mut normalizer = Normalizer::new(&mut sink);
        normalizer.note_listing(&inputs);
        for input in &inputs.inputs {
            normalizer.read_input(input);
        }
        normalizer.finish()
    };
    let pass = clock.elapsed().as_secs_f64();
    let aggregate = aggregate.as_secs_f64();
    let normalize = (pass - aggregate - read).max(0.0);

    let config = Config::default();
    let request = SweepRequest {
        paths,
        tenant: None,
        since: None,
        until: None,
        config: &config,
        hosting: &ranges,
        threads: 1,
        out: None,
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
            "parse_normalize": normalize,
            "aggregate": aggregate,
            "detect": detect,
            "report": written,
        },
    });
    println!("{stages}");
    Ok(())
}
