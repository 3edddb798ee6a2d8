//! Azure billing: Cost Management query responses (`POST .../providers/Microsoft.CostManagement/query`,
//! a table of `columns` and `rows`) and Cost Management export CSVs, in both the EA (PascalCase:
//! `Date`, `MeterCategory`, `CostInBillingCurrency`) and MCA (camelCase: `date`, `meterCategory`,
//! `costInBillingCurrency`) spellings, and the older `PreTaxCost` / `UsageDateTime` columns.

use serde_json::{json, Map, Value};

use super::super::error::RecordError;
use super::super::fields::{self, first_text, has, text};
use super::super::RecordContext;
use super::{required_time, resource_id};
use crate::schema::{BillingCategory, BillingRecord, Provider, Record};

/// Marks a query-response row produced by [`expand_query`]; never present in provider data.
pub(super) const QUERY_ROW: &str = "_auditsweep_azure_cost_query_row";

/// A cost column, and the currency it is in when its name says so (`CostUSD` is in dollars
/// whatever the response's `Currency` column says).
struct CostColumn {
    name: &'static str,
    currency: Option<&'static str>,
}

const fn cost(name: &'static str) -> CostColumn {
    CostColumn {
        name,
        currency: None,
    }
}

const fn cost_in_usd(name: &'static str) -> CostColumn {
    CostColumn {
        name,
        currency: Some("USD"),
    }
}

/// Query aggregations in order of preference: the billing-currency amounts first.
const QUERY_COSTS: &[CostColumn] = &[
    cost("Cost"),
    cost("PreTaxCost"),
    cost_in_usd("CostUSD"),
    cost_in_usd("PreTaxCostUSD"),
];
const QUERY_DATES: &[&str] = &["UsageDate", "BillingMonth", "Date"];
const QUERY_SERVICES: &[&[&str]] = &[
    &["ServiceName"],
    &["MeterCategory"],
    &["ServiceFamily"],
    &["ResourceType"],
];
const QUERY_SUBSCRIPTIONS: &[&[&str]] = &[&["SubscriptionId"], &["SubscriptionGuid"]];

/// Export columns in order of preference, EA and MCA spellings side by side.
const EXPORT_COSTS: &[CostColumn] = &[
    cost("CostInBillingCurrency"),
    cost("costInBillingCurrency"),
    cost("PreTaxCost"),
    cost("Cost"),
    cost_in_usd("CostInUsd"),
    cost_in_usd("costInUsd"),
];
const EXPORT_DATES: &[&str] = &["Date", "date", "UsageDate", "usageDate", "UsageDateTime"];
const EXPORT_SERVICES: &[&[&str]] = &[
    &["MeterCategory"],
    &["meterCategory"],
    &["ServiceName"],
    &["serviceName"],
    &["ConsumedService"],
    &["consumedService"],
    &["ServiceFamily"],
    &["serviceFamily"],
];
const EXPORT_SUBSCRIPTIONS: &[&[&str]] = &[
    &["SubscriptionId"],
    &["SubscriptionGuid"],
    &["subscriptionId"],
    &["subscriptionGuid"],
];
const EXPORT_CURRENCIES: &[&[&str]] = &[
    &["BillingCurrency"],
    &["billingCurrency"],
    &["BillingCurrencyCode"],
    &["billingCurrencyCode"],
    &["Currency"],
    &["currency"],
];
/// Columns only Azure cost exports have; with a date or cost column they identify the file
/// (a bare `Date` + `Cost` could be anyone's spreadsheet).
const EXPORT_MARKERS: &[&str] = &[
    "SubscriptionId",
    "SubscriptionGuid",
    "subscriptionId",
    "subscriptionGuid",
    "MeterCategory",
    "meterCategory",
    "MeterId",
    "meterId",
    "ConsumedService",
    "consumedService",
    "BillingAccountId",
    "billingAccountId",
];

/// Splits a query response into one marked object per row, keyed by column name. The
/// response `id` goes along: it names the scope (`subscriptions/<id>/...`), the only place a
/// query grouped by service says which subscription it is about.
pub(super) fn expand_query(document: &Value) -> Option<Vec<Value>> {
    let properties = document.get("properties")?;
    let columns = properties.get("columns")?.as_array()?;
    let rows = properties.get("rows")?.as_array()?;
    let names: Vec<Option<&str>> = columns
        .iter()
        .map(|column| column.get("name").and_then(Value::as_str))
        .collect();
    let scope = text(document, &["id"]);
    let units = rows
        .iter()
        .map(|row| {
            let cells = row.as_array().map(|cells| {
                names
                    .iter()
                    .zip(cells)
                    .filter_map(|(name, cell)| Some(((*name)?.to_string(), cell.clone())))
                    .collect::<Map<String, Value>>()
            });
            json!({ QUERY_ROW: { "cells": cells, "scope": scope } })
        })
        .collect();
    Some(units)
}

pub(super) fn query_row(unit: &Value, context: &RecordContext) -> Result<Record, RecordError> {
    let cells = unit
        .get("cells")
        .filter(|cells| cells.is_object())
        .ok_or_else(|| {
            RecordError::bad(
                "rows",
                "not an array",
                "a query row must be an array of cells",
            )
        })?;
    let date = QUERY_DATES
        .iter()
        .find(|column| has(cells, column))
        .ok_or(RecordError::MissingField("UsageDate"))?;
    let time = required_time(cells, &[*date], "UsageDate", context)?;
    let (cost, column) = amount(cells, QUERY_COSTS, "Cost")?;
    let account = first_text(cells, QUERY_SUBSCRIPTIONS)
        .map(|s| s.to_ascii_lowercase())
        .or_else(|| {
            text(unit, &["scope"])
                .as_deref()
                .and_then(resource_id::subscription)
        });
    Ok(Record::Billing(BillingRecord {
        time: fields::start_of_day(time),
        provider: Provider::Azure,
        tenant: None,
        account,
        category: BillingCategory::Billing,
        service: first_text(cells, QUERY_SERVICES),
        cost,
        currency: column
            .currency
            .map(str::to_string)
            .or_else(|| text(cells, &["Currency"])),
        source: context.source.clone(),
    }))
}

