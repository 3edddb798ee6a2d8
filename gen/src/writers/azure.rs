//! Azure: Activity Log pages as the REST API returns them, Entra sign-ins as Microsoft Graph
//! returns them, and the Cost Management export CSV.
//!
//! - `azure/<tenant>/activity/<subscription>/YYYY-MM-DD.json`: `{"value":[...]}` of Activity Log
//!   events. Writes log a `Started` (BeginRequest) record carrying the request body, then a
//!   `Succeeded` (EndRequest) record carrying the response; actions log one record.
//! - `azure/<tenant>/signins/YYYY-MM-DD.json`: a Graph `auditLogs/signIns` page. The beta
//!   endpoint's shape, which carries `homeTenantId`/`resourceTenantId` (the v1.0 shape names no
//!   tenant at all).
//! - `azure/<tenant>/cost/<subscription>-YYYY-MM.csv`: a daily actual-cost export.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, NaiveDate, Timelike, Utc};
use serde_json::{json, Value};

use super::{later, seconds, DayFiles, Layout, Scope, WriteStats};
use crate::activity::{Action, Activity, Actor, CostLine, LaunchApi, SignInResult};
use crate::catalog::{self, Cloud};
use crate::random::Rand;
use crate::GenError;

/// How long after `Started` an operation logs its outcome (milliseconds): VM and scale-set
/// creation, other writes, and refusals.
pub(crate) const LAUNCH_MILLIS: (u32, u32) = (40_000, 180_000);
pub(crate) const WRITE_MILLIS: (u32, u32) = (400, 9_000);
pub(crate) const FAILURE_MILLIS: (u32, u32) = (200, 3_000);

const GRAPH_CONTEXT: &str = "https://graph.microsoft.com/beta/$metadata#auditLogs/signIns";
const PORTAL_APP: (&str, &str) = ("c44b4083-3bb0-49c1-b47d-974e53cbdf3c", "Azure Portal");
const CLI_APP: (&str, &str) = (
    "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
    "Microsoft Azure CLI",
);
const OFFICE_APP: (&str, &str) = ("4765445b-32c6-49b0-83e6-1d93765276ca", "OfficeHome");
const EXCHANGE_APP: (&str, &str) = (
    "00000002-0000-0ff1-ce00-000000000000",
    "Office 365 Exchange Online",
);
const AAD_POWERSHELL_APP: (&str, &str) = (
    "1b730954-1685-4b74-9bfd-dac224a7b894",
    "Azure Active Directory PowerShell",
);

pub(crate) fn logged_principal(scope: &Scope, activity: &Activity) -> Option<String> {
    Some(match activity.actor {
        Actor::Person(p) => scope.company.upn(&scope.company.people[p]),
        Actor::Automation(a) => scope.presence.automations[a].id.clone(),
    })
}

/// `2025-03-10T08:12:33.1234567Z`: Azure writes seven fractional digits.
fn ticks_time(time: DateTime<Utc>) -> String {
    format!(
        "{}.{:07}Z",
        time.format("%Y-%m-%dT%H:%M:%S"),
        time.nanosecond() / 100
    )
}

/// .NET ticks (100 ns since 0001-01-01), as Activity Log event ids carry them.
fn ticks(time: DateTime<Utc>) -> i64 {
    (time.timestamp() + 62_135_596_800) * 10_000_000 + i64::from(time.nanosecond() / 100)
}

pub(crate) fn render(scope: &Scope, activity: &Activity, rand: &mut Rand, files: &mut DayFiles) {
    match &activity.action {
        Action::SignIn(_) => sign_in(scope, activity, rand, files),
        Action::Launch(_) | Action::Call(_) => activity_log(scope, activity, rand, files),
    }
}

