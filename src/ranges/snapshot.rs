//! The hosting ranges built into the binary, so a fresh machine has the hosting signal before
//! `ranges update` has ever run (issue 9).
//!
//! The snapshot (`data/ip-ranges-snapshot.txt.gz`, made by `scripts/ip-ranges-snapshot.sh`) is
//! a text file: a header that says where each list came from and when it was published, then
//! one section of prefixes per provider. The detectors only ask which provider an address is in,
//! so region and services are left out and each provider's prefixes are aggregated in a way that
//! gives every address the same longest-prefix answer as the full lists ([`aggregate`]).
//!
//! ```text
//! auditsweep-ip-ranges-snapshot 1
//! built 2026-12-03
//! list aws aws-ip-ranges.json 2025-07-24 sha256:2f0c...
//! list azure azure-service-tags.json - sha256:91ab...
//! provider aws
//! 3.4.12.4/32
//! ```
//!
//! Sections load through the same loader as any CIDR list (named `snapshot/PROVIDER.txt`).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use chrono::NaiveDate;
use ipnet::IpNet;
use sha2::{Digest, Sha256};

use super::{FileReport, HostingRanges, RangeError};

/// The embedded snapshot, gzipped.
pub static EMBEDDED: &[u8] = include_bytes!("../../data/ip-ranges-snapshot.txt.gz");

/// First line of a snapshot, with its format version.
const MAGIC: &str = "auditsweep-ip-ranges-snapshot 1";

/// One published list the snapshot was made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotList {
    pub provider: String,
    /// The file's name when the snapshot was made (`aws-ip-ranges.json`).
    pub file: String,
    /// The day the list says it was published; `None` when its format does not say.
    pub published: Option<NaiveDate>,
    /// `sha256:` and the hex digest of the file as published.
    pub sha256: String,
}

/// A parsed snapshot: its provenance and, per provider, the text of its prefix section.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// When the snapshot was made.
    pub built: NaiveDate,
    pub lists: Vec<SnapshotList>,
    sections: Vec<(String, String)>,
}

fn bad(line: usize, reason: impl Into<String>) -> RangeError {
    RangeError::BadSnapshot {
        line,
        reason: reason.into(),
    }
}

impl Snapshot {
    /// The snapshot compiled into this binary.
    pub fn embedded() -> Result<Snapshot, RangeError> {
        let mut text = String::new();
        flate2::read::GzDecoder::new(EMBEDDED)
            .read_to_string(&mut text)
            .map_err(|err| bad(0, format!("not gzipped UTF-8 text: {err}")))?;
        Snapshot::parse(&text)
    }

