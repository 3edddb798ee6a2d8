//! The one place that knows provider formats: reads files and directories, recognizes each
//! record by its content, and maps it into the [`crate::schema`] types.
//!
//! Records stream through: a file is read record by record and each result is handed to the
//! caller at once, so memory does not grow with the size of the input.
//!
//! Accounting is exact: every record read is either emitted or skipped with a reason
//! ([`InputSummary`]), so a run can say precisely what it did not see.

mod categories;
mod csv_rows;
mod error;
pub(crate) mod fields;
mod input;
mod json_stream;
mod summary;
mod typed;

mod aws;
pub(crate) mod azure;
mod focus;
mod gcp;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

pub use error::RecordError;
pub use fields::{parse_time, start_of_day, TimeBounds, MAX_LINE_COST};
pub use input::{list as list_inputs, open_input, Input, Inputs};
pub use summary::{InputSummary, Skip, SourceCounts};

use crate::schema::{Record, SourceRef};

/// What a mapper knows besides the record itself.
pub(crate) struct RecordContext<'a> {
    pub source: SourceRef,
    /// Facts about the whole file, learned from its path.
    pub file: &'a FileHints,
}

/// Facts that only the file's location tells, and the run's bounds on its records' times.
#[derive(Debug, Default)]
pub(crate) struct FileHints {
    /// From an organization trail's S3 layout `AWSLogs/o-xxxx/<account>/...`.
    pub aws_organization: Option<String>,
    /// The span a record's time must lie in to be data.
    pub bounds: TimeBounds,
}

/// Maps one provider record. Each cloud module says whether the record is one of its formats
/// (`None`: not mine) and, if so, maps it or says why it cannot.
type Mapper = fn(&Value, &RecordContext) -> Option<Result<Record, RecordError>>;

/// Splits a document that holds many records in a table-like shape (Cost Explorer's
/// `ResultsByTime`, Cost Management's `columns` + `rows`) into one value per record.
type Expander = fn(&Value) -> Option<Vec<Value>>;

/// Every format we read, in one place. Recognition is by content and the formats' key sets do
/// not overlap, so the order only matters for speed (most common first).
const MAPPERS: &[Mapper] = &[aws::map, gcp::map, azure::map, focus::map];
const EXPANDERS: &[Expander] = &[aws::expand, azure::expand];

/// Maps one JSON value (a record, or a CSV row turned into an object of strings).
pub(crate) fn map_record(record: &Value, context: &RecordContext) -> Result<Record, RecordError> {
    MAPPERS
        .iter()
        .find_map(|mapper| mapper(record, context))
        .unwrap_or_else(|| Err(RecordError::unrecognized(record)))
}

fn expand_document(document: &Value) -> Option<Vec<Value>> {
    EXPANDERS.iter().find_map(|expander| expander(document))
}

/// Whether any format claims a record with these keys; used to accept or reject a CSV header.
pub(crate) fn recognizes_keys<'k>(keys: impl Iterator<Item = &'k str>) -> bool {
    let probe: serde_json::Map<String, Value> =
        keys.map(|k| (k.to_string(), Value::from("0"))).collect();
    let probe = Value::Object(probe);
    let hints = FileHints::default();
    let context = RecordContext {
        source: SourceRef {
            file: "".into(),
            record: 0,
        },
        file: &hints,
    };
    MAPPERS
        .iter()
        .any(|mapper| mapper(&probe, &context).is_some())
}

/// Reads files and directories and hands every normalized record to a sink.
pub struct Normalizer<'s> {
    sink: &'s mut dyn FnMut(Record),
    summary: InputSummary,
    bounds: TimeBounds,
}

impl<'s> Normalizer<'s> {
    /// A normalizer whose records' times are bounded by the clock as it reads now.
    pub fn new(sink: &'s mut dyn FnMut(Record)) -> Self {
        Self::with_bounds(sink, TimeBounds::default())
    }

    /// A normalizer with the given bounds on records' times (a fixed clock, for tests).
    pub fn with_bounds(sink: &'s mut dyn FnMut(Record), bounds: TimeBounds) -> Self {
        Normalizer {
            sink,
            summary: InputSummary::default(),
            bounds,
        }
    }