fn sign_in(scope: &Scope, activity: &Activity, rand: &mut Rand, files: &mut DayFiles) {
    let Action::SignIn(sign_in) = &activity.action else {
        return;
    };
    let Actor::Person(p) = activity.actor else {
        return;
    };
    let person = &scope.company.people[p];
    let tenant = &scope.presence.tenant;
    let scripted = sign_in.client == "Other clients";
    let (code, reason) = match sign_in.result {
        SignInResult::Success => (0, "Other."),
        SignInResult::WrongPassword => (50126, "Error validating credentials due to invalid username or password."),
        SignInResult::MfaRequired if scripted => (
            50076,
            "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access the resource.",
        ),
        SignInResult::MfaRequired => (50074, "Strong Authentication is required."),
        SignInResult::Locked => (50053, "Account is locked because user tried to sign in too many times with an incorrect user ID or password."),
        SignInResult::Disabled => (50057, "User account is disabled. The account has been disabled by an administrator."),
        SignInResult::PasswordExpired => (50055, "The password is expired."),
    };
    let app = if scripted {
        AAD_POWERSHELL_APP
    } else if sign_in.client.starts_with("Mobile") {
        EXCHANGE_APP
    } else if activity.user_agent.contains("AZURECLI") {
        CLI_APP
    } else if rand.chance(0.5) {
        PORTAL_APP
    } else {
        OFFICE_APP
    };
    let multi_factor = sign_in.mfa || sign_in.result == SignInResult::MfaRequired;
    let conditional_access = match (sign_in.result, multi_factor) {
        (SignInResult::Success, true) => "success",
        _ => "notApplied",
    };
    let address = activity
        .origin
        .address()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let record = json!({
        "id": rand.uuid(),
        "createdDateTime": seconds(activity.time),
        "userDisplayName": person.display_name,
        "userPrincipalName": scope.company.upn(person),
        "userId": person.object_id,
        "appId": app.0,
        "appDisplayName": app.1,
        "ipAddress": address,
        "clientAppUsed": sign_in.client,
        "userAgent": activity.user_agent,
        "correlationId": rand.uuid(),
        "conditionalAccessStatus": conditional_access,
        "isInteractive": true,
        "authenticationRequirement": if multi_factor { "multiFactorAuthentication" } else { "singleFactorAuthentication" },
        "riskDetail": "none",
        "riskLevelAggregated": "none",
        "riskLevelDuringSignIn": "none",
        "riskState": "none",
        "riskEventTypes_v2": [],
        "resourceDisplayName": "Windows Azure Service Management API",
        "resourceId": "797f4846-ba00-4fd7-ba43-dac1f8f63013",
        "homeTenantId": tenant,
        "resourceTenantId": tenant,
        "status": {"errorCode": code, "failureReason": reason, "additionalDetails": null},
        "deviceDetail": {"deviceId": "", "displayName": "", "operatingSystem": operating_system(activity.user_agent),
                         "browser": browser(activity.user_agent), "isCompliant": false, "isManaged": false, "trustType": ""},
        "location": {"city": sign_in.city, "state": "", "countryOrRegion": sign_in.country},
        "appliedConditionalAccessPolicies": [],
    });
    let path = || {
        PathBuf::from(format!(
            "azure/{tenant}/signins/{}.json",
            activity.time.format("%Y-%m-%d")
        ))
    };
    files.add(
        "signins".into(),
        path,
        Layout::Page(Some(GRAPH_CONTEXT)),
        activity.time,
        &record,
    );
}

fn browser(agent: &str) -> &'static str {
    if agent.contains("Edg/") {
        "Edge 122.0.2365"
    } else if agent.contains("Firefox") {
        "Firefox 124.0"
    } else if agent.contains("Chrome") {
        "Chrome 122.0.0"
    } else if agent.contains("Outlook") {
        "Rich Client 16.0.0"
    } else {
        ""
    }
}

fn operating_system(agent: &str) -> &'static str {
    if agent.contains("Windows") {
        "Windows10"
    } else if agent.contains("Macintosh") {
        "MacOs"
    } else if agent.contains("iPhone") || agent.contains("iOS") {
        "Ios"
    } else if agent.contains("Linux") {
        "Linux"
    } else {
        ""
    }
}

