//! Hosting/VPS range lists: the real published lists in `../shared/data/ip-ranges` load with the
//! counts we measured, addresses resolve to the right provider, and `auditsweep ranges update`
//! fetches, validates and installs lists from a local HTTP server.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use auditsweep::ranges::snapshot::{self, Snapshot};
use auditsweep::ranges::{HostingRanges, ListFormat, RangeError};
use auditsweep_gen::{CLOUD_AUTOMATION_PREFIXES, HOSTING_PREFIXES};
use ipnet::IpNet;

/// The real lists, read in place from the shared data beside the repository.
fn shared_ranges_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/ip-ranges");
    assert!(
        dir.join("aws-ip-ranges.json").is_file(),
        "the real range lists are missing: expected them in {} (the project's shared data, \
         checked out beside the repository as ../shared)",
        dir.display()
    );
    dir
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/ip-ranges")
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn net(text: &str) -> IpNet {
    text.parse().unwrap()
}

/// What each list gives, as measured when these snapshots were taken (and cross-checked with an
/// independent script): entries read, distinct IPv4 and IPv6 prefixes kept, duplicates merged,
/// special-purpose entries dropped.
struct Expected {
    file: &'static str,
    provider: &'static str,
    format: ListFormat,
    entries: usize,
    ipv4: usize,
    ipv6: usize,
    duplicates: usize,
    dropped_special: usize,
}

const REAL_LISTS: &[Expected] = &[
    Expected {
        file: "aws-ip-ranges.json",
        provider: "aws",
        format: ListFormat::AwsIpRanges,
        entries: 13_344,
        ipv4: 6_850,
        ipv6: 2_216,
        duplicates: 4_278,
        dropped_special: 0,
    },
    Expected {
        file: "azure-service-tags.json",
        provider: "azure",
        format: ListFormat::AzureServiceTags,
        entries: 90_493,
        ipv4: 37_525,
        ipv6: 13_362,
        duplicates: 39_606,
        dropped_special: 0,
    },
    Expected {
        file: "digitalocean-geofeed.csv",
        provider: "digitalocean",
        format: ListFormat::Geofeed,
        entries: 1_182,
        ipv4: 1_037,
        ipv6: 145,
        duplicates: 0,
        dropped_special: 0,
    },
    Expected {
        file: "gcp-cloud.json",
        provider: "gcp",
        format: ListFormat::GcpCloud,
        entries: 782,
        ipv4: 736,
        ipv6: 46,
        duplicates: 0,
        dropped_special: 0,
    },
    Expected {
        file: "hetzner.txt",
        provider: "hetzner",
        format: ListFormat::CidrList,
        entries: 83,
        ipv4: 78,
        ipv6: 5,
        duplicates: 0,
        dropped_special: 0,
    },
    Expected {
        file: "linode-geofeed.csv",
        provider: "linode",
        format: ListFormat::Geofeed,
        entries: 4_552,
        ipv4: 4_464,
        ipv6: 88,
        duplicates: 0,
        dropped_special: 0,
    },
    Expected {
        file: "oracle-cloud.json",
        provider: "oracle",
        format: ListFormat::OracleCloud,
        entries: 896,
        ipv4: 896,
        ipv6: 0,
        duplicates: 0,
        dropped_special: 0,
    },
    Expected {
        file: "ovh.txt",
        provider: "ovh",
        format: ListFormat::CidrList,
        entries: 3,
        ipv4: 2,
        ipv6: 1,
        duplicates: 0,
        dropped_special: 0,
    },
    Expected {
        file: "vultr.txt",
        provider: "vultr",
        format: ListFormat::CidrList,
        entries: 151,
        ipv4: 121,
        ipv6: 23,
        duplicates: 0,
        dropped_special: 7,
    },
];

#[test]
fn each_real_list_loads_with_the_measured_prefix_counts() {
    let dir = shared_ranges_dir();
    for expected in REAL_LISTS {
        let (ranges, report) = HostingRanges::load_file(&dir.join(expected.file)).unwrap();
        let name = expected.file;
        assert_eq!(report.provider, expected.provider, "{name}");
        assert_eq!(report.format, expected.format, "{name}");
        assert_eq!(report.entries, expected.entries, "{name}: entries");
        assert_eq!(ranges.len_v4(), expected.ipv4, "{name}: IPv4 prefixes");
        assert_eq!(ranges.len_v6(), expected.ipv6, "{name}: IPv6 prefixes");
        assert_eq!(report.added, expected.ipv4 + expected.ipv6, "{name}: added");
        assert_eq!(report.duplicates, expected.duplicates, "{name}: duplicates");
        assert_eq!(
            report.dropped_special.len(),
            expected.dropped_special,
            "{name}: dropped"
        );
        assert_eq!(report.malformed_total, 0, "{name}: {:?}", report.malformed);
        assert_eq!(report.conflicts, 0, "{name}");
    }
}