    /// Reads a file, or every file below a directory. A path that cannot be read is recorded in
    /// the summary (`unreadable`) and the run goes on.
    pub fn read_path(&mut self, path: &Path) {
        let inputs = input::list(&[path.to_path_buf()]);
        self.note_listing(&inputs);
        for input in &inputs.inputs {
            self.read_input(input);
        }
    }

    /// Records what a listing could not read (and what it refused, for callers that go on).
    pub fn note_listing(&mut self, inputs: &Inputs) {
        for path in &inputs.missing {
            self.summary
                .note_unreadable(path, &"no such file or directory");
        }
        for (path, error) in inputs.refused.iter().chain(&inputs.unreadable) {
            self.summary.note_unreadable(path, error);
        }
    }

    /// Reads one input, whatever its format.
    pub fn read_input(&mut self, input: &Input) {
        let mut reader = match input::open_input(input) {
            Ok(reader) => reader,
            Err(err) => return self.summary.note_unreadable(Path::new(&input.name()), &err),
        };
        self.summary.files += 1;
        let name = input.name();
        let hints = FileHints {
            aws_organization: match input {
                Input::File(path) => input::aws_organization_from_path(path),
                Input::Stdin => None,
            },
            bounds: self.bounds,
        };
        let mut file = FileReader {
            name: &name,
            file: Arc::from(name.as_str()),
            hints: &hints,
            next_record: 1,
            sink: &mut *self.sink,
            summary: &mut self.summary,
            typed: None,
            pending: None,
        };
        match input::sniff_layout(&mut reader) {
            Ok(input::Layout::Json) => file.read_json(reader),
            Ok(input::Layout::Csv) => csv_rows::read(reader, &mut file),
            Ok(input::Layout::Binary) => file.skip(RecordError::UnknownFormat(
                "binary content (a control byte where JSON or CSV begins)".to_string(),
            )),
            Ok(input::Layout::Empty) => tracing::debug!(file = %name, "Empty file"),
            Err(err) => file.skip(RecordError::Truncated(format!("read error: {err}"))),
        }
    }

    pub fn finish(self) -> InputSummary {
        self.summary
    }
}

/// Reads all paths and returns the records' summary; a convenience for callers that do not need
/// to interleave other work.
pub fn normalize_paths(paths: &[PathBuf], sink: &mut dyn FnMut(Record)) -> InputSummary {
    let inputs = input::list(paths);
    let mut normalizer = Normalizer::new(sink);
    normalizer.note_listing(&inputs);
    for input in &inputs.inputs {
        normalizer.read_input(input);
    }
    normalizer.finish()
}

/// Maps the JSON text of one record exactly as a file's reader does (typed fast path included)
/// and returns the ledger of that one record: for benchmarks, and for callers that already hold
/// records in memory. `file` names the record's source in what it emits.
pub fn normalize_record(bytes: &[u8], file: &str, sink: &mut dyn FnMut(Record)) -> InputSummary {
    let hints = FileHints::default();
    let mut summary = InputSummary::default();
    let mut reader = FileReader {
        name: file,
        file: Arc::from(file),
        hints: &hints,
        next_record: 1,
        sink,
        summary: &mut summary,
        typed: None,
        pending: None,
    };
    reader.note_read();
    reader.handle_bytes(bytes, json_stream::Position { line: 1, column: 1 });
    summary
}

/// The state of reading one file: where we are, and where results go.
pub(crate) struct FileReader<'a> {
    name: &'a str,
    /// `name`, shared by the records' [`SourceRef`]s.
    file: Arc<str>,
    hints: &'a FileHints,
    next_record: u64,
    sink: &'a mut dyn FnMut(Record),
    summary: &'a mut InputSummary,
    /// The typed format of this file's last record, tried first on the next one.
    typed: Option<Typed>,
    /// A record parsed from the read buffer, until the scan takes it or drops it.
    pending: Option<(SourceRef, Result<Record, RecordError>)>,
}

/// The formats with a typed fast path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Typed {
    CloudTrail,
    AuditEntry,
    ActivityRest,
    GraphSignIn,
}

impl Typed {
    const ALL: [Typed; 4] = [
        Typed::CloudTrail,
        Typed::AuditEntry,
        Typed::ActivityRest,
        Typed::GraphSignIn,
    ];

