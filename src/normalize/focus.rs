//! (being written)

use serde_json::Value;

use super::{RecordContext, RecordError};
use crate::schema::Record;

pub(crate) fn map(
    _record: &Value,
    _context: &RecordContext,
) -> Option<Result<Record, RecordError>> {
    None
}

pub(crate) fn expand(_document: &Value) -> Option<Vec<Value>> {
    None
}
