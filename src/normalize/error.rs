//! Why a record could not be normalized. Every variant names the field or the problem, and the
//! caller adds the file and record number, so an operator can find the exact input.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RecordError {
    #[error("missing field `{0}`")]
    MissingField(&'static str),
    #[error("field `{field}` has an unusable value {value:?}: {why}")]
    BadField {
        field: &'static str,
        value: String,
        why: String,
    },
    #[error("unrecognized record shape ({0})")]
    Unrecognized(String),
    #[error("not valid JSON: {0}")]
    Syntax(String),
    #[error("file ends early, the rest is lost: {0}")]
    Truncated(String),
    #[error("bad CSV row: {0}")]
    Csv(String),
    #[error("unrecognized file format: {0}")]
    UnknownFormat(String),
    /// A provider file that travels with audit logs but holds none (CloudTrail digest files):
    /// counted apart so a summary does not call it broken or unknown.
    #[error("not audit data: {0}")]
    NotAuditData(String),
}

impl RecordError {
    /// A short, stable name for the kind of problem, used to count skips by reason.
    pub fn kind(&self) -> &'static str {
        match self {
            RecordError::MissingField(_) => "missing_field",
            RecordError::BadField { .. } => "bad_field",
            RecordError::Unrecognized(_) => "unrecognized_record",
            RecordError::Syntax(_) => "invalid_json",
            RecordError::Truncated(_) => "truncated_file",
            RecordError::Csv(_) => "bad_csv_row",
            RecordError::UnknownFormat(_) => "unknown_format",
            RecordError::NotAuditData(_) => "not_audit_data",
        }
    }

    pub(crate) fn bad(field: &'static str, value: impl ToString, why: impl ToString) -> Self {
        RecordError::BadField {
            field,
            value: value.to_string(),
            why: why.to_string(),
        }
    }

    /// Names up to eight of the record's keys, enough to see what it was without dumping it
    /// (records may hold secrets in request parameters, which we never echo).
    pub(crate) fn unrecognized(record: &Value) -> Self {
        let keys = match record {
            Value::Object(map) => {
                let mut names: Vec<&str> = map.keys().map(String::as_str).take(8).collect();
                if map.len() > 8 {
                    names.push("...");
                }
                format!("keys: {}", names.join(", "))
            }
            Value::Array(_) => "an array, not a record".to_string(),
            other => format!("a bare {}, not a record", json_type(other)),
        };
        RecordError::Unrecognized(keys)
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}