#[test]
fn the_real_directory_loads_as_one_set_and_skips_the_readme() {
    let (ranges, report) = HostingRanges::load_dir(&shared_ranges_dir()).unwrap();
    let ipv4: usize = REAL_LISTS.iter().map(|list| list.ipv4).sum();
    let ipv6: usize = REAL_LISTS.iter().map(|list| list.ipv6).sum();
    assert_eq!((ranges.len_v4(), ranges.len_v6()), (ipv4, ipv6));
    assert_eq!(ranges.len(), 67_595);
    let files: Vec<&str> = report
        .files
        .iter()
        .map(|file| file.path.file_name().unwrap().to_str().unwrap())
        .collect();
    let expected: Vec<&str> = REAL_LISTS.iter().map(|list| list.file).collect();
    assert_eq!(files, expected, "files load in name order");
    let skipped: Vec<&str> = report
        .skipped_files
        .iter()
        .map(|path| path.file_name().unwrap().to_str().unwrap())
        .collect();
    assert_eq!(skipped, ["README.md"]);
    let by_provider = ranges.prefixes_by_provider();
    for list in REAL_LISTS {
        assert_eq!(
            by_provider[list.provider],
            list.ipv4 + list.ipv6,
            "{}",
            list.provider
        );
    }
}

#[test]
fn vultr_documentation_ranges_are_dropped_and_reported() {
    let path = shared_ranges_dir().join("vultr.txt");
    let (ranges, report) = HostingRanges::load_file(&path).unwrap();
    let dropped: HashMap<String, &str> = report
        .dropped_special
        .iter()
        .map(|dropped| (dropped.prefix.to_string(), dropped.range.cidr))
        .collect();
    for documentation in [
        "192.0.2.0/24",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "2001:db8::/32",
    ] {
        assert_eq!(
            dropped.get(documentation),
            Some(&documentation),
            "{documentation}"
        );
    }
    // Other IPv6 special-purpose blocks in the same list: benchmarking and ORCHID inside
    // 2001::/23, and 6to4.
    assert_eq!(dropped.get("2001:2::/48"), Some(&"2001::/23"));
    assert_eq!(dropped.get("2001:10::/28"), Some(&"2001::/23"));
    assert_eq!(dropped.get("2002::/16"), Some(&"2002::/16"));
    assert_eq!(report.dropped_by_range()["192.0.2.0/24"], 1);
    assert!(report
        .dropped_special
        .iter()
        .all(|dropped| dropped.line.is_some()));
    assert!(
        report.to_string().contains("7 special-purpose dropped"),
        "{report}"
    );
    for documentation_address in ["192.0.2.1", "198.51.100.7", "203.0.113.200", "2001:db8::1"] {
        assert_eq!(
            ranges.lookup(ip(documentation_address)),
            None,
            "{documentation_address}"
        );
    }
    assert_eq!(ranges.lookup(ip("45.76.1.1")).unwrap().provider, "vultr");
}

/// (address, provider, matching prefix, region) for addresses inside prefixes of each list.
const KNOWN_ADDRESSES: &[(&str, &str, &str, Option<&str>)] = &[
    ("52.4.10.20", "aws", "52.4.0.0/14", Some("us-east-1")),
    (
        "2600:1f19:8000::1",
        "aws",
        "2600:1f19:8000::/36",
        Some("us-east-1"),
    ),
    ("34.14.1.2", "gcp", "34.14.0.0/17", Some("europe-west1")),
    (
        "2600:1900:8000::1",
        "gcp",
        "2600:1900:8000::/44",
        Some("africa-south1"),
    ),
    ("13.69.1.1", "azure", "13.69.0.0/17", Some("westeurope")),
    (
        "2603:1020:200::5",
        "azure",
        "2603:1020:200::/46",
        Some("westeurope"),
    ),
    (
        "129.80.1.1",
        "oracle",
        "129.80.0.0/16",
        Some("us-ashburn-1"),
    ),
    (
        "134.209.16.5",
        "digitalocean",
        "134.209.16.0/20",
        Some("GB-SLG"),
    ),
    (
        "2604:a880:0:1010::1",
        "digitalocean",
        "2604:a880:0:1010::/64",
        Some("US-NJ"),
    ),
    ("45.79.3.10", "linode", "45.79.3.0/24", Some("US-TX")),
    ("2600:3c00::1", "linode", "2600:3c00::/32", Some("US-TX")),
    ("116.202.1.1", "hetzner", "116.202.0.0/16", None),
    ("2a01:4f8::1", "hetzner", "2a01:4f8::/32", None),
    ("151.127.1.1", "ovh", "151.127.0.0/16", None),
    ("2001:41d0:fc00::1", "ovh", "2001:41d0:fc00::/38", None),
    ("45.76.1.1", "vultr", "45.76.0.0/15", None),
    ("2001:19f0:5000::1", "vultr", "2001:19f0:5000::/36", None),
];

