//! Hosting and VPS address ranges: "is this source address somewhere anyone can rent a server?"
//!
//! Attackers who buy or hijack cloud servers (T1583.003, T1584.003) log in and provision from
//! rented machines, so the detectors ask whether a source address belongs to a cloud or VPS
//! provider. The providers publish their ranges, each in its own format; this module loads those
//! lists as published (see [`format`] for the formats, recognised by content) and answers with a
//! longest-prefix match over a prefix tree (`prefix-trie`), IPv4 and IPv6.
//!
//! Loading is deliberately forgiving of the lists and strict about the result:
//! - entries that overlap an RFC 6890 special-purpose block are dropped ([`special`]), so an
//!   address from the documentation ranges or a private network never matches;
//! - duplicates are merged: a prefix listed twice by one provider (AWS lists many under both
//!   `AMAZON` and `EC2`) keeps the union of its services and the first region given;
//! - a prefix listed by two providers keeps the provider loaded first (files load in name
//!   order), and the conflict is counted;
//! - malformed entries are reported with file and line and skipped; only a file that cannot be
//!   read, is not a known format, or yields no prefix at all is an error.
//!
//! The lookup returns the most specific prefix: when a /16 of one list contains a /24 of
//! another, an address in the /24 gets the /24's provider, region and services.
//!
//! Which lists a run uses is decided in [`origin`]: `--ip-ranges DIR`, else the `ranges update`
//! cache, else the [`snapshot`] built into the binary, so the signal is on from the first run.
//!
//! Region and services are interned: the 67,595 distinct prefixes of the real lists share far
//! fewer (provider, region, services, place) combinations, so the trees store a `u32` index.

mod error;
pub mod format;
mod load;
pub mod origin;
pub mod snapshot;
pub mod special;
pub mod update;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use prefix_trie::map::Entry;
use prefix_trie::{Prefix, PrefixMap};
use serde::Serialize;

pub use error::RangeError;
pub use format::ListFormat;

/// Whether a provider name of the range lists is a VPS or hosting company rather than a public
/// cloud (T1583.003's "VPS providers"): benign automation runs on the public clouds far more often.
pub fn is_vps_provider(provider: &str) -> bool {
    !ListFormat::PUBLIC_CLOUDS.contains(&provider)
}
pub use load::{
    parse_prefix, DroppedPrefix, FileReport, LoadReport, Malformed, MALFORMED_EXAMPLES,
};
pub use origin::{load_ranges, LoadedRanges, RangesOrigin, MAX_AGE_DAYS};
pub use special::{SpecialRange, SPECIAL_RANGES};

use format::{LineIndex, ParsedList, RawEntry};
use load::{classify, EntryOutcome};

/// File extensions `load_dir` reads; anything else in the directory is listed as skipped.
pub const LIST_EXTENSIONS: &[&str] = &["json", "csv", "txt"];

/// What a list says about a prefix.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct RangeInfo {
    /// `aws`, `gcp`, `azure`, `oracle`, or for geofeeds and CIDR lists the file's first word
    /// (`hetzner`, `digitalocean`).
    pub provider: String,
    /// Cloud region (`eu-west-1`, GCP scope, Azure region) or geofeed region (`US-TX`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Services the list names for the prefix, sorted (`["AMAZON", "EC2"]`; AWS's `AMAZON` is
    /// its catch-all). Empty when the list does not say.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<String>,
    /// Geofeed country code (`NL`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Geofeed city (`Amsterdam`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
}

impl RangeInfo {
    fn from_entry(provider: &str, entry: &RawEntry<'_>) -> Self {
        let mut services: Vec<String> = entry.services.iter().map(|s| (*s).to_owned()).collect();
        services.sort_unstable();
        services.dedup();
        RangeInfo {
            provider: provider.to_owned(),
            region: entry.region.map(str::to_owned),
            services,
            country: entry.country.map(str::to_owned),
            city: entry.city.map(str::to_owned),
        }
    }

    /// Whether `entry` would produce exactly this info (checked before allocating a new one).
    fn is_same_as(&self, provider: &str, entry: &RawEntry<'_>) -> bool {
        self.provider == provider
            && self.region.as_deref() == entry.region
            && self.country.as_deref() == entry.country
            && self.city.as_deref() == entry.city
            && self.services.len() == entry.services.len()
            && entry
                .services
                .iter()
                .all(|s| self.services.iter().any(|known| known == s))
    }