/// What the Activity Log needs to know about an operation.
struct Operation {
    name: &'static str,
    namespace: &'static str,
    resource_type: String,
    resource_id: String,
    request_body: Option<Value>,
    response_body: Option<Value>,
    location: &'static str,
}

fn localized(operation: &str) -> &str {
    match operation {
        "Microsoft.Compute/virtualMachines/write" => "Create or Update Virtual Machine",
        "Microsoft.Compute/virtualMachineScaleSets/write" => {
            "Create or Update Virtual Machine Scale Set"
        }
        "Microsoft.Compute/virtualMachines/start/action" => "Start Virtual Machine",
        "Microsoft.Compute/virtualMachines/deallocate/action" => "Deallocate Virtual Machine",
        "Microsoft.Compute/virtualMachines/restart/action" => "Restart Virtual Machine",
        "Microsoft.Storage/storageAccounts/listKeys/action" => "List Storage Account Keys",
        "Microsoft.Network/networkSecurityGroups/write" => {
            "Create or Update Network Security Group"
        }
        "Microsoft.Web/sites/write" => "Create or Update Web App",
        "Microsoft.Web/sites/restart/action" => "Restart Web App",
        "Microsoft.Web/sites/config/write" => "Update Web App Configuration",
        "Microsoft.KeyVault/vaults/write" => "Update Key Vault",
        "Microsoft.Resources/tags/write" => "Update resource tags",
        "Microsoft.Authorization/roleAssignments/write" => "Create role assignment",
        "Microsoft.Resources/deployments/write" => "Create Deployment",
        "Microsoft.Resources/subscriptions/resourceGroups/write" => "Update resource group",
        "Microsoft.ContainerRegistry/registries/listCredentials/action" => {
            "List Container Registry Login Credentials"
        }
        other => other,
    }
}

fn stage(account: usize) -> &'static str {
    if account == 0 {
        "prod"
    } else {
        "dev"
    }
}

