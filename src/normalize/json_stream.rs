//! Finds the records of a JSON input in one pass over its bytes, without parsing them.
//!
//! Providers wrap records in many envelopes: CloudTrail's `{"Records":[...]}`, Graph and Azure
//! REST `{"value":[...]}`, diagnostic exports `{"records":[...]}`, GCP `{"entries":[...]}`,
//! LookupEvents `{"Events":[...]}`, a bare array from `gcloud logging read`, or one record per line.
//! This module only finds where each record starts and ends; it does not know what they mean.
//!
//! The scan is structural (brackets, strings, escapes) and cheap: it runs through strings with
//! `memchr` and hands each record out as a byte slice, borrowed from the read buffer whenever
//! the record lies inside it. Because the record boundaries do not depend on the records being
//! valid, a bad byte (invalid UTF-8, a number out of range, a missing colon) costs the record it
//! is in, and the next record is read as usual, even in a one-line CloudTrail file.
//!
//! Bounded: a record is buffered only while it is being collected, and never beyond
//! [`MAX_RECORD_BYTES`]; a larger one is skipped by size while the scan goes on. Nothing else
//! grows with the input (depth is a counter, not a stack).
//!
//! A file is read in one of two modes, chosen at the end of its first line:
//! - **lines** (NDJSON): the first line holds complete values. A line that ends inside a value
//!   costs what was open on it, and the next line starts afresh. A broken first line that starts a
//!   record, followed by a complete one-line object, is taken as NDJSON too. Records on their own
//!   line are numbered by that line.
//! - **document**: values span lines (pretty-printed JSON). A document that ends inside a value is
//!   reported as ending early, after the records that arrived whole. Records are numbered by
//!   their position in the file's record arrays.

use serde::de::IgnoredAny;
use std::fmt;
use std::io::BufRead;

/// The largest record (or NDJSON line holding one record) that is buffered and parsed. The
/// largest real records are a few hundred kilobytes (CloudTrail caps events at 256 KB); a table
/// document (a Cost Management query page) is read as one record and stays well under this.
pub const MAX_RECORD_BYTES: usize = 32 << 20;

/// Object keys whose array value holds the records, in the envelopes we know.
const RECORD_ARRAY_KEYS: &[&[u8]] = &[b"Records", b"records", b"value", b"entries", b"Events"];
/// Longer keys are never record-array keys; capturing stops there.
const KEY_CAPTURE: usize = 16;

/// Why a JSON input stopped early, or why one record of it failed.
#[derive(Debug)]
pub(crate) struct JsonSyntaxError {
    pub line: Option<u64>,
    pub column: Option<u64>,
    pub message: String,
}

impl fmt::Display for JsonSyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(line), Some(column)) => {
                write!(f, "line {line}, column {column}: {}", self.message)
            }
            (Some(line), None) => write!(f, "line {line}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

/// Where a record's first byte is in its file (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Position {
    pub line: u64,
    pub column: u64,
}

/// What the scan hands to its caller: one record's bytes, or a record that cannot be had.
pub(crate) enum JsonItem<'a> {
    Record {
        bytes: &'a [u8],
        number: u64,
        at: Position,
    },
    Bad {
        number: u64,
        error: JsonSyntaxError,
    },
}

/// Where the scan's results go. A closure over [`JsonItem`]s is a sink; a sink that can parse a
/// record straight from the read buffer (one pass instead of a scan and a parse) also offers
/// [`RecordSink::parse_prefix`].
pub(crate) trait RecordSink {
    fn item(&mut self, item: JsonItem<'_>);

    /// Offered a record array element that starts `rest`, the valid UTF-8 that follows it in the
    /// read buffer (more input may follow the record): parse one
    /// record from the start and keep the result pending, returning its length, or `None` to
    /// let the scan find it. The scan then calls [`RecordSink::take_pending`] with its number,
    /// or [`RecordSink::drop_pending`] when the record turns out to need the slow path.
    fn parse_prefix(&mut self, _rest: &str, _number: u64) -> Option<usize> {
        None
    }

    fn take_pending(&mut self, _number: u64) {}

    fn drop_pending(&mut self) {}
}

impl<F: FnMut(JsonItem<'_>)> RecordSink for F {
    fn item(&mut self, item: JsonItem<'_>) {
        self(item)
    }
}

/// Reads every record of a JSON or NDJSON input, calling `sink` once per record or bad record.
///
/// Returns an error when the input ends in a way that loses the rest of the file: a document
/// that stops in the middle, or an I/O error (a truncated gzip stream, say). Records before
/// that point have been handed out already.
pub(crate) fn read_records(
    mut reader: impl BufRead,
    sink: &mut dyn RecordSink,
) -> Result<(), JsonSyntaxError> {
    let mut splitter = Splitter::new();
    loop {
        let chunk = match reader.fill_buf() {
            Ok(chunk) => chunk,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(err) => {
                return Err(JsonSyntaxError {
                    line: Some(splitter.line),
                    column: None,
                    message: format!("read error: {err}"),
                })
            }
        };
        if chunk.is_empty() {
            return splitter.finish(sink);
        }
        let length = chunk.len();
        splitter.feed(chunk, sink);
        reader.consume(length);
    }
}

const BOM: &[u8] = &[0xEF, 0xBB, 0xBF];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Still on the first content line.
    Undecided,
    /// The first line was broken and the second decides (`first_line_bytes` of the buffer are
    /// the first line).
    Probation {
        first_line_bytes: usize,
    },
    Lines,
    Document,
}