    /// This info with what `entry` adds (services; region and place when missing), or `None`
    /// when it adds nothing.
    fn merged_with(&self, entry: &RawEntry<'_>) -> Option<RangeInfo> {
        let new_services = entry
            .services
            .iter()
            .any(|s| !self.services.iter().any(|known| known == s));
        let fills =
            |mine: &Option<String>, theirs: Option<&str>| mine.is_none() && theirs.is_some();
        if !new_services
            && !fills(&self.region, entry.region)
            && !fills(&self.country, entry.country)
            && !fills(&self.city, entry.city)
        {
            return None;
        }
        let mut merged = self.clone();
        merged
            .services
            .extend(entry.services.iter().map(|s| (*s).to_owned()));
        merged.services.sort_unstable();
        merged.services.dedup();
        merged.region = merged.region.or_else(|| entry.region.map(str::to_owned));
        merged.country = merged.country.or_else(|| entry.country.map(str::to_owned));
        merged.city = merged.city.or_else(|| entry.city.map(str::to_owned));
        Some(merged)
    }
}

impl fmt::Display for RangeInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.provider)?;
        if let Some(region) = &self.region {
            write!(f, " {region}")?;
        }
        if !self.services.is_empty() {
            write!(f, " [{}]", self.services.join(","))?;
        }
        if let Some(city) = &self.city {
            write!(f, " {city}")?;
        }
        if let Some(country) = &self.country {
            write!(f, " {country}")?;
        }
        Ok(())
    }
}

/// The loaded hosting ranges. Build with [`HostingRanges::load_dir`] or
/// [`HostingRanges::load_file`], or start empty and [`add_file`](HostingRanges::add_file).
#[derive(Default)]
pub struct HostingRanges {
    v4: PrefixMap<Ipv4Net, u32>,
    v6: PrefixMap<Ipv6Net, u32>,
    infos: InfoStore,
}

/// The distinct infos; the trees hold indexes into `infos`.
#[derive(Default)]
struct InfoStore {
    infos: Vec<RangeInfo>,
    interned: HashMap<RangeInfo, u32>,
}

impl InfoStore {
    fn intern(&mut self, info: RangeInfo) -> u32 {
        if let Some(&index) = self.interned.get(&info) {
            return index;
        }
        let index =
            u32::try_from(self.infos.len()).expect("fewer than 4 billion distinct range infos");
        self.infos.push(info.clone());
        self.interned.insert(info, index);
        index
    }

    fn get(&self, index: u32) -> &RangeInfo {
        &self.infos[index as usize]
    }
}

/// Adds one entry's prefix to a tree, or merges the entry into the prefix already there.
struct Upsert<'e, 'a> {
    provider: &'e str,
    entry: &'e RawEntry<'a>,
    /// The info the previous new prefix got; consecutive entries usually share it, which saves
    /// building and hashing a `RangeInfo` per entry.
    last_info: &'e mut Option<u32>,
}

impl Upsert<'_, '_> {
    fn apply<P: Prefix>(
        self,
        map: &mut PrefixMap<P, u32>,
        prefix: P,
        store: &mut InfoStore,
        report: &mut FileReport,
    ) {
        match map.entry(prefix) {
            Entry::Vacant(vacant) => {
                report.added += 1;
                let index = match *self.last_info {
                    Some(last) if store.get(last).is_same_as(self.provider, self.entry) => last,
                    _ => store.intern(RangeInfo::from_entry(self.provider, self.entry)),
                };
                *self.last_info = Some(index);
                vacant.insert(index);
            }
            Entry::Occupied(occupied) => {
                let current = store.get(*occupied.get());
                if current.provider != self.provider {
                    report.conflicts += 1;
                    return;
                }
                report.duplicates += 1;
                if let Some(merged) = current.merged_with(self.entry) {
                    let index = store.intern(merged);
                    occupied.insert(index);
                }
            }
        }
    }
}

impl fmt::Debug for HostingRanges {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostingRanges")
            .field("ipv4_prefixes", &self.len_v4())
            .field("ipv6_prefixes", &self.len_v6())
            .field("distinct_infos", &self.infos.infos.len())
            .finish()
    }
}

impl HostingRanges {
    pub fn new() -> Self {
        Self::default()
    }

