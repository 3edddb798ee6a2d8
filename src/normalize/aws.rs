//! AWS formats: CloudTrail records (trail log files, NDJSON and array exports, `LookupEvents`
//! responses), Cost Explorer `GetCostAndUsage` responses, and Cost and Usage Report rows.
//!
//! Tenant: the organization when the input says (an organization trail's S3 layout), otherwise
//! the account itself; AWS records carry no organization id.

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};

use super::categories;
use super::error::RecordError;
use super::fields::{self, at, first_text, has, text};
use super::typed::{self, Field, FirstObject, Object};
use super::RecordContext;
use crate::schema::{
    BillingCategory, BillingRecord, Category, Event, Outcome, Provider, Record, Resource,
};

/// Marks a Cost Explorer result unit produced by [`expand`]; never present in provider data.
const COST_EXPLORER_UNIT: &str = "_auditsweep_cost_explorer_unit";

/// Cost Explorer metrics in order of preference: unblended cost is what CUR and most finance
/// teams call "the cost"; the others are used when a query asked only for them.
const COST_EXPLORER_METRICS: &[&str] = &[
    "UnblendedCost",
    "NetUnblendedCost",
    "BlendedCost",
    "AmortizedCost",
    "NetAmortizedCost",
];

pub(crate) fn map(record: &Value, context: &RecordContext) -> Option<Result<Record, RecordError>> {
    if has(record, "eventVersion") && has(record, "eventSource") && has(record, "eventName") {
        return Some(cloudtrail_value(record, context));
    }
    if has(record, "digestStartTime") && has(record, "digestS3Object") && has(record, "logFiles") {
        return Some(Err(RecordError::NotAuditData(
            "CloudTrail digest file (hashes for log file validation, no events)".to_string(),
        )));
    }
    if has(record, "CloudTrailEvent") {
        return Some(lookup_event(record, context));
    }
    if has(record, COST_EXPLORER_UNIT) {
        return Some(cost_explorer_unit(&record[COST_EXPLORER_UNIT], context));
    }
    if has(record, "lineItem/UsageStartDate") || has(record, "line_item_usage_start_date") {
        return Some(cur_row(record, context));
    }
    None
}

/// Splits a `GetCostAndUsage` response into one unit per time period and group.
///
/// Only `DIMENSION` group keys name columns of the unit (`SERVICE`, `LINKED_ACCOUNT`); a tag or
/// cost category key is a user's word and could collide with them. A grouped query's period
/// with no groups had no cost: it yields nothing (its `Total` is then `{}`).
pub(crate) fn expand(document: &Value) -> Option<Vec<Value>> {
    let results = document.get("ResultsByTime")?.as_array()?;
    let definitions = document
        .get("GroupDefinitions")
        .and_then(Value::as_array)
        .filter(|definitions| !definitions.is_empty());
    let dimensions: Vec<Option<String>> = definitions
        .into_iter()
        .flatten()
        .map(|definition| {
            let is_dimension = text(definition, &["Type"])
                .is_none_or(|kind| kind.eq_ignore_ascii_case("DIMENSION"));
            is_dimension
                .then(|| text(definition, &["Key"]))
                .flatten()
                .map(|key| key.to_ascii_uppercase())
        })
        .collect();
    let grouped = definitions.is_some();
    let mut units = Vec::new();
    for result in results {
        let start = result
            .get("TimePeriod")
            .and_then(|p| p.get("Start"))
            .cloned()
            .unwrap_or(Value::Null);
        let groups = result
            .get("Groups")
            .and_then(Value::as_array)
            .filter(|g| !g.is_empty());
        match groups {
            Some(groups) => {
                for group in groups {
                    let mut unit = Map::new();
                    unit.insert("start".into(), start.clone());
                    let keys = group.get("Keys").and_then(Value::as_array);
                    for (dimension, key) in dimensions.iter().zip(keys.into_iter().flatten()) {
                        if let Some(dimension) = dimension {
                            unit.insert(dimension.clone(), key.clone());
                        }
                    }
                    unit.insert(
                        "metrics".into(),
                        group.get("Metrics").cloned().unwrap_or(Value::Null),
                    );
                    units.push(json!({ COST_EXPLORER_UNIT: unit }));
                }
            }
            None if grouped => {}
            None => units.push(json!({ COST_EXPLORER_UNIT: {
                "start": start,
                "metrics": result.get("Total").cloned().unwrap_or(Value::Null),
            }})),
        }
    }
    Some(units)
}

