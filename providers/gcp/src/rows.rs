//! BigQuery's REST rows (`{"f": [{"v": ...}]}`, every scalar a string) rendered with their
//! schema into the JSON rows a BigQuery JSON export writes (`EXPORT DATA ... format='JSON'`,
//! `bq extract --destination_format NEWLINE_DELIMITED_JSON`): records as objects, repeated
//! fields as arrays, FLOAT64 and BOOL as JSON numbers and booleans, INT64 as strings (the
//! export keeps 64-bit precision so), TIMESTAMP as `2024-09-18 22:00:00 UTC`. Those are the
//! rows auditsweep's billing reader accepts.

use chrono::DateTime;
use serde::Deserialize;
use serde_json::{Map, Value};

/// One column of a `TableSchema`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Field {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(default)]
    pub fields: Vec<Field>,
}

/// `rows[i]` of a query response, as an object keyed by column name.
pub(crate) fn render_row(schema: &[Field], row: &Value) -> Result<Value, String> {
    let cells = row["f"].as_array().ok_or("a row without its `f` cells")?;
    if cells.len() != schema.len() {
        return Err(format!(
            "a row of {} cells for {} columns",
            cells.len(),
            schema.len()
        ));
    }
    let mut object = Map::new();
    for (field, cell) in schema.iter().zip(cells) {
        object.insert(field.name.clone(), render_field(field, &cell["v"])?);
    }
    Ok(Value::Object(object))
}

fn render_field(field: &Field, value: &Value) -> Result<Value, String> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    if field.mode.as_deref() == Some("REPEATED") {
        let items = value
            .as_array()
            .ok_or_else(|| format!("`{}` is repeated but not an array", field.name))?;
        return items
            .iter()
            .map(|item| render_value(field, &item["v"]))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array);
    }
    render_value(field, value)
}

fn render_value(field: &Field, value: &Value) -> Result<Value, String> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    let bad = || format!("`{}`: {value} is not a {}", field.name, field.kind);
    match field.kind.as_str() {
        "RECORD" | "STRUCT" => render_row(&field.fields, value),
        "FLOAT" | "FLOAT64" => {
            let text = value.as_str().ok_or_else(bad)?;
            let number: f64 = text.parse().map_err(|_| bad())?;
            // NaN and infinities have no JSON number: the export writes them as text too.
            Ok(serde_json::Number::from_f64(number)
                .map(Value::Number)
                .unwrap_or_else(|| Value::String(text.to_string())))
        }
        "BOOLEAN" | "BOOL" => match value.as_str() {
            Some("true") => Ok(Value::Bool(true)),
            Some("false") => Ok(Value::Bool(false)),
            _ => Err(bad()),
        },
        "TIMESTAMP" => {
            let text = value.as_str().ok_or_else(bad)?;
            timestamp(text).map(Value::String).ok_or_else(bad)
        }
        // STRING, BYTES (base64), INT64, NUMERIC, BIGNUMERIC, DATE, TIME, DATETIME, JSON,
        // GEOGRAPHY: the REST text is the export's text.
        _ => match value {
            Value::String(_) => Ok(value.clone()),
            _ => Err(bad()),
        },
    }
}

/// A TIMESTAMP cell: microseconds since the epoch (`formatOptions.useInt64Timestamp`), or the
/// older floating-point seconds (`1.7266464E9`), as the export spells it.
fn timestamp(text: &str) -> Option<String> {
    let micros: i64 = match text.parse::<i64>() {
        Ok(micros) => micros,
        Err(_) => {
            let seconds: f64 = text.parse().ok()?;
            if !seconds.is_finite() {
                return None;
            }
            (seconds * 1e6).round() as i64
        }
    };
    let time = DateTime::from_timestamp_micros(micros)?;
    Some(if micros.rem_euclid(1_000_000) == 0 {
        time.format("%Y-%m-%d %H:%M:%S UTC").to_string()
    } else {
        time.format("%Y-%m-%d %H:%M:%S%.6f UTC").to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Vec<Field> {
        serde_json::from_value(json!([
            {"name": "service", "type": "RECORD", "mode": "NULLABLE", "fields": [
                {"name": "id", "type": "STRING"}, {"name": "description", "type": "STRING"}]},
            {"name": "usage_start_time", "type": "TIMESTAMP", "mode": "NULLABLE"},
            {"name": "cost", "type": "FLOAT", "mode": "NULLABLE"},
            {"name": "labels", "type": "RECORD", "mode": "REPEATED", "fields": [
                {"name": "key", "type": "STRING"}, {"name": "value", "type": "STRING"}]},
            {"name": "number", "type": "INTEGER"},
            {"name": "flag", "type": "BOOLEAN"},
            {"name": "adjustment_info", "type": "RECORD", "fields": [{"name": "id", "type": "STRING"}]}
        ]))
        .unwrap()
    }

    #[test]
    fn cells_become_the_export_s_json() {
        let row = json!({"f": [
            {"v": {"f": [{"v": "6F81-5844-456A"}, {"v": "Compute Engine"}]}},
            {"v": "1726696800000000"},
            {"v": "1.52"},
            {"v": [{"v": {"f": [{"v": "env"}, {"v": "prod"}]}}]},
            {"v": "481516234200"},
            {"v": "false"},
            {"v": null}
        ]});
        assert_eq!(
            render_row(&schema(), &row).unwrap(),
            json!({
                "service": {"id": "6F81-5844-456A", "description": "Compute Engine"},
                "usage_start_time": "2024-09-18 22:00:00 UTC",
                "cost": 1.52,
                "labels": [{"key": "env", "value": "prod"}],
                "number": "481516234200",
                "flag": false,
                "adjustment_info": null
            })
        );
    }

    #[test]
    fn timestamps_in_both_encodings() {
        assert_eq!(
            timestamp("1726719153104221").as_deref(),
            Some("2024-09-19 04:12:33.104221 UTC")
        );
        assert_eq!(
            timestamp("1.7266968E9").as_deref(),
            Some("2024-09-18 22:00:00 UTC")
        );
        assert_eq!(timestamp("soon"), None);
    }

    #[test]
    fn a_row_that_does_not_fit_its_schema_is_an_error() {
        assert!(render_row(&schema(), &json!({"f": [{"v": "x"}]})).is_err());
        let bad_cost = json!({"f": [{"v": null}, {"v": null}, {"v": "cheap"}, {"v": []},
            {"v": null}, {"v": null}, {"v": null}]});
        assert!(render_row(&schema(), &bad_cost)
            .unwrap_err()
            .contains("`cost`"));
    }
}
