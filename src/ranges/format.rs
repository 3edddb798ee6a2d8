//! The native formats of the published range lists, recognised by content, read into one
//! [`RawEntry`] shape. This module knows formats only; what to keep is decided in `load`.
//!
//! - JSON: one pass of serde over a struct that unions the fields of the four JSON formats
//!   (AWS `ip-ranges.json`, GCP `cloud.json`, Azure Service Tags, Oracle
//!   `public_ip_ranges.json`); which keys are present decides the format. Strings are borrowed
//!   from the input, so a bad prefix can be reported with its line number (found from its byte
//!   offset) and loading the 4 MB Azure file allocates little.
//! - Text: RFC 8805 geofeed CSV (`prefix,country,region,city,postal`) or one CIDR per line, both
//!   with `#` comments. The provider is not in the content, so it comes from the file name.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::path::Path;

use chrono::NaiveDate;
use serde::de::{Deserializer, Visitor};
use serde::{Deserialize, Serialize};

use super::error::RangeError;

/// The list formats that are recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ListFormat {
    /// `ip-ranges.json`: `prefixes[].ip_prefix`, `ipv6_prefixes[].ipv6_prefix`.
    AwsIpRanges,
    /// `cloud.json`: `prefixes[].ipv4Prefix` / `ipv6Prefix`, `scope`, `service`.
    GcpCloud,
    /// Service Tags: `values[].properties.addressPrefixes`, `region`, `systemService`.
    AzureServiceTags,
    /// `public_ip_ranges.json`: `regions[].region`, `regions[].cidrs[].cidr`, `tags`.
    OracleCloud,
    /// RFC 8805 geofeed CSV: `prefix,country,region,city,postal`.
    Geofeed,
    /// One CIDR per line.
    CidrList,
}

impl ListFormat {
    pub fn describe(self) -> &'static str {
        match self {
            ListFormat::AwsIpRanges => "AWS ip-ranges.json",
            ListFormat::GcpCloud => "GCP cloud.json",
            ListFormat::AzureServiceTags => "Azure Service Tags JSON",
            ListFormat::OracleCloud => "Oracle public_ip_ranges.json",
            ListFormat::Geofeed => "RFC 8805 geofeed CSV",
            ListFormat::CidrList => "CIDR list",
        }
    }

    /// The providers that publish their ranges in a format of their own: the public clouds,
    /// where companies' own automation runs. Every other provider in the lists (geofeeds, CIDR
    /// lists) is a VPS or hosting company.
    pub const PUBLIC_CLOUDS: [&'static str; 4] = ["aws", "gcp", "azure", "oracle"];

    /// The provider a format belongs to; `None` for formats any provider publishes.
    pub fn provider(self) -> Option<&'static str> {
        match self {
            ListFormat::AwsIpRanges => Some("aws"),
            ListFormat::GcpCloud => Some("gcp"),
            ListFormat::AzureServiceTags => Some("azure"),
            ListFormat::OracleCloud => Some("oracle"),
            ListFormat::Geofeed | ListFormat::CidrList => None,
        }
    }
}

impl fmt::Display for ListFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// Where an entry sits in its file, kept cheap (`Copy`) and turned into text only when an entry
/// is reported.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Position {
    /// 1-based line of a text list.
    Line(usize),
    /// Byte offset of a JSON string inside the input; the line is counted when needed.
    Offset(usize),
    /// A JSON record whose text could not be located (escaped string or missing field).
    Record {
        array: &'static str,
        index: usize,
        item: Option<(&'static str, usize)>,
    },
}

impl Position {
    /// (line, record path) for a report.
    pub(crate) fn resolve(self, lines: &LineIndex<'_>) -> (Option<usize>, Option<String>) {
        match self {
            Position::Line(line) => (Some(line), None),
            Position::Offset(offset) => (Some(lines.line_of(offset)), None),
            Position::Record { array, index, item } => {
                let path = match item {
                    Some((inner, at)) => format!("{array}[{index}].{inner}[{at}]"),
                    None => format!("{array}[{index}]"),
                };
                (None, Some(path))
            }
        }
    }
}