/// A `LookupEvents` result: the full record is a JSON string in `CloudTrailEvent` (or, from
/// tools that decode it on the way, the object itself).
fn lookup_event(record: &Value, context: &RecordContext) -> Result<Record, RecordError> {
    match &record["CloudTrailEvent"] {
        Value::String(raw) => {
            // The record is not echoed: its request parameters may hold secrets.
            let inner: CloudTrail = serde_json::from_str(raw).map_err(|err| {
                RecordError::bad(
                    "CloudTrailEvent",
                    format!("<{} characters>", raw.chars().count()),
                    format!("not a JSON record: {err}"),
                )
            })?;
            cloudtrail(&inner, context)
        }
        inner @ Value::Object(_) => cloudtrail_value(inner, context),
        other => Err(RecordError::bad(
            "CloudTrailEvent",
            format!("<{}>", json_type(other)),
            "not a record or the JSON text of one",
        )),
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

fn truncate(raw: &str, chars: usize) -> String {
    raw.chars().take(chars).collect()
}

/// The fields of a CloudTrail record the schema needs, read straight from its bytes. Request
/// parameters and response elements stay raw text: only a provisioning call or a console sign-in
/// looks inside them, and most records are neither.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct CloudTrail<'a> {
    #[serde(rename = "eventVersion", borrow)]
    event_version: Field<'a>,
    #[serde(rename = "eventTime", borrow)]
    event_time: Field<'a>,
    /// Stands in for `eventTime` in records re-shipped through logstash.
    #[serde(rename = "@timestamp", borrow)]
    timestamp: Field<'a>,
    #[serde(rename = "eventSource", borrow)]
    event_source: Field<'a>,
    #[serde(rename = "eventID", borrow)]
    event_id: Field<'a>,
    #[serde(rename = "eventName", borrow)]
    event_name: Field<'a>,
    #[serde(rename = "awsRegion", borrow)]
    aws_region: Field<'a>,
    #[serde(rename = "sourceIPAddress", borrow)]
    source_ip_address: Field<'a>,
    #[serde(rename = "userAgent", borrow)]
    user_agent: Field<'a>,
    #[serde(rename = "recipientAccountId", borrow)]
    recipient_account_id: Field<'a>,
    #[serde(rename = "errorCode", borrow)]
    error_code: Field<'a>,
    #[serde(rename = "errorMessage", borrow)]
    error_message: Field<'a>,
    #[serde(rename = "userIdentity", borrow)]
    user_identity: Object<UserIdentity<'a>>,
    #[serde(rename = "additionalEventData", borrow)]
    additional_event_data: Object<AdditionalEventData<'a>>,
    #[serde(borrow)]
    resources: FirstObject<ResourceRef<'a>>,
    #[serde(rename = "requestParameters", borrow)]
    request_parameters: Option<&'a RawValue>,
    #[serde(rename = "responseElements", borrow)]
    response_elements: Option<&'a RawValue>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct UserIdentity<'a> {
    #[serde(borrow)]
    arn: Field<'a>,
    #[serde(rename = "invokedBy", borrow)]
    invoked_by: Field<'a>,
    #[serde(rename = "userName", borrow)]
    user_name: Field<'a>,
    #[serde(rename = "principalId", borrow)]
    principal_id: Field<'a>,
    #[serde(rename = "accountId", borrow)]
    account_id: Field<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct AdditionalEventData<'a> {
    #[serde(rename = "LoginTo", borrow)]
    login_to: Field<'a>,
    #[serde(rename = "MFAUsed", borrow)]
    mfa_used: Field<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ResourceRef<'a> {
    #[serde(rename = "type", borrow)]
    kind: Field<'a>,
    #[serde(rename = "ARN", borrow)]
    arn: Field<'a>,
}

impl CloudTrail<'_> {
    /// The keys that make a record a CloudTrail event.
    fn is_event(&self) -> bool {
        self.event_version.is_present()
            && self.event_source.is_present()
            && self.event_name.is_present()
    }

    fn user_identity(&self) -> &UserIdentity<'_> {
        static NONE: UserIdentity<'static> = UserIdentity {
            arn: Field::Missing,
            invoked_by: Field::Missing,
            user_name: Field::Missing,
            principal_id: Field::Missing,
            account_id: Field::Missing,
        };
        self.user_identity.0.as_ref().unwrap_or(&NONE)
    }
}