    /// Load every range list (`*.json`, `*.csv`, `*.txt`, not hidden) in `dir`, in file name
    /// order. Other files are listed in the report as skipped.
    pub fn load_dir(dir: &Path) -> Result<(Self, LoadReport), RangeError> {
        let io_error = |source| RangeError::Io {
            path: dir.to_owned(),
            source,
        };
        let mut lists = Vec::new();
        let mut report = LoadReport::default();
        for entry in std::fs::read_dir(dir).map_err(io_error)? {
            let path = entry.map_err(io_error)?.path();
            let hidden = path
                .file_name()
                .and_then(|name| name.to_str())
                .is_none_or(|name| name.starts_with('.'));
            if hidden {
                continue;
            }
            if path.is_file() && has_list_extension(&path) {
                lists.push(path);
            } else {
                report.skipped_files.push(path);
            }
        }
        lists.sort();
        report.skipped_files.sort();
        let mut ranges = HostingRanges::new();
        for path in lists {
            report.files.push(ranges.add_file(&path)?);
        }
        Ok((ranges, report))
    }

    /// Load one list.
    pub fn load_file(path: &Path) -> Result<(Self, FileReport), RangeError> {
        let mut ranges = HostingRanges::new();
        let report = ranges.add_file(path)?;
        Ok((ranges, report))
    }

    /// Add one list to the set.
    pub fn add_file(&mut self, path: &Path) -> Result<FileReport, RangeError> {
        let bytes = std::fs::read(path).map_err(|source| RangeError::Io {
            path: path.to_owned(),
            source,
        })?;
        self.add_bytes(path, &bytes)
    }

    /// Add a list held in memory; `path` names it in reports and, for geofeeds and CIDR lists,
    /// gives the provider. The set is unchanged when this fails.
    pub fn add_bytes(&mut self, path: &Path, bytes: &[u8]) -> Result<FileReport, RangeError> {
        let list = ParsedList::parse(path, bytes)?;
        let lines = LineIndex::new(list.input());
        let provider = list.provider.as_str();
        let mut report = FileReport::new(path, list.format, provider);
        report.published = list.published;
        let mut last_info: Option<u32> = None;
        list.for_each_entry(&mut |entry| {
            report.entries += 1;
            match classify(&entry) {
                EntryOutcome::Prefix(prefix) => {
                    self.insert(prefix, provider, &entry, &mut report, &mut last_info);
                }
                EntryOutcome::Special(prefix, range) => {
                    report.record_special(&lines, entry.position, prefix, range);
                }
                EntryOutcome::Malformed(reason) => {
                    report.record_malformed(&lines, entry.position, entry.prefix, reason);
                }
            }
        });
        if report.prefixes_seen() + report.dropped_special.len() == 0 {
            return Err(RangeError::NoPrefixes {
                path: path.to_owned(),
                entries: report.entries,
                malformed: report.malformed_total,
            });
        }
        Ok(report)
    }

    fn insert(
        &mut self,
        prefix: IpNet,
        provider: &str,
        entry: &RawEntry<'_>,
        report: &mut FileReport,
        last_info: &mut Option<u32>,
    ) {
        let upsert = Upsert {
            provider,
            entry,
            last_info,
        };
        match prefix {
            IpNet::V4(net) => upsert.apply(&mut self.v4, net, &mut self.infos, report),
            IpNet::V6(net) => upsert.apply(&mut self.v6, net, &mut self.infos, report),
        }
    }

    /// The provider (and region/services, when the list says) of the most specific loaded
    /// prefix that contains `ip`. IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`) are looked up
    /// as IPv4.
    pub fn lookup(&self, ip: IpAddr) -> Option<&RangeInfo> {
        self.lookup_prefix(ip).map(|(_, info)| info)
    }

    /// Like [`lookup`](Self::lookup), with the matching prefix (for evidence in a report).
    pub fn lookup_prefix(&self, ip: IpAddr) -> Option<(IpNet, &RangeInfo)> {
        let (prefix, index) = match ip.to_canonical() {
            IpAddr::V4(addr) => {
                let (net, index) = self.v4.get_lpm(&Ipv4Net::from(addr))?;
                (IpNet::V4(net), *index)
            }
            IpAddr::V6(addr) => {
                let (net, index) = self.v6.get_lpm(&Ipv6Net::from(addr))?;
                (IpNet::V6(net), *index)
            }
        };
        Some((prefix, self.infos.get(index)))
    }