/// Line numbers of byte offsets, built on first use: a list with thousands of reported entries
/// costs one scan of the input, not one per entry.
pub(crate) struct LineIndex<'a> {
    input: &'a [u8],
    newlines: std::cell::OnceCell<Vec<usize>>,
}

impl<'a> LineIndex<'a> {
    pub(crate) fn new(input: &'a [u8]) -> Self {
        LineIndex {
            input,
            newlines: std::cell::OnceCell::new(),
        }
    }

    /// The 1-based line holding byte `offset`.
    pub(crate) fn line_of(&self, offset: usize) -> usize {
        let newlines = self.newlines.get_or_init(|| {
            let positions = self.input.iter().enumerate();
            positions
                .filter(|(_, &b)| b == b'\n')
                .map(|(at, _)| at)
                .collect()
        });
        newlines.partition_point(|&newline| newline < offset) + 1
    }
}

/// One entry as the list states it; the prefix text is not parsed yet.
#[derive(Debug)]
pub(crate) struct RawEntry<'a> {
    /// `None` when the record has no prefix field at all.
    pub prefix: Option<&'a str>,
    pub position: Position,
    pub region: Option<&'a str>,
    pub services: &'a [&'a str],
    pub country: Option<&'a str>,
    pub city: Option<&'a str>,
}

/// A list whose format is known, ready to hand out its entries.
pub(crate) struct ParsedList<'a> {
    pub format: ListFormat,
    pub provider: String,
    /// The day the list says it was published, when it says (see [`published_date`]).
    pub published: Option<NaiveDate>,
    body: Body<'a>,
}

enum Body<'a> {
    Json {
        input: &'a [u8],
        document: Box<RangeDocument<'a>>,
    },
    Text(&'a [u8]),
}

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

impl<'a> ParsedList<'a> {
    /// Recognise the format of `bytes`; `path` names the file in errors and, for text lists,
    /// gives the provider.
    pub(crate) fn parse(path: &Path, bytes: &'a [u8]) -> Result<Self, RangeError> {
        let bytes = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
        match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') => Self::parse_json(path, bytes),
            Some(b'<') => Err(RangeError::UnknownFormat {
                path: path.to_owned(),
                reason: "looks like HTML or XML (an error page?)".into(),
            }),
            Some(b'[') => Err(RangeError::UnknownFormat {
                path: path.to_owned(),
                reason: "a JSON array; the supported JSON lists are objects".into(),
            }),
            _ => {
                let provider =
                    provider_from_file_name(path).ok_or_else(|| RangeError::NoProviderName {
                        path: path.to_owned(),
                    })?;
                Ok(ParsedList {
                    format: detect_text_format(bytes),
                    provider,
                    published: text_published_date(bytes),
                    body: Body::Text(bytes),
                })
            }
        }
    }

    fn parse_json(path: &Path, bytes: &'a [u8]) -> Result<Self, RangeError> {
        let document: RangeDocument<'a> =
            serde_json::from_slice(bytes).map_err(|source| RangeError::Json {
                path: path.to_owned(),
                source,
            })?;
        let format = document.format().ok_or_else(|| RangeError::UnknownFormat {
            path: path.to_owned(),
            reason: "JSON without the keys of AWS (prefixes[].ip_prefix), GCP \
                     (prefixes[].ipv4Prefix), Azure (values[].properties) or Oracle (regions[].cidrs)"
                .into(),
        })?;
        let provider = format.provider().unwrap_or_default().to_owned();
        let stamp = [
            &document.create_date,
            &document.creation_time,
            &document.last_updated_timestamp,
        ];
        let published = stamp
            .into_iter()
            .find_map(|text| date_prefix(opt_str(text)?));
        Ok(ParsedList {
            format,
            provider,
            published,
            body: Body::Json {
                input: bytes,
                document: Box::new(document),
            },
        })
    }

    /// The input the positions refer to.
    pub(crate) fn input(&self) -> &'a [u8] {
        match &self.body {
            Body::Json { input, .. } => input,
            Body::Text(input) => input,
        }
    }

    /// Hand every entry to `sink`, in file order.
    pub(crate) fn for_each_entry(&self, sink: &mut dyn FnMut(RawEntry<'_>)) {
        match &self.body {
            Body::Json { input, document } => document.for_each_entry(input, sink),
            Body::Text(input) => for_each_text_entry(input, sink),
        }
    }
}