/// The fast path: a CloudTrail event at the start of `rest` (more input may follow), and its
/// length; `None` when it is not one the typed struct can read (a duplicated key, say), and the
/// caller reads it as a `serde_json::Value` like every other format.
pub(crate) fn map_prefix(rest: &str) -> Option<(CloudTrail<'_>, usize)> {
    typed::parse_prefix::<CloudTrail>(rest).filter(|(trail, _)| trail.is_event())
}

/// A CloudTrail event that arrived as a `Value` (a decoded `LookupEvents` item, a re-shipped
/// record): written back to text once and read by the same typed mapping.
fn cloudtrail_value(record: &Value, context: &RecordContext) -> Result<Record, RecordError> {
    let text = record.to_string();
    let typed: CloudTrail = serde_json::from_str(&text).map_err(|err| {
        RecordError::Syntax(format!("a CloudTrail record that cannot be read: {err}"))
    })?;
    cloudtrail(&typed, context)
}

pub(crate) fn cloudtrail(
    record: &CloudTrail,
    context: &RecordContext,
) -> Result<Record, RecordError> {
    let raw_time = record
        .event_time
        .as_str()
        .or(record.timestamp.as_str())
        .ok_or(RecordError::MissingField("eventTime"))?;
    let time = fields::checked_time(
        fields::parse_time(raw_time),
        raw_time,
        "eventTime",
        &Provider::Aws,
        context,
    )?;
    let service = record
        .event_source
        .as_str()
        .ok_or(RecordError::MissingField("eventSource"))?;
    let operation = record
        .event_name
        .as_str()
        .ok_or(RecordError::MissingField("eventName"))?;
    let category = categories::AWS.category(service, operation);
    let identity = record.user_identity();
    let account = record
        .recipient_account_id
        .text()
        .or_else(|| identity.account_id.text());
    let tenant = context
        .file
        .aws_organization
        .clone()
        .or_else(|| account.clone());
    let response = || raw_value(record.response_elements);
    let (outcome, reason) = cloudtrail_outcome(record, operation, response);
    let resource = match category {
        Category::Provision => provisioned(record, service, operation),
        Category::Login => {
            let extra = record.additional_event_data.0.as_ref();
            Resource {
                kind: Some("aws:console".into()),
                id: extra.and_then(|extra| extra.login_to.text()),
                mfa: extra
                    .and_then(|extra| extra.mfa_used.as_str())
                    .map(|used| used.eq_ignore_ascii_case("yes")),
                ..Resource::default()
            }
        }
        Category::Api => touched_resource(record),
    };
    Ok(Record::Event(Box::new(Event {
        time,
        provider: Provider::Aws,
        tenant,
        account,
        region: record.aws_region.text(),
        category,
        class_uid: category.class_uid(),
        operation: operation.to_string(),
        principal: principal(identity),
        src_ip: fields::ip_address(record.source_ip_address.text()),
        user_agent: record.user_agent.text(),
        outcome,
        reason,
        resource,
        event_id: record.event_id.text(),
        source: context.source.clone(),
    })))
}

/// A raw subtree as a `Value`, for the few records that look deep inside one.
fn raw_value(raw: Option<&RawValue>) -> Value {
    raw.and_then(|raw| serde_json::from_str(raw.get()).ok())
        .unwrap_or(Value::Null)
}

/// The caller: its ARN when there is one, else the name CloudTrail gives (a service for
/// `AWSService` callers, the user name for failed console sign-ins, which carry no ARN).
fn principal(identity: &UserIdentity) -> Option<String> {
    [
        &identity.arn,
        &identity.invoked_by,
        &identity.user_name,
        &identity.principal_id,
    ]
    .into_iter()
    .find_map(Field::text)
}

