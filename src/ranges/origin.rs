//! Which range lists a run uses, and how old they are: `--ip-ranges DIR`, else the cache that
//! `ranges update` writes, else the snapshot built into the binary. Providers the cache lacks
//! (Azure, Hetzner, OVH and Vultr have no stable URL, so `ranges update` cannot fetch them) come
//! from the snapshot, so updating never loses a provider the snapshot had.

use std::fmt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};

use super::snapshot::Snapshot;
use super::{has_list_extension, FileReport, HostingRanges, LoadReport, RangeError};

/// Lists older than this many days are reported as stale (`docs/ip-ranges.md`): the clouds add
/// ranges every week, and an address in a new range would not count as hosting.
pub const MAX_AGE_DAYS: i64 = 30;

/// Where a run's lists came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangesOrigin {
    /// `--ip-ranges DIR` (or `ranges lookup --dir DIR`): exactly the lists in it.
    Given(PathBuf),
    /// The `ranges update` cache, with the snapshot's sections for the providers it lacks.
    Cache {
        dir: PathBuf,
        from_snapshot: Vec<String>,
    },
    /// No cache: the snapshot built into the binary.
    Snapshot,
}

/// The lists a run uses, with where they came from and their date.
pub struct LoadedRanges {
    pub ranges: HostingRanges,
    pub origin: RangesOrigin,
    /// What loading each list of a directory (given or the cache) did; empty for the snapshot.
    pub report: LoadReport,
    /// The oldest list's date: the day a list says it was published, else the day its file was
    /// written (a list in a directory) or the snapshot was built.
    pub date: Option<NaiveDate>,
}

/// Load the lists a run uses: `given`, else the cache directory `cache` when it holds a list,
/// else the embedded snapshot.
pub fn load_ranges(given: Option<&Path>, cache: Option<&Path>) -> Result<LoadedRanges, RangeError> {
    load_with(given, cache, Snapshot::embedded)
}

/// [`load_ranges`] with the snapshot supplied (tests).
pub fn load_with(
    given: Option<&Path>,
    cache: Option<&Path>,
    snapshot: impl FnOnce() -> Result<Snapshot, RangeError>,
) -> Result<LoadedRanges, RangeError> {
    if let Some(dir) = given {
        let (ranges, report) = HostingRanges::load_dir(dir)?;
        let date = oldest_file_date(&report.files);
        return Ok(LoadedRanges {
            ranges,
            origin: RangesOrigin::Given(dir.to_owned()),
            report,
            date,
        });
    }
    let snapshot = snapshot()?;
    match cache.filter(|dir| holds_a_list(dir)) {
        Some(dir) => {
            let (mut ranges, report) = HostingRanges::load_dir(dir)?;
            let cached: Vec<String> = report.files.iter().map(|f| f.provider.clone()).collect();
            let missing = |provider: &str| !cached.iter().any(|known| known == provider);
            let from_snapshot: Vec<String> = snapshot
                .providers()
                .filter(|p| missing(p))
                .map(str::to_owned)
                .collect();
            snapshot.add_to(&mut ranges, missing)?;
            let mut date = oldest_file_date(&report.files);
            if !from_snapshot.is_empty() {
                let snapshot_date = snapshot.date_of(missing);
                date = Some(date.map_or(snapshot_date, |day| day.min(snapshot_date)));
            }
            Ok(LoadedRanges {
                ranges,
                origin: RangesOrigin::Cache {
                    dir: dir.to_owned(),
                    from_snapshot,
                },
                report,
                date,
            })
        }
        None => {
            let mut ranges = HostingRanges::new();
            snapshot.add_to(&mut ranges, |_| true)?;
            Ok(LoadedRanges {
                ranges,
                origin: RangesOrigin::Snapshot,
                report: LoadReport::default(),
                date: Some(snapshot.date()),
            })
        }
    }
}

/// Whether `dir` has a file `load_dir` would read: an empty or missing cache is no cache.
fn holds_a_list(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|entry| {
        let path = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        !hidden && path.is_file() && has_list_extension(&path)
    })
}

fn oldest_file_date(files: &[FileReport]) -> Option<NaiveDate> {
    files
        .iter()
        .filter_map(|file| file.published.or_else(|| modified_day(&file.path)))
        .min()
}

fn modified_day(path: &Path) -> Option<NaiveDate> {
    let modified = std::fs::metadata(path).ok()?.modified().ok()?;
    Some(DateTime::<Utc>::from(modified).date_naive())
}

impl LoadedRanges {
    /// Days between the lists' date and `today`.
    pub fn age_days(&self, today: NaiveDate) -> Option<i64> {
        self.date.map(|date| (today - date).num_days())
    }

    /// A warning when the snapshot or the cache is older than [`MAX_AGE_DAYS`] on `today`.
    /// Lists given with `--ip-ranges` are the user's choice and are not judged.
    pub fn staleness(&self, today: NaiveDate) -> Option<String> {
        let age = self.age_days(today)?;
        if age <= MAX_AGE_DAYS || matches!(self.origin, RangesOrigin::Given(_)) {
            return None;
        }
        let date = self.date?;
        Some(format!(
            "The hosting ranges ({}) date from {date}, {age} days ago (more than {MAX_AGE_DAYS}): \
             addresses in newer ranges do not count as hosting; run `auditsweep ranges update`",
            self.origin
        ))
    }

    /// One line for stderr: where the lists came from, their date and size.
    pub fn describe(&self) -> String {
        let date = self
            .date
            .map_or_else(|| "undated".to_owned(), |day| format!("dated {day}"));
        format!(
            "Hosting ranges: {}, {date}, {} prefixes",
            self.origin,
            self.ranges.len()
        )
    }