/// `hetzner.txt` → `hetzner`, `digitalocean-geofeed.csv` → `digitalocean`: the file name up to
/// the first `-`, `_` or `.`, lower-cased.
pub fn provider_from_file_name(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let provider = name
        .split(['-', '_', '.'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let usable = !provider.is_empty() && provider.chars().all(|c| c.is_ascii_alphanumeric());
    usable.then_some(provider)
}

// ---------------------------------------------------------------------------------------------
// Text lists

/// The data part of a line: comments after `#` removed, whitespace trimmed.
fn data_part(line: &[u8]) -> &[u8] {
    let line = match line.iter().position(|&b| b == b'#') {
        Some(hash) => &line[..hash],
        None => line,
    };
    line.trim_ascii()
}

/// A geofeed when the first data line has a comma, else a CIDR list. Both are read the same
/// way (first comma field is the prefix), so a stray comma line in a CIDR list is harmless.
fn detect_text_format(input: &[u8]) -> ListFormat {
    let first_data = input
        .split(|&b| b == b'\n')
        .map(data_part)
        .find(|line| !line.is_empty());
    match first_data {
        Some(line) if line.contains(&b',') => ListFormat::Geofeed,
        _ => ListFormat::CidrList,
    }
}

/// A header row some geofeeds carry without `#` (`ip_prefix,alpha2code,...`): no digit can
/// be an address.
fn is_header(prefix_field: &str) -> bool {
    !prefix_field.is_empty() && !prefix_field.bytes().any(|b| b.is_ascii_digit())
}

fn for_each_text_entry(input: &[u8], sink: &mut dyn FnMut(RawEntry<'_>)) {
    let mut seen_data = false;
    for (index, raw_line) in input.split(|&b| b == b'\n').enumerate() {
        let line_number = index + 1;
        let data = data_part(raw_line);
        if data.is_empty() {
            continue;
        }
        let first_data_line = !seen_data;
        seen_data = true;
        // Not UTF-8 cannot be a prefix; the lossy text shows the user what the line holds.
        let text = String::from_utf8_lossy(data);
        let mut fields = text.split(',').map(str::trim);
        let prefix = fields.next().unwrap_or_default();
        if first_data_line && is_header(prefix) {
            continue;
        }
        let country = non_empty(fields.next());
        let region = non_empty(fields.next());
        let city = non_empty(fields.next());
        sink(RawEntry {
            prefix: Some(prefix),
            position: Position::Line(line_number),
            region,
            services: &[],
            country,
            city,
        });
    }
}

/// The date a list states for itself, so the age of a snapshot or cache can be told from the
/// lists rather than from when they were copied:
/// - AWS `createDate` (`2025-07-24-20-23-14`), GCP `creationTime`, Oracle
///   `last_updated_timestamp`;
/// - text lists: a header comment `# last_update: 2025-05-22T...` or `# Last modified: ...`
///   (Linode's geofeed) before the first data line.
///
/// Azure's Service Tags carry only a `changeNumber`, DigitalOcean's geofeed and plain CIDR lists
/// nothing: `None`.
pub fn published_date(path: &Path, bytes: &[u8]) -> Option<NaiveDate> {
    ParsedList::parse(path, bytes).ok()?.published
}

fn text_published_date(input: &[u8]) -> Option<NaiveDate> {
    const KEYS: [&str; 3] = ["last_update:", "last modified:", "last-modified:"];
    for raw_line in input.split(|&b| b == b'\n') {
        let line = String::from_utf8_lossy(raw_line);
        let line = line.trim();
        let Some(comment) = line.strip_prefix('#') else {
            if line.is_empty() {
                continue;
            }
            return None;
        };
        let comment = comment.trim().to_ascii_lowercase();
        if let Some(value) = KEYS.iter().find_map(|key| comment.strip_prefix(key)) {
            return date_prefix(value.trim());
        }
    }
    None
}

/// `2025-07-24` from the start of `2025-07-24T19:16:28.78`, `2025-07-24-20-23-14`, ...
fn date_prefix(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.get(..10)?, "%Y-%m-%d").ok()
}

fn non_empty(field: Option<&str>) -> Option<&str> {
    field.filter(|text| !text.is_empty())
}

// ---------------------------------------------------------------------------------------------
// JSON lists

/// A JSON string borrowed from the input when it has no escapes (almost always for these lists).
#[derive(Debug)]
struct JsonStr<'a>(Cow<'a, str>);

impl<'a> JsonStr<'a> {
    fn as_str(&self) -> &str {
        &self.0
    }

    /// Where the string sits in `input`, when it was borrowed from it.
    fn offset_in(&self, input: &[u8]) -> Option<usize> {
        let Cow::Borrowed(text) = &self.0 else {
            return None;
        };
        let start = input.as_ptr() as usize;
        let at = text.as_ptr() as usize;
        (at >= start && at <= start + input.len()).then(|| at - start)
    }

    fn position(&self, input: &[u8], record: Position) -> Position {
        self.offset_in(input).map_or(record, Position::Offset)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for JsonStr<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StrVisitor<'a>(PhantomData<&'a ()>);

        impl<'de: 'a, 'a> Visitor<'de> for StrVisitor<'a> {
            type Value = JsonStr<'a>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                v: &'de str,
            ) -> Result<Self::Value, E> {
                Ok(JsonStr(Cow::Borrowed(v)))
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(JsonStr(Cow::Owned(v.to_owned())))
            }

            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(JsonStr(Cow::Owned(v)))
            }
        }

        deserializer.deserialize_str(StrVisitor(PhantomData))
    }
}