/// What the current top-level value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Top {
    Idle,
    /// `[...]`: its elements are records.
    Array,
    /// `{...}` with no record array seen yet: it is itself a record, unless a record array
    /// turns up.
    Object,
    /// `{...}` whose record array has been found: the object is only an envelope.
    Envelope,
    /// A top-level scalar (or garbage), up to the end of its line.
    Scalar,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Container,
    String,
    Scalar,
}

/// The record being collected.
struct Open {
    kind: Kind,
    /// The depth outside the record: a container record ends when the depth returns to it.
    outer_depth: u64,
    /// Where its not-yet-buffered bytes begin in the current chunk; `None` once it is too big.
    start: Option<usize>,
    /// Bytes dropped after it outgrew the cap.
    dropped: u64,
    at: Position,
    top_level: bool,
}

struct Splitter {
    /// Offset of the current chunk's first byte in the input.
    offset: u64,
    line: u64,
    line_start: u64,
    depth: u64,
    in_string: bool,
    escaped: bool,
    top: Top,
    mode: Mode,
    /// The depth whose elements are records.
    records_at: Option<u64>,
    /// At depth 1 of a top-level object: the next string is a key.
    expect_key: bool,
    key: Vec<u8>,
    /// Capturing a key that began at this index of the current chunk.
    key_from: Option<usize>,
    /// The value after the last key at depth 1 is a record array if it is an array.
    key_is_records: bool,
    /// The container being opened is an array (only arrays hold records).
    array_opens: bool,
    record: Option<Open>,
    /// The bytes of the open record that lay in earlier chunks.
    buffer: Vec<u8>,
    elements: u64,
    /// How many bytes of a leading UTF-8 byte order mark have been skipped; 3 or more once the
    /// start of the input is past.
    bom: usize,
    /// For choosing the mode: the current line has content, its first and last bytes outside
    /// strings.
    line_has_content: bool,
    line_first: u8,
    line_last: u8,
}

impl Splitter {
    fn new() -> Self {
        Splitter {
            offset: 0,
            line: 1,
            line_start: 0,
            depth: 0,
            in_string: false,
            escaped: false,
            top: Top::Idle,
            mode: Mode::Undecided,
            records_at: None,
            expect_key: false,
            key: Vec::new(),
            key_from: None,
            key_is_records: false,
            array_opens: false,
            record: None,
            buffer: Vec::new(),
            elements: 0,
            bom: 0,
            line_has_content: false,
            line_first: 0,
            line_last: 0,
        }
    }

    fn position(&self, index: usize) -> Position {
        Position {
            line: self.line,
            column: self.offset + index as u64 - self.line_start + 1,
        }
    }

