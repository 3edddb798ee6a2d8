//! Writes the hosting-range snapshot that is built into the binary (`src/ranges/snapshot.rs`)
//! from a directory of published lists. `scripts/ip-ranges-snapshot.sh` runs it.
//!
//! Usage: `cargo run --example ip_ranges_snapshot -- DIR OUT.txt.gz [--built YYYY-MM-DD]`

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context};
use auditsweep::ranges::snapshot::{self, Snapshot};
use chrono::NaiveDate;
use flate2::{Compression, GzBuilder};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut paths = Vec::new();
    let mut built = chrono::Utc::now().date_naive();
    while let Some(arg) = args.next() {
        if arg == "--built" {
            let day = args.next().context("--built needs a date")?;
            built = NaiveDate::parse_from_str(&day, "%Y-%m-%d").context("--built YYYY-MM-DD")?;
        } else {
            paths.push(PathBuf::from(arg));
        }
    }
    let [dir, out] = &paths[..] else {
        bail!("usage: ip_ranges_snapshot DIR OUT.txt.gz [--built YYYY-MM-DD]");
    };
    let text = snapshot::build(dir, built)?;
    let parsed = Snapshot::parse(&text)?;
    // No file name or time in the gzip header: the same lists give the same bytes.
    let mut encoder = GzBuilder::new().write(Vec::new(), Compression::best());
    encoder.write_all(text.as_bytes())?;
    let gz = encoder.finish()?;
    std::fs::write(out, &gz).with_context(|| format!("writing {}", out.display()))?;
    let ranges = parsed.load()?;
    println!(
        "{}: {} bytes ({} of text), {} prefixes, dated {} (built {built})",
        out.display(),
        gz.len(),
        text.len(),
        ranges.len(),
        parsed.date(),
    );
    for (provider, count) in ranges.prefixes_by_provider() {
        println!("  {provider:<13} {count}");
    }
    Ok(())
}