fn opt_str<'s>(value: &'s Option<JsonStr<'_>>) -> Option<&'s str> {
    value
        .as_ref()
        .map(JsonStr::as_str)
        .filter(|text| !text.is_empty())
}

/// The union of the top-level keys of the four JSON formats; unknown keys are ignored because
/// providers add fields over time.
#[derive(Debug, Deserialize)]
struct RangeDocument<'a> {
    #[serde(borrow, default)]
    prefixes: Option<Vec<PrefixRecord<'a>>>,
    #[serde(borrow, default)]
    ipv6_prefixes: Option<Vec<PrefixRecord<'a>>>,
    #[serde(borrow, default)]
    values: Option<Vec<AzureTag<'a>>>,
    #[serde(borrow, default)]
    regions: Option<Vec<OracleRegion<'a>>>,
    /// AWS: `2025-07-24-20-23-14`.
    #[serde(borrow, default, rename = "createDate")]
    create_date: Option<JsonStr<'a>>,
    /// GCP: `2025-07-24T19:16:28.780563`.
    #[serde(borrow, default, rename = "creationTime")]
    creation_time: Option<JsonStr<'a>>,
    /// Oracle: `2025-07-21T07:13:25.457838`.
    #[serde(borrow, default)]
    last_updated_timestamp: Option<JsonStr<'a>>,
}

/// An AWS or GCP prefix record (they share the `prefixes` key, not the field names).
#[derive(Debug, Deserialize)]
struct PrefixRecord<'a> {
    #[serde(borrow, default)]
    ip_prefix: Option<JsonStr<'a>>,
    #[serde(borrow, default)]
    ipv6_prefix: Option<JsonStr<'a>>,
    #[serde(borrow, default, rename = "ipv4Prefix")]
    gcp_ipv4_prefix: Option<JsonStr<'a>>,
    #[serde(borrow, default, rename = "ipv6Prefix")]
    gcp_ipv6_prefix: Option<JsonStr<'a>>,
    #[serde(borrow, default)]
    region: Option<JsonStr<'a>>,
    #[serde(borrow, default)]
    scope: Option<JsonStr<'a>>,
    #[serde(borrow, default)]
    service: Option<JsonStr<'a>>,
}

impl PrefixRecord<'_> {
    fn is_aws(&self) -> bool {
        self.ip_prefix.is_some() || self.ipv6_prefix.is_some()
    }

    fn is_gcp(&self) -> bool {
        self.gcp_ipv4_prefix.is_some() || self.gcp_ipv6_prefix.is_some()
    }

    fn prefix(&self) -> Option<&JsonStr<'_>> {
        self.ip_prefix
            .as_ref()
            .or(self.ipv6_prefix.as_ref())
            .or(self.gcp_ipv4_prefix.as_ref())
            .or(self.gcp_ipv6_prefix.as_ref())
    }
}