    /// A key every record of the format holds: a cheap test that keeps other records off it.
    fn key(self) -> &'static memchr::memmem::Finder<'static> {
        use memchr::memmem::Finder;
        use std::sync::LazyLock;
        static EVENT_SOURCE: LazyLock<Finder> = LazyLock::new(|| Finder::new(b"\"eventSource\""));
        static PROTO_PAYLOAD: LazyLock<Finder> = LazyLock::new(|| Finder::new(b"\"protoPayload\""));
        static OPERATION_NAME: LazyLock<Finder> =
            LazyLock::new(|| Finder::new(b"\"operationName\""));
        static CREATED_DATE_TIME: LazyLock<Finder> =
            LazyLock::new(|| Finder::new(b"\"createdDateTime\""));
        match self {
            Typed::CloudTrail => &EVENT_SOURCE,
            Typed::AuditEntry => &PROTO_PAYLOAD,
            Typed::ActivityRest => &OPERATION_NAME,
            Typed::GraphSignIn => &CREATED_DATE_TIME,
        }
    }

    /// Reads one record of this format from the start of `text` (more input may follow it) and
    /// maps it: its length and the result, or `None` when it is not a record of this format that
    /// the typed struct can read (the caller then takes the `Value` path).
    fn map(
        self,
        text: &str,
        context: &RecordContext,
    ) -> Option<(usize, Result<Record, RecordError>)> {
        match self {
            Typed::CloudTrail => aws::map_prefix(text)
                .map(|(trail, length)| (length, aws::cloudtrail(&trail, context))),
            Typed::AuditEntry => gcp::audit::entry_from_prefix(text)
                .map(|(entry, length)| (length, gcp::audit::map_entry(&entry, context))),
            Typed::ActivityRest => {
                azure::activity_rest::from_prefix(text).map(|(event, properties, length)| {
                    let result = azure::activity_rest::map_event(&event, properties, context);
                    (length, result)
                })
            }
            Typed::GraphSignIn => azure::signin::graph_item_from_prefix(text)
                .map(|(item, length)| (length, azure::signin::map_graph_item(&item, context))),
        }
    }
}

impl json_stream::RecordSink for FileReader<'_> {
    fn item(&mut self, item: json_stream::JsonItem<'_>) {
        self.summary.note_read(1);
        match item {
            json_stream::JsonItem::Record { bytes, number, at } => {
                self.next_record = number;
                self.handle_bytes(bytes, at);
            }
            json_stream::JsonItem::Bad { number, error } => {
                self.next_record = number;
                self.skip_current(RecordError::Syntax(error.to_string()));
            }
        }
    }

    /// One pass for the common case: a file whose last record was of a typed format is read
    /// straight from the buffer as that format, without a scan for its end first.
    fn parse_prefix(&mut self, rest: &str, number: u64) -> Option<usize> {
        let format = self.typed?;
        #[cfg(test)]
        if testing::typed_paths_off() {
            return None;
        }
        let context = self.context_at(number);
        let Some((length, result)) = format.map(rest, &context) else {
            // Not this format after all: the scan finds the record and it is read in full.
            self.typed = None;
            return None;
        };
        self.pending = Some((context.source, result));
        Some(length)
    }

    fn take_pending(&mut self, number: u64) {
        let Some((source, result)) = self.pending.take() else {
            return;
        };
        debug_assert_eq!(source.record, number);
        self.summary.note_read(1);
        self.next_record = number + 1;
        #[cfg(test)]
        if testing::loses(number) {
            return;
        }
        self.emit(source, result);
    }

    fn drop_pending(&mut self) {
        self.pending = None;
    }
}

impl<'a> FileReader<'a> {
    /// The context of record `record` of this file.
    fn context_at(&self, record: u64) -> RecordContext<'a> {
        RecordContext {
            source: SourceRef {
                file: self.file.clone(),
                record,
            },
            file: self.hints,
        }
    }
}

