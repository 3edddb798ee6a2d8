//! GCP fixtures (`fixtures/gcp/`), normalized end to end: every record of every file is mapped
//! (none skipped), and one or more records per format are compared field by field.

use std::path::{Path, PathBuf};

use auditsweep::normalize::{normalize_paths, InputSummary};
use auditsweep::schema::{
    BillingCategory, BillingRecord, Category, Event, Outcome, Provider, Record, Resource,
    SourceRef, OCSF_API_ACTIVITY, OCSF_AUTHENTICATION,
};
use chrono::{DateTime, Utc};

const PROJECT: &str = "example-prod-481516";
const ORGANIZATION: &str = "123456789012";
const GCLOUD_AGENT: &str = "google-cloud-sdk gcloud/489.0.0 command/gcloud.compute.instances.create invocation-id/0f1e2d3c4b5a69788796a5b4c3d2e1f0 environment/None environment-version/None client-os/LINUX client-os-ver/6.8.0 client-pltf-arch/x86_64 interactive/False from-script/True python/3.12.3 term/ (Linux 6.8.0),gzip(gfe)";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/gcp")
        .join(name)
}

/// Normalizes one fixture, insisting that nothing was skipped.
fn normalize(name: &str) -> (Vec<Record>, InputSummary) {
    let mut records = Vec::new();
    let summary = normalize_paths(&[fixture(name)], &mut |record| {
        records.push(without_event_id(record))
    });
    assert_eq!(
        summary.skipped, 0,
        "{name}: skipped records: {:?}",
        summary.skip_examples
    );
    assert!(
        summary.unreadable.is_empty(),
        "{name}: {:?}",
        summary.unreadable
    );
    assert!(summary.reconciles(), "{name}: the ledger does not balance");
    (records, summary)
}

fn events(name: &str) -> Vec<Event> {
    let (records, summary) = normalize(name);
    assert_eq!(summary.billing_rows, 0, "{name}");
    records
        .into_iter()
        .map(|record| match record {
            Record::Event(event) => *event,
            Record::Billing(row) => panic!("{name}: unexpected billing row {row:?}"),
        })
        .collect()
}

fn billing_rows(name: &str) -> Vec<BillingRecord> {
    let (records, summary) = normalize(name);
    assert_eq!(summary.events, 0, "{name}");
    records
        .into_iter()
        .map(|record| match record {
            Record::Billing(row) => row,
            Record::Event(event) => panic!("{name}: unexpected event {event:?}"),
        })
        .collect()
}

fn utc(raw: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(raw)
        .expect("test timestamp")
        .with_timezone(&Utc)
}

fn source(name: &str, record: u64) -> SourceRef {
    SourceRef {
        file: fixture(name).display().to_string().into(),
        record,
    }
}

fn some(text: &str) -> Option<String> {
    Some(text.to_string())
}

#[test]
fn gcloud_array_insert_first_entry_has_the_request_but_no_outcome() {
    let name = "audit-log-array.json";
    let events = events(name);
    assert_eq!(events.len(), 4);
    let expected = Event {
        event_id: None,
        time: utc("2024-09-18T22:05:00.224596Z"),
        provider: Provider::Gcp,
        tenant: some(PROJECT),
        account: some(PROJECT),
        region: some("us-central1"),
        category: Category::Provision,
        class_uid: OCSF_API_ACTIVITY,
        operation: "v1.compute.instances.insert".into(),
        principal: some("deploy-bot@example-prod-481516.iam.gserviceaccount.com"),
        src_ip: some("203.0.113.45"),
        user_agent: some(GCLOUD_AGENT),
        outcome: None,
        reason: some("operation started"),
        resource: Resource {
            kind: some("gce_instance"),
            id: some("projects/example-prod-481516/zones/us-central1-a/instances/gpu-worker-1"),
            instance_type: some("n1-standard-8"),
            instance_count: Some(1),
            mfa: None,
            location: some("us-central1-a"),
        },
        source: source(name, 1),
    };
    assert_eq!(events[0], expected);
}

#[test]
fn gcloud_array_insert_last_entry_carries_the_outcome() {
    let name = "audit-log-array.json";
    let last = &events(name)[1];
    assert_eq!(last.time, utc("2024-09-18T22:05:13.907212Z"));
    assert_eq!(last.operation, "v1.compute.instances.insert");
    assert_eq!(last.category, Category::Provision);
    assert_eq!(last.outcome, Some(Outcome::Success));
    assert_eq!(last.reason, None);
    // The last entry's request is a stub: no machine type, still one instance.
    assert_eq!(last.resource.instance_type, None);
    assert_eq!(last.resource.instance_count, Some(1));
    assert_eq!(
        last.resource.id.as_deref(),
        Some("projects/example-prod-481516/zones/us-central1-a/instances/gpu-worker-1")
    );
    assert_eq!(last.source, source(name, 2));
}