/// A cost export row: a date or cost column and an Azure-only column.
pub(super) fn is_export_row(record: &Value) -> bool {
    let dated_or_costed = EXPORT_DATES.iter().any(|column| has(record, column))
        || EXPORT_COSTS.iter().any(|column| has(record, column.name));
    dated_or_costed && EXPORT_MARKERS.iter().any(|column| has(record, column))
}

pub(super) fn export_row(row: &Value, context: &RecordContext) -> Result<Record, RecordError> {
    let date = EXPORT_DATES
        .iter()
        .find(|column| has(row, column))
        .ok_or(RecordError::MissingField("Date"))?;
    let time = required_time(row, &[*date], "Date", context)?;
    let (cost, column) = amount(row, EXPORT_COSTS, "CostInBillingCurrency")?;
    Ok(Record::Billing(BillingRecord {
        time: fields::start_of_day(time),
        provider: Provider::Azure,
        tenant: None,
        account: first_text(row, EXPORT_SUBSCRIPTIONS).map(|s| s.to_ascii_lowercase()),
        category: BillingCategory::Billing,
        service: first_text(row, EXPORT_SERVICES),
        cost,
        currency: column
            .currency
            .map(str::to_string)
            .or_else(|| first_text(row, EXPORT_CURRENCIES)),
        source: context.source.clone(),
    }))
}

/// The first cost column present, read as a number; `missing` names the field when none is.
fn amount<'c>(
    record: &Value,
    columns: &'c [CostColumn],
    missing: &'static str,
) -> Result<(f64, &'c CostColumn), RecordError> {
    let column = columns
        .iter()
        .find(|column| has(record, column.name))
        .ok_or(RecordError::MissingField(missing))?;
    Ok((
        fields::required_cost(record, &[column.name], column.name)?,
        column,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::FileHints;
    use crate::schema::SourceRef;

    fn billing(record: &Value) -> Result<BillingRecord, RecordError> {
        let hints = FileHints::default();
        let context = RecordContext {
            source: SourceRef {
                file: "t".into(),
                record: 1,
            },
            file: &hints,
        };
        let mapped = match record.get(QUERY_ROW) {
            Some(unit) => query_row(unit, &context),
            None => {
                assert!(is_export_row(record), "not recognized: {record}");
                export_row(record, &context)
            }
        };
        match mapped? {
            Record::Billing(row) => Ok(row),
            Record::Event(_) => panic!("billing became an event"),
        }
    }

    fn response(columns: Value, rows: Value) -> Vec<Value> {
        expand_query(&json!({
            "id": "subscriptions/AAAA-1111/providers/Microsoft.CostManagement/query/q1",
            "properties": {"columns": columns, "rows": rows}
        }))
        .unwrap()
    }

    #[test]
    fn usd_cost_column_is_in_usd() {
        let units = response(
            json!([{"name": "CostUSD", "type": "Number"}, {"name": "Cost", "type": "Number"},
                   {"name": "UsageDate", "type": "Number"}, {"name": "Currency", "type": "String"}]),
            json!([[10.0, 9.2, 20240105, "EUR"]]),
        );
        let row = billing(&units[0]).unwrap();
        assert_eq!((row.cost, row.currency.as_deref()), (9.2, Some("EUR")));
        let units = response(
            json!([{"name": "CostUSD"}, {"name": "UsageDate"}, {"name": "Currency"}]),
            json!([[10.0, "2024-01-05T00:00:00", "EUR"]]),
        );
        let row = billing(&units[0]).unwrap();
        assert_eq!((row.cost, row.currency.as_deref()), (10.0, Some("USD")));
        assert_eq!(row.account.as_deref(), Some("aaaa-1111"));
    }

    #[test]
    fn rows_without_a_date_or_as_non_arrays_are_errors() {
        let units = response(
            json!([{"name": "PreTaxCost"}, {"name": "Currency"}]),
            json!([[1.5, "USD"], "x"]),
        );
        assert_eq!(
            billing(&units[0]).unwrap_err(),
            RecordError::MissingField("UsageDate")
        );
        assert!(matches!(
            billing(&units[1]).unwrap_err(),
            RecordError::BadField { field: "rows", .. }
        ));
    }

    #[test]
    fn an_empty_response_has_no_rows() {
        assert_eq!(response(json!([{"name": "Cost"}]), json!([])).len(), 0);
        assert!(expand_query(&json!({"properties": {"columns": []}})).is_none());
    }

    #[test]
    fn export_cost_that_is_not_a_number_is_named() {
        let row =
            json!({"Date": "01/15/2024", "SubscriptionId": "s", "CostInBillingCurrency": "n/a"});
        assert!(matches!(
            billing(&row).unwrap_err(),
            RecordError::BadField {
                field: "CostInBillingCurrency",
                ..
            }
        ));
        let row = json!({"date": "2024-01-15", "subscriptionId": "s"});
        assert_eq!(
            billing(&row).unwrap_err(),
            RecordError::MissingField("CostInBillingCurrency")
        );
    }

    #[test]
    fn a_date_and_cost_alone_are_not_an_azure_export() {
        assert!(!is_export_row(&json!({"Date": "2024-01-01", "Cost": "1"})));
    }
}