/// Residential and business ISP addresses (Deutsche Telekom, Comcast, BT, Orange, Vodafone DE)
/// that are in none of the lists.
const ISP_ADDRESSES: &[&str] = &[
    "84.128.0.1",
    "73.0.0.1",
    "86.128.5.5",
    "90.1.2.3",
    "2003::1",
    "2a02:8108::1",
];

#[test]
fn known_addresses_resolve_to_their_provider() {
    let (ranges, _) = HostingRanges::load_dir(&shared_ranges_dir()).unwrap();
    for &(address, provider, prefix, region) in KNOWN_ADDRESSES {
        let (found_prefix, info) = ranges
            .lookup_prefix(ip(address))
            .unwrap_or_else(|| panic!("{address}"));
        assert_eq!(info.provider, provider, "{address}");
        assert_eq!(found_prefix, net(prefix), "{address}");
        assert_eq!(info.region.as_deref(), region, "{address}");
    }
    let aws = ranges.lookup(ip("52.4.10.20")).unwrap();
    assert_eq!(aws.services, ["AMAZON", "EC2"]);
    let linode = ranges.lookup(ip("45.79.3.10")).unwrap();
    assert_eq!(
        (linode.country.as_deref(), linode.city.as_deref()),
        (Some("US"), Some("Richardson"))
    );
    let oracle = ranges.lookup(ip("129.80.1.1")).unwrap();
    assert_eq!(oracle.services, ["OCI"]);
    // An IPv4-mapped IPv6 source, as some logs write it, is an IPv4 lookup.
    assert_eq!(
        ranges.lookup(ip("::ffff:45.76.1.1")).unwrap().provider,
        "vultr"
    );
}

#[test]
fn isp_addresses_outside_all_lists_resolve_to_none() {
    let (ranges, _) = HostingRanges::load_dir(&shared_ranges_dir()).unwrap();
    for address in ISP_ADDRESSES {
        assert_eq!(ranges.lookup(ip(address)), None, "{address}");
    }
}

#[test]
fn longest_prefix_wins_for_overlaps_in_the_real_lists() {
    let (ranges, _) = HostingRanges::load_dir(&shared_ranges_dir()).unwrap();
    // AWS: a CloudFront /26 inside an AMAZON/EC2 /14.
    let (prefix, info) = ranges.lookup_prefix(ip("13.113.196.65")).unwrap();
    assert_eq!(
        (prefix, info.services.as_slice()),
        (net("13.113.196.64/26"), &["CLOUDFRONT".to_owned()][..])
    );
    let (prefix, info) = ranges.lookup_prefix(ip("13.113.1.1")).unwrap();
    assert_eq!(
        (prefix, info.services.as_slice()),
        (
            net("13.112.0.0/14"),
            &["AMAZON".to_owned(), "EC2".to_owned()][..]
        )
    );
    // Azure: a Storage /28 inside the AzureCloud /17 of West Europe.
    let (prefix, info) = ranges.lookup_prefix(ip("13.69.40.17")).unwrap();
    assert_eq!(
        (prefix, info.services.as_slice()),
        (net("13.69.40.16/28"), &["AzureStorage".to_owned()][..])
    );
    let (prefix, _) = ranges.lookup_prefix(ip("13.69.41.1")).unwrap();
    assert_eq!(prefix, net("13.69.0.0/17"));
}

