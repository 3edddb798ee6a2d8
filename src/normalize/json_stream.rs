//! Streams the records out of a JSON input without holding the file in memory.
//!
//! Providers wrap records in many envelopes: CloudTrail's `{"Records":[...]}`, Graph and Azure
//! REST `{"value":[...]}`, diagnostic exports `{"records":[...]}`, GCP `{"entries":[...]}`,
//! LookupEvents `{"Events":[...]}`, a bare array from `gcloud logging read`, or one record per line.
//! This module only finds the records; it does not know what they mean.
//!
//! A file is read in one of two modes, chosen by its first line:
//! - **lines** (NDJSON): the first line is a complete JSON value. Every line is parsed on its own,
//!   so one broken line costs one record and the rest of the file is still read. A broken first
//!   line that starts a record (`{...` cut short, not a document's opening `{` or `{"Records":[`)
//!   followed by a complete one-line object is taken as NDJSON too, so it costs only itself.
//! - **document**: one JSON value (pretty-printed or not) parsed incrementally; the elements of
//!   its record array are handed out one at a time. A syntax error ends the file there, since JSON
//!   has no way to find the next record after one: it is handed out as one bad item saying where.
//!   An early end or a read error (a truncated gzip) is returned instead, after the records that
//!   arrived whole.

use std::fmt;
use std::io::{BufRead, Read};

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};

/// Object keys whose array value holds the records, in the envelopes we know.
const RECORD_ARRAY_KEYS: &[&str] = &["Records", "records", "value", "entries", "Events"];

/// Why a JSON input stopped early, or why one line of it failed.
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

/// What the reader hands to its caller: a record, or input that is not JSON (one NDJSON line,
/// or the place where a JSON document breaks).
pub(crate) enum JsonItem {
    Record(Value),
    BadLine(JsonSyntaxError),
}

/// Reads every record of a JSON or NDJSON input, calling `sink` once per record or bad line.
///
/// Returns an error when the input ends in a way that loses the rest of the file: a document
/// that stops in the middle, or an I/O error (a truncated gzip stream, say). Records before
/// that point have been handed out already.
pub(crate) fn read_records(
    mut reader: impl BufRead,
    sink: &mut dyn FnMut(JsonItem),
) -> Result<(), JsonSyntaxError> {
    // Everything read while choosing the mode, so that document mode can parse it again.
    let mut consumed = Vec::new();
    let first = match next_content_line(&mut reader, &mut consumed, 0) {
        Ok(Some(line)) => line,
        Ok(None) => return Ok(()),
        Err(failure) => return read_partial_document(consumed, failure, sink),
    };
    let first_line = consumed[first.start..].to_vec();
    if is_whole_value(&first_line) {
        return read_lines(first_line, first.number, reader, sink);
    }
    // NDJSON whose first line is broken: without this look ahead, document mode would lose
    // every good line after it.
    if looks_like_a_broken_record(&first_line) {
        match next_content_line(&mut reader, &mut consumed, first.number) {
            Err(failure) => return read_partial_document(consumed, failure, sink),
            Ok(Some(second)) if is_record_line(&consumed[second.start..]) => {
                let second_line = consumed[second.start..].to_vec();
                sink(JsonItem::BadLine(line_error(first.number, &first_line)));
                return read_lines(second_line, second.number, reader, sink);
            }
            Ok(_) => {}
        }
    }
    read_document(std::io::Cursor::new(consumed).chain(reader), sink)
}

const BOM: &[u8] = &[0xEF, 0xBB, 0xBF];

/// Where a non-blank line starts in what [`next_content_line`] consumed, and its number.
struct ContentLine {
    number: u64,
    start: usize,
}

/// An I/O error while reading ahead to choose the mode, and the line it hit.
struct ReadFailure {
    error: std::io::Error,
    line: u64,
}

/// Reads up to and including the next non-blank line, appending every byte to `consumed`
/// (a byte order mark at the very start excepted). On a read error the bytes that did arrive
/// stay in `consumed`.
fn next_content_line(
    reader: &mut impl BufRead,
    consumed: &mut Vec<u8>,
    mut line_number: u64,
) -> Result<Option<ContentLine>, ReadFailure> {
    loop {
        let start = consumed.len();
        let read = reader.read_until(b'\n', consumed);
        if start == 0 && consumed.starts_with(BOM) {
            consumed.drain(..BOM.len());
        }
        match read {
            Ok(0) => return Ok(None),
            Ok(_) => {}
            Err(error) => {
                return Err(ReadFailure {
                    error,
                    line: line_number + 1,
                })
            }
        }
        line_number += 1;
        if !consumed[start..].iter().all(u8::is_ascii_whitespace) {
            return Ok(Some(ContentLine {
                number: line_number,
                start,
            }));
        }
    }
}