    fn feed(&mut self, chunk: &[u8], sink: &mut dyn RecordSink) {
        // The chunk's valid UTF-8 prefix, checked once, for sinks that parse records in place.
        let text = match simdutf8::compat::from_utf8(chunk) {
            Ok(text) => text,
            Err(err) => simdutf8::basic::from_utf8(&chunk[..err.valid_up_to()]).unwrap_or(""),
        };
        let mut i = 0;
        while self.bom < BOM.len() && i < chunk.len() {
            if chunk[i] != BOM[self.bom] {
                if self.bom > 0 {
                    // Not a BOM after all: the bytes skipped are garbage where JSON must start.
                    self.line_has_content = true;
                    self.line_first = BOM[0];
                    self.line_last = BOM[0];
                    self.value_starts(Kind::Scalar, i);
                }
                self.bom = BOM.len();
                break;
            }
            self.bom += 1;
            i += 1;
            if self.bom == BOM.len() {
                self.line_start = BOM.len() as u64;
            }
        }
        while i < chunk.len() {
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                    if chunk[i] == b'\n' {
                        self.newline(chunk, i, sink);
                    }
                    i += 1;
                    continue;
                }
                match memchr::memchr3(b'"', b'\\', b'\n', &chunk[i..]) {
                    None => {
                        i = chunk.len();
                        continue;
                    }
                    Some(skip) => i += skip,
                }
                match chunk[i] {
                    b'\\' => self.escaped = true,
                    b'"' => {
                        self.in_string = false;
                        self.string_closed(chunk, i, sink);
                    }
                    _ => self.newline(chunk, i, sink),
                }
                i += 1;
                continue;
            }
            let byte = chunk[i];
            if byte == b'\n' {
                self.newline(chunk, i, sink);
                i += 1;
                continue;
            }
            if matches!(byte, b' ' | b'\t' | b'\r') {
                self.end_scalar_element(chunk, i, sink);
                i += 1;
                continue;
            }
            if !self.line_has_content {
                self.line_has_content = true;
                self.line_first = byte;
            }
            self.line_last = byte;
            if self.top == Top::Scalar {
                // A top-level scalar runs to the end of its line.
                i += 1;
                continue;
            }
            match byte {
                b'"' => {
                    self.in_string = true;
                    let in_object_top = matches!(self.top, Top::Object | Top::Envelope);
                    if self.depth == 1 && in_object_top && self.expect_key {
                        self.key.clear();
                        self.key_from = Some(i + 1);
                    } else {
                        self.value_starts(Kind::String, i);
                    }
                }
                b'{' | b'[' => {
                    if self.depth == 0 && byte == b'[' {
                        // A top-level array is not a record; its elements are.
                        self.top = Top::Array;
                        self.records_at = Some(1);
                    } else {
                        self.array_opens = byte == b'[';
                        self.value_starts(Kind::Container, i);
                        if byte == b'{' {
                            if let Some(end) = self.whole_element(chunk, text, i, sink) {
                                i = end;
                                continue;
                            }
                        }
                        if self.depth == 0 {
                            self.top = Top::Object;
                            self.expect_key = true;
                        }
                    }
                    self.depth += 1;
                }
                b'}' | b']' => {
                    self.end_scalar_element(chunk, i, sink);
                    if self.depth == 0 {
                        // A closer with nothing open: garbage, read as a top-level scalar.
                        self.value_starts(Kind::Scalar, i);
                    } else {
                        self.depth -= 1;
                        self.container_closed(chunk, i, sink);
                    }
                }
                b',' => {
                    self.end_scalar_element(chunk, i, sink);
                    if self.depth == 1 && matches!(self.top, Top::Object | Top::Envelope) {
                        self.expect_key = true;
                        self.key_is_records = false;
                    }
                }
                b':' => {
                    if self.depth == 1 && matches!(self.top, Top::Object | Top::Envelope) {
                        self.expect_key = false;
                        self.key_is_records = RECORD_ARRAY_KEYS.contains(&self.key.as_slice());
                    }
                }
                _ => {
                    if !self
                        .record
                        .as_ref()
                        .is_some_and(|open| open.kind == Kind::Scalar)
                    {
                        self.value_starts(Kind::Scalar, i);
                    }
                }
            }
            i += 1;
        }
        // What is still open moves to the buffer: the chunk is about to be reused.
        if let Some(from) = self.key_from {
            let room = KEY_CAPTURE.saturating_sub(self.key.len());
            let tail = &chunk[from.min(chunk.len())..];
            self.key.extend_from_slice(&tail[..tail.len().min(room)]);
            self.key_from = Some(0);
        }
        self.spill(chunk, chunk.len());
        if self.record.is_some() {
            if let Some(open) = self.record.as_mut() {
                open.start = open.start.map(|_| 0);
            }
        }
        self.offset += chunk.len() as u64;
    }

    /// The fast path: an element of a record array that just opened at `i` and lies whole in
    /// this chunk is found by serde_json's skipping scanner, several times faster than the byte
    /// walk, and handed out at once; returns where it ends. Anything else (a record across
    /// chunks, a syntax error, newlines before the mode is known) returns `None` and the byte
    /// walk goes on as if nothing happened, so it alone decides what is broken.
    fn whole_element(
        &mut self,
        chunk: &[u8],
        text: &str,
        i: usize,
        sink: &mut dyn RecordSink,
    ) -> Option<usize> {
        let fresh = self.record.as_ref().is_some_and(|open| {
            !open.top_level && open.start == Some(i) && open.outer_depth == self.depth
        });
        if !fresh || !self.buffer.is_empty() {
            return None;
        }
        let rest = &chunk[i..];
        let number = self.elements + 1;
        let in_place = text
            .get(i..)
            .and_then(|rest| sink.parse_prefix(rest, number));
        let (length, parsed) = match in_place {
            Some(length) => (length, true),
            None => {
                let mut stream =
                    serde_json::Deserializer::from_slice(rest).into_iter::<IgnoredAny>();
                stream.next()?.ok()?;
                (stream.byte_offset(), false)
            }
        };
        let value = &rest[..length];
        if let Some(last) = memchr::memrchr(b'\n', value) {
            // Lines inside a record only count in a document; elsewhere they have rules.
            if self.mode != Mode::Document {
                if parsed {
                    sink.drop_pending();
                }
                return None;
            }
            self.line += memchr::memchr_iter(b'\n', value).count() as u64;
            self.line_start = self.offset + (i + last) as u64 + 1;
            self.line_has_content = true;
            self.line_first = value[last + 1..]
                .iter()
                .copied()
                .find(|b| !matches!(b, b' ' | b'\t' | b'\r'))
                .unwrap_or(b'}');
        }
        self.line_last = b'}';
        self.array_opens = false;
        let end = i + value.len();
        if parsed {
            self.record = None;
            self.elements += 1;
            sink.take_pending(number);
        } else {
            self.emit(chunk, end, sink);
        }
        Some(end)
    }

    /// Moves the open record's bytes up to `end` into the buffer, or drops them once it is too
    /// big.
    fn spill(&mut self, chunk: &[u8], end: usize) {
        let Some(open) = self.record.as_mut() else {
            return;
        };
        match open.start {
            Some(start) => {
                self.buffer.extend_from_slice(&chunk[start..end]);
                open.start = Some(end);
                if self.buffer.len() > MAX_RECORD_BYTES {
                    open.dropped = self.buffer.len() as u64;
                    open.start = None;
                    self.buffer = Vec::new();
                }
            }
            None => open.dropped += end as u64,
        }
    }

    fn value_starts(&mut self, kind: Kind, i: usize) {
        let value_at_depth_one =
            self.depth == 1 && matches!(self.top, Top::Object | Top::Envelope) && !self.expect_key;
        if value_at_depth_one {
            let records = kind == Kind::Container && self.array_opens && self.key_is_records;
            self.key_is_records = false;
            if records {
                // Only an envelope: the object is not a record.
                self.record = None;
                self.buffer.clear();
                self.top = Top::Envelope;
                self.records_at = Some(2);
                return;
            }
        }
        if self.record.is_some() {
            return;
        }
        let top_level = self.depth == 0;
        if top_level && self.top == Top::Idle && kind == Kind::Scalar {
            self.top = Top::Scalar;
        }
        if top_level || self.records_at == Some(self.depth) {
            self.record = Some(Open {
                kind,
                outer_depth: self.depth,
                start: Some(i),
                dropped: 0,
                at: self.position(i),
                top_level,
            });
        }
    }

    fn string_closed(&mut self, chunk: &[u8], i: usize, sink: &mut dyn RecordSink) {
        if let Some(from) = self.key_from.take() {
            let room = KEY_CAPTURE.saturating_sub(self.key.len());
            let part = &chunk[from.min(i)..i];
            self.key.extend_from_slice(&part[..part.len().min(room)]);
            if part.len() > room {
                self.key.push(0); // longer than any record key
            }
            return;
        }
        let closes = self
            .record
            .as_ref()
            .is_some_and(|open| open.kind == Kind::String && open.outer_depth == self.depth);
        if closes {
            self.emit(chunk, i + 1, sink);
        }
    }

    fn container_closed(&mut self, chunk: &[u8], i: usize, sink: &mut dyn RecordSink) {
        let closes = self
            .record
            .as_ref()
            .is_some_and(|open| open.kind == Kind::Container && open.outer_depth == self.depth);
        if closes {
            self.emit(chunk, i + 1, sink);
        }
        if self.records_at.is_some_and(|at| self.depth < at) {
            self.records_at = None;
        }
        if self.depth == 0 {
            self.top = Top::Idle;
            self.records_at = None;
        }
    }

    /// A scalar element (`42` in `[42, ...]`) ends before a delimiter.
    fn end_scalar_element(&mut self, chunk: &[u8], i: usize, sink: &mut dyn RecordSink) {
        let ends = self
            .record
            .as_ref()
            .is_some_and(|open| open.kind == Kind::Scalar && !open.top_level);
        if ends {
            self.emit(chunk, i, sink);
        }
    }

    /// Hands out the open record, which ends just before `end` in `chunk`.
    fn emit(&mut self, chunk: &[u8], end: usize, sink: &mut dyn RecordSink) {
        let Some(open) = self.record.take() else {
            return;
        };
        let number = if open.top_level && matches!(self.mode, Mode::Lines | Mode::Undecided) {
            open.at.line
        } else {
            self.elements + 1
        };
        self.elements += 1;
        let Some(start) = open.start else {
            let size = open.dropped + end as u64;
            sink.item(JsonItem::Bad {
                number,
                error: JsonSyntaxError {
                    line: Some(open.at.line),
                    column: Some(open.at.column),
                    message: format!(
                        "a record of {size} bytes or more, over the {} MiB cap",
                        MAX_RECORD_BYTES >> 20
                    ),
                },
            });
            self.buffer = Vec::new();
            return;
        };
        let bytes: &[u8] = if self.buffer.is_empty() {
            &chunk[start..end]
        } else {
            self.buffer.extend_from_slice(&chunk[start..end]);
            &self.buffer
        };
        if bytes.len() > MAX_RECORD_BYTES {
            let size = bytes.len();
            sink.item(JsonItem::Bad {
                number,
                error: JsonSyntaxError {
                    line: Some(open.at.line),
                    column: Some(open.at.column),
                    message: format!(
                        "a record of {size} bytes, over the {} MiB cap",
                        MAX_RECORD_BYTES >> 20
                    ),
                },
            });
        } else {
            sink.item(JsonItem::Record {
                bytes,
                number,
                at: open.at,
            });
        }
        self.buffer.clear();
        if self.buffer.capacity() > 4 * 1024 * 1024 {
            self.buffer = Vec::new();
        }
    }

    fn something_open(&self) -> bool {
        self.depth > 0 || self.in_string || self.record.is_some()
    }

    fn newline(&mut self, chunk: &[u8], i: usize, sink: &mut dyn RecordSink) {
        // A top-level scalar, or a scalar element, ends at the end of its line.
        if self.top == Top::Scalar {
            self.emit(chunk, i, sink);
            self.top = Top::Idle;
        } else {
            self.end_scalar_element(chunk, i, sink);
        }
        match self.mode {
            Mode::Lines if self.something_open() => self.broken_line(chunk, i, sink),
            Mode::Undecided if self.line_has_content => self.choose_mode(chunk, i),
            Mode::Probation { first_line_bytes } => {
                self.decide_probation(chunk, i, first_line_bytes, sink)
            }
            _ => {}
        }
        self.line += 1;
        self.line_start = self.offset + i as u64 + 1;
        self.line_has_content = false;
    }

    /// At the end of the first content line.
    fn choose_mode(&mut self, chunk: &[u8], i: usize) {
        if !self.something_open() {
            self.mode = Mode::Lines;
            return;
        }
        let looks_like_a_broken_record = self.top == Top::Object
            && self.record.is_some()
            && self.line_first == b'{'
            && (self.in_string || !matches!(self.line_last, b'{' | b'[' | b',' | b':'));
        if looks_like_a_broken_record {
            self.spill(chunk, i + 1);
            let first_line_bytes = self.buffer.len();
            if self
                .record
                .as_ref()
                .is_some_and(|open| open.start.is_some())
            {
                self.mode = Mode::Probation { first_line_bytes };
                return;
            }
        }
        self.mode = Mode::Document;
    }

    /// NDJSON whose first line is broken: without this look at the second line, document mode
    /// would lose every good line after it.
    fn decide_probation(
        &mut self,
        chunk: &[u8],
        i: usize,
        first_line_bytes: usize,
        sink: &mut dyn RecordSink,
    ) {
        self.mode = Mode::Document;
        if self.record.as_ref().is_none_or(|open| open.start.is_none()) {
            return;
        }
        self.spill(chunk, i);
        let second = &self.buffer[first_line_bytes.min(self.buffer.len())..];
        let second_is_a_record = second.trim_ascii_start().starts_with(b"{")
            && serde_json::from_slice::<serde::de::IgnoredAny>(second).is_ok();
        if !second_is_a_record {
            return;
        }
        let first = &self.buffer[..first_line_bytes];
        let error = line_error(1, 1, first);
        sink.item(JsonItem::Bad { number: 1, error });
        let second_at = Position {
            line: self.line,
            column: 1,
        };
        let second = &self.buffer[first_line_bytes..];
        sink.item(JsonItem::Record {
            bytes: second,
            number: self.line,
            at: second_at,
        });
        self.elements += 2;
        self.reset();
        self.mode = Mode::Lines;
    }

    /// In lines mode, a line that ends inside a value: what was open on it is lost, and the
    /// next line starts afresh.
    fn broken_line(&mut self, chunk: &[u8], i: usize, sink: &mut dyn RecordSink) {
        self.spill(chunk, i);
        let (number, error) = match self.record.as_ref() {
            Some(open) if open.start.is_some() => (
                if open.top_level {
                    open.at.line
                } else {
                    self.elements + 1
                },
                line_error(open.at.line, open.at.column, &self.buffer),
            ),
            _ => (
                self.line,
                JsonSyntaxError {
                    line: Some(self.line),
                    column: None,
                    message: "the line ends inside a JSON value".to_string(),
                },
            ),
        };
        self.elements += 1;
        sink.item(JsonItem::Bad { number, error });
        self.reset();
    }

    fn reset(&mut self) {
        self.depth = 0;
        self.in_string = false;
        self.escaped = false;
        self.top = Top::Idle;
        self.records_at = None;
        self.expect_key = false;
        self.key_from = None;
        self.key_is_records = false;
        self.record = None;
        self.buffer.clear();
    }

    fn finish(mut self, sink: &mut dyn RecordSink) -> Result<(), JsonSyntaxError> {
        let scalar_open = self
            .record
            .as_ref()
            .is_some_and(|open| open.kind == Kind::Scalar);
        if scalar_open && !self.in_string {
            // The buffer holds it all: `feed` spilled it at the end of the last chunk.
            self.emit(&[], 0, sink);
            self.top = Top::Idle;
        }
        if !self.something_open() {
            return Ok(());
        }
        if self.mode == Mode::Lines {
            self.broken_line(&[], 0, sink);
            return Ok(());
        }
        Err(JsonSyntaxError {
            line: Some(self.line),
            column: None,
            message: "the JSON document ends early (truncated file?)".to_string(),
        })
    }
}