#[test]
fn a_malformed_line_is_reported_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut hetzner = std::fs::read_to_string(fixtures_dir().join("hetzner.txt")).unwrap();
    let bad_line = hetzner.lines().count() + 1;
    hetzner.push_str("5.9.0.0/33\n");
    std::fs::write(dir.path().join("hetzner.txt"), hetzner).unwrap();
    let aws = std::fs::read_to_string(fixtures_dir().join("aws-ip-ranges.json")).unwrap();
    let aws = aws.replacen("\"52.4.0.0/14\"", "\"52.4.0.0/14x\"", 1);
    let aws_bad_line = aws
        .lines()
        .position(|line| line.contains("52.4.0.0/14x"))
        .unwrap()
        + 1;
    std::fs::write(dir.path().join("aws-ip-ranges.json"), aws).unwrap();

    let (ranges, report) = HostingRanges::load_dir(dir.path()).unwrap();
    let malformed: Vec<String> = report
        .files
        .iter()
        .flat_map(|file| file.malformed.iter().map(ToString::to_string))
        .collect();
    let hetzner_path = dir.path().join("hetzner.txt");
    let aws_path = dir.path().join("aws-ip-ranges.json");
    assert_eq!(
        malformed,
        [
            format!(
                "{}:{aws_bad_line}: not an IP prefix: \"52.4.0.0/14x\"",
                aws_path.display()
            ),
            format!(
                "{}:{bad_line}: not an IP prefix: \"5.9.0.0/33\"",
                hetzner_path.display()
            ),
        ]
    );
    // The rest of both files still loaded; the EC2 record of 52.4.0.0/14 was fine.
    assert_eq!(ranges.lookup(ip("5.9.1.1")).unwrap().provider, "hetzner");
    assert_eq!(ranges.lookup(ip("52.4.1.1")).unwrap().services, ["EC2"]);
}