#[derive(Debug, Deserialize)]
struct AzureTag<'a> {
    #[serde(borrow)]
    properties: AzureProperties<'a>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AzureProperties<'a> {
    #[serde(borrow, default)]
    region: Option<JsonStr<'a>>,
    #[serde(borrow, default)]
    system_service: Option<JsonStr<'a>>,
    #[serde(borrow, default)]
    address_prefixes: Vec<JsonStr<'a>>,
}

#[derive(Debug, Deserialize)]
struct OracleRegion<'a> {
    #[serde(borrow, default)]
    region: Option<JsonStr<'a>>,
    #[serde(borrow, default)]
    cidrs: Vec<OracleCidr<'a>>,
}

#[derive(Debug, Deserialize)]
struct OracleCidr<'a> {
    #[serde(borrow, default)]
    cidr: Option<JsonStr<'a>>,
    #[serde(borrow, default)]
    tags: Vec<JsonStr<'a>>,
}

impl RangeDocument<'_> {
    fn format(&self) -> Option<ListFormat> {
        if self.values.is_some() {
            return Some(ListFormat::AzureServiceTags);
        }
        if self.regions.is_some() {
            return Some(ListFormat::OracleCloud);
        }
        let records = || self.prefixes.iter().chain(&self.ipv6_prefixes).flatten();
        if self.ipv6_prefixes.is_some() || records().any(PrefixRecord::is_aws) {
            return Some(ListFormat::AwsIpRanges);
        }
        if records().any(PrefixRecord::is_gcp) {
            return Some(ListFormat::GcpCloud);
        }
        None
    }

    fn for_each_entry(&self, input: &[u8], sink: &mut dyn FnMut(RawEntry<'_>)) {
        let prefix_arrays = [
            ("prefixes", &self.prefixes),
            ("ipv6_prefixes", &self.ipv6_prefixes),
        ];
        for (array, records) in prefix_arrays {
            for (index, record) in records.iter().flatten().enumerate() {
                emit_prefix_record(input, array, index, record, sink);
            }
        }
        for (index, tag) in self.values.iter().flatten().enumerate() {
            let properties = &tag.properties;
            let service = opt_str(&properties.system_service);
            let services = service.as_slice();
            let region = opt_str(&properties.region);
            for (at, prefix) in properties.address_prefixes.iter().enumerate() {
                let record = Position::Record {
                    array: "values",
                    index,
                    item: Some(("properties.addressPrefixes", at)),
                };
                sink(RawEntry {
                    prefix: Some(prefix.as_str()),
                    position: prefix.position(input, record),
                    region,
                    services,
                    country: None,
                    city: None,
                });
            }
        }
        for (index, region) in self.regions.iter().flatten().enumerate() {
            let region_name = opt_str(&region.region);
            for (at, cidr) in region.cidrs.iter().enumerate() {
                let record = Position::Record {
                    array: "regions",
                    index,
                    item: Some(("cidrs", at)),
                };
                let tags: Vec<&str> = cidr
                    .tags
                    .iter()
                    .map(JsonStr::as_str)
                    .filter(|tag| !tag.is_empty())
                    .collect();
                sink(RawEntry {
                    prefix: cidr.cidr.as_ref().map(JsonStr::as_str),
                    position: cidr
                        .cidr
                        .as_ref()
                        .map_or(record, |text| text.position(input, record)),
                    region: region_name,
                    services: &tags,
                    country: None,
                    city: None,
                });
            }
        }
    }
}