impl FileReader<'_> {
    fn read_json(&mut self, reader: Box<dyn std::io::BufRead>) {
        let ended = json_stream::read_records(reader, self);
        if let Err(err) = ended {
            self.skip(RecordError::Truncated(err.to_string()));
        }
    }

    /// One record's bytes, as the scan found them: parsed here, once.
    fn handle_bytes(&mut self, bytes: &[u8], at: json_stream::Position) {
        #[cfg(test)]
        if testing::loses(self.next_record) {
            self.next_record += 1;
            return;
        }
        #[cfg(test)]
        if testing::typed_paths_off() {
            return self.handle_value_bytes(bytes, at);
        }
        let typed = Typed::ALL
            .into_iter()
            .filter(|format| format.key().find(bytes).is_some());
        for format in typed {
            // The parser does not check UTF-8 inside the fields it skips; the whole record is
            // checked here, so that a bad byte costs the record as on the `Value` path.
            let Ok(text) = simdutf8::basic::from_utf8(bytes) else {
                break;
            };
            let context = self.context_at(self.next_record);
            match format.map(text, &context) {
                Some((length, result)) if text[length..].trim().is_empty() => {
                    self.next_record += 1;
                    self.typed = Some(format);
                    return self.emit(context.source, result);
                }
                _ => {}
            }
        }
        self.handle_value_bytes(bytes, at)
    }

    /// The path every format can take: the record as a `serde_json::Value`.
    fn handle_value_bytes(&mut self, bytes: &[u8], at: json_stream::Position) {
        match serde_json::from_slice::<Value>(bytes) {
            Ok(value) => self.handle_value(value),
            Err(err) => {
                let error = json_stream::record_error(at.line, at.column, &err);
                self.skip_current(RecordError::Syntax(error.to_string()));
            }
        }
    }

    /// A record, or a document that expands into several. The caller has counted it as read.
    pub(crate) fn handle_value(&mut self, value: Value) {
        match expand_document(&value) {
            Some(records) => {
                // A table document holds as many records as it has rows.
                self.summary.note_expanded(records.len() as u64);
                records.iter().for_each(|record| self.handle_record(record))
            }
            None => self.handle_record(&value),
        }
    }

    fn handle_record(&mut self, record: &Value) {
        let context = RecordContext {
            source: self.next_source(),
            file: self.hints,
        };
        let result = map_record(record, &context);
        self.emit(context.source, result);
    }

    fn emit(&mut self, source: SourceRef, result: Result<Record, RecordError>) {
        // Every mapper checks its time field against the bounds and names it; this is the net
        // under them, so that no format can let a time outside the bounds through.
        let result = result.and_then(|normalized| {
            let time = normalized.time();
            match self.hints.bounds.check(time, normalized.provider()) {
                Ok(_) => Ok(normalized),
                Err(why) => Err(RecordError::bad("time", time.to_rfc3339(), why)),
            }
        });
        match result {
            Ok(normalized) => {
                self.summary.note_record(&normalized);
                (self.sink)(normalized);
            }
            Err(err) => self.skip_at(source, err),
        }
    }

    /// Counts one more record as read.
    pub(crate) fn note_read(&mut self) {
        self.summary.note_read(1);
    }

    fn next_source(&mut self) -> SourceRef {
        let source = SourceRef {
            file: self.file.clone(),
            record: self.next_record,
        };
        self.next_record += 1;
        source
    }

    /// Counts the next record as read, and skipped: what a reader itself rejects.
    pub(crate) fn skip(&mut self, error: RecordError) {
        self.summary.note_read(1);
        self.skip_current(error);
    }

    /// Skips the record just read.
    fn skip_current(&mut self, error: RecordError) {
        let source = self.next_source();
        self.skip_at(source, error);
    }

    fn skip_at(&mut self, source: SourceRef, error: RecordError) {
        self.summary.note_skip(Skip { source, error });
    }

    pub(crate) fn file_name(&self) -> &str {
        self.name
    }
}

/// A fault point for the ledger's own test: a record read and then silently lost.
#[cfg(test)]
pub(crate) mod testing {
    use std::cell::Cell;

    thread_local! {
        static LOSE: Cell<Option<u64>> = const { Cell::new(None) };
        static VALUE_PATH_ONLY: Cell<bool> = const { Cell::new(false) };
    }

    /// Turns the typed fast paths off on this thread, so a test can compare them with the
    /// `Value` path on the same files.
    pub(crate) fn value_path_only(only: bool) {
        VALUE_PATH_ONLY.with(|flag| flag.set(only));
    }