    /// Read a snapshot's text (see the module docs for the format).
    pub fn parse(text: &str) -> Result<Snapshot, RangeError> {
        let mut built = None;
        let mut lists = Vec::new();
        let mut sections: Vec<(String, String)> = Vec::new();
        let mut seen_magic = false;
        for (index, line) in text.lines().enumerate() {
            let number = index + 1;
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if !seen_magic {
                if line != MAGIC {
                    return Err(bad(number, format!("expected {MAGIC:?}")));
                }
                seen_magic = true;
                continue;
            }
            let mut words = line.split_ascii_whitespace();
            let Some(keyword) = words.next() else {
                continue;
            };
            match keyword {
                "built" if sections.is_empty() => {
                    let date = words.next().and_then(parse_day);
                    built = Some(date.ok_or_else(|| bad(number, "built needs a YYYY-MM-DD"))?);
                }
                "list" if sections.is_empty() => {
                    let fields: Vec<&str> = words.collect();
                    let [provider, file, published, sha256] = fields[..] else {
                        return Err(bad(number, "list needs: PROVIDER FILE DATE|- sha256:HEX"));
                    };
                    let published = match published {
                        "-" => None,
                        day => Some(parse_day(day).ok_or_else(|| bad(number, "bad date"))?),
                    };
                    lists.push(SnapshotList {
                        provider: provider.to_owned(),
                        file: file.to_owned(),
                        published,
                        sha256: sha256.to_owned(),
                    });
                }
                "provider" => {
                    let name = words.next().unwrap_or_default();
                    let usable =
                        !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric());
                    if !usable || sections.iter().any(|(known, _)| known == name) {
                        return Err(bad(number, format!("bad or repeated provider {name:?}")));
                    }
                    sections.push((name.to_owned(), String::new()));
                }
                _ => match sections.last_mut() {
                    Some((_, prefixes)) => {
                        prefixes.push_str(line);
                        prefixes.push('\n');
                    }
                    None => return Err(bad(number, format!("unexpected line {line:?}"))),
                },
            }
        }
        let built = built.ok_or_else(|| bad(0, "no built date"))?;
        if sections.is_empty() {
            return Err(bad(0, "no provider section"));
        }
        Ok(Snapshot {
            built,
            lists,
            sections,
        })
    }

    /// The providers it has a section for, in the order they load.
    pub fn providers(&self) -> impl Iterator<Item = &str> + '_ {
        self.sections.iter().map(|(name, _)| name.as_str())
    }

    /// The date a run reports for the snapshot: the oldest of its lists' own dates, an undated
    /// list counting as of the day the snapshot was built.
    pub fn date(&self) -> NaiveDate {
        self.date_of(|_| true)
    }

    /// [`date`](Self::date) over the lists of the providers `wanted` keeps.
    pub fn date_of(&self, wanted: impl Fn(&str) -> bool) -> NaiveDate {
        self.lists
            .iter()
            .filter(|list| wanted(&list.provider))
            .map(|list| list.published.unwrap_or(self.built))
            .min()
            .unwrap_or(self.built)
    }

    /// Add the sections of the providers `wanted` keeps to `ranges`, one report per section.
    pub fn add_to(
        &self,
        ranges: &mut HostingRanges,
        wanted: impl Fn(&str) -> bool,
    ) -> Result<Vec<FileReport>, RangeError> {
        let mut reports = Vec::new();
        for (provider, prefixes) in &self.sections {
            if wanted(provider) {
                let name = Path::new("snapshot").join(format!("{provider}.txt"));
                reports.push(ranges.add_bytes(&name, prefixes.as_bytes())?);
            }
        }
        Ok(reports)
    }

    /// All of it as one set.
    pub fn load(&self) -> Result<HostingRanges, RangeError> {
        let mut ranges = HostingRanges::new();
        self.add_to(&mut ranges, |_| true)?;
        Ok(ranges)
    }
}

fn parse_day(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

/// The text of a snapshot of the range lists in `dir`, made on `built`: what
/// `scripts/ip-ranges-snapshot.sh` writes (gzipped) to `data/ip-ranges-snapshot.txt.gz`.
pub fn build(dir: &Path, built: NaiveDate) -> Result<String, RangeError> {
    let (ranges, report) = HostingRanges::load_dir(dir)?;
    let mut text = String::new();
    text.push_str(
        "# auditsweep hosting ranges built into the binary: the provider of every prefix of the\n\
         # published lists below, aggregated without changing any address's provider.\n\
         # Made by scripts/ip-ranges-snapshot.sh; do not edit. A list's date is the one it\n\
         # states for itself (AWS createDate, GCP creationTime, ...), '-' when it states none.\n",
    );
    let _ = writeln!(text, "{MAGIC}");
    let _ = writeln!(text, "built {built}");
    for file in &report.files {
        let bytes = std::fs::read(&file.path).map_err(|source| RangeError::Io {
            path: file.path.clone(),
            source,
        })?;
        let name = file.path.file_name().unwrap_or_default().to_string_lossy();
        let published = file
            .published
            .map_or_else(|| "-".to_owned(), |day| day.to_string());
        let digest: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let _ = writeln!(
            text,
            "list {} {name} {published} sha256:{digest}",
            file.provider
        );
    }
    for (provider, prefixes) in aggregate(&ranges) {
        let _ = writeln!(text, "provider {provider}");
        for prefix in prefixes {
            let _ = writeln!(text, "{prefix}");
        }
    }
    Ok(text)
}

/// A prefix as (address bits left-aligned in a `u128`, length), so IPv4 and IPv6 share the code.
type Bits = (u128, u8);

fn mask(len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        !0u128 << (128 - u32::from(len))
    }
}

