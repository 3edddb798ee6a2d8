//! FinOps FOCUS 1.0 cost and usage rows, the cross-cloud billing format that AWS Data Exports,
//! Azure Cost Management exports and GCP's BigQuery FOCUS view all produce, as CSV (or as JSON
//! objects with the same column names).
//!
//! A FOCUS row is recognized by `ChargePeriodStart` plus another FOCUS column; no provider's
//! native format uses those names. One file may mix providers: each row names its own in
//! `ProviderName`, and providers we do not model (Oracle, say) are kept as [`Provider::Other`].
//!
//! Cost is `BilledCost`, what the invoice charges for the row, rather than `EffectiveCost`
//! (amortized commitments): an attacker's usage is billed the day it happens, while amortization
//! spreads prepaid commitments over days no one used them. `EffectiveCost` is used only when a
//! row has no `BilledCost`.

use serde_json::Value;

use super::error::RecordError;
use super::fields::{self, has, text};
use super::RecordContext;
use crate::schema::{BillingCategory, BillingRecord, Provider, Record};

/// FOCUS columns that, next to `ChargePeriodStart`, mark a row as FOCUS.
const FOCUS_COLUMNS: &[&str] = &[
    "BilledCost",
    "EffectiveCost",
    "BillingCurrency",
    "BillingAccountId",
    "ProviderName",
];

/// Azure's `SubAccountId` prefix; the rest is the subscription id.
const AZURE_SUBSCRIPTION_PREFIX: &str = "/subscriptions/";

pub(crate) fn map(record: &Value, context: &RecordContext) -> Option<Result<Record, RecordError>> {
    let is_focus =
        has(record, "ChargePeriodStart") && FOCUS_COLUMNS.iter().any(|key| has(record, key));
    is_focus.then(|| focus_row(record, context))
}

fn focus_row(row: &Value, context: &RecordContext) -> Result<Record, RecordError> {
    // FOCUS 1.2 renames `ProviderName` to `ServiceProviderName`.
    let provider = text(row, &["ProviderName"])
        .or_else(|| text(row, &["ServiceProviderName"]))
        .ok_or(RecordError::MissingField("ProviderName"))?;
    let provider = Provider::from_name(&provider);
    let time = fields::required_time(
        row,
        &["ChargePeriodStart"],
        "ChargePeriodStart",
        &provider,
        context,
    )?;
    let cost = if text(row, &["BilledCost"]).is_some() {
        fields::required_cost(row, &["BilledCost"], "BilledCost")?
    } else if text(row, &["EffectiveCost"]).is_some() {
        fields::required_cost(row, &["EffectiveCost"], "EffectiveCost")?
    } else {
        return Err(RecordError::MissingField("BilledCost"));
    };
    Ok(Record::Billing(BillingRecord {
        time: fields::start_of_day(time),
        provider,
        tenant: text(row, &["BillingAccountId"]),
        account: text(row, &["SubAccountId"]).map(|id| sub_account(&id)),
        category: BillingCategory::Billing,
        service: text(row, &["ServiceName"]),
        cost,
        currency: text(row, &["BillingCurrency"]),
        source: context.source.clone(),
    }))
}