#[test]
fn unreadable_or_unknown_lists_are_errors_naming_the_file() {
    let missing = HostingRanges::load_dir(Path::new("/nonexistent/ip-ranges"));
    assert!(matches!(missing, Err(RangeError::Io { .. })));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.json");
    std::fs::write(&path, "{\"prefixes\": [").unwrap();
    let err = HostingRanges::load_dir(dir.path()).unwrap_err();
    assert!(err.to_string().contains("broken.json"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Fixtures

/// (file, entries, IPv4, IPv6, special-purpose dropped) of each fixture excerpt.
const FIXTURES: &[(&str, usize, usize, usize, usize)] = &[
    ("aws-ip-ranges.json", 17, 7, 3, 0),
    ("azure-service-tags.json", 8, 3, 3, 0),
    ("digitalocean-geofeed.csv", 6, 4, 2, 0),
    ("gcp-cloud.json", 6, 4, 2, 0),
    ("hetzner.txt", 5, 4, 1, 0),
    ("linode-geofeed.csv", 5, 3, 2, 0),
    ("oracle-cloud.json", 4, 4, 0, 0),
    ("ovh.txt", 3, 2, 1, 0),
    ("vultr.txt", 9, 4, 1, 4),
];

#[test]
fn fixtures_load_with_their_counts() {
    for &(file, entries, ipv4, ipv6, dropped) in FIXTURES {
        let (ranges, report) = HostingRanges::load_file(&fixtures_dir().join(file)).unwrap();
        assert_eq!(report.entries, entries, "{file}");
        assert_eq!((ranges.len_v4(), ranges.len_v6()), (ipv4, ipv6), "{file}");
        assert_eq!(report.dropped_special.len(), dropped, "{file}");
        assert_eq!(report.malformed_total, 0, "{file}");
    }
}

#[test]
fn fixtures_are_excerpts_of_the_real_lists() {
    let (real, _) = HostingRanges::load_dir(&shared_ranges_dir()).unwrap();
    let real: HashMap<IpNet, String> = real
        .iter()
        .map(|(prefix, info)| (prefix, info.provider.clone()))
        .collect();
    let (fixtures, _) = HostingRanges::load_dir(&fixtures_dir()).unwrap();
    for (prefix, info) in fixtures.iter() {
        assert_eq!(
            real.get(&prefix),
            Some(&info.provider),
            "fixture prefix {prefix} ({})",
            info.provider
        );
    }
}

/// The world generator draws attacker addresses from hosting prefixes and benign automation
/// from cloud prefixes; the demo only labels them hosting if every one is in the fixtures, with
/// the generator's provider name.
#[test]
fn fixtures_hold_every_prefix_the_generator_draws_from() {
    let (fixtures, _) = HostingRanges::load_dir(&fixtures_dir()).unwrap();
    let attackers = HOSTING_PREFIXES
        .iter()
        .map(|prefix| (prefix.provider, prefix.cidr));
    let automation = CLOUD_AUTOMATION_PREFIXES.iter().copied();
    let generator: Vec<(&str, IpNet)> = attackers
        .chain(automation)
        .map(|(provider, cidr)| (provider, net(&cidr.to_string())))
        .collect();
    assert!(!generator.is_empty());
    for (provider, prefix) in generator {
        let (found, info) = fixtures
            .lookup_prefix(prefix.network())
            .unwrap_or_else(|| panic!("{provider} {prefix} is not in fixtures/ip-ranges"));
        assert_eq!((found, info.provider.as_str()), (prefix, provider));
    }
}

// ---------------------------------------------------------------------------------------------
// `auditsweep ranges` on the command line

fn auditsweep() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_auditsweep"));
    // The test server is on loopback; a proxy from the environment must not be asked for it.
    for proxy in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ] {
        command.env_remove(proxy);
    }
    command
        .env("NO_PROXY", "*")
        .env("RUST_LOG", "auditsweep=warn");
    command
}

#[test]
fn lookup_prints_one_json_line_per_address() {
    let output = auditsweep()
        .args(["ranges", "lookup", "--dir"])
        .arg(fixtures_dir())
        .args(["45.76.1.1", "84.128.0.1", "2a01:4f8::1"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["hosting"]["provider"], "vultr");
    assert_eq!(lines[0]["hosting"]["prefix"], "45.76.0.0/15");
    assert_eq!(lines[1]["address"], "84.128.0.1");
    assert!(lines[1]["hosting"].is_null());
    assert_eq!(lines[2]["hosting"]["provider"], "hetzner");
}

/// A tiny HTTP/1.1 server on 127.0.0.1 serving fixed responses by path. It handles a bounded
/// number of connections, stops after a deadline or when dropped.
struct TestServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Vec<String>>>,
}

struct Route {
    path: &'static str,
    status: u16,
    body: Vec<u8>,
}

impl TestServer {
    fn start(routes: Vec<Route>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stop_flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(60);
            let mut requested = Vec::new();
            while requested.len() < 32
                && Instant::now() < deadline
                && !stop_flag.load(Ordering::Relaxed)
            {
                match listener.accept() {
                    Ok((stream, _)) => requested.push(respond(stream, &routes)),
                    Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err(_) => break,
                }
            }
            requested
        });
        TestServer {
            addr,
            stop,
            thread: Some(thread),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Stop and return the paths requested.
    fn finish(mut self) -> Vec<String> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn respond(mut stream: TcpStream, routes: &[Route]) -> String {
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut request = Vec::new();
    let mut chunk = [0u8; 1024];
    while !request.windows(4).any(|window| window == b"\r\n\r\n") && request.len() < 16 * 1024 {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(read) => request.extend_from_slice(&chunk[..read]),
        }
    }
    let request = String::from_utf8_lossy(&request);
    let path = request.split_whitespace().nth(1).unwrap_or("").to_owned();
    let (status, body) = routes
        .iter()
        .find(|route| route.path == path)
        .map_or((404, &b"not found"[..]), |route| {
            (route.status, route.body.as_slice())
        });
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        _ => "Internal Server Error",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
    let _ = stream.flush();
    path
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixtures_dir().join(name)).unwrap()
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn update_installs_good_lists_and_keeps_the_old_file_of_a_failing_source() {
    let server = TestServer::start(vec![
        Route {
            path: "/ip-ranges.json",
            status: 200,
            body: fixture("aws-ip-ranges.json"),
        },
        Route {
            path: "/cloud.json",
            status: 200,
            body: fixture("gcp-cloud.json"),
        },
        Route {
            path: "/public_ip_ranges.json",
            status: 500,
            body: b"upstream broke".to_vec(),
        },
        Route {
            path: "/geo/google.csv",
            status: 200,
            body: fixture("digitalocean-geofeed.csv"),
        },
        Route {
            path: "/linode",
            status: 200,
            body: fixture("linode-geofeed.csv"),
        },
    ]);
    let cache = tempfile::tempdir().unwrap();
    let old_oracle = fixture("oracle-cloud.json");
    std::fs::write(cache.path().join("oracle-cloud.json"), &old_oracle).unwrap();
    std::fs::write(
        cache.path().join("aws-ip-ranges.json"),
        b"{\"prefixes\": []}",
    )
    .unwrap();

    let output = auditsweep()
        .args(["ranges", "update", "--dir"])
        .arg(cache.path())
        .arg(format!("--source=aws={}", server.url("/ip-ranges.json")))
        .arg(format!("--source=gcp={}", server.url("/cloud.json")))
        .arg(format!(
            "--source=oracle={}",
            server.url("/public_ip_ranges.json")
        ))
        .arg(format!(
            "--source=digitalocean={}",
            server.url("/geo/google.csv")
        ))
        .arg(format!("--source=linode={}", server.url("/linode")))
        .output()
        .unwrap();
    let requested = server.finish();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);

    assert_eq!(
        output.status.code(),
        Some(2),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert_eq!(requested.len(), 5, "{requested:?}");
    for name in ["aws", "gcp", "digitalocean", "linode"] {
        let line = stdout
            .lines()
            .find(|line| line.trim_start().starts_with(name))
            .unwrap();
        assert!(line.contains("updated"), "{line}");
    }
    let oracle_line = stdout
        .lines()
        .find(|line| line.trim_start().starts_with("oracle"))
        .unwrap();
    assert!(
        oracle_line.contains("FAILED") && oracle_line.contains("HTTP 500"),
        "{oracle_line}"
    );
    assert!(
        oracle_line.contains("kept the previous file"),
        "{oracle_line}"
    );

    for name in [
        "aws-ip-ranges.json",
        "gcp-cloud.json",
        "digitalocean-geofeed.csv",
        "linode-geofeed.csv",
    ] {
        assert_eq!(
            std::fs::read(cache.path().join(name)).unwrap(),
            fixture(name),
            "{name}"
        );
    }
    assert_eq!(
        std::fs::read(cache.path().join("oracle-cloud.json")).unwrap(),
        old_oracle
    );
    assert_eq!(
        files_in(cache.path()),
        [
            "aws-ip-ranges.json",
            "digitalocean-geofeed.csv",
            "gcp-cloud.json",
            "linode-geofeed.csv",
            "oracle-cloud.json"
        ],
        "no temp files are left behind"
    );
    let (ranges, _) = HostingRanges::load_dir(cache.path()).unwrap();
    assert_eq!(ranges.lookup(ip("52.4.10.20")).unwrap().provider, "aws");
    assert_eq!(ranges.lookup(ip("129.80.1.1")).unwrap().provider, "oracle");
}

#[test]
fn update_rejects_wrong_formats_error_pages_and_plain_http_to_other_hosts() {
    let server = TestServer::start(vec![
        // The GCP list where the AWS list should be.
        Route {
            path: "/aws",
            status: 200,
            body: fixture("gcp-cloud.json"),
        },
        Route {
            path: "/gcp",
            status: 200,
            body: fixture("gcp-cloud.json"),
        },
        Route {
            path: "/oracle",
            status: 200,
            body: fixture("oracle-cloud.json"),
        },
        // A 200 answer that is an HTML page.
        Route {
            path: "/do",
            status: 200,
            body: b"<!doctype html><html><body>Sign in</body></html>".to_vec(),
        },
    ]);
    let cache = tempfile::tempdir().unwrap();
    let target = cache.path().join("nested");

    let output = auditsweep()
        .args(["ranges", "update", "--dir"])
        .arg(&target)
        .arg(format!("--source=aws={}", server.url("/aws")))
        .arg(format!("--source=gcp={}", server.url("/gcp")))
        .arg(format!("--source=oracle={}", server.url("/oracle")))
        .arg(format!("--source=digitalocean={}", server.url("/do")))
        .arg("--source=linode=http://geoip.linode.com/")
        .output()
        .unwrap();
    let requested = server.finish();
    let stdout = String::from_utf8_lossy(&output.stdout);

    assert_eq!(output.status.code(), Some(2), "{stdout}");
    assert_eq!(
        requested,
        ["/aws", "/gcp", "/oracle", "/do"],
        "plain http to a public host is never requested"
    );
    let line = |name: &str| {
        stdout
            .lines()
            .find(|line| line.trim_start().starts_with(name))
            .unwrap()
            .to_owned()
    };
    assert!(
        line("aws").contains("expected AWS ip-ranges.json, got GCP cloud.json"),
        "{stdout}"
    );
    assert!(line("digitalocean").contains("looks like HTML"), "{stdout}");
    assert!(
        line("linode").contains("refusing a plain-http URL"),
        "{stdout}"
    );
    assert!(line("aws").contains("no previous file"), "{stdout}");
    assert!(
        line("gcp").contains("updated") && line("oracle").contains("updated"),
        "{stdout}"
    );
    assert_eq!(files_in(&target), ["gcp-cloud.json", "oracle-cloud.json"]);
}

#[test]
fn update_rejects_an_override_for_an_unknown_source() {
    let cache = tempfile::tempdir().unwrap();
    let output = auditsweep()
        .args(["ranges", "update", "--dir"])
        .arg(cache.path())
        .arg("--source=azure=https://example.com/ServiceTags_Public.json")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("unknown source \"azure\""), "{stderr}");
    assert!(files_in(cache.path()).is_empty());
}