/// The provider of the nearest prefix in `map` that strictly contains `prefix`.
fn enclosing(map: &HashMap<Bits, usize>, (bits, len): Bits) -> Option<usize> {
    (0..len)
        .rev()
        .find_map(|shorter| map.get(&(bits & mask(shorter), shorter)).copied())
}

/// Each provider's prefixes, fewer of them, with the same provider for every address under a
/// longest-prefix match:
/// - a prefix inside a prefix of the same provider, with no other provider's prefix in between,
///   is dropped (the outer one answers the same);
/// - two halves of one block with the same provider become the block, when the block is not
///   itself listed (by another provider): every address of it was in one of the halves.
fn aggregate(ranges: &HostingRanges) -> BTreeMap<String, Vec<IpNet>> {
    let mut names: Vec<String> = Vec::new();
    let mut families: [HashMap<Bits, usize>; 2] = Default::default();
    for (net, info) in ranges.iter() {
        let provider = match names.iter().position(|name| *name == info.provider) {
            Some(at) => at,
            None => {
                names.push(info.provider.clone());
                names.len() - 1
            }
        };
        let (family, bits) = match net.network() {
            IpAddr::V4(addr) => (0, u128::from(u32::from(addr)) << 96),
            IpAddr::V6(addr) => (1, u128::from(addr)),
        };
        families[family].insert((bits, net.prefix_len()), provider);
    }
    let mut out: BTreeMap<String, Vec<IpNet>> = BTreeMap::new();
    for (family, map) in families.iter_mut().enumerate() {
        let redundant: Vec<Bits> = map
            .iter()
            .filter(|(&prefix, &provider)| enclosing(map, prefix) == Some(provider))
            .map(|(&prefix, _)| prefix)
            .collect();
        for prefix in redundant {
            map.remove(&prefix);
        }
        let longest = if family == 0 { 32 } else { 128 };
        for len in (1..=longest).rev() {
            let mut at_len: Vec<u128> = map
                .keys()
                .filter(|(_, l)| *l == len)
                .map(|(bits, _)| *bits)
                .collect();
            at_len.sort_unstable();
            for bits in at_len {
                let Some(&provider) = map.get(&(bits, len)) else {
                    continue;
                };
                let sibling = (bits ^ (1u128 << (128 - u32::from(len))), len);
                let block = (bits & mask(len - 1), len - 1);
                if map.get(&sibling) != Some(&provider) || map.contains_key(&block) {
                    continue;
                }
                map.remove(&(bits, len));
                map.remove(&sibling);
                if enclosing(map, block) != Some(provider) {
                    map.insert(block, provider);
                }
            }
        }
        for (&(bits, len), &provider) in map.iter() {
            let net = if family == 0 {
                let addr = Ipv4Addr::from((bits >> 96) as u32);
                IpNet::V4(ipnet::Ipv4Net::new(addr, len).expect("IPv4 length at most 32"))
            } else {
                let addr = Ipv6Addr::from(bits);
                IpNet::V6(ipnet::Ipv6Net::new(addr, len).expect("IPv6 length at most 128"))
            };
            out.entry(names[provider].clone()).or_default().push(net);
        }
    }
    for prefixes in out.values_mut() {
        prefixes.sort_unstable();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranges_of(lists: &[(&str, &str)]) -> HostingRanges {
        let mut ranges = HostingRanges::new();
        for (name, text) in lists {
            ranges.add_bytes(Path::new(name), text.as_bytes()).unwrap();
        }
        ranges
    }

    fn texts(prefixes: &[IpNet]) -> Vec<String> {
        prefixes.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn aggregation_merges_halves_and_drops_nested_prefixes_of_one_provider() {
        let ranges = ranges_of(&[(
            "vultr.txt",
            "45.32.0.0/17\n45.32.128.0/17\n45.32.5.0/24\n2001:19f0::/32\n2001:19f0:1::/48\n",
        )]);
        let out = aggregate(&ranges);
        assert_eq!(texts(&out["vultr"]), ["45.32.0.0/16", "2001:19f0::/32"]);
    }

    #[test]
    fn aggregation_keeps_every_address_with_its_provider() {
        // A hetzner /24 inside vultr's halves: merging the halves must keep the /24 apart, and
        // a vultr /26 inside the hetzner /24 must stay too.
        let ranges = ranges_of(&[
            ("hetzner.txt", "45.32.7.0/24\n10.0.0.0/8\n"),
            ("vultr.txt", "45.32.0.0/17\n45.32.128.0/17\n45.32.7.64/26\n"),
            // The block of two ovh halves is listed by aws: no merge.
            ("aws.txt", "5.0.0.0/23\n"),
            ("ovh.txt", "5.0.0.0/24\n5.0.1.0/24\n"),
        ]);
        let out = aggregate(&ranges);
        assert_eq!(texts(&out["vultr"]), ["45.32.0.0/16", "45.32.7.64/26"]);
        assert_eq!(texts(&out["hetzner"]), ["45.32.7.0/24"]);
        assert_eq!(texts(&out["aws"]), ["5.0.0.0/23"]);
        assert_eq!(texts(&out["ovh"]), ["5.0.0.0/24", "5.0.1.0/24"]);
        let mut again = HostingRanges::new();
        for (provider, prefixes) in &out {
            let list: String = prefixes.iter().map(|p| format!("{p}\n")).collect();
            again
                .add_bytes(Path::new(&format!("{provider}.txt")), list.as_bytes())
                .unwrap();
        }
        for (net, _) in ranges.iter() {
            for ip in [net.network(), net.broadcast()] {
                let provider = |set: &HostingRanges| set.lookup(ip).map(|i| i.provider.clone());
                assert_eq!(provider(&again), provider(&ranges), "{ip}");
            }
        }
    }

    #[test]
    fn a_snapshot_parses_and_dates_by_its_oldest_list() {
        let text = "# comment\nauditsweep-ip-ranges-snapshot 1\nbuilt 2026-12-03\n\
                    list aws aws-ip-ranges.json 2025-07-24 sha256:00\n\
                    list vultr vultr.txt - sha256:11\n\
                    provider aws\n3.4.12.4/32\nprovider vultr\n45.32.0.0/16\n";
        let snapshot = Snapshot::parse(text).unwrap();
        assert_eq!(snapshot.providers().collect::<Vec<_>>(), ["aws", "vultr"]);
        let day = |text: &str| parse_day(text).unwrap();
        assert_eq!(snapshot.date(), day("2025-07-24"));
        assert_eq!(snapshot.date_of(|p| p == "vultr"), day("2026-12-03"));
        let ranges = snapshot.load().unwrap();
        assert_eq!(
            ranges
                .lookup("45.32.1.1".parse().unwrap())
                .unwrap()
                .provider,
            "vultr"
        );
        for broken in [
            "built 2026-12-03\nprovider aws\n3.4.12.4/32\n",
            "auditsweep-ip-ranges-snapshot 1\nprovider aws\n3.4.12.4/32\n",
            "auditsweep-ip-ranges-snapshot 1\nbuilt 2026-12-03\n3.4.12.4/32\n",
            "auditsweep-ip-ranges-snapshot 1\nbuilt 2026-12-03\nprovider aws\nprovider aws\n",
            "auditsweep-ip-ranges-snapshot 1\nbuilt 2026-12-03\nlist aws x.json\nprovider aws\n",
        ] {
            assert!(Snapshot::parse(broken).is_err(), "{broken}");
        }
    }
}