fn cloudtrail_outcome(
    record: &CloudTrail,
    operation: &str,
    response: impl Fn() -> Value,
) -> (Option<Outcome>, Option<String>) {
    let error_code = record.error_code.text();
    let error_message = record.error_message.as_str();
    if operation == "ConsoleLogin" {
        let result = text(&response(), &["ConsoleLogin"]);
        let failed = result
            .as_deref()
            .is_some_and(|r| r.eq_ignore_ascii_case("failure"))
            || error_code.is_some();
        if failed {
            return (
                Some(Outcome::Failure),
                error_message.map(str::to_string).or(error_code).or(result),
            );
        }
        return (result.map(|_| Outcome::Success), None);
    }
    match (error_code, error_message) {
        (Some(code), Some(message)) => (
            Some(Outcome::Failure),
            Some(format!("{code}: {}", truncate(message, 200))),
        ),
        (Some(code), None) => (Some(Outcome::Failure), Some(code)),
        (None, _) => (Some(Outcome::Success), None),
    }
}

/// What a provisioning call asked for: instance type and count, from whichever request shape
/// the operation uses, and the id of what it created when the response names it.
///
/// The count is what was launched when the response lists instances (RunInstances), otherwise
/// what was asked for (a failed call, a fleet's target capacity, a spot request's count).
fn provisioned(record: &CloudTrail, service: &str, operation: &str) -> Resource {
    let request = &raw_value(record.request_parameters);
    let response = &raw_value(record.response_elements);
    let launched: Vec<&Value> = at(response, &["instancesSet", "items"])
        .and_then(Value::as_array)
        .map(|items| items.iter().collect())
        .unwrap_or_default();
    let (kind, instance_type, requested, created_id) = match (service, operation) {
        ("lightsail.amazonaws.com", _) => {
            let names = at(request, &["instanceNames"]).and_then(Value::as_array);
            (
                "lightsail:instance",
                text(request, &["bundleId"]),
                names.map(|names| names.len() as u64),
                names
                    .and_then(|names| names.first())
                    .and_then(|name| text(name, &[])),
            )
        }
        ("ec2.amazonaws.com", "RequestSpotInstances") => (
            "ec2:instance",
            text(request, &["launchSpecification", "instanceType"]),
            count(request, &["instanceCount"]),
            at(response, &["spotInstanceRequestSet", "items"])
                .and_then(|items| first_of(items))
                .and_then(|item| text(item, &["spotInstanceRequestId"])),
        ),
        ("ec2.amazonaws.com", "RequestSpotFleet") => (
            "ec2:spot-fleet",
            first_text(
                request,
                &[
                    &[
                        "spotFleetRequestConfig",
                        "launchSpecifications",
                        "item",
                        "instanceType",
                    ],
                    &[
                        "spotFleetRequestConfig",
                        "launchSpecifications",
                        "0",
                        "instanceType",
                    ],
                ],
            ),
            count(request, &["spotFleetRequestConfig", "targetCapacity"]),
            first_text(
                response,
                &[
                    &["spotFleetRequestId"],
                    &["RequestSpotFleetResponse", "spotFleetRequestId"],
                ],
            ),
        ),
        ("ec2.amazonaws.com", "CreateFleet") => (
            "ec2:fleet",
            fleet_instance_type(request),
            count(
                request,
                &[
                    "CreateFleetRequest",
                    "TargetCapacitySpecification",
                    "TotalTargetCapacity",
                ],
            ),
            fleet_first_instance(response)
                .or_else(|| text(response, &["CreateFleetResponse", "fleetId"])),
        ),
        ("ec2.amazonaws.com", _) => (
            "ec2:instance",
            text(request, &["instanceType"]),
            requested_instances(request),
            None,
        ),
        ("autoscaling.amazonaws.com", _) => (
            "autoscaling:group",
            None,
            count(request, &["desiredCapacity"]).or_else(|| count(request, &["minSize"])),
            None,
        ),
        _ => ("instance", text(request, &["instanceType"]), None, None),
    };
    let first_launched = launched.first();
    let instance_count = if launched.is_empty() {
        requested
    } else {
        Some(launched.len() as u64)
    };
    Resource {
        kind: Some(kind.into()),
        id: first_launched
            .and_then(|item| text(item, &["instanceId"]))
            .or(created_id)
            .or_else(|| first_arn(record)),
        // A launch template carries the type instead of the request; the response then says.
        instance_type: instance_type
            .or_else(|| first_launched.and_then(|item| text(item, &["instanceType"]))),
        instance_count: instance_count.map(|n| n.min(u32::MAX as u64) as u32),
        ..Resource::default()
    }
}