#[test]
fn gcloud_array_failed_insert() {
    let name = "audit-log-array.json";
    let expected = Event {
        event_id: None,
        time: utc("2024-09-19T03:12:44.061520Z"),
        provider: Provider::Gcp,
        tenant: some(PROJECT),
        account: some(PROJECT),
        region: some("europe-west4"),
        category: Category::Provision,
        class_uid: OCSF_API_ACTIVITY,
        operation: "v1.compute.instances.insert".into(),
        principal: some("intern@example.com"),
        src_ip: some("198.51.100.23"),
        user_agent: some("python-requests/2.32.3"),
        outcome: Some(Outcome::Failure),
        reason: some("7: Required 'compute.instances.create' permission for 'projects/example-prod-481516/zones/europe-west4-a/instances/miner-01'"),
        resource: Resource {
            kind: some("gce_instance"),
            id: some("projects/example-prod-481516/zones/europe-west4-a/instances/miner-01"),
            instance_type: some("a2-highgpu-8g"),
            instance_count: Some(1),
            mfa: None,
            location: some("europe-west4-a"),
        },
        source: source(name, 3),
    };
    assert_eq!(events(name)[2], expected);
}

#[test]
fn gcloud_array_organization_entry_names_the_organization() {
    let name = "audit-log-array.json";
    let expected = Event {
        event_id: None,
        time: utc("2024-09-18T20:00:01.734820Z"),
        provider: Provider::Gcp,
        tenant: some(ORGANIZATION),
        account: None,
        region: None,
        category: Category::Api,
        class_uid: OCSF_API_ACTIVITY,
        operation: "SetIamPolicy".into(),
        principal: some("admin@example.com"),
        src_ip: some("2001:db8::17"),
        user_agent: some("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 Safari/537.36,gzip(gfe)"),
        outcome: Some(Outcome::Success),
        reason: None,
        resource: Resource {
            kind: some("organization"),
            id: some("organizations/123456789012"),
            ..Resource::default()
        },
        source: source(name, 4),
    };
    assert_eq!(events(name)[3], expected);
}

#[test]
fn sink_export_bulk_insert_pair() {
    let name = "audit-log-sink.ndjson";
    let events = events(name);
    assert_eq!(events.len(), 4);
    let expected_first = Event {
        event_id: None,
        time: utc("2024-09-19T10:00:00.390112Z"),
        provider: Provider::Gcp,
        tenant: some(PROJECT),
        account: some(PROJECT),
        region: some("us-east1"),
        category: Category::Provision,
        class_uid: OCSF_API_ACTIVITY,
        operation: "beta.compute.instances.bulkInsert".into(),
        principal: some("ci-runner@example-prod-481516.iam.gserviceaccount.com"),
        src_ip: some("198.51.100.77"),
        user_agent: some("google-api-go-client/0.5 Terraform/1.9.5 (+https://www.terraform.io) Terraform-Plugin-SDK/2.33.0 terraform-provider-google/6.3.0,gzip(gfe)"),
        outcome: None,
        reason: some("operation started"),
        resource: Resource {
            kind: some("gce_instance"),
            id: some("projects/example-prod-481516/zones/us-east1-b/instances"),
            instance_type: some("n2-standard-16"),
            instance_count: Some(4),
            mfa: None,
            location: some("us-east1-b"),
        },
        source: source(name, 1),
    };
    assert_eq!(events[0], expected_first);

    let last = &events[1];
    assert_eq!(last.operation, "beta.compute.instances.bulkInsert");
    assert_eq!(last.outcome, Some(Outcome::Success));
    assert_eq!(last.reason, None);
    assert_eq!(last.user_agent, None);
    assert_eq!(last.resource.instance_type, None);
    assert_eq!(last.resource.instance_count, None);
    assert_eq!(last.resource.id, expected_first.resource.id);
}

#[test]
fn sink_export_resize_and_non_address_callers() {
    let name = "audit-log-sink.ndjson";
    let events = events(name);

    let resize = &events[2];
    assert_eq!(resize.operation, "v1.compute.instanceGroupManagers.resize");
    assert_eq!(resize.category, Category::Provision);
    assert_eq!(resize.region.as_deref(), Some("us-east1"));
    assert_eq!(resize.resource.location.as_deref(), Some("us-east1-b"));
    assert_eq!(resize.src_ip, None, "callerIp `private` is not an address");
    assert_eq!(resize.user_agent.as_deref(), Some("GCE Autoscaler"));
    assert_eq!(resize.outcome, Some(Outcome::Success));
    assert_eq!(
        resize.resource.kind.as_deref(),
        Some("gce_instance_group_manager")
    );
    assert_eq!(resize.resource.instance_count, Some(12));
    assert_eq!(resize.resource.instance_type, None);

    let folder = &events[3];
    assert_eq!(folder.category, Category::Api);
    assert_eq!(
        folder.operation,
        "google.cloud.resourcemanager.v3.Folders.UpdateFolder"
    );
    assert_eq!(folder.tenant, None, "a folder log names no organization");
    assert_eq!(folder.account, None);
    assert_eq!(folder.src_ip, None, "callerIp `gce-internal-ip`");
    assert_eq!(folder.resource.id.as_deref(), Some("folders/345678901234"));
    assert_eq!(folder.source, source(name, 4));
}

