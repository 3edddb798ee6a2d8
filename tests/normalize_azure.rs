//! Every Azure fixture read through the public normalizer, record by record: each file must
//! normalize completely (zero skips), and at least one record of each format is compared field by
//! field with what the fixture says.

use std::path::PathBuf;

use auditsweep::normalize::{normalize_paths, InputSummary};
use auditsweep::schema::{
    BillingCategory, BillingRecord, Category, Event, Outcome, Provider, Record, Resource, SourceRef,
};
use chrono::{DateTime, Utc};

const TENANT: &str = "7d3b4b5e-1f2a-4c3d-9e8f-0a1b2c3d4e5f";
const SUBSCRIPTION: &str = "5f2c8a61-3d4e-4b7a-9c1d-2e3f4a5b6c7d";

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/azure")
        .join(name)
}

/// Reads one fixture and checks the ledger: every record read became a record, none skipped.
fn read(name: &str, expected_records: u64) -> Vec<Record> {
    let mut records = Vec::new();
    let summary: InputSummary =
        normalize_paths(&[fixture(name)], &mut |r| records.push(without_event_id(r)));
    assert_eq!(summary.skipped, 0, "{name}: {:#?}", summary.skip_examples);
    assert_eq!(summary.records_read, expected_records, "{name}");
    assert_eq!(records.len() as u64, expected_records, "{name}");
    assert!(records.iter().all(|r| *r.provider() == Provider::Azure));
    records
}

fn event(records: &[Record], number: u64) -> &Event {
    match records.iter().find(|r| r.source().record == number) {
        Some(Record::Event(event)) => event,
        other => panic!("record {number} is not an event: {other:?}"),
    }
}

fn billing(records: &[Record], number: u64) -> &BillingRecord {
    match records.iter().find(|r| r.source().record == number) {
        Some(Record::Billing(row)) => row,
        other => panic!("record {number} is not a billing row: {other:?}"),
    }
}

fn utc(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339)
        .expect("test timestamp")
        .with_timezone(&Utc)
}

fn source(name: &str, record: u64) -> SourceRef {
    SourceRef {
        file: fixture(name).display().to_string().into(),
        record,
    }
}

fn some(value: &str) -> Option<String> {
    Some(value.to_string())
}

#[test]
fn activity_log_rest_provisioning_pair_and_failure() {
    let name = "activity-log-rest.json";
    let records = read(name, 4);
    let vm = "/subscriptions/5f2c8a61-3d4e-4b7a-9c1d-2e3f4a5b6c7d/resourceGroups/rg-batch-eastus/providers/Microsoft.Compute/virtualMachines/render-node-07";
    let started = Event {
        event_id: None,
        time: utc("2024-03-02T10:15:03.4567890Z"),
        provider: Provider::Azure,
        tenant: some(TENANT),
        account: some(SUBSCRIPTION),
        region: some("eastus"),
        category: Category::Provision,
        class_uid: 6003,
        operation: "Microsoft.Compute/virtualMachines/write".into(),
        principal: some("mallory@contoso.example"),
        src_ip: some("203.0.113.45"),
        user_agent: None,
        outcome: None,
        reason: some("Started"),
        resource: Resource {
            kind: some("Microsoft.Compute/virtualMachines"),
            id: some(vm),
            instance_type: some("Standard_NC24ads_A100_v4"),
            instance_count: Some(1),
            mfa: None,
            location: None,
        },
        source: source(name, 1),
    };
    assert_eq!(*event(&records, 1), started);

    // The completion record has no request body; size and region come from the response body.
    let succeeded = Event {
        time: utc("2024-03-02T10:15:41.7654321Z"),
        outcome: Some(Outcome::Success),
        reason: None,
        source: source(name, 2),
        ..started.clone()
    };
    assert_eq!(*event(&records, 2), succeeded);

    let failed = event(&records, 3);
    assert_eq!(failed.category, Category::Provision);
    assert_eq!(failed.outcome, Some(Outcome::Failure));
    assert_eq!(
        failed.reason.as_deref(),
        Some("Failed: Conflict: SkuNotAvailable: The requested VM size for resource 'Following SKUs have failed for Capacity Restrictions: Standard_NC24ads_A100_v4' is currently not available in location 'eastus'. Please try another size or deploy t…")
    );
    assert_eq!(failed.resource.instance_type, None);
    assert_eq!(failed.resource.instance_count, Some(1));
    assert_eq!(failed.region, None);

    let nsg = event(&records, 4);
    assert_eq!((nsg.category, nsg.class_uid), (Category::Api, 6003));
    assert_eq!(
        nsg.resource.kind.as_deref(),
        Some("Microsoft.Network/networkSecurityGroups")
    );
    assert_eq!(
        (
            nsg.resource.instance_type.as_ref(),
            nsg.resource.instance_count
        ),
        (None, None)
    );
}