// ---------------------------------------------------------------------------------------------
// The snapshot built into the binary

#[test]
fn the_built_in_snapshot_is_the_shared_lists_aggregated() {
    let snapshot = Snapshot::embedded().unwrap();
    let dir = shared_ranges_dir();
    let mut text = String::new();
    flate2::read::GzDecoder::new(auditsweep::ranges::snapshot::EMBEDDED)
        .read_to_string(&mut text)
        .unwrap();
    assert!(
        snapshot::build(&dir, snapshot.built).unwrap() == text,
        "data/ip-ranges-snapshot.txt.gz is not what the shared lists give: run scripts/ip-ranges-snapshot.sh"
    );
    let providers: Vec<&str> = snapshot.providers().collect();
    let expected: Vec<&str> = REAL_LISTS.iter().map(|list| list.provider).collect();
    assert_eq!(providers, expected);
    let day = |text: &str| chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap();
    let dated: Vec<(&str, Option<chrono::NaiveDate>)> = snapshot
        .lists
        .iter()
        .map(|list| (list.provider.as_str(), list.published))
        .collect();
    assert_eq!(
        dated,
        [
            ("aws", Some(day("2025-07-24"))),
            ("azure", None),
            ("digitalocean", None),
            ("gcp", Some(day("2025-07-24"))),
            ("hetzner", Some(day("2025-05-22"))),
            ("linode", Some(day("2025-07-24"))),
            ("oracle", Some(day("2025-07-21"))),
            ("ovh", Some(day("2025-05-22"))),
            ("vultr", None),
        ]
    );
    assert_eq!(snapshot.date(), day("2025-05-22"));

    let small = snapshot.load().unwrap();
    let (full, _) = HostingRanges::load_dir(&dir).unwrap();
    for (provider, count) in small.prefixes_by_provider() {
        assert!(count > 0, "{provider}");
    }
    assert!(
        small.len() * 5 < full.len(),
        "{} of {}",
        small.len(),
        full.len()
    );
    for &(address, provider, _, _) in KNOWN_ADDRESSES {
        assert_eq!(
            small.lookup(ip(address)).unwrap().provider,
            provider,
            "{address}"
        );
    }
    for prefix in [
        "45.32.0.0/16",
        "116.202.0.0/16",
        "109.190.0.0/16",
        "129.80.0.0/16",
    ] {
        let (found, _) = small.lookup_prefix(net(prefix).network()).unwrap();
        assert!(found.contains(&net(prefix)), "{prefix} in {found}");
    }
    for address in ISP_ADDRESSES {
        assert_eq!(small.lookup(ip(address)), None, "{address}");
    }
    // Every address at either end of every published prefix has the same provider.
    for (prefix, _) in full.iter() {
        for address in [prefix.network(), prefix.broadcast()] {
            let provider = |set: &HostingRanges| set.lookup(address).map(|i| i.provider.clone());
            assert_eq!(provider(&small), provider(&full), "{address} of {prefix}");
        }
    }
}