/// RunInstances asks for `maxCount` instances per `instancesSet` item (`minCount` when a client
/// sent only that); `None` when no item says.
fn requested_instances(request: &Value) -> Option<u64> {
    let items = at(request, &["instancesSet", "items"])?.as_array()?;
    let counts: Vec<u64> = items
        .iter()
        .filter_map(|item| count(item, &["maxCount"]).or_else(|| count(item, &["minCount"])))
        .collect();
    (!counts.is_empty()).then(|| counts.iter().fold(0u64, |sum, n| sum.saturating_add(*n)))
}

/// CloudTrail renders EC2's XML lists as `{"item": x}` where `x` is one value or an array, and
/// sometimes as a plain array; this finds the first element either way.
fn first_of(list: &Value) -> Option<&Value> {
    match list {
        Value::Array(items) => items.first().and_then(first_of_item),
        Value::Object(map) => match map.get("item") {
            Some(item) if map.len() == 1 => first_of(item),
            _ => Some(list),
        },
        Value::Null => None,
        scalar => Some(scalar),
    }
}

fn first_of_item(item: &Value) -> Option<&Value> {
    match item {
        Value::Object(map) if map.len() == 1 && map.contains_key("item") => first_of(item),
        other => Some(other),
    }
}

/// The first instance an `instant` CreateFleet launched.
fn fleet_first_instance(response: &Value) -> Option<String> {
    let set = at(response, &["CreateFleetResponse", "fleetInstanceSet"])?;
    let ids = first_of(set)?.get("instanceIds")?;
    text(first_of(ids)?, &[])
}

/// The instance type of the first launch template override of a `CreateFleet` request.
fn fleet_instance_type(request: &Value) -> Option<String> {
    let configs = at(request, &["CreateFleetRequest", "LaunchTemplateConfigs"])?;
    let overrides = first_of(configs)?.get("Overrides")?;
    text(first_of(overrides)?, &["InstanceType"])
}

fn count(value: &Value, path: &[&str]) -> Option<u64> {
    match fields::number(value, path)? {
        Ok(n) if n >= 0.0 => Some(n as u64),
        _ => None,
    }
}

/// For ordinary calls, the first resource CloudTrail lists, if any.
fn touched_resource(record: &CloudTrail) -> Resource {
    let first = record.resources.0.as_ref();
    Resource {
        kind: first.and_then(|r| r.kind.text()),
        id: first_arn(record),
        ..Resource::default()
    }
}

fn first_arn(record: &CloudTrail) -> Option<String> {
    record.resources.0.as_ref().and_then(|r| r.arn.text())
}

fn cost_explorer_unit(unit: &Value, context: &RecordContext) -> Result<Record, RecordError> {
    let time = fields::required_time(
        unit,
        &["start"],
        "TimePeriod.Start",
        &Provider::Aws,
        context,
    )?;
    let metrics = unit
        .get("metrics")
        .ok_or(RecordError::MissingField("Metrics"))?;
    let metric = COST_EXPLORER_METRICS
        .iter()
        .find_map(|name| metrics.get(*name))
        .ok_or(RecordError::MissingField("Metrics.UnblendedCost"))?;
    let cost = fields::required_cost(metric, &["Amount"], "Metrics.Amount")?;
    let account = text(unit, &["LINKED_ACCOUNT"]);
    Ok(Record::Billing(BillingRecord {
        time: fields::start_of_day(time),
        provider: Provider::Aws,
        tenant: context
            .file
            .aws_organization
            .clone()
            .or_else(|| account.clone()),
        account,
        category: BillingCategory::Billing,
        service: text(unit, &["SERVICE"]),
        cost,
        currency: text(metric, &["Unit"]),
        source: context.source.clone(),
    }))
}