fn operation(scope: &Scope, activity: &Activity, rand: &mut Rand) -> Operation {
    let subscription = &scope.presence.accounts[activity.account].id;
    let group = |location: &str| format!("rg-{}-{location}", stage(activity.account));
    match &activity.action {
        Action::Launch(launch) => {
            let rg = group(launch.region);
            let image = json!({"publisher": "Canonical", "offer": "0001-com-ubuntu-server-jammy", "sku": "22_04-lts-gen2", "version": "latest"});
            let (kind, body) = if launch.api == LaunchApi::AzureScaleSet {
                (
                    "virtualMachineScaleSets",
                    json!({"location": launch.region,
                        "sku": {"name": launch.machine_type, "tier": "Standard", "capacity": launch.count},
                        "properties": {"upgradePolicy": {"mode": "Manual"}, "virtualMachineProfile": {
                            "storageProfile": {"imageReference": image},
                            "osProfile": {"computerNamePrefix": launch.name, "adminUsername": "azureuser"}}}}),
                )
            } else {
                (
                    "virtualMachines",
                    json!({"location": launch.region,
                        "properties": {"hardwareProfile": {"vmSize": launch.machine_type},
                            "storageProfile": {"imageReference": image},
                            "osProfile": {"computerName": launch.name, "adminUsername": "azureuser"},
                            "networkProfile": {"networkInterfaces": [{"id": format!(
                                "/subscriptions/{subscription}/resourceGroups/{rg}/providers/Microsoft.Network/networkInterfaces/{}-nic", launch.name)}]}}}),
                )
            };
            let mut response = body.clone();
            response["id"] = json!(format!("/subscriptions/{subscription}/resourceGroups/{rg}/providers/Microsoft.Compute/{kind}/{}", launch.name));
            response["properties"]["provisioningState"] = json!("Creating");
            Operation {
                name: if kind == "virtualMachines" {
                    "Microsoft.Compute/virtualMachines/write"
                } else {
                    "Microsoft.Compute/virtualMachineScaleSets/write"
                },
                namespace: "Microsoft.Compute",
                resource_type: format!("Microsoft.Compute/{kind}"),
                resource_id: format!("/subscriptions/{subscription}/resourceGroups/{rg}/providers/Microsoft.Compute/{kind}/{}", launch.name),
                request_body: Some(body),
                response_body: Some(response),
                location: launch.region,
            }
        }
        Action::Call(call) => {
            let rg = group(call.region);
            let op = call.op;
            let account = &scope.presence.accounts[activity.account];
            let name = rand.pick(&account.resources).clone();
            let resource_id = match op.resource {
                "resourceGroups" => format!("/subscriptions/{subscription}/resourceGroups/{rg}"),
                "roleAssignments" => format!("/subscriptions/{subscription}/providers/Microsoft.Authorization/roleAssignments/{}", rand.uuid()),
                "tags" => format!("/subscriptions/{subscription}/resourceGroups/{rg}/providers/Microsoft.Web/sites/{name}/providers/Microsoft.Resources/tags/default"),
                "deployments" => format!("/subscriptions/{subscription}/resourceGroups/{rg}/providers/Microsoft.Resources/deployments/{name}-{}", rand.digits(8)),
                kind => format!("/subscriptions/{subscription}/resourceGroups/{rg}/providers/{}/{kind}/{}", op.service, name.replace('-', "")),
            };
            let request_body = match op.name {
                "Microsoft.Resources/subscriptions/resourceGroups/write" => {
                    Some(json!({"location": call.region}))
                }
                name if name.ends_with("/write")
                    && op.resource != "tags"
                    && op.resource != "roleAssignments" =>
                {
                    Some(json!({"location": call.region, "properties": {}}))
                }
                _ => None,
            };
            Operation {
                name: op.name,
                namespace: op.service,
                resource_type: match op.resource {
                    "resourceGroups" => {
                        "Microsoft.Resources/subscriptions/resourceGroups".to_string()
                    }
                    kind => format!("{}/{kind}", op.service),
                },
                resource_id,
                request_body,
                response_body: None,
                location: call.region,
            }
        }
        Action::SignIn(_) => unreachable!("sign-ins are written by sign_in()"),
    }
}