#[test]
fn activity_log_diagnostic_export_records_envelope() {
    let name = "activity-log-diagnostic.json";
    let records = read(name, 2);
    let scale_set = "/SUBSCRIPTIONS/5F2C8A61-3D4E-4B7A-9C1D-2E3F4A5B6C7D/RESOURCEGROUPS/RG-BUILD-WESTUS2/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINESCALESETS/BUILD-AGENTS";
    let started = Event {
        event_id: None,
        time: utc("2024-03-03T22:40:11.1234567Z"),
        provider: Provider::Azure,
        // The export names no directory; the token's tenant claim is the caller's, not the log's.
        tenant: None,
        // Read from the uppercased resource id, lowercased.
        account: some(SUBSCRIPTION),
        region: some("westus2"),
        category: Category::Provision,
        class_uid: 6003,
        operation: "MICROSOFT.COMPUTE/VIRTUALMACHINESCALESETS/WRITE".into(),
        principal: some("alice@contoso.example"),
        src_ip: some("198.51.100.23"),
        user_agent: None,
        outcome: None,
        reason: some("Started"),
        resource: Resource {
            kind: some("Microsoft.Compute/virtualMachineScaleSets"),
            id: some(scale_set),
            instance_type: some("Standard_F72s_v2"),
            instance_count: Some(20),
            mfa: None,
            location: None,
        },
        source: source(name, 1),
    };
    assert_eq!(*event(&records, 1), started);
    let succeeded = event(&records, 2);
    assert_eq!(succeeded.outcome, Some(Outcome::Success));
    assert_eq!(succeeded.reason, None);
    assert_eq!(succeeded.resource, started.resource);
}

#[test]
fn activity_log_diagnostic_export_json_lines() {
    let name = "activity-log-diagnostic.ndjson";
    let records = read(name, 2);
    let quota = event(&records, 1);
    assert_eq!(quota.time, utc("2024-03-03T23:05:44Z"));
    assert_eq!(quota.category, Category::Provision);
    assert_eq!(quota.outcome, Some(Outcome::Failure));
    let reason = quota.reason.as_deref().unwrap();
    assert!(
        reason.starts_with("Failed: Conflict: OperationNotAllowed: Operation could not be completed as it results in exceeding approved standardNCADSA100v4Family Cores quota."),
        "{reason}"
    );
    assert!(reason.ends_with('…'), "long messages are cut: {reason}");
    assert_eq!(quota.region.as_deref(), Some("eastus"));
    assert_eq!(
        quota.resource.instance_type.as_deref(),
        Some("Standard_NC24ads_A100_v4")
    );
    assert_eq!(quota.source, source(name, 1));

    let role = event(&records, 2);
    assert_eq!(role.category, Category::Api);
    assert_eq!(
        role.operation,
        "MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE"
    );
    assert_eq!(role.outcome, Some(Outcome::Success));
    assert_eq!(role.account.as_deref(), Some(SUBSCRIPTION));
    assert_eq!(role.principal.as_deref(), Some("alice@contoso.example"));
}

