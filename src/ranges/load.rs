//! What loading keeps and what it reports: each entry's prefix is parsed, special-purpose
//! blocks are dropped, duplicates are merged, and every decision is counted per file so a user
//! can see why a list gave fewer prefixes than it has lines.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use ipnet::IpNet;
use serde::Serialize;

use super::format::{LineIndex, ListFormat, Position, RawEntry};
use super::special::{overlapping_special_range, SpecialRange};

/// How many malformed entries a file report keeps as examples; the rest are only counted, so a
/// binary file dropped into the directory cannot flood memory or the log.
pub const MALFORMED_EXAMPLES: usize = 50;

/// What happened to one list file.
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    pub path: PathBuf,
    pub format: ListFormat,
    pub provider: String,
    /// The day the list says it was published, when its format says (AWS `createDate`, ...).
    pub published: Option<NaiveDate>,
    /// Entries in the list that name (or should name) a prefix.
    pub entries: usize,
    /// Prefixes that were new to the set.
    pub added: usize,
    /// Entries whose prefix was already in the set for the same provider; their region and
    /// services were merged into it.
    pub duplicates: usize,
    /// Entries whose prefix was already in the set for another provider; the first one loaded
    /// is kept.
    pub conflicts: usize,
    /// Entries dropped because they overlap a special-purpose block (RFC 6890).
    pub dropped_special: Vec<DroppedPrefix>,
    /// All malformed entries, of which `malformed` keeps the first [`MALFORMED_EXAMPLES`].
    pub malformed_total: usize,
    pub malformed: Vec<Malformed>,
}

impl FileReport {
    pub(crate) fn new(path: &Path, format: ListFormat, provider: &str) -> Self {
        FileReport {
            path: path.to_owned(),
            format,
            provider: provider.to_owned(),
            published: None,
            entries: 0,
            added: 0,
            duplicates: 0,
            conflicts: 0,
            dropped_special: Vec::new(),
            malformed_total: 0,
            malformed: Vec::new(),
        }
    }

    /// How many entries each special-purpose block removed, by block (`192.0.2.0/24`).
    pub fn dropped_by_range(&self) -> BTreeMap<&'static str, usize> {
        let mut counts = BTreeMap::new();
        for dropped in &self.dropped_special {
            *counts.entry(dropped.range.cidr).or_insert(0) += 1;
        }
        counts
    }

    /// Entries that named a usable prefix (added or merged).
    pub fn prefixes_seen(&self) -> usize {
        self.added + self.duplicates + self.conflicts
    }
}

impl fmt::Display for FileReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} ({}): {} entries, {} prefixes added, {} duplicates merged",
            self.path.display(),
            self.format,
            self.provider,
            self.entries,
            self.added,
            self.duplicates
        )?;
        if self.conflicts > 0 {
            write!(f, ", {} already listed by another provider", self.conflicts)?;
        }
        if !self.dropped_special.is_empty() {
            let by_range: Vec<String> = self
                .dropped_by_range()
                .iter()
                .map(|(range, count)| format!("{count} in {range}"))
                .collect();
            write!(
                f,
                ", {} special-purpose dropped ({})",
                self.dropped_special.len(),
                by_range.join(", ")
            )?;
        }
        if self.malformed_total > 0 {
            write!(f, ", {} malformed", self.malformed_total)?;
        }
        Ok(())
    }
}

/// A listed prefix that was dropped because it overlaps a special-purpose block.
#[derive(Debug, Clone, Serialize)]
pub struct DroppedPrefix {
    pub prefix: IpNet,
    #[serde(serialize_with = "serialize_special")]
    pub range: &'static SpecialRange,
    pub line: Option<usize>,
}

fn serialize_special<S: serde::Serializer>(
    range: &&'static SpecialRange,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(range.cidr)
}

/// An entry that is not a prefix, with where it is: a line, or for JSON strings that could not
/// be located, the record path (`values[3].properties.addressPrefixes[17]`).
#[derive(Debug, Clone, Serialize)]
pub struct Malformed {
    pub path: PathBuf,
    pub line: Option<usize>,
    pub record: Option<String>,
    pub text: String,
    pub reason: &'static str,
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(record) = &self.record {
            write!(f, ": {record}")?;
        }
        write!(f, ": {}: {:?}", self.reason, self.text)
    }
}

/// What loading a directory did, file by file.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LoadReport {
    pub files: Vec<FileReport>,
    /// Files in the directory that are not range lists by their extension.
    pub skipped_files: Vec<PathBuf>,
}

impl LoadReport {
    pub fn malformed_total(&self) -> usize {
        self.files.iter().map(|file| file.malformed_total).sum()
    }

    pub fn dropped_special_total(&self) -> usize {
        self.files
            .iter()
            .map(|file| file.dropped_special.len())
            .sum()
    }