    /// Distinct prefixes loaded, IPv4 and IPv6.
    pub fn len(&self) -> usize {
        self.len_v4() + self.len_v6()
    }

    pub fn len_v4(&self) -> usize {
        self.v4.len()
    }

    pub fn len_v6(&self) -> usize {
        self.v6.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every loaded prefix with its info, IPv4 first, each family in address order.
    pub fn iter(&self) -> impl Iterator<Item = (IpNet, &RangeInfo)> + '_ {
        let v4 = self
            .v4
            .iter()
            .map(|(net, index)| (IpNet::V4(net), self.infos.get(*index)));
        let v6 = self
            .v6
            .iter()
            .map(|(net, index)| (IpNet::V6(net), self.infos.get(*index)));
        v4.chain(v6)
    }

    /// Prefix count per provider.
    pub fn prefixes_by_provider(&self) -> BTreeMap<&str, usize> {
        let mut counts = BTreeMap::new();
        for (_, info) in self.iter() {
            *counts.entry(info.provider.as_str()).or_insert(0) += 1;
        }
        counts
    }
}

fn has_list_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|ext| ext.to_str())
        .is_some_and(|ext| {
            LIST_EXTENSIONS
                .iter()
                .any(|known| ext.eq_ignore_ascii_case(known))
        })
}

/// Where `ranges update` writes and, by default, where range lists are read from:
/// `$XDG_CACHE_HOME/auditsweep/ip-ranges`, else `~/.cache/auditsweep/ip-ranges`.
pub fn default_cache_dir() -> Option<PathBuf> {
    cache_dir_from(
        std::env::var_os("XDG_CACHE_HOME").map(PathBuf::from),
        std::env::var_os("HOME").map(PathBuf::from),
    )
}