#[test]
fn entra_sign_ins_from_graph() {
    let name = "entra-signins-graph.json";
    let records = read(name, 3);
    let success = Event {
        event_id: None,
        time: utc("2024-03-01T08:12:44Z"),
        provider: Provider::Azure,
        tenant: some(TENANT),
        account: None,
        region: None,
        category: Category::Login,
        class_uid: 3002,
        operation: "signIn".into(),
        principal: some("alice@contoso.example"),
        src_ip: some("198.51.100.23"),
        user_agent: some("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36 Edg/122.0.0.0"),
        outcome: Some(Outcome::Success),
        reason: None,
        resource: Resource {
            kind: some("application"),
            id: some("Azure Portal"),
            instance_type: None,
            instance_count: None,
            mfa: Some(true),
            location: some("Amsterdam, NL"),
        },
        source: source(name, 1),
    };
    assert_eq!(*event(&records, 1), success);

    let bad_password = event(&records, 2);
    assert_eq!(
        bad_password.principal.as_deref(),
        Some("mallory@contoso.example")
    );
    assert_eq!(bad_password.src_ip.as_deref(), Some("203.0.113.45"));
    assert_eq!(bad_password.outcome, Some(Outcome::Failure));
    assert_eq!(
        bad_password.reason.as_deref(),
        Some("50126: Invalid username or password or Invalid on-premise username or password.")
    );
    assert_eq!(bad_password.resource.mfa, Some(false));
    assert_eq!(
        bad_password.resource.location.as_deref(),
        Some("Frankfurt am Main, DE")
    );

    let mfa_interrupt = event(&records, 3);
    assert_eq!(mfa_interrupt.outcome, Some(Outcome::Failure));
    assert_eq!(
        mfa_interrupt.reason.as_deref(),
        Some("50074: Strong Authentication is required.")
    );
    assert_eq!(mfa_interrupt.resource.mfa, Some(true));
}

#[test]
fn entra_sign_ins_from_the_diagnostic_export() {
    let name = "entra-signins-diagnostic.json";
    let records = read(name, 2);
    let failure = Event {
        event_id: None,
        time: utc("2024-03-04T07:52:39Z"),
        provider: Provider::Azure,
        tenant: some(TENANT),
        account: None,
        region: None,
        category: Category::Login,
        class_uid: 3002,
        operation: "Sign-in activity".into(),
        principal: some("mallory@contoso.example"),
        src_ip: some("203.0.113.61"),
        user_agent: some("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36"),
        outcome: Some(Outcome::Failure),
        reason: some("50126: Invalid username or password or Invalid on-premise username or password."),
        resource: Resource {
            kind: some("application"),
            id: some("Azure Portal"),
            instance_type: None,
            instance_count: None,
            mfa: Some(false),
            location: some("Bucharest, RO"),
        },
        source: source(name, 2),
    };
    assert_eq!(*event(&records, 2), failure);
    let success = event(&records, 1);
    assert_eq!(success.outcome, Some(Outcome::Success));
    assert_eq!(success.reason, None);
    assert_eq!(success.principal.as_deref(), Some("alice@contoso.example"));
}

#[test]
fn sentinel_signinlogs_as_json() {
    let name = "sentinel-signinlogs.json";
    let records = read(name, 2);
    let interrupted = Event {
        event_id: None,
        time: utc("2024-03-05T13:41:52.987Z"),
        provider: Provider::Azure,
        // AADTenantId; the TenantId column is the workspace and must not appear here.
        tenant: some(TENANT),
        account: None,
        region: None,
        category: Category::Login,
        class_uid: 3002,
        operation: "Sign-in activity".into(),
        principal: some("alice@contoso.example"),
        src_ip: some("203.0.113.88"),
        user_agent: some("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36"),
        outcome: Some(Outcome::Failure),
        reason: some("50074: Strong Authentication is required."),
        resource: Resource {
            kind: some("application"),
            id: some("Azure Portal"),
            instance_type: None,
            instance_count: None,
            mfa: Some(true),
            location: some("Singapore, SG"),
        },
        source: source(name, 2),
    };
    assert_eq!(*event(&records, 2), interrupted);
    assert_eq!(event(&records, 1).outcome, Some(Outcome::Success));
}