/// Azure writes the subscription as a resource id, `/subscriptions/<guid>`; the bare guid is what
/// the Activity Log calls `subscriptionId`, so that is what billing rows join on. Other
/// providers' ids (an AWS account number, an OCI tenancy OCID) are kept as written.
fn sub_account(raw: &str) -> String {
    let is_subscription = raw
        .get(..AZURE_SUBSCRIPTION_PREFIX.len())
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case(AZURE_SUBSCRIPTION_PREFIX));
    if is_subscription {
        let rest = &raw[AZURE_SUBSCRIPTION_PREFIX.len()..];
        if let Some(id) = rest.split('/').next().filter(|id| !id.is_empty()) {
            return id.to_string();
        }
    }
    raw.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::FileHints;
    use crate::schema::SourceRef;
    use serde_json::json;

    fn billing(row: Value) -> Option<Result<BillingRecord, RecordError>> {
        let hints = FileHints::default();
        let context = RecordContext {
            source: SourceRef {
                file: "test.csv".into(),
                record: 7,
            },
            file: &hints,
        };
        map(&row, &context).map(|result| {
            result.map(|record| match record {
                Record::Billing(row) => row,
                Record::Event(_) => panic!("a FOCUS row maps to a billing record"),
            })
        })
    }

    #[test]
    fn subscription_ids_lose_their_prefix() {
        assert_eq!(
            sub_account("/subscriptions/64e355d7-997c-491d-b0c1-8414dccfcf42"),
            "64e355d7-997c-491d-b0c1-8414dccfcf42"
        );
        assert_eq!(
            sub_account("/SUBSCRIPTIONS/00000000-0000-0000-0000-000000000001/"),
            "00000000-0000-0000-0000-000000000001"
        );
        assert_eq!(sub_account("111122223333"), "111122223333");
        assert_eq!(sub_account("/subscriptions/"), "/subscriptions/");
        assert_eq!(
            sub_account("ocid1.tenancy.oc1..aaaa"),
            "ocid1.tenancy.oc1..aaaa"
        );
    }

    #[test]
    fn effective_cost_only_when_billed_cost_is_absent() {
        let base = json!({
            "ChargePeriodStart": "2024-09-18T22:00:00Z",
            "ProviderName": "Google Cloud",
            "EffectiveCost": "2.5",
        });
        let record = billing(base.clone()).unwrap().unwrap();
        assert_eq!(record.cost, 2.5);
        assert_eq!(record.provider, Provider::Gcp);
        assert_eq!(record.time.to_rfc3339(), "2024-09-18T00:00:00+00:00");
        assert_eq!(record.source.record, 7);

        let mut both = base;
        both["BilledCost"] = json!("3.75");
        assert_eq!(billing(both).unwrap().unwrap().cost, 3.75);
    }

    #[test]
    fn rows_without_cost_or_provider_say_which_field() {
        let no_cost = json!({
            "ChargePeriodStart": "2024-09-18 22:00:00",
            "ProviderName": "AWS",
            "BillingCurrency": "USD",
        });
        assert_eq!(
            billing(no_cost),
            Some(Err(RecordError::MissingField("BilledCost")))
        );
        let no_provider = json!({"ChargePeriodStart": "2024-09-18", "BilledCost": "1"});
        assert_eq!(
            billing(no_provider),
            Some(Err(RecordError::MissingField("ProviderName")))
        );
        let bad_cost =
            json!({"ChargePeriodStart": "2024-09-18", "BilledCost": "free", "ProviderName": "AWS"});
        assert!(matches!(
            billing(bad_cost),
            Some(Err(RecordError::BadField {
                field: "BilledCost",
                ..
            }))
        ));
        let bad_time =
            json!({"ChargePeriodStart": "September", "BilledCost": "1", "ProviderName": "AWS"});
        assert!(matches!(
            billing(bad_time),
            Some(Err(RecordError::BadField {
                field: "ChargePeriodStart",
                ..
            }))
        ));
    }

    #[test]
    fn focus_1_2_provider_column() {
        let row = json!({
            "ChargePeriodStart": "2024-09-18",
            "BilledCost": "1",
            "ServiceProviderName": "Microsoft",
        });
        assert_eq!(billing(row).unwrap().unwrap().provider, Provider::Azure);
    }

    #[test]
    fn other_formats_are_not_claimed() {
        assert!(billing(json!({"BilledCost": "1", "ProviderName": "AWS"})).is_none());
        assert!(billing(json!({"ChargePeriodStart": "2024-09-18"})).is_none());
        assert!(billing(json!({"Date": "2024-09-18", "CostInBillingCurrency": "1"})).is_none());
        assert!(billing(json!({"lineItem/UsageStartDate": "2024-09-18"})).is_none());
    }
}
