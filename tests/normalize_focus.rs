//! The FOCUS fixture (`fixtures/focus/focus-sample.csv`), normalized end to end: every row is
//! mapped, each compared field by field.

use std::path::{Path, PathBuf};

use auditsweep::normalize::normalize_paths;
use auditsweep::schema::{BillingCategory, BillingRecord, Provider, Record, SourceRef};
use chrono::{DateTime, Utc};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/focus/focus-sample.csv")
}

fn utc(raw: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(raw)
        .expect("test timestamp")
        .with_timezone(&Utc)
}

fn source(record: u64) -> SourceRef {
    SourceRef {
        file: fixture().display().to_string().into(),
        record,
    }
}

fn some(text: &str) -> Option<String> {
    Some(text.to_string())
}

fn rows() -> Vec<BillingRecord> {
    let mut records = Vec::new();
    let summary = normalize_paths(&[fixture()], &mut |record| records.push(record));
    assert_eq!(summary.skipped, 0, "skipped: {:?}", summary.skip_examples);
    assert_eq!(summary.events, 0);
    assert_eq!(summary.billing_rows, 4);
    assert!(summary.reconciles());
    records
        .into_iter()
        .map(|record| match record {
            Record::Billing(row) => row,
            Record::Event(event) => panic!("unexpected event {event:?}"),
        })
        .collect()
}

#[test]
fn aws_row_uses_billed_cost() {
    let expected = BillingRecord {
        time: utc("2024-09-18T00:00:00Z"),
        provider: Provider::Aws,
        tenant: some("111122223333"),
        account: some("444455556666"),
        category: BillingCategory::Billing,
        service: some("Amazon Elastic Compute Cloud"),
        // BilledCost 12.48, not EffectiveCost 12.24.
        cost: 12.48,
        currency: some("USD"),
        source: source(1),
    };
    assert_eq!(rows()[0], expected);
}

#[test]
fn azure_row_keeps_the_bare_subscription_id() {
    let expected = BillingRecord {
        time: utc("2024-09-18T00:00:00Z"),
        provider: Provider::Azure,
        tenant: some("/providers/Microsoft.Billing/billingAccounts/12345678"),
        account: some("00000000-0000-0000-0000-0000000000a1"),
        category: BillingCategory::Billing,
        service: some("Virtual Machines"),
        cost: 3.12,
        currency: some("EUR"),
        source: source(2),
    };
    assert_eq!(rows()[1], expected);
}

#[test]
fn google_cloud_row() {
    let expected = BillingRecord {
        time: utc("2024-09-20T00:00:00Z"),
        provider: Provider::Gcp,
        tenant: some("012345-6789AB-CDEF01"),
        account: some("example-prod-481516"),
        category: BillingCategory::Billing,
        service: some("Compute Engine"),
        cost: 0.73,
        currency: some("USD"),
        source: source(3),
    };
    assert_eq!(rows()[2], expected);
}

#[test]
fn credit_row_is_a_negative_cost_on_its_charge_period_start() {
    let expected = BillingRecord {
        time: utc("2024-09-01T00:00:00Z"),
        provider: Provider::Aws,
        tenant: some("111122223333"),
        account: some("444455556666"),
        category: BillingCategory::Billing,
        service: some("AWS Promotional Credits"),
        cost: -5.0,
        currency: some("USD"),
        source: source(4),
    };
    assert_eq!(rows()[3], expected);
}