#[test]
fn sentinel_signinlogs_as_portal_csv() {
    let name = "sentinel-signinlogs.csv";
    let records = read(name, 3);
    let spray = event(&records, 1);
    // "3/6/2024, 2:10:00.500 AM" under the header "TimeGenerated [UTC]".
    assert_eq!(spray.time, utc("2024-03-06T02:10:00.500Z"));
    assert_eq!(spray.tenant.as_deref(), Some(TENANT));
    assert_eq!(spray.category, Category::Login);
    assert_eq!(spray.class_uid, 3002);
    assert_eq!(spray.operation, "Sign-in activity");
    assert_eq!(spray.principal.as_deref(), Some("bob@contoso.example"));
    assert_eq!(spray.src_ip.as_deref(), Some("203.0.113.45"));
    assert_eq!(spray.outcome, Some(Outcome::Failure));
    assert_eq!(
        spray.reason.as_deref(),
        Some("50126: Invalid username or password or Invalid on-premise username or password.")
    );
    // LocationDetails arrives as JSON text in a CSV cell.
    assert_eq!(
        spray.resource.location.as_deref(),
        Some("Frankfurt am Main, DE")
    );
    assert_eq!(spray.resource.mfa, Some(false));
    assert_eq!(spray.source, source(name, 1));

    let locked = event(&records, 2);
    assert_eq!(locked.principal.as_deref(), Some("carol@contoso.example"));
    assert!(locked.reason.as_deref().unwrap().starts_with("50053: "));

    let success = event(&records, 3);
    assert_eq!(success.outcome, Some(Outcome::Success));
    assert_eq!(success.reason, None);
}

#[test]
fn sentinel_azureactivity_as_csv() {
    let name = "sentinel-azureactivity.csv";
    let records = read(name, 3);
    let vm = "/subscriptions/5f2c8a61-3d4e-4b7a-9c1d-2e3f4a5b6c7d/resourcegroups/rg-gpu-southcentralus/providers/microsoft.compute/virtualmachines/gpu-01";
    let started = Event {
        event_id: None,
        time: utc("2024-03-07T01:02:03.456Z"),
        provider: Provider::Azure,
        // AzureActivity names no directory (its TenantId is the workspace).
        tenant: None,
        account: some(SUBSCRIPTION),
        region: some("southcentralus"),
        category: Category::Provision,
        class_uid: 6003,
        operation: "MICROSOFT.COMPUTE/VIRTUALMACHINES/WRITE".into(),
        principal: some("mallory@contoso.example"),
        src_ip: some("203.0.113.99"),
        user_agent: None,
        outcome: None,
        reason: some("Started"),
        resource: Resource {
            kind: some("Microsoft.Compute/virtualMachines"),
            id: some(vm),
            instance_type: some("Standard_ND96asr_v4"),
            instance_count: Some(1),
            mfa: None,
            location: None,
        },
        source: source(name, 1),
    };
    assert_eq!(*event(&records, 1), started);

    let denied = event(&records, 2);
    assert_eq!(denied.outcome, Some(Outcome::Failure));
    assert!(
        denied
            .reason
            .as_deref()
            .unwrap()
            .starts_with("Failed: Forbidden: RequestDisallowedByPolicy: Resource 'gpu-01' was disallowed by policy."),
        "{:?}",
        denied.reason
    );

    let public_ip = event(&records, 3);
    assert_eq!(public_ip.category, Category::Api);
    assert_eq!(public_ip.outcome, Some(Outcome::Success));
}

#[test]
fn cost_management_query_rows() {
    let name = "cost-query.json";
    let records = read(name, 4);
    assert_eq!(
        *billing(&records, 4),
        BillingRecord {
            time: utc("2024-03-03T00:00:00Z"),
            provider: Provider::Azure,
            tenant: None,
            // From the response id `subscriptions/<id>/providers/Microsoft.CostManagement/...`.
            account: some(SUBSCRIPTION),
            category: BillingCategory::Billing,
            service: some("Virtual Machines"),
            cost: 1874.88,
            currency: some("USD"),
            source: source(name, 4),
        }
    );
    assert_eq!(billing(&records, 2).service.as_deref(), Some("Bandwidth"));
    assert_eq!(billing(&records, 2).cost, 0.4312);
}

#[test]
fn cost_management_export_ea_columns() {
    let name = "cost-export.csv";
    let records = read(name, 3);
    assert_eq!(
        *billing(&records, 2),
        BillingRecord {
            time: utc("2024-03-02T00:00:00Z"),
            provider: Provider::Azure,
            tenant: None,
            account: some(SUBSCRIPTION),
            category: BillingCategory::Billing,
            service: some("Virtual Machines"),
            cost: 50.13645,
            currency: some("USD"),
            source: source(name, 2),
        }
    );
}