/// The parse error of a record that starts at `line`, `column` of its file, placed in the file.
pub(crate) fn record_error(line: u64, column: u64, err: &serde_json::Error) -> JsonSyntaxError {
    let err_line = err.line() as u64;
    let err_column = err.column() as u64;
    let (line, column) = if err_line <= 1 {
        (line, column + err_column.saturating_sub(1))
    } else {
        (line + err_line - 1, err_column)
    };
    JsonSyntaxError {
        line: Some(line),
        column: Some(column),
        message: without_position(err),
    }
}

fn line_error(line: u64, column: u64, bytes: &[u8]) -> JsonSyntaxError {
    match serde_json::from_slice::<serde::de::IgnoredAny>(without_line_end(bytes)) {
        Err(err) => record_error(line, column, &err),
        Ok(_) => JsonSyntaxError {
            line: Some(line),
            column: None,
            message: "not a JSON value".to_string(),
        },
    }
}

/// A line cut short inside a string would otherwise be reported as a control character (its
/// own newline) instead of as ending early where it ends.
fn without_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// serde_json's message without its ` at line L column C` suffix, which we report ourselves
/// (with the position in the file, not in the fragment parsed).
fn without_position(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// Records parsed, bad items as text, and the end, for a given input read in chunks of
    /// `chunk` bytes (to exercise records that span reads).
    fn collect_in(input: &[u8], chunk: usize) -> (Vec<Value>, Vec<String>, Option<String>) {
        let mut records = Vec::new();
        let mut bad = Vec::new();
        let reader = std::io::BufReader::with_capacity(chunk, input);
        let result = read_records(reader, &mut |item: JsonItem<'_>| match item {
            JsonItem::Record { bytes, at, .. } => match serde_json::from_slice(bytes) {
                Ok(value) => records.push(value),
                Err(err) => bad.push(record_error(at.line, at.column, &err).to_string()),
            },
            JsonItem::Bad { error, .. } => bad.push(error.to_string()),
        });
        (records, bad, result.err().map(|e| e.to_string()))
    }

    fn collect(input: &str) -> (Vec<Value>, Vec<String>, Option<String>) {
        let whole = collect_in(input.as_bytes(), 256 * 1024);
        for chunk in [1, 2, 3, 7] {
            let (records, bad, end) = collect_in(input.as_bytes(), chunk);
            assert_eq!(records, whole.0, "chunk {chunk}: {input}");
            assert_eq!(bad.len(), whole.1.len(), "chunk {chunk}: {bad:?} {input}");
            assert_eq!(end.is_some(), whole.2.is_some(), "chunk {chunk}: {input}");
        }
        whole
    }

    fn numbers(input: &str) -> Vec<u64> {
        let mut numbers = Vec::new();
        let _ = read_records(input.as_bytes(), &mut |item: JsonItem<'_>| match item {
            JsonItem::Record { number, .. } | JsonItem::Bad { number, .. } => numbers.push(number),
        });
        numbers
    }

    #[test]
    fn streams_envelope_arrays_and_ignores_other_keys() {
        let (records, bad, end) =
            collect("{\n \"@odata.context\": \"x\",\n \"value\": [{\"a\":1},{\"a\":2}],\n \"@odata.nextLink\": \"y\"\n}\n");
        assert_eq!(
            records,
            vec![serde_json::json!({"a":1}), serde_json::json!({"a":2})]
        );
        assert!(bad.is_empty());
        assert!(end.is_none());
    }

    #[test]
    fn a_single_line_envelope_is_read_in_line_mode() {
        let (records, _, end) = collect(r#"{"Records":[{"a":1},{"a":2},{"a":3}]}"#);
        assert_eq!(records.len(), 3);
        assert!(end.is_none());
    }

    #[test]
    fn bare_array_and_single_object() {
        assert_eq!(collect("[\n{\"a\":1},\n{\"a\":2}\n]").0.len(), 2);
        assert_eq!(
            collect("{\"eventName\":\"X\"}").0,
            vec![serde_json::json!({"eventName":"X"})]
        );
        assert_eq!(
            collect("{\n  \"eventName\": \"X\",\n  \"b\": [1, {\"c\": \"]}\"}]\n}\n").0,
            vec![serde_json::json!({"eventName":"X", "b": [1, {"c": "]}"}]})]
        );
    }

    #[test]
    fn escapes_and_brackets_inside_strings_do_not_move_boundaries() {
        let (records, bad, end) =
            collect(r#"{"Records":[{"a":"x\"},{\\"},{"a":"]]}}[[{"},{"Records":[1]}]}"#);
        assert_eq!(
            records,
            vec![
                serde_json::json!({"a":"x\"},{\\"}),
                serde_json::json!({"a":"]]}}[[{"}),
                serde_json::json!({"Records":[1]}),
            ]
        );
        assert!(bad.is_empty() && end.is_none(), "{bad:?} {end:?}");
    }

    #[test]
    fn ndjson_bad_line_costs_one_record() {
        let (records, bad, end) = collect("{\"a\":1}\n{\"a\":\n\n{\"a\":3}\n");
        assert_eq!(records.len(), 2);
        assert_eq!(bad.len(), 1);
        assert!(bad[0].starts_with("line 2, column "), "{bad:?}");
        assert!(end.is_none());
    }

    #[test]
    fn ndjson_records_are_numbered_by_their_line() {
        assert_eq!(numbers("{\"a\":1}\n\n{\"a\":\n{\"a\":3}\n"), [1, 3, 4]);
        assert_eq!(numbers("[\n{\"a\":1},\n\n{\"a\":2}\n]"), [1, 2]);
    }

    #[test]
    fn ndjson_with_a_broken_first_line_keeps_the_rest() {
        let (records, bad, end) = collect("{\"a\":1, \"b\"\n{\"a\":2}\n{\"a\":3}\n");
        assert_eq!(records.len(), 2);
        assert_eq!(bad.len(), 1);
        assert!(bad[0].starts_with("line 1, column "), "{bad:?}");
        assert!(end.is_none());
        assert_eq!(
            numbers("{\"a\":1, \"b\"\n{\"a\":2}\n{\"a\":3}\n"),
            [1, 2, 3]
        );
    }

    #[test]
    fn a_document_opening_line_is_not_taken_for_a_broken_record() {
        let (records, bad, end) = collect("{\"Records\": [\n{\"a\":1},\n{\"a\":2}\n]}\n");
        assert_eq!(records.len(), 2);
        assert!(bad.is_empty() && end.is_none(), "{bad:?} {end:?}");
    }

    #[test]
    fn a_syntax_error_in_a_document_costs_that_record_only() {
        let (records, bad, end) = collect("[\n{\"a\":1},\n{\"a\" 2},\n{\"a\":3}\n]");
        assert_eq!(
            records,
            vec![serde_json::json!({"a":1}), serde_json::json!({"a":3})]
        );
        assert_eq!(bad, ["line 3, column 6: expected `:`"]);
        assert!(end.is_none());
    }

    /// Pretty-printed records are found whole by the fast path; the lines they span still count.
    #[test]
    fn lines_inside_whole_records_still_count() {
        let (records, bad, end) = collect("[\n{\n  \"a\": 1\n},\n{\"a\" 2},\n {\"a\": 3}\n]");
        assert_eq!(
            records,
            vec![serde_json::json!({"a":1}), serde_json::json!({"a":3})]
        );
        assert_eq!(bad, ["line 5, column 6: expected `:`"]);
        assert!(end.is_none());
    }

    #[test]
    fn a_bad_byte_in_a_one_line_trail_costs_one_record() {
        let mut input = br#"{"Records":[{"a":"x"},{"a":"#.to_vec();
        input.extend_from_slice(b"\"\xff\xfe\"},{\"a\":1e400},{\"a\":\"y\"}]}");
        let (records, bad, end) = collect_in(&input, 256 * 1024);
        assert_eq!(
            records,
            vec![serde_json::json!({"a":"x"}), serde_json::json!({"a":"y"})]
        );
        assert_eq!(bad.len(), 2, "{bad:?}");
        assert!(
            bad[0].starts_with("line 1, column 29: invalid unicode"),
            "{bad:?}"
        );
        assert!(
            bad[1].starts_with("line 1, column 43: number out of range"),
            "{bad:?}"
        );
        assert!(end.is_none());
    }

    #[test]
    fn an_oversized_record_is_skipped_by_size_and_the_next_is_read() {
        let huge = "x".repeat(MAX_RECORD_BYTES + 10);
        let input = format!(r#"{{"Records":[{{"a":"{huge}"}},{{"a":2}}]}}"#);
        let (records, bad, end) = collect_in(input.as_bytes(), 64 * 1024);
        assert_eq!(records, vec![serde_json::json!({"a":2})]);
        assert_eq!(bad.len(), 1);
        assert!(bad[0].contains("over the 32 MiB cap"), "{bad:?}");
        assert!(end.is_none());
    }

    #[test]
    fn top_level_scalars_are_handed_on_as_records() {
        let (records, bad, _) = collect("5\n\"x\"\nnull\n[true]\n");
        assert_eq!(
            records,
            vec![
                serde_json::json!(5),
                serde_json::json!("x"),
                Value::Null,
                serde_json::json!(true)
            ]
        );
        assert!(bad.is_empty());
        let (records, _, _) = collect("[42, \"s\", [1, 2], {\"a\":1}]");
        assert_eq!(
            records,
            vec![
                serde_json::json!(42),
                serde_json::json!("s"),
                serde_json::json!([1, 2]),
                serde_json::json!({"a":1})
            ]
        );
    }

    /// Yields its bytes, then fails like a gzip stream cut in the middle.
    struct BreaksAfter(std::io::Cursor<Vec<u8>>);

    impl std::io::Read for BreaksAfter {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            match self.0.read(buf)? {
                0 => Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "stream cut",
                )),
                n => Ok(n),
            }
        }
    }

    #[test]
    fn a_read_error_inside_a_one_line_file_keeps_the_whole_records() {
        let bytes = br#"{"Records":[{"a":1},{"a":2},{"a""#.to_vec();
        let reader = std::io::BufReader::new(BreaksAfter(std::io::Cursor::new(bytes)));
        let mut records = 0;
        let ended = read_records(reader, &mut |item: JsonItem<'_>| {
            if let JsonItem::Record { .. } = item {
                records += 1
            }
        });
        assert_eq!(records, 2);
        let end = ended.expect_err("the cut is reported").to_string();
        assert!(end.contains("read error: stream cut"), "{end}");
    }

    #[test]
    fn truncated_document_keeps_what_came_before() {
        let (records, _, end) = collect("{\n\"Records\": [\n{\"a\":1},\n{\"a\":2},\n{\"a\"");
        assert_eq!(records.len(), 2);
        let end = end.expect("truncation is reported");
        assert!(end.contains("ends early"), "{end}");
    }

    #[test]
    fn a_non_array_value_under_a_record_key_is_kept() {
        let (records, _, _) = collect(r#"{"value": {"x": 1}, "other": 2}"#);
        assert_eq!(
            records,
            vec![serde_json::json!({"value":{"x":1},"other":2})]
        );
    }

    #[test]
    fn empty_input_has_no_records() {
        let (records, bad, end) = collect("");
        assert!(records.is_empty() && bad.is_empty() && end.is_none());
        let (records, bad, end) = collect("\u{feff}  \n\n");
        assert!(records.is_empty() && bad.is_empty() && end.is_none());
    }
}