/// A Cost and Usage Report row, legacy (`lineItem/UnblendedCost`) or CUR 2.0
/// (`line_item_unblended_cost`) column names.
fn cur_row(row: &Value, context: &RecordContext) -> Result<Record, RecordError> {
    let time_field = match text(row, &["lineItem/UsageStartDate"]) {
        Some(_) => "lineItem/UsageStartDate",
        None => "line_item_usage_start_date",
    };
    let time = fields::required_time(row, &[time_field], time_field, &Provider::Aws, context)?;
    let cost = if has(row, "lineItem/UnblendedCost") {
        fields::required_cost(row, &["lineItem/UnblendedCost"], "lineItem/UnblendedCost")?
    } else {
        fields::required_cost(
            row,
            &["line_item_unblended_cost"],
            "line_item_unblended_cost",
        )?
    };
    let account = first_text(
        row,
        &[
            &["lineItem/UsageAccountId"],
            &["line_item_usage_account_id"],
        ],
    );
    Ok(Record::Billing(BillingRecord {
        time: fields::start_of_day(time),
        provider: Provider::Aws,
        tenant: context
            .file
            .aws_organization
            .clone()
            .or_else(|| account.clone()),
        account,
        category: BillingCategory::Billing,
        service: first_text(row, &[&["product/ProductName"], &["product_product_name"]])
            .or_else(|| cur2_product_name(row))
            .or_else(|| {
                first_text(
                    row,
                    &[&["lineItem/ProductCode"], &["line_item_product_code"]],
                )
            }),
        cost,
        currency: first_text(
            row,
            &[&["lineItem/CurrencyCode"], &["line_item_currency_code"]],
        ),
        source: context.source.clone(),
    }))
}

