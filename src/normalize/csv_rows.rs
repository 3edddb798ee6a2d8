//! CSV inputs (Cost and Usage Reports, Azure cost exports, FOCUS, GCP billing, Log Analytics
//! table exports): each row becomes a JSON object of strings keyed by the cleaned header, so the
//! same mappers read a row whether it came as CSV or JSON.

use std::io::BufRead;

use serde_json::{Map, Value};

use super::error::RecordError;
use super::json_stream::MAX_RECORD_BYTES;
use super::FileReader;

/// Reads every row of a CSV input. A header no format knows rejects the whole file as one skip,
/// rather than producing one "unrecognized" skip per row.
pub(crate) fn read(reader: Box<dyn BufRead>, file: &mut FileReader) {
    let mut csv = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .from_reader(LineCap::new(reader));
    let headers: Vec<String> = match csv.headers() {
        Ok(headers) => headers.iter().map(clean_header).collect(),
        Err(err) => {
            return file.skip(RecordError::UnknownFormat(format!(
                "neither JSON nor readable CSV: {err}"
            )))
        }
    };
    if !super::recognizes_keys(headers.iter().map(String::as_str)) {
        // Escaped and cut short: a binary file that happens to decode as text must not write
        // control characters or a megabyte "column name" to the terminal.
        let shown: Vec<String> = headers.iter().take(6).map(|h| shown_header(h)).collect();
        return file.skip(RecordError::UnknownFormat(format!(
            "not JSON, and no known CSV header (columns: {})",
            shown.join(", ")
        )));
    }
    let mut row = csv::StringRecord::new();
    loop {
        match csv.read_record(&mut row) {
            Ok(false) => return,
            Ok(true) if row.len() != headers.len() => file.skip(RecordError::Csv(format!(
                "line {}: {} fields, the header has {}",
                row.position().map_or(0, |p| p.line()),
                row.len(),
                headers.len()
            ))),
            Ok(true) => {
                file.note_read();
                file.handle_value(row_object(&headers, &row))
            }
            Err(err) => {
                let fatal = matches!(err.kind(), csv::ErrorKind::Io(_));
                file.skip(if fatal {
                    RecordError::Truncated(format!("{}: {err}", file.file_name()))
                } else {
                    RecordError::Csv(err.to_string())
                });
                if fatal {
                    return;
                }
            }
        }
    }
}

/// Passes bytes through, but fails a line longer than [`MAX_RECORD_BYTES`]: the CSV reader
/// buffers a whole row, so a file without newlines (a gzip bomb of zeros) must not become one
/// row of gigabytes.
struct LineCap<R> {
    inner: R,
    line: usize,
}

impl<R> LineCap<R> {
    fn new(inner: R) -> Self {
        LineCap { inner, line: 0 }
    }
}

impl<R: std::io::Read> std::io::Read for LineCap<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buf)?;
        let part = &buf[..read];
        self.line = match memchr::memrchr(b'\n', part) {
            Some(at) => part.len() - at - 1,
            None => self.line + part.len(),
        };
        if self.line > MAX_RECORD_BYTES {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "a line of more than {} MiB, over the cap on a record",
                    MAX_RECORD_BYTES >> 20
                ),
            ));
        }
        Ok(read)
    }
}

fn shown_header(header: &str) -> String {
    const SHOWN_CHARS: usize = 40;
    let mut shown: String = header
        .chars()
        .take(SHOWN_CHARS)
        .flat_map(char::escape_debug)
        .collect();
    if header.chars().count() > SHOWN_CHARS {
        shown.push_str("...");
    }
    shown
}

/// Log Analytics exports decorate headers (`TimeGenerated [UTC]`); spreadsheets add a BOM.
fn clean_header(header: &str) -> String {
    let header = header.trim_start_matches('\u{feff}').trim();
    header
        .strip_suffix(" [UTC]")
        .unwrap_or(header)
        .trim()
        .to_string()
}

/// Empty cells and FOCUS's bare `NULL` are absent values, not the text "NULL".
fn row_object(headers: &[String], row: &csv::StringRecord) -> Value {
    let object: Map<String, Value> = headers
        .iter()
        .zip(row.iter())
        .filter(|(_, cell)| !cell.is_empty() && *cell != "NULL")
        .map(|(header, cell)| (header.clone(), Value::String(cell.to_string())))
        .collect();
    Value::Object(object)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_lose_decorations() {
        assert_eq!(clean_header("\u{feff}TimeGenerated [UTC]"), "TimeGenerated");
        assert_eq!(
            clean_header(" lineItem/UnblendedCost "),
            "lineItem/UnblendedCost"
        );
    }

    #[test]
    fn unknown_headers_are_shown_escaped_and_short() {
        assert_eq!(shown_header("memo"), "memo");
        assert_eq!(shown_header("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        let long = "x".repeat(100);
        assert_eq!(shown_header(&long), format!("{}...", "x".repeat(40)));
    }
}
