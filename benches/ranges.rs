//! Speed of the hosting-range lists: loading every real published list (about 67k distinct
//! prefixes from 157k entries, 6.6 MB) and looking addresses up. Run with
//! `cargo bench --bench ranges`; reads `../shared/data/ip-ranges` in place.

use std::hint::black_box;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use auditsweep::ranges::HostingRanges;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn real_lists() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/ip-ranges");
    assert!(
        dir.join("aws-ip-ranges.json").is_file(),
        "the real range lists are missing: expected them in {}",
        dir.display()
    );
    dir
}

/// Hosting addresses of several providers, IPv4 and IPv6, and ISP addresses that miss.
const ADDRESSES: &[&str] = &[
    "52.4.10.20",
    "13.113.196.65",
    "13.69.40.17",
    "34.14.1.2",
    "129.80.1.1",
    "134.209.16.5",
    "45.79.3.10",
    "116.202.1.1",
    "45.76.1.1",
    "84.128.0.1",
    "73.0.0.1",
    "2600:1f19:8000::1",
    "2603:1020:200::5",
    "2a01:4f8::1",
    "2003::1",
    "::ffff:151.127.1.1",
];

fn bench_ranges(c: &mut Criterion) {
    let dir = real_lists();
    let mut load = c.benchmark_group("ranges_load");
    load.sample_size(20);
    load.bench_function("load_dir_all_real_lists", |b| {
        b.iter(|| HostingRanges::load_dir(black_box(&dir)).unwrap().0.len());
    });
    load.finish();

    let (ranges, _) = HostingRanges::load_dir(&dir).unwrap();
    let addresses: Vec<IpAddr> = ADDRESSES.iter().map(|text| text.parse().unwrap()).collect();
    let mut lookup = c.benchmark_group("ranges_lookup");
    lookup.throughput(Throughput::Elements(addresses.len() as u64));
    lookup.bench_function("lookup_mixed_addresses", |b| {
        b.iter(|| {
            addresses
                .iter()
                .filter(|&&address| ranges.lookup(black_box(address)).is_some())
                .count()
        });
    });
    lookup.finish();
}

criterion_group!(benches, bench_ranges);
criterion_main!(benches);
