//! Streams the records out of a JSON input without holding the file in memory.
//!
//! Providers wrap records in many envelopes: CloudTrail's `{"Records":[...]}`, Graph and Azure
//! REST `{"value":[...]}`, diagnostic exports `{"records":[...]}`, GCP `{"entries":[...]}`,
//! LookupEvents `{"Events":[...]}`, a bare array from `gcloud logging read`, or one record per line.
//! This module only finds the records; it does not know what they mean.
//!
//! A file is read in one of two modes, chosen by its first line:
//! - **lines** (NDJSON): the first line is a complete JSON value. Every line is parsed on its own,
//!   so one broken line costs one record and the rest of the file is still read.
//! - **document**: one JSON value (pretty-printed or not) parsed incrementally; the elements of
//!   its record array are handed out one at a time. A syntax error ends the file there, since JSON
//!   has no way to find the next record after one.

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
    pub message: String,
}

impl fmt::Display for JsonSyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// What the reader hands to its caller: a record, or a line that is not JSON.
pub(crate) enum JsonItem {
    Record(Value),
    BadLine(JsonSyntaxError),
}

/// Reads every record of a JSON or NDJSON input, calling `sink` once per record or bad line.
///
/// Returns an error when the input ends in a way that loses the rest of the file: a syntax error
/// in document mode, or an I/O error (a truncated gzip stream, say).
pub(crate) fn read_records(
    mut reader: impl BufRead,
    sink: &mut dyn FnMut(JsonItem),
) -> Result<(), JsonSyntaxError> {
    let mut first_line = Vec::new();
    let mut line_number: u64 = 0;
    loop {
        first_line.clear();
        if reader
            .read_until(b'\n', &mut first_line)
            .map_err(io_error)?
            == 0
        {
            return Ok(());
        }
        line_number += 1;
        strip_bom(&mut first_line);
        if !first_line.iter().all(u8::is_ascii_whitespace) {
            break;
        }
    }
    let first_is_whole_value = serde_json::from_slice::<de::IgnoredAny>(&first_line).is_ok();
    if first_is_whole_value {
        read_lines(first_line, line_number, reader, sink)
    } else {
        let chained = std::io::Cursor::new(first_line).chain(reader);
        read_document(chained, sink)
    }
}

fn strip_bom(line: &mut Vec<u8>) {
    if line.starts_with(&[0xEF, 0xBB, 0xBF]) {
        line.drain(..3);
    }
}

fn io_error(err: std::io::Error) -> JsonSyntaxError {
    JsonSyntaxError {
        line: None,
        message: format!("read error: {err}"),
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
            let mut de = serde_json::Deserializer::from_slice(&line);
            let parsed = RecordsSeed { sink: &mut *sink }
                .deserialize(&mut de)
                .and_then(|()| de.end());
            if let Err(err) = parsed {
                sink(JsonItem::BadLine(JsonSyntaxError {
                    line: Some(line_number),
                    message: format!("not valid JSON: {err}"),
                }));
            }
        }
        line.clear();
        let read = reader.read_until(b'\n', &mut line).map_err(|err| {
            let mut error = io_error(err);
            error.line = Some(line_number + 1);
            error
        })?;
        if read == 0 {
            return Ok(());
        }
        line_number += 1;
    }
}

fn read_document(
    reader: impl BufRead,
    sink: &mut dyn FnMut(JsonItem),
) -> Result<(), JsonSyntaxError> {
    let mut de = serde_json::Deserializer::from_reader(reader);
    RecordsSeed { sink }
        .deserialize(&mut de)
        .and_then(|()| de.end())
        .map_err(|err| JsonSyntaxError {
            line: Some(err.line() as u64),
            message: describe_document_error(&err),
        })
}

fn describe_document_error(err: &serde_json::Error) -> String {
    if err.is_eof() {
        format!("the JSON document ends early (truncated file?): {err}")
    } else if err.is_io() {
        format!("read error: {err}")
    } else {
        format!("not valid JSON: {err}")
    }
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
        assert!(bad[0].starts_with("line 2:"), "{bad:?}");
        assert!(end.is_none());
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