    pub(super) fn typed_paths_off() -> bool {
        VALUE_PATH_ONLY.with(Cell::get)
    }

    pub(crate) fn lose_record(number: Option<u64>) {
        LOSE.with(|lose| lose.set(number));
    }

    pub(super) fn loses(number: u64) -> bool {
        LOSE.with(|lose| lose.get() == Some(number))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, name: &str) -> InputSummary {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let mut sink = |_record: Record| {};
        normalize_paths(&[path], &mut sink)
    }

    const TRAIL: &str = r#"{"Records":[
 {"eventVersion":"1.08","eventTime":"2026-01-01T00:00:00Z","eventSource":"ec2.amazonaws.com","eventName":"RunInstances","awsRegion":"us-east-1","sourceIPAddress":"192.0.2.1","recipientAccountId":"111122223333","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/a","accountId":"111122223333"}},
 {"eventVersion":"1.08","eventTime":"2026-01-01T00:01:00Z","eventSource":"ec2.amazonaws.com","eventName":"RunInstances","awsRegion":"us-east-1","sourceIPAddress":"192.0.2.1","recipientAccountId":"111122223333","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/a","accountId":"111122223333"}},
 {"not":"a record"}
]}"#;

    #[test]
    fn the_ledger_balances_when_nothing_is_lost() {
        testing::lose_record(None);
        let summary = read(TRAIL, "trail.json");
        assert_eq!(summary.records_read, 3);
        assert_eq!((summary.events, summary.skipped), (2, 1));
        assert!(summary.reconciles(), "{summary:?}");
    }

    /// The ledger counts where records are read, so a record lost between reading and mapping
    /// shows up as an imbalance instead of vanishing.
    #[test]
    fn the_ledger_catches_an_injected_loss() {
        testing::lose_record(Some(2));
        let summary = read(TRAIL, "trail.json");
        testing::lose_record(None);
        assert_eq!(summary.records_read, 3);
        assert_eq!((summary.events, summary.skipped), (1, 1));
        assert!(!summary.reconciles(), "{summary:?}");
    }

    /// The context of record 1 of `one.json`, a file whose path says nothing.
    fn test_context() -> RecordContext<'static> {
        static NO_HINTS: std::sync::LazyLock<FileHints> =
            std::sync::LazyLock::new(FileHints::default);
        RecordContext {
            source: SourceRef {
                file: "one.json".into(),
                record: 1,
            },
            file: &NO_HINTS,
        }
    }

    /// Whether a typed struct reads this record.
    fn typed_at_all(text: &str) -> bool {
        let context = test_context();
        Typed::ALL
            .iter()
            .any(|format| format.map(text, &context).is_some())
    }

    fn events_of(bytes: &[u8]) -> (Vec<Record>, InputSummary) {
        let mut records = Vec::new();
        let summary = normalize_record(bytes, "one.json", &mut |record| records.push(record));
        (records, summary)
    }

    fn event_of(bytes: &[u8]) -> crate::schema::Event {
        match events_of(bytes).0.pop() {
            Some(Record::Event(event)) => *event,
            other => panic!("expected an event, got {other:?}"),
        }
    }

    const CALL: &str = r#"{"eventVersion":"1.08","eventTime":"2026-01-01T00:00:00Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","sourceIPAddress":"192.0.2.1","recipientAccountId":"111122223333","userIdentity":{"arn":"arn:aws:iam::111122223333:user/a"}}"#;

    /// The typed struct reads what the `Value` path reads: a duplicated key (which a derived
    /// struct rejects) falls back to the `Value` path, where the last one wins, as before.
    #[test]
    fn a_duplicated_key_is_read_as_the_value_path_reads_it() {
        let duplicated = CALL.replace(
            r#""eventName":"ListBuckets""#,
            r#""eventName":"GetObject","eventName":"ListBuckets""#,
        );
        assert!(!typed_at_all(&duplicated));
        assert_eq!(event_of(duplicated.as_bytes()).operation, "ListBuckets");
        assert_eq!(event_of(CALL.as_bytes()).operation, "ListBuckets");
    }

    /// Fields of an unexpected type read as absent, the way a lookup in a `Value` does, on both
    /// paths.
    #[test]
    fn odd_types_read_as_absent_not_as_errors() {
        let odd = CALL.replace(
            r#""userIdentity":{"arn":"arn:aws:iam::111122223333:user/a"}"#,
            r#""userIdentity":"someone","resources":{"ARN":"x"},"awsRegion":["us-east-1"],"errorCode":7"#,
        );
        let event = event_of(odd.as_bytes());
        assert_eq!(event.principal, None);
        assert_eq!(event.region, None);
        assert_eq!(event.resource.id, None);
        assert_eq!(event.reason.as_deref(), Some("7"));
        let value: serde_json::Value = serde_json::from_str(&odd).unwrap();
        let context = test_context();
        match map_record(&value, &context) {
            Ok(Record::Event(from_value)) => assert_eq!(*from_value, event),
            other => panic!("expected an event, got {other:?}"),
        }
    }

    const SIGN_IN: &str = r#"{"createdDateTime":"2026-01-01T00:00:00Z","userPrincipalName":"a@example.com","appDisplayName":"Azure Portal","ipAddress":"198.51.100.7","clientAppUsed":"Browser","status":{"errorCode":50126,"failureReason":"Invalid username or password."},"location":{"city":"Paris","countryOrRegion":"FR"},"id":"1","resourceTenantId":"t1","resourceId":"797f4846-ba00-4fd7-ba43-dac1f8f63013"}"#;

    /// Graph sign-ins are read typed from their bytes, and give what the `Value` path gives,
    /// in every shape of `location` and `status`; records another format may claim, and
    /// duplicated keys, go to the `Value` path.
    #[test]
    fn graph_sign_ins_take_the_typed_path_and_agree_with_the_value_path() {
        let location = r#"{"city":"Paris","countryOrRegion":"FR"}"#;
        let variants = [
            (SIGN_IN.to_string(), true),
            (
                SIGN_IN.replace(location, &serde_json::to_string(location).unwrap()),
                true,
            ),
            (SIGN_IN.replace(location, r#"["Paris","FR"]"#), true),
            (SIGN_IN.replace(location, r#"" [\"Paris\"]""#), true),
            (
                SIGN_IN.replace(r#""errorCode":50126"#, r#""errorCode":"0""#),
                true,
            ),
            (
                SIGN_IN.replace(r#""status":{"#, r#""status":7,"x":{"#),
                false,
            ),
            (
                SIGN_IN.replace(r#""id":"1""#, r#""id":"1","category":"SignInLogs""#),
                false,
            ),
            (
                SIGN_IN.replace(
                    r#""id":"1""#,
                    r#""id":"1","operationName":"Sign-in activity""#,
                ),
                false,
            ),
            (
                SIGN_IN.replace(r#""id":"1""#, r#""id":"1","id":"2""#),
                false,
            ),
        ];
        for (text, typed) in &variants {
            assert_eq!(typed_at_all(text), *typed, "{text}");
            let (records, _) = events_of(text.as_bytes());
            let value: Value = serde_json::from_str(text).unwrap();
            match (records.as_slice(), map_record(&value, &test_context())) {
                ([got], Ok(want)) => assert_eq!(*got, want, "{text}"),
                ([], Err(_)) => {}
                other => panic!("{text}: the paths disagree: {other:?}"),
            }
        }
        let event = event_of(SIGN_IN.as_bytes());
        assert_eq!(event.principal.as_deref(), Some("a@example.com"));
        assert_eq!(event.tenant.as_deref(), Some("t1"));
        assert_eq!(event.resource.location.as_deref(), Some("Paris, FR"));
        assert_eq!(event.outcome, Some(crate::schema::Outcome::Failure));
        assert_eq!(
            event.reason.as_deref(),
            Some("50126: Invalid username or password.")
        );
        let located = event_of(variants[1].0.as_bytes());
        assert_eq!(located.resource.location.as_deref(), Some("Paris, FR"));
        let by_position = event_of(variants[2].0.as_bytes());
        assert_eq!(by_position.resource.location, None);
        // Every item of the documented Graph page takes the typed path.
        let page =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/azure/entra-signins-graph.json");
        let page: Value = serde_json::from_str(&std::fs::read_to_string(page).unwrap()).unwrap();
        let items = page["value"].as_array().unwrap();
        assert!(!items.is_empty());
        assert!(items.iter().all(|item| typed_at_all(&item.to_string())));
    }

    #[test]
    fn a_bad_byte_in_a_skipped_field_still_costs_the_record() {
        let mut bad = CALL
            .replace(
                r#""eventName":"ListBuckets""#,
                r#""eventName":"ListBuckets","requestParameters":{"k":"?"}"#,
            )
            .into_bytes();
        let at = bad.iter().position(|b| *b == b'?').unwrap();
        bad[at] = 0xff;
        let (records, summary) = events_of(&bad);
        assert!(records.is_empty());
        assert_eq!(summary.skipped_by_reason.get("invalid_json"), Some(&1));
    }

    #[test]
    fn a_timestamp_of_the_wrong_type_is_named() {
        let (records, summary) =
            events_of(CALL.replace(r#""2026-01-01T00:00:00Z""#, "{}").as_bytes());
        assert!(records.is_empty());
        assert_eq!(summary.skipped_by_reason.get("missing_field"), Some(&1));
        let (_, summary) = events_of(CALL.replace("2026-01-01T00:00:00Z", "soon").as_bytes());
        let example = &summary.skip_examples[0].error;
        assert!(example.to_string().contains("eventTime"), "{example}");
    }

    /// Every record of the fixtures and of the real samples maps to the same result on the
    /// typed fast path (from bytes) and on the `Value` path (recognizers, then the same typed
    /// mapping), and the fast path takes the records it is meant for.
    #[test]
    fn the_fast_path_and_the_value_path_agree_on_every_sample() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut paths = vec![
            root.join("fixtures"),
            root.join("../shared/data/real-samples"),
        ];
        paths.retain(|path| path.exists());
        let inputs = input::list(&paths);
        let (mut compared, mut fast) = (0, 0);
        for input in &inputs.inputs {
            let Ok(reader) = input::open_input(input) else {
                continue;
            };
            let _ = json_stream::read_records(reader, &mut |item: json_stream::JsonItem<'_>| {
                let json_stream::JsonItem::Record { bytes, .. } = item else {
                    return;
                };
                let Ok(value) = serde_json::from_slice::<Value>(bytes) else {
                    return;
                };
                if expand_document(&value).is_some() {
                    return;
                }
                let slow = map_record(&value, &test_context());
                let (records, summary) = events_of(bytes);
                match (&slow, records.as_slice()) {
                    (Ok(want), [got]) => assert_eq!(got, want, "{}", input.name()),
                    (Err(_), []) => assert_eq!(summary.skipped, 1),
                    other => panic!("{}: the paths disagree: {other:?}", input.name()),
                }
                compared += 1;
                fast += usize::from(std::str::from_utf8(bytes).is_ok_and(typed_at_all));
            });
        }
        assert!(
            compared > 100 && fast > 50,
            "{compared} compared, {fast} typed"
        );
    }

    /// The whole reader, fast paths on (typed records parsed from the read buffer or from their
    /// bytes) and off (every record a `Value`), gives the same records and the same ledger on
    /// every fixture (the demo among them: a generated world) and real sample.
    #[test]
    fn the_reader_gives_the_same_records_with_and_without_the_fast_paths() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut paths = vec![
            root.join("fixtures"),
            root.join("../shared/data/real-samples"),
        ];
        paths.retain(|path| path.exists());
        let run = |only_values: bool| {
            testing::value_path_only(only_values);
            let mut records = Vec::new();
            let summary = normalize_paths(&paths, &mut |record| records.push(record));
            testing::value_path_only(false);
            (records, summary)
        };
        let (fast, fast_summary) = run(false);
        let (slow, slow_summary) = run(true);
        assert!(fast.len() > 500, "{}", fast.len());
        assert_eq!(fast.len(), slow.len());
        for (fast, slow) in fast.iter().zip(&slow) {
            assert_eq!(fast, slow);
        }
        assert_eq!(
            format!("{:?}", fast_summary.skip_examples),
            format!("{:?}", slow_summary.skip_examples)
        );
        assert_eq!(
            fast_summary.skipped_by_reason,
            slow_summary.skipped_by_reason
        );
        assert_eq!(fast_summary.records_read, slow_summary.records_read);
    }
}