fn sweep_demo(extra: &[&str], cache: &Path) -> (serde_json::Value, String) {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo");
    let output = auditsweep()
        .env("RUST_LOG", "auditsweep=info")
        .env("XDG_CACHE_HOME", cache)
        .env("HOME", cache)
        .arg("sweep")
        .args(["aws", "azure", "gcp"].map(|cloud| demo.join(cloud)))
        .args(extra)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stderr}");
    (serde_json::from_slice(&output.stdout).unwrap(), stderr)
}

#[test]
fn with_no_cache_the_demo_finds_with_the_snapshot_what_the_full_lists_find() {
    let empty = tempfile::tempdir().unwrap();
    let shared = shared_ranges_dir();
    let (full, _) = sweep_demo(&["--ip-ranges", shared.to_str().unwrap()], empty.path());
    let (built_in, stderr) = sweep_demo(&[], empty.path());
    assert_eq!(full["findings"].as_array().unwrap().len(), 14);
    assert_eq!(built_in["findings"], full["findings"]);
    assert!(
        stderr.contains("Hosting ranges: the built-in snapshot, dated 2025-05-22"),
        "{stderr}"
    );
    let age = (chrono::Utc::now().date_naive() - Snapshot::embedded().unwrap().date()).num_days();
    let warned = stderr.contains("date from 2025-05-22") && stderr.contains("ranges update");
    assert_eq!(warned, age > auditsweep::ranges::MAX_AGE_DAYS, "{stderr}");

    // Without hosting ranges (a list that holds none of the demo's addresses) 4 are lost.
    let none = tempfile::tempdir().unwrap();
    std::fs::write(none.path().join("nobody.txt"), "1.0.0.0/24\n").unwrap();
    let (without, _) = sweep_demo(
        &["--ip-ranges", none.path().to_str().unwrap()],
        empty.path(),
    );
    assert_eq!(without["findings"].as_array().unwrap().len(), 10);
}