#[test]
fn entries_list_page() {
    let name = "entries-list-page.json";
    let events = events(name);
    assert_eq!(events.len(), 2);
    let expected = Event {
        event_id: None,
        time: utc("2024-09-20T01:02:03.456789Z"),
        provider: Provider::Gcp,
        tenant: some(PROJECT),
        account: some(PROJECT),
        region: some("asia-southeast1"),
        category: Category::Provision,
        class_uid: OCSF_API_ACTIVITY,
        operation: "beta.compute.instances.insert".into(),
        principal: some("ops@example.com"),
        src_ip: some("2001:db8::42"),
        user_agent: some("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Safari/605.1.15,gzip(gfe)"),
        outcome: Some(Outcome::Success),
        reason: None,
        resource: Resource {
            kind: some("gce_instance"),
            id: some("projects/example-prod-481516/zones/asia-southeast1-c/instances/tmp-builder"),
            instance_type: some("e2-medium"),
            instance_count: Some(1),
            mfa: None,
            location: some("asia-southeast1-c"),
        },
        source: source(name, 1),
    };
    assert_eq!(events[0], expected);

    let read = &events[1];
    assert_eq!(read.operation, "storage.objects.get");
    assert_eq!(read.category, Category::Api);
    assert_eq!(read.region.as_deref(), Some("us"));
    assert_eq!(read.resource.kind.as_deref(), Some("gcs_bucket"));
    assert_eq!(read.outcome, Some(Outcome::Success));
}

#[test]
fn workspace_login_failure_and_success() {
    let name = "workspace-login.ndjson";
    let events = events(name);
    assert_eq!(events.len(), 2);
    let failure = Event {
        event_id: None,
        time: utc("2024-09-18T21:39:58.123456Z"),
        provider: Provider::Gcp,
        tenant: some(ORGANIZATION),
        account: None,
        region: None,
        category: Category::Login,
        class_uid: OCSF_AUTHENTICATION,
        operation: "google.login.LoginService.loginFailure".into(),
        principal: some("alex@example.com"),
        src_ip: some("203.0.113.66"),
        user_agent: None,
        outcome: Some(Outcome::Failure),
        reason: some("login_failure_invalid_password"),
        resource: Resource {
            kind: some("google:workspace"),
            mfa: Some(false),
            ..Resource::default()
        },
        source: source(name, 1),
    };
    assert_eq!(events[0], failure);

    let success = Event {
        time: utc("2024-09-18T21:40:01.654321Z"),
        operation: "google.login.LoginService.loginSuccess".into(),
        src_ip: some("2001:db8:ffff::9"),
        outcome: Some(Outcome::Success),
        reason: None,
        resource: Resource {
            kind: some("google:workspace"),
            mfa: Some(true),
            ..Resource::default()
        },
        source: source(name, 2),
        ..failure
    };
    assert_eq!(events[1], success);
}

#[test]
fn billing_export_ndjson() {
    let name = "billing-export.ndjson";
    let rows = billing_rows(name);
    assert_eq!(rows.len(), 3);
    let compute = BillingRecord {
        time: utc("2024-09-18T00:00:00Z"),
        provider: Provider::Gcp,
        tenant: some(ORGANIZATION),
        account: some(PROJECT),
        category: BillingCategory::Billing,
        service: some("Compute Engine"),
        cost: 1.52,
        currency: some("USD"),
        source: source(name, 1),
    };
    assert_eq!(rows[0], compute);

    // A project outside any organization is its own tenant; cost is before the credit.
    let trial = BillingRecord {
        time: utc("2024-09-19T00:00:00Z"),
        tenant: some("example-trial-42"),
        account: some("example-trial-42"),
        cost: 29.39,
        source: source(name, 2),
        ..compute.clone()
    };
    assert_eq!(rows[1], trial);

    let storage = BillingRecord {
        service: some("Cloud Storage"),
        cost: 0.004213,
        source: source(name, 3),
        ..compute
    };
    assert_eq!(rows[2], storage);
}

#[test]
fn billing_export_csv_with_dotted_headers() {
    let name = "billing-export.csv";
    let rows = billing_rows(name);
    assert_eq!(rows.len(), 3);
    let expected = BillingRecord {
        time: utc("2024-09-20T00:00:00Z"),
        provider: Provider::Gcp,
        tenant: some(ORGANIZATION),
        account: some(PROJECT),
        category: BillingCategory::Billing,
        service: some("Compute Engine"),
        cost: 0.021811,
        currency: some("USD"),
        source: source(name, 1),
    };
    assert_eq!(rows[0], expected);
    // An empty ancestry cell: the project is the tenant.
    assert_eq!(rows[1].tenant.as_deref(), Some("example-trial-42"));
    assert_eq!(rows[1].cost, 29.39);
    assert_eq!(rows[2].service.as_deref(), Some("Networking"));
    assert_eq!(rows[2].cost, 0.0);
}

/// The expectations here are of every other field; `tests/event_ids.rs` checks each format's
/// event id against its fixtures.
fn without_event_id(mut record: Record) -> Record {
    if let Record::Event(event) = &mut record {
        event.event_id = None;
    }
    record
}