/// CUR 2.0 keeps the product name in its `product` map column: a JSON object in JSON or
/// Parquet-derived rows, its JSON text in CSV exports.
fn cur2_product_name(row: &Value) -> Option<String> {
    match row.get("product")? {
        Value::String(raw) => {
            let map: Value = serde_json::from_str(raw).ok()?;
            text(&map, &["product_name"])
        }
        map @ Value::Object(_) => text(map, &["product_name"]),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::FileHints;
    use crate::schema::SourceRef;

    fn map_one(record: &Value) -> Result<Record, RecordError> {
        let hints = FileHints::default();
        let context = RecordContext {
            source: SourceRef {
                file: "test.json".into(),
                record: 1,
            },
            file: &hints,
        };
        map(record, &context).expect("an AWS record")
    }

    fn resource_of(record: &Value) -> Resource {
        match map_one(record) {
            Ok(Record::Event(event)) => event.resource,
            other => panic!("expected an event, got {other:?}"),
        }
    }

    fn run_instances(request: Value, response: Value) -> Value {
        json!({
            "eventVersion": "1.09", "eventTime": "2024-03-05T00:00:00Z",
            "eventSource": "ec2.amazonaws.com", "eventName": "RunInstances",
            "requestParameters": request, "responseElements": response,
        })
    }

    #[test]
    fn grouped_cost_explorer_period_without_groups_yields_nothing() {
        let document = json!({
            "GroupDefinitions": [{"Type": "DIMENSION", "Key": "SERVICE"}],
            "ResultsByTime": [
                {"TimePeriod": {"Start": "2024-03-05"}, "Total": {}, "Groups": []},
                {"TimePeriod": {"Start": "2024-03-06"}, "Total": {}, "Groups": [
                    {"Keys": ["Amazon Lightsail"], "Metrics": {"UnblendedCost": {"Amount": "1", "Unit": "USD"}}}
                ]},
            ],
        });
        let units = expand(&document).unwrap();
        assert_eq!(units.len(), 1);
        assert!(map_one(&units[0]).is_ok());
    }

    #[test]
    fn cost_explorer_tag_groups_do_not_pose_as_dimensions() {
        let document = json!({
            "GroupDefinitions": [{"Type": "TAG", "Key": "service"}, {"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"}],
            "ResultsByTime": [{"TimePeriod": {"Start": "2024-03-05"}, "Groups": [
                {"Keys": ["service$web", "111122223333"], "Metrics": {"UnblendedCost": {"Amount": "1", "Unit": "USD"}}}
            ]}],
        });
        let units = expand(&document).unwrap();
        match map_one(&units[0]) {
            Ok(Record::Billing(row)) => {
                assert_eq!(row.service, None);
                assert_eq!(row.account.as_deref(), Some("111122223333"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn run_instances_without_max_count_is_not_a_request_for_zero() {
        let only_min = run_instances(
            json!({"instanceType": "t3.micro", "instancesSet": {"items": [{"minCount": 2}]}}),
            Value::Null,
        );
        assert_eq!(resource_of(&only_min).instance_count, Some(2));
        let neither = run_instances(
            json!({"instanceType": "t3.micro", "instancesSet": {"items": [{"imageId": "ami-1"}]}}),
            Value::Null,
        );
        assert_eq!(resource_of(&neither).instance_count, None);
    }

    #[test]
    fn launch_template_instance_type_comes_from_the_response() {
        let record = run_instances(
            json!({"launchTemplate": {"launchTemplateId": "lt-1"}, "instancesSet": {"items": [{"maxCount": 1}]}}),
            json!({"instancesSet": {"items": [{"instanceId": "i-1", "instanceType": "t3.medium"}]}}),
        );
        let resource = resource_of(&record);
        assert_eq!(resource.instance_type.as_deref(), Some("t3.medium"));
        assert_eq!(resource.id.as_deref(), Some("i-1"));
    }

    #[test]
    fn create_fleet_lists_in_every_rendering() {
        for (configs, instances) in [
            (
                json!({"Overrides": {"item": {"InstanceType": "c5.large"}}}),
                json!({"item": {"instanceIds": {"item": "i-1"}}}),
            ),
            (
                json!([{"Overrides": [{"InstanceType": "c5.large"}]}]),
                json!([{"instanceIds": ["i-1", "i-2"]}]),
            ),
            (
                json!({"item": [{"Overrides": {"item": [{"InstanceType": "c5.large"}]}}]}),
                json!({"item": [{"instanceIds": {"item": ["i-1"]}}]}),
            ),
        ] {
            let record = json!({
                "eventVersion": "1.09", "eventTime": "2024-03-05T00:00:00Z",
                "eventSource": "ec2.amazonaws.com", "eventName": "CreateFleet",
                "requestParameters": {"CreateFleetRequest": {
                    "LaunchTemplateConfigs": configs,
                    "TargetCapacitySpecification": {"TotalTargetCapacity": 2},
                }},
                "responseElements": {"CreateFleetResponse": {"fleetId": "fleet-1", "fleetInstanceSet": instances}},
            });
            let resource = resource_of(&record);
            assert_eq!(
                resource.instance_type.as_deref(),
                Some("c5.large"),
                "{configs}"
            );
            assert_eq!(resource.id.as_deref(), Some("i-1"), "{instances}");
            assert_eq!(resource.instance_count, Some(2));
        }
    }

    #[test]
    fn a_fleet_that_launched_nothing_is_named_by_its_id() {
        let record = json!({
            "eventVersion": "1.09", "eventTime": "2024-03-05T00:00:00Z",
            "eventSource": "ec2.amazonaws.com", "eventName": "CreateFleet",
            "requestParameters": {"CreateFleetRequest": {"Type": "maintain"}},
            "responseElements": {"CreateFleetResponse": {"fleetId": "fleet-1", "fleetInstanceSet": ""}},
        });
        assert_eq!(resource_of(&record).id.as_deref(), Some("fleet-1"));
    }

    #[test]
    fn digest_files_are_claimed_but_refused() {
        let digest = json!({
            "awsAccountId": "111122223333", "digestStartTime": "2024-03-05T01:00:00Z",
            "digestS3Object": "AWSLogs/111122223333/CloudTrail-Digest/x.json.gz", "logFiles": [],
        });
        let err = map_one(&digest).unwrap_err();
        assert_eq!(err.kind(), "not_audit_data");
    }

    #[test]
    fn cur2_product_map_as_text_or_object() {
        let row = |product: Value| {
            json!({
                "line_item_usage_start_date": "2024-03-05T00:00:00.000Z",
                "line_item_unblended_cost": "1.5",
                "line_item_product_code": "AmazonEC2",
                "product": product,
            })
        };
        let service = |record: &Value| match map_one(record) {
            Ok(Record::Billing(row)) => row.service,
            other => panic!("{other:?}"),
        };
        let named = Some("Amazon Elastic Compute Cloud".to_string());
        assert_eq!(
            service(&row(json!(
                r#"{"product_name":"Amazon Elastic Compute Cloud"}"#
            ))),
            named
        );
        assert_eq!(
            service(&row(
                json!({"product_name": "Amazon Elastic Compute Cloud"})
            )),
            named
        );
        assert_eq!(
            service(&row(json!("not a map"))).as_deref(),
            Some("AmazonEC2")
        );
    }
}