/// [`default_cache_dir`] without the environment. A relative `XDG_CACHE_HOME` is ignored, as
/// the XDG base directory spec says.
pub fn cache_dir_from(xdg_cache_home: Option<PathBuf>, home: Option<PathBuf>) -> Option<PathBuf> {
    let base = xdg_cache_home.filter(|dir| dir.is_absolute()).or_else(|| {
        home.filter(|dir| dir.is_absolute())
            .map(|home| home.join(".cache"))
    })?;
    Some(base.join("auditsweep").join("ip-ranges"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(name: &str, text: &str) -> (HostingRanges, FileReport) {
        let mut ranges = HostingRanges::new();
        let report = ranges.add_bytes(Path::new(name), text.as_bytes()).unwrap();
        (ranges, report)
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn longest_prefix_wins_across_lists() {
        let mut ranges = HostingRanges::new();
        ranges
            .add_bytes(Path::new("wide.txt"), b"45.0.0.0/8\n")
            .unwrap();
        ranges
            .add_bytes(Path::new("narrow.txt"), b"45.63.0.0/19\n")
            .unwrap();
        assert_eq!(ranges.lookup(ip("45.63.1.1")).unwrap().provider, "narrow");
        assert_eq!(ranges.lookup(ip("45.64.1.1")).unwrap().provider, "wide");
        let (prefix, _) = ranges.lookup_prefix(ip("45.63.1.1")).unwrap();
        assert_eq!(prefix, "45.63.0.0/19".parse::<IpNet>().unwrap());
    }

    #[test]
    fn duplicates_merge_services_and_keep_the_first_region() {
        let aws = r#"{"prefixes":[
            {"ip_prefix":"3.5.140.0/22","region":"ap-northeast-2","service":"AMAZON"},
            {"ip_prefix":"3.5.140.0/22","region":"ap-northeast-2","service":"EC2"},
            {"ip_prefix":"3.5.140.0/22","region":"ap-northeast-2","service":"EC2"}]}"#;
        let (ranges, report) = load("aws.json", aws);
        assert_eq!((report.entries, report.added, report.duplicates), (3, 1, 2));
        let info = ranges.lookup(ip("3.5.141.7")).unwrap();
        assert_eq!(info.services, ["AMAZON", "EC2"]);
        assert_eq!(info.region.as_deref(), Some("ap-northeast-2"));
    }

    #[test]
    fn a_prefix_of_another_provider_keeps_the_first_and_counts_a_conflict() {
        let mut ranges = HostingRanges::new();
        ranges
            .add_bytes(Path::new("a.txt"), b"5.9.0.0/16\n")
            .unwrap();
        let report = ranges
            .add_bytes(Path::new("b.txt"), b"5.9.0.0/16\n")
            .unwrap();
        assert_eq!((report.added, report.conflicts), (0, 1));
        assert_eq!(ranges.lookup(ip("5.9.1.1")).unwrap().provider, "a");
    }

    #[test]
    fn special_purpose_entries_are_dropped_and_never_match() {
        let list = "45.32.0.0/16\n192.0.2.0/24\n10.0.0.0/8\n2001:db8::/32\n192.0.0.0/8\n";
        let (ranges, report) = load("vultr.txt", list);
        assert_eq!(ranges.len(), 1);
        let dropped: Vec<(String, &str, Option<usize>)> = report
            .dropped_special
            .iter()
            .map(|d| (d.prefix.to_string(), d.range.cidr, d.line))
            .collect();
        assert_eq!(
            dropped,
            [
                ("192.0.2.0/24".to_owned(), "192.0.2.0/24", Some(2)),
                ("10.0.0.0/8".to_owned(), "10.0.0.0/8", Some(3)),
                ("2001:db8::/32".to_owned(), "2001:db8::/32", Some(4)),
                ("192.0.0.0/8".to_owned(), "192.0.0.0/24", Some(5)),
            ]
        );
        for special in ["192.0.2.10", "10.1.1.1", "2001:db8::1", "192.0.0.1"] {
            assert_eq!(ranges.lookup(ip(special)), None, "{special}");
        }
    }

    #[test]
    fn malformed_lines_are_reported_with_file_and_line_and_skipped() {
        let (ranges, report) = load(
            "hetzner.txt",
            "# header\n5.9.0.0/16\n5.9.0.0/33\nnot-a-cidr\n",
        );
        assert_eq!(ranges.len(), 1);
        let places: Vec<String> = report.malformed.iter().map(ToString::to_string).collect();
        assert_eq!(
            places,
            [
                "hetzner.txt:3: not an IP prefix: \"5.9.0.0/33\"",
                "hetzner.txt:4: not an IP prefix: \"not-a-cidr\""
            ]
        );
    }

    #[test]
    fn a_line_that_is_not_utf8_is_malformed_not_fatal() {
        let mut ranges = HostingRanges::new();
        let report = ranges
            .add_bytes(Path::new("ovh.txt"), b"109.190.0.0/16\n\xff\xfe/16\n")
            .unwrap();
        assert_eq!(ranges.len(), 1);
        assert_eq!(report.malformed_total, 1);
        assert_eq!(report.malformed[0].line, Some(2));
    }

    #[test]
    fn a_list_without_any_prefix_is_an_error_and_changes_nothing() {
        let mut ranges = HostingRanges::new();
        let result = ranges.add_bytes(Path::new("x.txt"), b"# only\n300.1.2.0/24\n");
        assert!(matches!(
            result,
            Err(RangeError::NoPrefixes {
                entries: 1,
                malformed: 1,
                ..
            })
        ));
        assert!(ranges.is_empty());
    }

    #[test]
    fn ipv4_mapped_ipv6_addresses_match_ipv4_prefixes() {
        let (ranges, _) = load("hetzner.txt", "5.9.0.0/16\n2a01:4f8::/32\n");
        assert_eq!(
            ranges.lookup(ip("::ffff:5.9.1.2")).unwrap().provider,
            "hetzner"
        );
        assert_eq!(
            ranges.lookup(ip("2a01:4f8:1:2::3")).unwrap().provider,
            "hetzner"
        );
        assert_eq!(ranges.lookup(ip("2a01:4f9::1")), None);
    }

    #[test]
    fn cache_dir_follows_xdg_then_home() {
        let xdg = Some(PathBuf::from("/xdg"));
        let home = Some(PathBuf::from("/home/u"));
        assert_eq!(
            cache_dir_from(xdg, home.clone()),
            Some(PathBuf::from("/xdg/auditsweep/ip-ranges"))
        );
        assert_eq!(
            cache_dir_from(Some(PathBuf::from("relative")), home.clone()),
            Some(PathBuf::from("/home/u/.cache/auditsweep/ip-ranges"))
        );
        assert_eq!(cache_dir_from(None, None), None);
    }
}
