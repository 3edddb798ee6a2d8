//! `[[tenant]]` tables as auditsweep.toml writes them: what `check` says without a network
//! call, and what serde refuses.

use auditsweep_azure::TenantConfig;

const SUB: &str = "5f2c8a61-3d4e-4b7a-9c1d-2e3f4a5b6c7d";
const TENANT: &str = "7d3b4b5e-1f2a-4c3d-9e8f-0a1b2c3d4e5f";
const CLIENT: &str = "0b5e3a1f-0000-4000-8000-0000000000c1";

fn parse(text: &str) -> Result<TenantConfig, toml::de::Error> {
    toml::from_str(text)
}

#[test]
fn a_complete_table_plans_every_source_and_raises_nothing() {
    let config = parse(&format!(
        r#"
subscriptions = ["{SUB}"]
cost_scopes = ["providers/Microsoft.Management/managementGroups/contoso-root"]
auth = {{ method = "managed-identity", client_id = "{CLIENT}" }}
directory = "{TENANT}"
"#
    ))
    .unwrap();
    let check = config.check("acme");
    assert_eq!(check.errors, Vec::<String>::new());
    assert_eq!(check.warnings, Vec::<String>::new());
    assert_eq!(
        check.plan,
        [
            format!("Activity Log (GET eventtypes/management/values): subscription {SUB}, one query per UTC day"),
            format!("Entra ID sign-ins (Graph GET /v1.0/auditLogs/signIns): directory {TENANT}, one query per UTC day"),
            format!("Entra ID directory audits (Graph GET /v1.0/auditLogs/directoryAudits): directory {TENANT}, one query per UTC day"),
            "Cost Management query (ActualCost, daily, by service): scope providers/Microsoft.Management/managementGroups/contoso-root, one query per month".to_string(),
        ]
    );
}

#[test]
fn an_inline_secret_is_a_warning_and_never_printed() {
    let config = parse(&format!(
        r#"
subscriptions = ["{SUB}"]
sources = ["activity-log"]
auth = {{ method = "client-secret", tenant_id = "{TENANT}", client_id = "{CLIENT}", secret = "Inline~Secret~Value" }}
"#
    ))
    .unwrap();
    let check = config.check("acme");
    assert_eq!(check.errors, Vec::<String>::new());
    assert_eq!(check.warnings.len(), 1, "{:?}", check.warnings);
    assert!(check.warnings[0].contains("auth.secret is written in the config file"));
    assert!(!format!("{config:?} {check:?}").contains("Inline~Secret~Value"));
}

#[test]
fn mistakes_are_errors_that_name_the_key() {
    let config = parse(&format!(
        r#"
subscriptions = ["not-a-guid", "{SUB}", "{upper}"]
cost_scopes = ["resourceGroups/rg", "subscriptions/{SUB}/../x"]
auth = {{ method = "client-secret", tenant_id = "{TENANT}", client_id = "{CLIENT}" }}
[endpoints]
management = "http://127.0.0.1:8080"
ca_file = "/nonexistent/ca.pem"
"#,
        upper = SUB.to_uppercase()
    ))
    .unwrap();
    let errors = config.check("acme").errors;
    let expect = [
        "subscription \"not-a-guid\" is not a subscription id",
        "cost scope \"resourceGroups/rg\"",
        "cost scope \"subscriptions/5f2c8a61-3d4e-4b7a-9c1d-2e3f4a5b6c7d/../x\": not a scope path",
        "is listed twice",
        "a client secret needs `secret_env`",
        "endpoints.management \"http://127.0.0.1:8080\" is not https",
        "endpoints.ca_file /nonexistent/ca.pem cannot be read",
    ];
    for expected in expect {
        assert!(
            errors.iter().any(|e| e.contains(expected)),
            "{expected}: {errors:?}"
        );
    }
    assert_eq!(errors.len(), expect.len(), "{errors:?}");
}

#[test]
fn graph_needs_a_directory_and_the_activity_log_a_subscription() {
    let config = parse(r#"auth = { method = "managed-identity" }"#).unwrap();
    let errors = config.check("acme").errors;
    assert!(
        errors
            .iter()
            .any(|e| e.contains("`subscriptions` is empty")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.contains("need `directory`")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.contains("Cost Management needs")),
        "{errors:?}"
    );
}

#[tokio::test]
async fn sources_refuse_a_table_with_errors() {
    let config = parse(r#"auth = { method = "azure-cli" }"#).unwrap();
    let error = match config.sources("acme").await {
        Err(error) => error,
        Ok(_) => panic!("a table without subscriptions built sources"),
    };
    assert!(
        error.to_string().contains("`subscriptions` is empty"),
        "{error}"
    );
}

#[test]
fn unknown_keys_and_methods_are_refused() {
    assert!(parse(&format!(
        "subscription = [\"{SUB}\"]\nauth = {{ method = \"azure-cli\" }}"
    ))
    .unwrap_err()
    .to_string()
    .contains("subscription"));
    assert!(parse(r#"auth = { method = "azure-cli", client_secret = "x" }"#).is_err());
    assert!(parse(r#"auth = { method = "password" }"#).is_err());
    assert!(parse("auth = { method = \"azure-cli\" }\n[endpoints]\nregion = \"x\"").is_err());
    assert!(parse("auth = { method = \"azure-cli\" }\nsources = [\"metrics\"]").is_err());
}

#[test]
fn sovereign_clouds_are_named() {
    let config = parse(&format!(
        "subscriptions = [\"{SUB}\"]\nsources = [\"activity-log\"]\nauth = {{ method = \"azure-cli\" }}\n[endpoints]\ncloud = \"us-government\""
    ))
    .unwrap();
    assert_eq!(
        config.endpoints.cloud,
        auditsweep_azure::Cloud::UsGovernment
    );
    assert!(config.check("acme").errors.is_empty());
}

#[test]
fn the_readme_example_is_a_valid_table() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme.find("```toml\n").unwrap() + "```toml\n".len();
    let end = start + readme[start..].find("```").unwrap();
    let document: toml::Table = toml::from_str(&readme[start..end]).unwrap();
    let mut table = document["tenant"].as_array().unwrap()[0]
        .as_table()
        .unwrap()
        .clone();
    assert_eq!(table.remove("provider").unwrap().as_str(), Some("azure"));
    table.remove("name").unwrap();
    let config: TenantConfig = toml::Value::Table(table).try_into().unwrap();
    let check = config.check("acme");
    // Only what depends on this machine: the example's CA file is not here.
    assert_eq!(check.errors.len(), 1, "{:?}", check.errors);
    assert!(check.errors[0].contains("ca_file"));
    assert_eq!(check.plan.len(), 4);
}