/// The input broke off (a truncated gzip member) before the reader could choose a mode: hands
/// out the records that arrived whole, then reports the read error.
fn read_partial_document(
    consumed: Vec<u8>,
    failure: ReadFailure,
    sink: &mut dyn FnMut(JsonItem),
) -> Result<(), JsonSyntaxError> {
    if !consumed.iter().all(u8::is_ascii_whitespace) {
        // The document necessarily ends early here; the read error is the better explanation.
        let _ = read_document(std::io::Cursor::new(consumed), sink);
    }
    Err(read_error(&failure.error, Some(failure.line)))
}

fn is_whole_value(line: &[u8]) -> bool {
    serde_json::from_slice::<de::IgnoredAny>(line).is_ok()
}

/// A complete JSON object on one line: an NDJSON record.
fn is_record_line(line: &[u8]) -> bool {
    line.trim_ascii_start().starts_with(b"{") && is_whole_value(line)
}

/// An unparseable first line that starts a record rather than opening a pretty-printed or
/// one-record-per-line document (`{`, `{"Records": [`, `[{...},`).
fn looks_like_a_broken_record(line: &[u8]) -> bool {
    let line = line.trim_ascii();
    line.starts_with(b"{") && !matches!(line.last(), Some(b'{' | b'[' | b',' | b':'))
}

fn line_error(line_number: u64, line: &[u8]) -> JsonSyntaxError {
    match serde_json::from_slice::<de::IgnoredAny>(without_line_end(line)) {
        Err(err) => JsonSyntaxError {
            line: Some(line_number),
            column: Some(err.column() as u64),
            message: without_position(&err),
        },
        Ok(_) => JsonSyntaxError {
            line: Some(line_number),
            column: None,
            message: "not a JSON value".to_string(),
        },
    }
}

/// A line cut short inside a string would otherwise be reported as a control character (its
/// own newline) at column 0 of the next line, instead of as ending early where it ends.
fn without_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn read_error(err: &dyn fmt::Display, line: Option<u64>) -> JsonSyntaxError {
    JsonSyntaxError {
        line,
        column: None,
        message: format!("read error: {err}"),
    }
}

/// serde_json's message without its ` at line L column C` suffix, which we report ourselves
/// (with the line number in the file, not in the fragment parsed).
fn without_position(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

fn read_lines(
    first_line: Vec<u8>,
    first_line_number: u64,
    mut reader: impl BufRead,
    sink: &mut dyn FnMut(JsonItem),
) -> Result<(), JsonSyntaxError> {
    let mut line = first_line;
    let mut line_number = first_line_number;
    loop {
        if !line.iter().all(u8::is_ascii_whitespace) {
            let mut de = serde_json::Deserializer::from_slice(without_line_end(&line));
            let parsed = RecordsSeed { sink: &mut *sink }
                .deserialize(&mut de)
                .and_then(|()| de.end());
            if let Err(err) = parsed {
                sink(JsonItem::BadLine(JsonSyntaxError {
                    line: Some(line_number),
                    column: Some(err.column() as u64),
                    message: without_position(&err),
                }));
            }
        }
        line.clear();
        let read = reader
            .read_until(b'\n', &mut line)
            .map_err(|err| read_error(&err, Some(line_number + 1)))?;
        if read == 0 {
            return Ok(());
        }
        line_number += 1;
    }
}

/// Parses one JSON document incrementally. A syntax error is handed out as a bad item (the
/// records before it were emitted, the rest cannot be found); an early end or a read error is
/// returned, since it means the input itself is cut short.
fn read_document(
    reader: impl BufRead,
    sink: &mut dyn FnMut(JsonItem),
) -> Result<(), JsonSyntaxError> {
    let mut de = serde_json::Deserializer::from_reader(reader);
    let parsed = RecordsSeed { sink: &mut *sink }
        .deserialize(&mut de)
        .and_then(|()| de.end());
    let err = match parsed {
        Ok(()) => return Ok(()),
        Err(err) => err,
    };
    if err.is_io() {
        return Err(read_error(&err, None));
    }
    let at_line = Some(err.line() as u64);
    let at_column = Some(err.column() as u64);
    if err.is_eof() {
        return Err(JsonSyntaxError {
            line: at_line,
            column: at_column,
            message: "the JSON document ends early (truncated file?)".to_string(),
        });
    }
    sink(JsonItem::BadLine(JsonSyntaxError {
        line: at_line,
        column: at_column,
        message: format!(
            "{}; the rest of the document cannot be read",
            without_position(&err)
        ),
    }));
    Ok(())
}

/// Top level of an input: an array of records, an envelope holding one, or a single record.
struct RecordsSeed<'s> {
    sink: &'s mut dyn FnMut(JsonItem),
}

