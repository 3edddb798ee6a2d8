//! A record read twice counts once: the scheduled run drops an event whose provider id
//! ([`crate::schema::Event::event_id`]) it has seen, in this run or an earlier one.
//!
//! Ids are kept only for the overlap window (`[run] overlap_hours` behind the newest event with
//! an id of each source, `provider/tenant`; billing rows, which come by the month, do not move
//! it), so the table stays as small as a day of events. An event with an id that is
//! older than its source's window is dropped as *late*: its id may have expired, so it cannot
//! be told from a duplicate, and counting it could count it twice. Events without an id (a few
//! export shapes) and billing rows are always counted: nothing tells their copies apart.
//!
//! Pages pulled from a live source are the exception: their source is the pulled source itself
//! (`<pulled>/<source id>/<stream>/<page>`), and none of them is late. The pull's cursor never
//! fetches a page twice, and the overlap it re-asks starts after its source's newest record less
//! the overlap, inside the ids kept; but a pull resumed after a failure fetches the rest of its
//! window, records older than what the interrupted run already read (pages come newest first).
//! Judging those against the tenant's newest record dropped them as late: lost.
//!
//! Keys are the first 8 bytes of SHA-256 of `provider`, NUL, the id: stable across builds (they
//! are stored), and one false match among a million ids of a window has odds of about 3e-8.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use chrono::Duration;
use rustc_hash::FxHashSet;
use sha2::{Digest, Sha256};

use crate::schema::Record;

const SHARDS: usize = 64;

/// The source a record's window is measured in: `provider/tenant`, as the input ledger's.
pub fn source_key(record: &Record) -> String {
    format!("{}/{}", record.provider(), record.tenant().unwrap_or("-"))
}

/// The stored form of a source key.
pub fn source_hash(source: &str) -> i64 {
    let digest = Sha256::digest(source.as_bytes());
    i64::from_le_bytes(digest[..8].try_into().expect("8 bytes"))
}

/// The stored form of an event id.
pub fn id_key(provider: &str, id: &str) -> i64 {
    let mut hasher = Sha256::new();
    hasher.update(provider.as_bytes());
    hasher.update([0]);
    hasher.update(id.as_bytes());
    let digest = hasher.finalize();
    i64::from_le_bytes(digest[..8].try_into().expect("8 bytes"))
}

/// A new id to store: (key, source hash, record time in Unix seconds).
pub type NewId = (i64, i64, i64);

/// What [`Dedup::admit`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    Count,
    Duplicate,
    Late,
}

/// The ids of the window, shared by the threads that read.
pub struct Dedup {
    /// Per source hash: events with an id before this instant (Unix seconds) are late.
    cutoffs: BTreeMap<i64, i64>,
    shards: Vec<Mutex<FxHashSet<i64>>>,
    new: Mutex<Vec<NewId>>,
    pub duplicates: AtomicU64,
    pub late: AtomicU64,
    /// Where pulled pages are saved (`[run] pulled`), when the run pulls.
    pulled: Option<PathBuf>,
}

impl Dedup {
    /// `known`: the stored ids; `newest`: per source hash, the stored newest event's time;
    /// `pulled`: the directory of pulled pages.
    pub fn new(
        known: impl IntoIterator<Item = i64>,
        newest: &BTreeMap<i64, i64>,
        overlap: Duration,
        pulled: Option<&Path>,
    ) -> Dedup {
        let shards: Vec<Mutex<FxHashSet<i64>>> = (0..SHARDS)
            .map(|_| Mutex::new(FxHashSet::default()))
            .collect();
        for key in known {
            shards[shard(key)].lock().expect("not poisoned").insert(key);
        }
        let cutoffs = newest
            .iter()
            .map(|(source, newest)| (*source, newest - overlap.num_seconds()))
            .collect();
        Dedup {
            cutoffs,
            shards,
            new: Mutex::new(Vec::new()),
            duplicates: AtomicU64::new(0),
            late: AtomicU64::new(0),
            pulled: pulled.map(Path::to_path_buf),
        }
    }

    /// The pulled source a record's page belongs to (`<source id>` of
    /// `<pulled>/<source id>/<stream>/<page>`), or `None` for a record of any other input.
    fn pulled_source<'f>(&self, file: &'f str) -> Option<&'f Path> {
        let relative = Path::new(file).strip_prefix(self.pulled.as_ref()?).ok()?;
        relative
            .parent()?
            .parent()
            .filter(|source| !source.as_os_str().is_empty())
    }

    /// Whether a record counts; an event's id is remembered the first time.
    pub fn admit(&self, record: &Record) -> Admit {
        let Record::Event(event) = record else {
            return Admit::Count;
        };
        let Some(id) = event.event_id.as_deref() else {
            return Admit::Count;
        };
        let time = event.time.timestamp();
        let (source, may_be_late) = match self.pulled_source(&event.source.file) {
            Some(pulled) => (source_hash(&format!("pulled:{}", pulled.display())), false),
            None => (source_hash(&source_key(record)), true),
        };
        if may_be_late
            && self
                .cutoffs
                .get(&source)
                .is_some_and(|cutoff| time < *cutoff)
        {
            self.late.fetch_add(1, Ordering::Relaxed);
            return Admit::Late;
        }
        let key = id_key(event.provider.as_str(), id);
        if !self.shards[shard(key)]
            .lock()
            .expect("not poisoned")
            .insert(key)
        {
            self.duplicates.fetch_add(1, Ordering::Relaxed);
            return Admit::Duplicate;
        }
        self.new
            .lock()
            .expect("not poisoned")
            .push((key, source, time));
        Admit::Count
    }

    /// The ids first seen in this run, to store.
    pub fn into_new(self) -> Vec<NewId> {
        self.new.into_inner().expect("not poisoned")
    }
}