fn activity_log(scope: &Scope, activity: &Activity, rand: &mut Rand, files: &mut DayFiles) {
    let operation = operation(scope, activity, rand);
    let failure = match &activity.action {
        Action::Launch(launch) => launch.failure,
        Action::Call(call) => call.failure,
        Action::SignIn(_) => None,
    };
    let subscription = &scope.presence.accounts[activity.account].id;
    let tenant = &scope.presence.tenant;
    let (caller, claims) = caller_and_claims(scope, activity);
    let correlation = rand.uuid();
    let method = if operation.name.ends_with("/action") {
        "POST"
    } else if operation.name.ends_with("/delete") {
        "DELETE"
    } else {
        "PUT"
    };
    let address = activity
        .origin
        .address()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let client_request = rand.uuid();
    let two_phase = operation.name.ends_with("/write") && failure.is_none();
    let day = activity.time.format("%Y-%m-%d").to_string();
    let path = || PathBuf::from(format!("azure/{tenant}/activity/{subscription}/{day}.json"));
    let mut phases: Vec<(&str, DateTime<Utc>)> = Vec::new();
    if two_phase {
        phases.push(("Started", activity.time));
        let delay = match activity.action {
            Action::Launch(_) => {
                Duration::milliseconds(i64::from(rand.int(LAUNCH_MILLIS.0, LAUNCH_MILLIS.1)))
            }
            _ => Duration::milliseconds(i64::from(rand.int(WRITE_MILLIS.0, WRITE_MILLIS.1))),
        };
        phases.push(("Succeeded", later(activity.time, delay)));
    } else if failure.is_some() {
        phases.push((
            "Failed",
            later(
                activity.time,
                Duration::milliseconds(i64::from(rand.int(FAILURE_MILLIS.0, FAILURE_MILLIS.1))),
            ),
        ));
    } else {
        phases.push(("Succeeded", activity.time));
    }
    for (status, time) in phases {
        let event_id = rand.uuid();
        let (event_name, localized_event) = if status == "Started" {
            ("BeginRequest", "Begin request")
        } else {
            ("EndRequest", "End request")
        };
        let mut properties = json!({
            "eventCategory": "Administrative",
            "entity": operation.resource_id,
            "message": operation.name,
            "hierarchy": format!("{tenant}/{subscription}"),
        });
        let sub_status = match (status, failure) {
            ("Started", _) => "",
            (_, Some(_)) => "Forbidden",
            _ if activity_is_launch(activity) => "Created",
            _ => "OK",
        };
        match status {
            "Started" => {
                if let Some(body) = &operation.request_body {
                    properties["requestbody"] = json!(body.to_string());
                }
            }
            "Failed" => {
                let failure = failure.unwrap_or(crate::activity::Failure {
                    code: "Failed",
                    message: "",
                });
                properties["statusCode"] = json!(if failure.code == "AuthorizationFailed" {
                    "Forbidden"
                } else {
                    "Conflict"
                });
                properties["statusMessage"] = json!(
                    json!({"error": {"code": failure.code, "message": failure.message}})
                        .to_string()
                );
            }
            _ => {
                properties["statusCode"] = json!(sub_status);
                properties["serviceRequestId"] = json!(rand.uuid());
                if let Some(body) = &operation.response_body {
                    properties["responseBody"] = json!(body.to_string());
                }
                properties["resourceLocation"] = json!(operation.location);
            }
        }
        let record = json!({
            "authorization": {"action": operation.name, "scope": operation.resource_id},
            "caller": caller,
            "channels": "Operation",
            "claims": claims,
            "correlationId": correlation,
            "description": "",
            "eventDataId": event_id,
            "eventName": {"value": event_name, "localizedValue": localized_event},
            "category": {"value": "Administrative", "localizedValue": "Administrative"},
            "eventTimestamp": ticks_time(time),
            "id": format!("{}/events/{event_id}/ticks/{}", operation.resource_id, ticks(time)),
            "level": if status == "Failed" { "Error" } else { "Informational" },
            "operationId": correlation,
            "operationName": {"value": operation.name, "localizedValue": localized(operation.name)},
            "resourceGroupName": format!("rg-{}-{}", stage(activity.account), operation.location),
            "resourceProviderName": {"value": operation.namespace, "localizedValue": operation.namespace},
            "resourceType": {"value": operation.resource_type, "localizedValue": operation.resource_type},
            "resourceId": operation.resource_id,
            "status": {"value": status, "localizedValue": status},
            "subStatus": {"value": sub_status, "localizedValue": sub_status},
            "submissionTimestamp": ticks_time(later(time, Duration::seconds(i64::from(rand.int(10, 120))))),
            "subscriptionId": subscription,
            "tenantId": tenant,
            "properties": properties,
            "relatedEvents": [],
            "httpRequest": {"clientRequestId": client_request, "clientIpAddress": address, "method": method},
        });
        files.add(
            format!("activity/{subscription}"),
            path,
            Layout::Page(None),
            time,
            &record,
        );
    }
}

fn activity_is_launch(activity: &Activity) -> bool {
    matches!(activity.action, Action::Launch(_))
}