impl<'de> DeserializeSeed<'de> for RecordsSeed<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RecordsSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object or array of records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(record) = seq.next_element::<Value>()? {
            (self.sink)(JsonItem::Record(record));
        }
        Ok(())
    }

    // A top-level scalar is valid JSON but not a record: it is handed on like any record, so
    // the mappers reject it by shape ("a bare number, not a record") rather than as bad JSON.
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        (self.sink)(JsonItem::Record(Value::Bool(v)));
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        (self.sink)(JsonItem::Record(Value::from(v)));
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        (self.sink)(JsonItem::Record(Value::from(v)));
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        (self.sink)(JsonItem::Record(Value::from(v)));
        Ok(())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        (self.sink)(JsonItem::Record(Value::String(v.to_string())));
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        (self.sink)(JsonItem::Record(Value::Null));
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut envelope = Map::new();
        let mut streamed_records = false;
        while let Some(key) = map.next_key::<String>()? {
            if RECORD_ARRAY_KEYS.contains(&key.as_str()) {
                let seed = ArrayOrValue {
                    sink: &mut *self.sink,
                };
                match map.next_value_seed(seed)? {
                    None => streamed_records = true,
                    Some(value) => {
                        envelope.insert(key, value);
                    }
                }
            } else {
                envelope.insert(key, map.next_value::<Value>()?);
            }
        }
        if !streamed_records {
            (self.sink)(JsonItem::Record(Value::Object(envelope)));
        }
        Ok(())
    }
}

/// The value of a record-array key: streamed when it is an array (returns `None`), kept whole
/// otherwise (an object that merely has a key named `value`, say).
struct ArrayOrValue<'s> {
    sink: &'s mut dyn FnMut(JsonItem),
}

impl<'de> DeserializeSeed<'de> for ArrayOrValue<'_> {
    type Value = Option<Value>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ArrayOrValue<'_> {
    type Value = Option<Value>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while let Some(record) = seq.next_element::<Value>()? {
            (self.sink)(JsonItem::Record(record));
        }
        Ok(None)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let value = Value::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(Some(value))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(Value::Bool(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(Value::from(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(Value::from(v)))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Some(Value::from(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(Value::String(v.to_string())))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Some(Value::Null))
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Some(Value::Null))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(input: &str) -> (Vec<Value>, Vec<String>, Option<String>) {
        let mut records = Vec::new();
        let mut bad = Vec::new();
        let result = read_records(input.as_bytes(), &mut |item| match item {
            JsonItem::Record(v) => records.push(v),
            JsonItem::BadLine(e) => bad.push(e.to_string()),
        });
        (records, bad, result.err().map(|e| e.to_string()))
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
    fn ndjson_with_a_broken_first_line_keeps_the_rest() {
        let (records, bad, end) = collect("{\"a\":1, \"b\"\n{\"a\":2}\n{\"a\":3}\n");
        assert_eq!(records.len(), 2);
        assert_eq!(bad.len(), 1);
        assert!(bad[0].starts_with("line 1, column "), "{bad:?}");
        assert!(end.is_none());
    }

    #[test]
    fn a_document_opening_line_is_not_taken_for_a_broken_record() {
        let (records, bad, end) = collect("{\"Records\": [\n{\"a\":1},\n{\"a\":2}\n]}\n");
        assert_eq!(records.len(), 2);
        assert!(bad.is_empty() && end.is_none(), "{bad:?} {end:?}");
    }

    #[test]
    fn a_syntax_error_in_a_document_keeps_what_came_before_and_says_where() {
        let (records, bad, end) = collect("[\n{\"a\":1},\n{\"a\" 2},\n{\"a\":3}\n]");
        assert_eq!(records, vec![serde_json::json!({"a":1})]);
        assert_eq!(bad.len(), 1);
        assert!(bad[0].starts_with("line 3, column "), "{bad:?}");
        assert!(
            bad[0].contains("rest of the document cannot be read"),
            "{bad:?}"
        );
        assert!(
            !bad[0].contains(" at line "),
            "position is not repeated: {bad:?}"
        );
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
    }

    /// Yields its bytes, then fails like a gzip stream cut in the middle.
    struct BreaksAfter(std::io::Cursor<Vec<u8>>);

    impl Read for BreaksAfter {
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
        let mut records = Vec::new();
        let ended = read_records(reader, &mut |item| {
            if let JsonItem::Record(v) = item {
                records.push(v)
            }
        });
        assert_eq!(records.len(), 2);
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
    }
}