fn shard(key: i64) -> usize {
    (key as u64 % SHARDS as u64) as usize
}

/// The newest event time per source after a run: the stored ones moved on by the new ids.
pub fn newest(mut stored: BTreeMap<i64, i64>, new: &[NewId]) -> BTreeMap<i64, i64> {
    for (_, source, time) in new {
        let newest = stored.entry(*source).or_insert(*time);
        *newest = (*newest).max(*time);
    }
    stored
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Category, Event, Provider, Resource, SourceRef};
    use chrono::{TimeZone, Utc};

    fn event(id: Option<&str>, hour: u32) -> Record {
        event_in("f", id, hour)
    }

    fn event_in(file: &str, id: Option<&str>, hour: u32) -> Record {
        Record::Event(Box::new(Event {
            time: Utc.with_ymd_and_hms(2025, 3, 10, hour, 0, 0).unwrap(),
            provider: Provider::Aws,
            tenant: Some("111122223333".into()),
            account: Some("111122223333".into()),
            region: None,
            category: Category::Api,
            class_uid: 6003,
            operation: "DescribeInstances".into(),
            principal: None,
            src_ip: None,
            user_agent: None,
            outcome: None,
            reason: None,
            resource: Resource::default(),
            event_id: id.map(str::to_string),
            source: SourceRef {
                file: file.into(),
                record: 1,
            },
        }))
    }

    #[test]
    fn an_id_counts_once_and_late_ids_are_dropped() {
        let source = source_hash("aws/111122223333");
        let at = |hour| {
            Utc.with_ymd_and_hms(2025, 3, 10, hour, 0, 0)
                .unwrap()
                .timestamp()
        };
        let stored = BTreeMap::from([(source, at(20))]);
        let dedup = Dedup::new(
            [id_key("aws", "seen-before")],
            &stored,
            Duration::hours(6),
            None,
        );
        assert_eq!(
            dedup.admit(&event(Some("seen-before"), 18)),
            Admit::Duplicate
        );
        assert_eq!(dedup.admit(&event(Some("a"), 18)), Admit::Count);
        assert_eq!(dedup.admit(&event(Some("a"), 18)), Admit::Duplicate);
        // 13:00 is before 20:00 - 6 h: its id may have expired.
        assert_eq!(dedup.admit(&event(Some("b"), 13)), Admit::Late);
        // Without an id nothing tells copies apart: counted, early or not.
        assert_eq!(dedup.admit(&event(None, 13)), Admit::Count);
        assert_eq!(dedup.admit(&event(None, 13)), Admit::Count);
        assert_eq!(dedup.duplicates.load(Ordering::Relaxed), 2);
        assert_eq!(dedup.late.load(Ordering::Relaxed), 1);
        let new = dedup.into_new();
        assert_eq!(new, vec![(id_key("aws", "a"), source, at(18))]);
        // 18:00 is not newer than 20:00; a later id moves the window on.
        assert_eq!(newest(stored.clone(), &new), stored);
        let later = [(1, source, at(23)), (2, 5, at(1))];
        assert_eq!(
            newest(stored, &later),
            BTreeMap::from([(source, at(23)), (5, at(1))])
        );
    }

    /// A pull resumed after a failure reads the rest of its window: records older than its
    /// tenant's newest by more than the overlap, and new all the same. Only a re-read file's
    /// old records are late.
    #[test]
    fn pulled_pages_are_never_late_and_have_their_source_window() {
        let at = |hour| {
            Utc.with_ymd_and_hms(2025, 3, 10, hour, 0, 0)
                .unwrap()
                .timestamp()
        };
        let tenant = source_hash("aws/111122223333");
        let page = "pulled/aws/acme/cloudtrail/111122223333/us-east-1/20250310T000000Z-first.json";
        let pulled = source_hash("pulled:aws/acme/cloudtrail/111122223333");
        let stored = BTreeMap::from([(tenant, at(20)), (pulled, at(20))]);
        let dedup = Dedup::new(
            [id_key("aws", "seen")],
            &stored,
            Duration::hours(6),
            Some(Path::new("pulled")),
        );
        assert_eq!(dedup.admit(&event_in(page, Some("old"), 2)), Admit::Count);
        assert_eq!(
            dedup.admit(&event_in(page, Some("seen"), 19)),
            Admit::Duplicate
        );
        assert_eq!(
            dedup.admit(&event_in("export.json", Some("x"), 2)),
            Admit::Late
        );
        // A file outside the pulled directory, or the directory itself, is an ordinary input.
        assert_eq!(
            dedup.admit(&event_in("pulled.json", Some("y"), 2)),
            Admit::Late
        );
        assert_eq!(
            dedup.into_new(),
            vec![(id_key("aws", "old"), pulled, at(2))]
        );
    }

    #[test]
    fn keys_are_stable_and_apart_by_provider() {
        assert_ne!(id_key("aws", "x"), id_key("gcp", "x"));
        assert_ne!(id_key("aws", "x"), id_key("aw", "sx"));
        // Stored keys must not change between builds: the value of SHA-256("aws\0x")'s first
        // 8 bytes, little-endian, as computed outside (Python's hashlib and struct).
        assert_eq!(id_key("aws", "x"), -907376691963087958);
    }
}