#[test]
fn cost_management_export_mca_columns() {
    let name = "cost-export-mca.csv";
    let records = read(name, 2);
    assert_eq!(
        *billing(&records, 1),
        BillingRecord {
            time: utc("2024-03-04T00:00:00Z"),
            provider: Provider::Azure,
            tenant: None,
            account: some("9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"),
            category: BillingCategory::Billing,
            service: some("Virtual Machines"),
            // costInBillingCurrency in billingCurrency, not the costInUsd column beside it.
            cost: 4.6224,
            currency: some("EUR"),
            source: source(name, 1),
        }
    );
}

#[test]
fn the_whole_directory_reads_without_skips() {
    let mut records = Vec::new();
    let summary = normalize_paths(&[fixture("")], &mut |r| records.push(r));
    assert_eq!(summary.files, 16);
    assert_eq!(summary.skipped, 0, "{:#?}", summary.skip_examples);
    assert_eq!(summary.events, 21 + 3 + 2 + 3 + 2 + 3);
    assert_eq!(summary.billing_rows, 9);
}

/// An `Event` of the Entra directory: API activity with no subscription or region.
fn directory_event(time: &str, operation: &str, principal: &str, source: SourceRef) -> Event {
    Event {
        event_id: None,
        time: utc(time),
        provider: Provider::Azure,
        tenant: some(TENANT),
        account: None,
        region: None,
        category: Category::Api,
        class_uid: 6003,
        operation: operation.into(),
        principal: some(principal),
        src_ip: None,
        user_agent: None,
        outcome: Some(Outcome::Success),
        reason: None,
        resource: Resource::default(),
        source,
    }
}

#[test]
fn entra_directory_audits_from_the_diagnostic_export() {
    let name = "entra-audits-diagnostic.json";
    let records = read(name, 3);
    let added = Event {
        src_ip: some("203.0.113.45"),
        resource: Resource {
            kind: some("User"),
            id: some("svc-backup7@contoso.example"),
            ..Resource::default()
        },
        ..directory_event(
            "2024-03-04T02:11:09.412Z",
            "Add user",
            "mallory@contoso.example",
            source(name, 1),
        )
    };
    assert_eq!(*event(&records, 1), added);
    // Envelope category `Policy` is also an Activity Log category: still a directory audit.
    let policy = Event {
        src_ip: some("203.0.113.45"),
        outcome: Some(Outcome::Failure),
        reason: some("Failure: Insufficient privileges to complete the operation."),
        resource: Resource {
            kind: some("Policy"),
            id: some("Require MFA for admins"),
            ..Resource::default()
        },
        ..directory_event(
            "2024-03-04T02:14:51.077Z",
            "Update conditional access policy",
            "mallory@contoso.example",
            source(name, 2),
        )
    };
    assert_eq!(*event(&records, 2), policy);
    // An app changed it: named by its display name, and `<null>` is no address.
    let credential = Event {
        resource: Resource {
            kind: some("Application"),
            id: some("render-farm-api"),
            ..Resource::default()
        },
        ..directory_event(
            "2024-03-04T02:20:33.5Z",
            "Update application - Certificates and secrets management",
            "deploy-pipeline",
            source(name, 3),
        )
    };
    assert_eq!(*event(&records, 3), credential);
}

#[test]
fn entra_directory_audits_from_a_graph_page() {
    let name = "entra-audits-graph.json";
    let records = read(name, 2);
    let role = Event {
        // Graph items do not name their directory.
        tenant: None,
        src_ip: some("203.0.113.45"),
        resource: Resource {
            kind: some("User"),
            id: some("svc-backup7@contoso.example"),
            ..Resource::default()
        },
        ..directory_event(
            "2024-03-04T02:12:40Z",
            "Add member to role",
            "mallory@contoso.example",
            source(name, 1),
        )
    };
    assert_eq!(*event(&records, 1), role);
    let timeout = event(&records, 2);
    assert_eq!(
        timeout.principal.as_deref(),
        Some("Microsoft Substrate Management")
    );
    assert_eq!(timeout.outcome, Some(Outcome::Failure));
    assert_eq!(
        timeout.reason.as_deref(),
        Some("Timeout: Microsoft.Online.Workflows.ObjectAlreadyExistsException")
    );
}