fn emit_prefix_record(
    input: &[u8],
    array: &'static str,
    index: usize,
    record: &PrefixRecord<'_>,
    sink: &mut dyn FnMut(RawEntry<'_>),
) {
    let record_position = Position::Record {
        array,
        index,
        item: None,
    };
    let prefix = record.prefix();
    let service = opt_str(&record.service);
    sink(RawEntry {
        prefix: prefix.map(JsonStr::as_str),
        position: prefix.map_or(record_position, |text| {
            text.position(input, record_position)
        }),
        // AWS names it `region`, GCP `scope`.
        region: opt_str(&record.region).or(opt_str(&record.scope)),
        services: service.as_slice(),
        country: None,
        city: None,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_provider_with_a_format_of_its_own_is_a_public_cloud() {
        for format in [
            ListFormat::AwsIpRanges,
            ListFormat::GcpCloud,
            ListFormat::AzureServiceTags,
            ListFormat::OracleCloud,
        ] {
            let provider = format.provider().unwrap();
            assert!(ListFormat::PUBLIC_CLOUDS.contains(&provider), "{provider}");
            assert!(!crate::ranges::is_vps_provider(provider));
        }
        assert!(crate::ranges::is_vps_provider("hetzner"));
    }

    #[allow(clippy::type_complexity)]
    fn entries(
        name: &str,
        input: &str,
    ) -> (ListFormat, String, Vec<(Option<String>, Option<usize>)>) {
        let list = ParsedList::parse(Path::new(name), input.as_bytes()).unwrap();
        let mut seen = Vec::new();
        let bytes = list.input();
        list.for_each_entry(&mut |entry| {
            seen.push((
                entry.prefix.map(str::to_owned),
                entry.position.resolve(&LineIndex::new(bytes)).0,
            ));
        });
        (list.format, list.provider, seen)
    }

    #[test]
    fn provider_comes_from_the_first_word_of_the_file_name() {
        let name = |n: &str| provider_from_file_name(Path::new(n));
        assert_eq!(name("/x/hetzner.txt").as_deref(), Some("hetzner"));
        assert_eq!(
            name("digitalocean-geofeed.csv").as_deref(),
            Some("digitalocean")
        );
        assert_eq!(name("OVH_ranges.txt").as_deref(), Some("ovh"));
        assert_eq!(name(".txt"), None);
    }

    #[test]
    fn json_formats_are_told_apart_by_their_keys() {
        let aws = r#"{"prefixes":[{"ip_prefix":"3.5.140.0/22","region":"ap-northeast-2","service":"EC2"}],"ipv6_prefixes":[]}"#;
        let gcp = r#"{"prefixes":[{"ipv6Prefix":"2600:1900:8000::/44","scope":"africa-south1","service":"Google Cloud"}]}"#;
        let azure = r#"{"values":[{"name":"AzureCloud","properties":{"region":"","systemService":"","addressPrefixes":["4.145.74.52/30"]}}]}"#;
        let oracle = r#"{"regions":[{"region":"us-ashburn-1","cidrs":[{"cidr":"129.80.0.0/16","tags":["OCI"]}]}]}"#;
        for (input, format, provider) in [
            (aws, ListFormat::AwsIpRanges, "aws"),
            (gcp, ListFormat::GcpCloud, "gcp"),
            (azure, ListFormat::AzureServiceTags, "azure"),
            (oracle, ListFormat::OracleCloud, "oracle"),
        ] {
            let (found, found_provider, seen) = entries("any-name.json", input);
            assert_eq!(found, format);
            assert_eq!(found_provider, provider);
            assert_eq!(seen.len(), 1, "{input}");
        }
    }

    #[test]
    fn json_positions_are_lines_found_from_byte_offsets() {
        let input = "{\n \"prefixes\": [\n  {\"ip_prefix\": \"1.2.3.0/24\"},\n  {\"ip_prefix\": \"bad\"}\n ]\n}\n";
        let (_, _, seen) = entries("aws.json", input);
        assert_eq!(seen[0], (Some("1.2.3.0/24".into()), Some(3)));
        assert_eq!(seen[1], (Some("bad".into()), Some(4)));
    }

    #[test]
    fn escaped_json_strings_fall_back_to_the_record_path() {
        let input = r#"{"regions":[{"region":"r","cidrs":[{"cidr":"1.2.3.0\/24"}]}]}"#;
        let list = ParsedList::parse(Path::new("o.json"), input.as_bytes()).unwrap();
        let mut positions = Vec::new();
        list.for_each_entry(&mut |entry| {
            assert_eq!(entry.prefix, Some("1.2.3.0/24"));
            positions.push(entry.position.resolve(&LineIndex::new(input.as_bytes())));
        });
        assert_eq!(
            positions,
            vec![(None, Some("regions[0].cidrs[0]".to_owned()))]
        );
    }

    #[test]
    fn unknown_json_and_html_are_errors() {
        let unknown = ParsedList::parse(Path::new("x.json"), br#"{"foo": 1}"#);
        assert!(matches!(unknown, Err(RangeError::UnknownFormat { .. })));
        let html = ParsedList::parse(Path::new("x.txt"), b"<html><body>503</body></html>");
        assert!(matches!(html, Err(RangeError::UnknownFormat { .. })));
        let broken = ParsedList::parse(Path::new("x.json"), b"{\"prefixes\": [");
        assert!(matches!(broken, Err(RangeError::Json { .. })));
    }

    #[test]
    fn text_lists_skip_comments_and_blank_lines_and_keep_line_numbers() {
        let input = "# provider: Ovh\n\n109.190.0.0/16  # main block\r\n151.127.0.0/16\n";
        let (format, provider, seen) = entries("ovh.txt", input);
        assert_eq!(format, ListFormat::CidrList);
        assert_eq!(provider, "ovh");
        assert_eq!(
            seen,
            vec![
                (Some("109.190.0.0/16".into()), Some(3)),
                (Some("151.127.0.0/16".into()), Some(4))
            ]
        );
    }

    #[test]
    fn geofeeds_give_country_region_and_city() {
        let input = "\u{feff}ip_prefix,alpha2code,region,city,postal_code\n5.101.96.0/21,NL,NL-NH,Amsterdam,1098 XH\n";
        let list =
            ParsedList::parse(Path::new("digitalocean-geofeed.csv"), input.as_bytes()).unwrap();
        assert_eq!(list.format, ListFormat::Geofeed);
        let mut seen = Vec::new();
        list.for_each_entry(&mut |entry| {
            seen.push((
                entry.prefix.map(str::to_owned),
                entry.country.map(str::to_owned),
                entry.region.map(str::to_owned),
                entry.city.map(str::to_owned),
            ));
        });
        assert_eq!(
            seen,
            vec![(
                Some("5.101.96.0/21".into()),
                Some("NL".into()),
                Some("NL-NH".into()),
                Some("Amsterdam".into())
            )]
        );
    }

    #[test]
    fn lists_give_the_date_they_state_for_themselves() {
        let date = |name: &str, text: &str| published_date(Path::new(name), text.as_bytes());
        let day = |text: &str| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok();
        let aws =
            r#"{"createDate": "2025-07-24-20-23-14", "prefixes": [{"ip_prefix": "3.5.140.0/22"}]}"#;
        assert_eq!(date("aws.json", aws), day("2025-07-24"));
        let gcp = r#"{"creationTime": "2025-07-24T19:16:28.780563", "prefixes": [{"ipv4Prefix": "34.1.208.0/20"}]}"#;
        assert_eq!(date("gcp.json", gcp), day("2025-07-24"));
        let oracle = r#"{"last_updated_timestamp": "2025-07-21T07:13:25.457838", "regions": []}"#;
        assert_eq!(date("oracle.json", oracle), day("2025-07-21"));
        let azure = r#"{"changeNumber": 363, "values": []}"#;
        assert_eq!(date("azure.json", azure), None);
        let hetzner =
            "# provider: Hetzner\n# last_update: 2025-05-22T23:44:37.880645\n\n116.202.0.0/16\n";
        assert_eq!(date("hetzner.txt", hetzner), day("2025-05-22"));
        let linode = "# geofeed\n# Last modified: 2025-07-24 10:00:06.525037\n2600:3c00::/32,US,US-TX,Richardson,\n";
        assert_eq!(date("linode.csv", linode), day("2025-07-24"));
        // Only the header counts: a date comment after the data is not the list's.
        assert_eq!(
            date("vultr.txt", "45.32.0.0/16\n# last_update: 2025-01-01\n"),
            None
        );
        assert_eq!(
            date("ovh.txt", "# last_update: soon\n109.190.0.0/16\n"),
            None
        );
    }
}