    /// Log [`describe`](Self::describe), the file reports of lists read from a directory, and
    /// the staleness warning for `today`.
    pub fn log(&self, today: NaiveDate) {
        tracing::info!("{}", self.describe());
        self.report.log();
        if let Some(warning) = self.staleness(today) {
            tracing::warn!("{warning}");
        }
    }
}

impl fmt::Display for RangesOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RangesOrigin::Given(dir) => write!(f, "{}", dir.display()),
            RangesOrigin::Cache { dir, from_snapshot } if from_snapshot.is_empty() => {
                write!(f, "cache {}", dir.display())
            }
            RangesOrigin::Cache { dir, from_snapshot } => write!(
                f,
                "cache {}, with {} from the built-in snapshot",
                dir.display(),
                from_snapshot.join(", ")
            ),
            RangesOrigin::Snapshot => f.write_str("the built-in snapshot"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn snapshot() -> Result<Snapshot, RangeError> {
        Snapshot::parse(
            "auditsweep-ip-ranges-snapshot 1\nbuilt 2025-08-01\n\
             list aws aws-ip-ranges.json 2025-07-24 sha256:00\n\
             list vultr vultr.txt - sha256:11\n\
             provider aws\n3.0.0.0/15\nprovider vultr\n45.32.0.0/16\n",
        )
    }

    #[test]
    fn the_given_directory_wins_then_the_cache_then_the_snapshot() {
        let given = tempfile::tempdir().unwrap();
        std::fs::write(given.path().join("hetzner.txt"), "5.9.0.0/16\n").unwrap();
        let cache = tempfile::tempdir().unwrap();
        let gcp = r#"{"creationTime": "2025-07-20T00:00:00", "prefixes": [{"ipv4Prefix": "34.1.208.0/20"}]}"#;
        std::fs::write(cache.path().join("aws-ip-ranges.json"), "{\"createDate\": \"2025-07-30-00-00-00\", \"prefixes\": [{\"ip_prefix\": \"3.4.0.0/16\"}]}").unwrap();
        std::fs::write(cache.path().join("gcp-cloud.json"), gcp).unwrap();
        let empty = tempfile::tempdir().unwrap();
        let provider = |loaded: &LoadedRanges, ip: &str| {
            (loaded.ranges.lookup(ip.parse().unwrap())).map(|info| info.provider.clone())
        };

        let loaded = load_with(Some(given.path()), Some(cache.path()), snapshot).unwrap();
        assert_eq!(loaded.origin, RangesOrigin::Given(given.path().to_owned()));
        assert_eq!(loaded.ranges.len(), 1);

        let loaded = load_with(None, Some(cache.path()), snapshot).unwrap();
        let from_snapshot = vec!["vultr".to_owned()];
        let origin = RangesOrigin::Cache {
            dir: cache.path().to_owned(),
            from_snapshot,
        };
        assert_eq!(loaded.origin, origin);
        // aws comes from the cache only (its 3.4.0.0/16, not the snapshot's 3.0.0.0/15).
        assert_eq!(provider(&loaded, "3.4.1.1").as_deref(), Some("aws"));
        assert_eq!(provider(&loaded, "3.0.1.1"), None);
        assert_eq!(provider(&loaded, "45.32.1.1").as_deref(), Some("vultr"));
        // The oldest: gcp's 2025-07-20 (vultr is undated: the snapshot's build day, 08-01).
        assert_eq!(loaded.date, Some(day("2025-07-20")));

        for cache in [
            Some(empty.path()),
            Some(Path::new("/nonexistent/cache")),
            None,
        ] {
            let loaded = load_with(None, cache, snapshot).unwrap();
            assert_eq!(loaded.origin, RangesOrigin::Snapshot);
            assert_eq!(loaded.date, Some(day("2025-07-24")));
            assert_eq!(provider(&loaded, "3.0.1.1").as_deref(), Some("aws"));
        }
    }

    #[test]
    fn lists_older_than_the_documented_age_are_stale() {
        let loaded = load_with(None, None, snapshot).unwrap();
        assert_eq!(loaded.age_days(day("2025-08-23")), Some(30));
        assert_eq!(loaded.staleness(day("2025-08-23")), None);
        let warning = loaded.staleness(day("2025-08-24")).unwrap();
        assert!(
            warning.contains("date from 2025-07-24, 31 days ago"),
            "{warning}"
        );
        assert!(warning.contains("built-in snapshot"), "{warning}");
        assert!(warning.contains("ranges update"), "{warning}");

        let given = tempfile::tempdir().unwrap();
        let old = "# last_update: 2020-01-01\n5.9.0.0/16\n";
        std::fs::write(given.path().join("hetzner.txt"), old).unwrap();
        let loaded = load_with(Some(given.path()), None, snapshot).unwrap();
        assert_eq!(loaded.date, Some(day("2020-01-01")));
        assert_eq!(
            loaded.staleness(day("2025-08-24")),
            None,
            "--ip-ranges is not judged"
        );

        let cache = tempfile::tempdir().unwrap();
        std::fs::write(cache.path().join("hetzner.txt"), old).unwrap();
        let loaded = load_with(None, Some(cache.path()), snapshot).unwrap();
        assert!(loaded
            .staleness(day("2025-08-24"))
            .unwrap()
            .contains("cache"));
    }

    #[test]
    fn an_undated_list_in_a_directory_is_as_old_as_its_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("vultr.txt"), "45.32.0.0/16\n").unwrap();
        let loaded = load_with(Some(dir.path()), None, snapshot).unwrap();
        assert_eq!(loaded.date, Some(Utc::now().date_naive()));
    }
}