#[test]
fn the_cache_wins_over_the_snapshot_and_says_so() {
    let cache = tempfile::tempdir().unwrap();
    let lists = cache.path().join("auditsweep/ip-ranges");
    std::fs::create_dir_all(&lists).unwrap();
    std::fs::copy(
        fixtures_dir().join("aws-ip-ranges.json"),
        lists.join("aws-ip-ranges.json"),
    )
    .unwrap();
    let (_, stderr) = sweep_demo(&[], cache.path());
    let expected = format!(
        "Hosting ranges: cache {}, with azure, digitalocean, gcp, hetzner, linode, oracle, ovh, \
         vultr from the built-in snapshot",
        lists.display()
    );
    assert!(stderr.contains(&expected), "{stderr}");
}

/// Accepts one connection and answers in plain HTTP at once, whatever was sent: a TLS client
/// gets a response that is no TLS record.
fn plain_http_answerer() -> (SocketAddr, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let thread = std::thread::spawn(move || {
        if let Ok((mut stream, _)) = listener.accept() {
            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        }
    });
    (addr, thread)
}

#[test]
fn update_names_why_each_download_failed() {
    let server = TestServer::start(vec![
        Route {
            path: "/busy",
            status: 503,
            body: b"try later".to_vec(),
        },
        Route {
            path: "/linode",
            status: 200,
            body: fixture("linode-geofeed.csv"),
        },
    ]);
    let refused_port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let (plain, answerer) = plain_http_answerer();
    let cache = tempfile::tempdir().unwrap();
    let urls = [
        (
            "aws",
            format!("http://127.0.0.1:{refused_port}/ip-ranges.json"),
        ),
        ("gcp", format!("https://{plain}/cloud.json")),
        ("oracle", server.url("/busy")),
        ("digitalocean", server.url("/gone.csv")),
        ("linode", server.url("/linode")),
    ];
    let output = auditsweep()
        .args(["ranges", "update", "--dir"])
        .arg(cache.path())
        .args(
            urls.iter()
                .map(|(name, url)| format!("--source={name}={url}")),
        )
        .output()
        .unwrap();
    answerer.join().unwrap();
    server.finish();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(2), "{stdout}");
    let line = |name: &str| {
        stdout
            .lines()
            .find(|line| line.trim_start().starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name}: {stdout}"))
            .to_owned()
    };
    let url = |name: &str| urls.iter().find(|(n, _)| *n == name).unwrap().1.clone();
    for (name, cause) in [
        ("aws", "connection refused: "),
        ("gcp", "TLS failed: "),
        ("oracle", "server answered HTTP 503 Service Unavailable"),
        ("digitalocean", "server answered HTTP 404 Not Found"),
    ] {
        let line = line(name);
        assert!(line.contains("FAILED"), "{line}");
        assert!(line.contains(&format!("{}: {cause}", url(name))), "{line}");
    }
    assert!(line("linode").contains("updated"), "{stdout}");
    assert_eq!(files_in(cache.path()), ["linode-geofeed.csv"]);
}

#[test]
fn lookup_without_a_cache_answers_from_the_snapshot() {
    let empty = tempfile::tempdir().unwrap();
    let output = auditsweep()
        .env("RUST_LOG", "auditsweep=info")
        .env("XDG_CACHE_HOME", empty.path())
        .args(["ranges", "lookup", "45.76.1.1", "84.128.0.1"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("Hosting ranges: the built-in snapshot"),
        "{stderr}"
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines[0]["hosting"]["provider"], "vultr");
    assert!(lines[1]["hosting"].is_null());
}