#[test]
fn entra_sign_in_categories_and_word_result_types() {
    let name = "entra-signins-diagnostic-categories.ndjson";
    let records = read(name, 3);
    // `resultType: "Failure"` keeps the code from `properties.status`.
    let non_interactive = Event {
        event_id: None,
        time: utc("2024-03-06T04:00:01Z"),
        provider: Provider::Azure,
        tenant: some(TENANT),
        account: None,
        region: None,
        category: Category::Login,
        class_uid: 3002,
        operation: "Sign-in activity".into(),
        principal: some("bob@contoso.example"),
        src_ip: some("203.0.113.88"),
        user_agent: None,
        outcome: Some(Outcome::Failure),
        reason: some(
            "50126: Invalid username or password or Invalid on-premise username or password.",
        ),
        resource: Resource {
            kind: some("application"),
            id: some("Microsoft Teams"),
            instance_type: None,
            instance_count: None,
            mfa: Some(false),
            location: some("Amsterdam, NL"),
        },
        source: source(name, 1),
    };
    assert_eq!(*event(&records, 1), non_interactive);
    // `resultType: "Success"` is a success, not a failure coded "Success".
    let service_principal = event(&records, 2);
    assert_eq!(
        (service_principal.outcome, &service_principal.reason),
        (Some(Outcome::Success), &None)
    );
    assert_eq!(
        service_principal.principal.as_deref(),
        Some("deploy-pipeline")
    );
    let managed_identity = event(&records, 3);
    assert_eq!(managed_identity.outcome, Some(Outcome::Success));
    assert_eq!(
        managed_identity.principal.as_deref(),
        Some("vmss-render-identity")
    );
    assert_eq!(
        managed_identity.resource.id.as_deref(),
        Some("Azure Resource Manager")
    );
    assert_eq!(managed_identity.src_ip, None);
}

#[test]
fn activity_log_export_with_http_codes_as_signature() {
    let name = "activity-log-diagnostic-status-codes.ndjson";
    let records = read(name, 2);
    let failed = event(&records, 1);
    assert_eq!(failed.outcome, Some(Outcome::Failure));
    assert_eq!(failed.reason.as_deref(), Some("Failed: 403"));
    assert_eq!(failed.category, Category::Provision);
    assert_eq!(failed.principal.as_deref(), Some("alice@contoso.example"));
    let succeeded = event(&records, 2);
    assert_eq!(
        (succeeded.outcome, &succeeded.reason),
        (Some(Outcome::Success), &None)
    );
}

#[test]
fn older_azureactivity_table_export() {
    let name = "loganalytics-azureactivity-legacy.csv";
    let records = read(name, 3);
    let vm = "/SUBSCRIPTIONS/5F2C8A61-3D4E-4B7A-9C1D-2E3F4A5B6C7D/RESOURCEGROUPS/RG-BATCH-WESTEUROPE/PROVIDERS/MICROSOFT.COMPUTE/VIRTUALMACHINES/MINER-03";
    let started = Event {
        event_id: None,
        time: utc("2024-03-04T02:30:05.118Z"),
        provider: Provider::Azure,
        // The TenantId column is the workspace, not the directory.
        tenant: None,
        account: some(SUBSCRIPTION),
        region: None,
        category: Category::Provision,
        class_uid: 6003,
        // The display name "Create or Update Virtual Machine" gives way to the authorized action.
        operation: "Microsoft.Compute/virtualMachines/write".into(),
        principal: some("mallory@contoso.example"),
        src_ip: some("203.0.113.45"),
        user_agent: None,
        outcome: None,
        reason: some("Started"),
        resource: Resource {
            kind: some("Microsoft.Compute/virtualMachines"),
            id: some(vm),
            instance_type: None,
            instance_count: Some(1),
            mfa: None,
            location: None,
        },
        source: source(name, 1),
    };
    assert_eq!(*event(&records, 1), started);
    assert_eq!(event(&records, 2).outcome, Some(Outcome::Success));
    let failed = event(&records, 3);
    assert_eq!(failed.outcome, Some(Outcome::Failure));
    assert_eq!(failed.reason.as_deref(), Some("Failed: Forbidden"));
    // No CallerIpAddress: the address comes from the token's claims.
    assert_eq!(failed.src_ip.as_deref(), Some("203.0.113.45"));
}

/// The expectations here are of every other field; `tests/event_ids.rs` checks each format's
/// event id against its fixtures.
fn without_event_id(mut record: Record) -> Record {
    if let Record::Event(event) = &mut record {
        event.event_id = None;
    }
    record
}