/// The Activity Log `caller` (a UPN for users, the application id for service principals) and
/// the token claims behind it.
fn caller_and_claims(scope: &Scope, activity: &Activity) -> (String, Value) {
    let tenant = &scope.presence.tenant;
    let issued = activity.time.timestamp() - 600;
    let base = json!({
        "aud": "https://management.core.windows.net/",
        "iss": format!("https://sts.windows.net/{tenant}/"),
        "iat": issued.to_string(),
        "nbf": issued.to_string(),
        "exp": (issued + 4200).to_string(),
        "http://schemas.microsoft.com/identity/claims/tenantid": tenant,
    });
    let mut claims = base;
    match activity.actor {
        Actor::Person(p) => {
            let person = &scope.company.people[p];
            let upn = scope.company.upn(person);
            let app = if activity.user_agent.starts_with("Mozilla") {
                PORTAL_APP.0
            } else {
                CLI_APP.0
            };
            let more = json!({
                "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn": upn,
                "name": person.display_name,
                "http://schemas.microsoft.com/identity/claims/objectidentifier": person.object_id,
                "appid": app,
                "appidacr": "0",
                "http://schemas.microsoft.com/claims/authnmethodsreferences": if person.habits.mfa { "pwd,mfa" } else { "pwd" },
                "ipaddr": activity.origin.address().map(|a| a.to_string()).unwrap_or_default(),
            });
            merge(&mut claims, more);
            (upn, claims)
        }
        Actor::Automation(a) => {
            let automation = &scope.presence.automations[a];
            let more = json!({
                "appid": automation.id,
                "appidacr": "1",
                "idtyp": "app",
                "http://schemas.microsoft.com/identity/claims/objectidentifier": automation.id,
            });
            merge(&mut claims, more);
            (automation.id.clone(), claims)
        }
    }
}

fn merge(target: &mut Value, more: Value) {
    if let (Value::Object(target), Value::Object(more)) = (target, more) {
        target.extend(more);
    }
}

const COST_COLUMNS: &[&str] = &[
    "Date",
    "SubscriptionId",
    "SubscriptionName",
    "ResourceGroup",
    "ResourceLocation",
    "MeterCategory",
    "MeterSubCategory",
    "MeterName",
    "Quantity",
    "UnitOfMeasure",
    "CostInBillingCurrency",
    "BillingCurrency",
    "ChargeType",
    "PublisherType",
    "Frequency",
];

pub(crate) fn write_cost(
    scope: &Scope,
    account: usize,
    month: NaiveDate,
    lines: &[CostLine],
    root: &Path,
) -> Result<WriteStats, GenError> {
    let subscription = &scope.presence.accounts[account];
    let path = root.join(format!(
        "azure/{}/cost/{}-{}.csv",
        scope.presence.tenant,
        subscription.id,
        month.format("%Y-%m")
    ));
    let csv_error = |err: csv::Error| GenError::Write {
        path: path.clone(),
        source: err.into(),
    };
    let mut csv = csv::Writer::from_writer(Vec::new());
    csv.write_record(COST_COLUMNS).map_err(csv_error)?;
    for line in lines {
        let service = catalog::service_name(Cloud::Azure, line.spend);
        let location = line.region.unwrap_or(scope.presence.regions[0]);
        let (charge, publisher, frequency) = match line.line_type {
            "RIFee" => ("Purchase", "Azure", "OneTime"),
            "Fee" if service.name == "SaaS" => ("Purchase", "Marketplace", "Recurring"),
            "Fee" => ("Purchase", "Azure", "Recurring"),
            _ => ("Usage", "Azure", "UsageBased"),
        };
        csv.write_record([
            line.day.format("%m/%d/%Y").to_string(),
            subscription.id.clone(),
            subscription.name.clone(),
            format!("rg-{}-{location}", stage(account)),
            location.to_string(),
            service.name.to_string(),
            service.code.to_string(),
            service.usage.to_string(),
            "24".to_string(),
            "1 Hour".to_string(),
            format!("{:.6}", line.cost),
            scope.presence.currency.to_string(),
            charge.to_string(),
            publisher.to_string(),
            frequency.to_string(),
        ])
        .map_err(csv_error)?;
    }
    let body = csv.into_inner().map_err(|err| GenError::Write {
        path: path.clone(),
        source: err.into_error(),
    })?;
    let bytes = super::write_file(&path, &body, false)?;
    Ok(WriteStats {
        files: 1,
        events: 0,
        billing_rows: lines.len() as u64,
        bytes,
    })
}