    /// Log one line per file, and each kept malformed example, on stderr via `tracing`.
    pub fn log(&self) {
        for file in &self.files {
            tracing::info!("{file}");
            for malformed in &file.malformed {
                tracing::warn!("Malformed range entry: {malformed}");
            }
            let unshown = file.malformed_total - file.malformed.len();
            if unshown > 0 {
                tracing::warn!(path = %file.path.display(), "{unshown} more malformed entries");
            }
        }
    }
}

/// Why an entry's prefix text is not a prefix.
const NOT_A_PREFIX: &str = "not an IP prefix";
const NO_PREFIX_FIELD: &str = "record has no prefix field";

/// Parse `1.2.3.0/24`, `2001:db8::/32` or a bare address (a host prefix). Host bits are
/// cleared: lists sometimes write `1.2.3.4/24` and mean the /24.
pub fn parse_prefix(text: &str) -> Option<IpNet> {
    let text = text.trim();
    if text.contains('/') {
        text.parse::<IpNet>().ok().map(|net| net.trunc())
    } else {
        text.parse::<IpAddr>().ok().map(IpNet::from)
    }
}

/// The outcome of one entry, decided by the loader.
pub(crate) enum EntryOutcome {
    Prefix(IpNet),
    Special(IpNet, &'static SpecialRange),
    Malformed(&'static str),
}

pub(crate) fn classify(entry: &RawEntry<'_>) -> EntryOutcome {
    let Some(text) = entry.prefix else {
        return EntryOutcome::Malformed(NO_PREFIX_FIELD);
    };
    let Some(prefix) = parse_prefix(text) else {
        return EntryOutcome::Malformed(NOT_A_PREFIX);
    };
    match overlapping_special_range(&prefix) {
        Some(special) => EntryOutcome::Special(prefix, special),
        None => EntryOutcome::Prefix(prefix),
    }
}

impl FileReport {
    pub(crate) fn record_malformed(
        &mut self,
        lines: &LineIndex<'_>,
        position: Position,
        text: Option<&str>,
        reason: &'static str,
    ) {
        self.malformed_total += 1;
        if self.malformed.len() < MALFORMED_EXAMPLES {
            let (line, record) = position.resolve(lines);
            let mut text = text.unwrap_or_default().to_owned();
            if text.len() > 120 {
                let cut = (0..=120)
                    .rev()
                    .find(|&at| text.is_char_boundary(at))
                    .unwrap_or(0);
                text.truncate(cut);
            }
            self.malformed.push(Malformed {
                path: self.path.clone(),
                line,
                record,
                text,
                reason,
            });
        }
    }

    pub(crate) fn record_special(
        &mut self,
        lines: &LineIndex<'_>,
        position: Position,
        prefix: IpNet,
        range: &'static SpecialRange,
    ) {
        let (line, _) = position.resolve(lines);
        self.dropped_special.push(DroppedPrefix {
            prefix,
            range,
            line,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_parse_with_host_bits_cleared_and_bare_addresses_as_hosts() {
        assert_eq!(
            parse_prefix("1.2.3.4/24"),
            Some("1.2.3.0/24".parse().unwrap())
        );
        assert_eq!(
            parse_prefix(" 5.6.7.8 "),
            Some("5.6.7.8/32".parse().unwrap())
        );
        assert_eq!(
            parse_prefix("2600:3c00::1"),
            Some("2600:3c00::1/128".parse().unwrap())
        );
        assert_eq!(
            parse_prefix("2a01:4f8::/32"),
            Some("2a01:4f8::/32".parse().unwrap())
        );
        for bad in [
            "",
            "1.2.3.0/33",
            "example.com",
            "1.2.3/24",
            "::/129",
            "1.2.3.4/",
        ] {
            assert_eq!(parse_prefix(bad), None, "{bad}");
        }
    }

    #[test]
    fn malformed_entries_print_as_file_colon_line() {
        let malformed = Malformed {
            path: PathBuf::from("dir/hetzner.txt"),
            line: Some(7),
            record: None,
            text: "1.2.3.0/33".into(),
            reason: NOT_A_PREFIX,
        };
        assert_eq!(
            malformed.to_string(),
            "dir/hetzner.txt:7: not an IP prefix: \"1.2.3.0/33\""
        );
    }

    #[test]
    fn malformed_examples_are_capped_but_all_counted() {
        let mut report = FileReport::new(Path::new("x.txt"), ListFormat::CidrList, "x");
        for line in 1..=MALFORMED_EXAMPLES + 5 {
            report.record_malformed(
                &LineIndex::new(b""),
                Position::Line(line),
                Some("junk"),
                NOT_A_PREFIX,
            );
        }
        assert_eq!(report.malformed_total, MALFORMED_EXAMPLES + 5);
        assert_eq!(report.malformed.len(), MALFORMED_EXAMPLES);
    }
}
