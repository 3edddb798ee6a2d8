//! AWS formats: CloudTrail records (trail log files, NDJSON and array exports, `LookupEvents`
//! responses), Cost Explorer `GetCostAndUsage` responses, and Cost and Usage Report rows.
//!
//! Tenant: the organization when the input says (an organization trail's S3 layout), otherwise
//! the account itself; AWS records carry no organization id.

use serde_json::{json, Map, Value};

use super::categories;
use super::error::RecordError;
use super::fields::{self, at, first_text, has, text};
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
        return Some(cloudtrail(record, context));
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
pub(crate) fn expand(document: &Value) -> Option<Vec<Value>> {
    let results = document.get("ResultsByTime")?.as_array()?;
    let dimensions: Vec<String> = document
        .get("GroupDefinitions")
        .and_then(Value::as_array)
        .map(|definitions| {
            definitions
                .iter()
                .map(|d| text(d, &["Key"]).unwrap_or_default().to_ascii_uppercase())
                .collect()
        })
        .unwrap_or_default();
    let mut units = Vec::new();
    for result in results {
        let start = result
            .get("TimePeriod")
            .and_then(|p| p.get("Start"))
            .cloned();
        let groups = result
            .get("Groups")
            .and_then(Value::as_array)
            .filter(|g| !g.is_empty());
        match groups {
            Some(groups) => {
                for group in groups {
                    let mut unit = Map::new();
                    unit.insert("start".into(), start.clone().unwrap_or(Value::Null));
                    let keys = group.get("Keys").and_then(Value::as_array);
                    for (dimension, key) in dimensions.iter().zip(keys.into_iter().flatten()) {
                        unit.insert(dimension.clone(), key.clone());
                    }
                    unit.insert(
                        "metrics".into(),
                        group.get("Metrics").cloned().unwrap_or(Value::Null),
                    );
                    units.push(json!({ COST_EXPLORER_UNIT: unit }));
                }
            }
            None => units.push(json!({ COST_EXPLORER_UNIT: {
                "start": start,
                "metrics": result.get("Total").cloned().unwrap_or(Value::Null),
            }})),
        }
    }
    Some(units)
}

/// A `LookupEvents` result: the full record is a JSON string in `CloudTrailEvent`.
fn lookup_event(record: &Value, context: &RecordContext) -> Result<Record, RecordError> {
    let raw = record
        .get("CloudTrailEvent")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            RecordError::bad(
                "CloudTrailEvent",
                record["CloudTrailEvent"].to_string(),
                "not a string",
            )
        })?;
    let inner: Value = serde_json::from_str(raw).map_err(|err| {
        RecordError::bad(
            "CloudTrailEvent",
            truncate(raw, 80),
            format!("not a JSON record: {err}"),
        )
    })?;
    cloudtrail(&inner, context)
}

fn truncate(raw: &str, chars: usize) -> String {
    raw.chars().take(chars).collect()
}

fn cloudtrail(record: &Value, context: &RecordContext) -> Result<Record, RecordError> {
    // `@timestamp` stands in for `eventTime` in records re-shipped through logstash.
    let time = match text(record, &["eventTime"]) {
        Some(_) => fields::required_time(record, &["eventTime"], "eventTime")?,
        None => fields::required_time(record, &["@timestamp"], "eventTime")?,
    };
    let service = text(record, &["eventSource"]).ok_or(RecordError::MissingField("eventSource"))?;
    let operation = text(record, &["eventName"]).ok_or(RecordError::MissingField("eventName"))?;
    let category = categories::AWS.category(&service, &operation);
    let account = first_text(
        record,
        &[&["recipientAccountId"], &["userIdentity", "accountId"]],
    );
    let tenant = context
        .file
        .aws_organization
        .clone()
        .or_else(|| account.clone());
    let (outcome, reason) = cloudtrail_outcome(record, &operation);
    let resource = match category {
        Category::Provision => provisioned(record, &service, &operation),
        Category::Login => Resource {
            kind: Some("aws:console".into()),
            id: text(record, &["additionalEventData", "LoginTo"]),
            mfa: text(record, &["additionalEventData", "MFAUsed"])
                .map(|used| used.eq_ignore_ascii_case("yes")),
            ..Resource::default()
        },
        Category::Api => touched_resource(record),
    };
    Ok(Record::Event(Box::new(Event {
        time,
        provider: Provider::Aws,
        tenant,
        account,
        region: text(record, &["awsRegion"]),
        category,
        class_uid: category.class_uid(),
        operation,
        principal: principal(record),
        src_ip: fields::ip_address(text(record, &["sourceIPAddress"])),
        user_agent: text(record, &["userAgent"]),
        outcome,
        reason,
        resource,
        source: context.source.clone(),
    })))
}

/// The caller: its ARN when there is one, else the name CloudTrail gives (a service for
/// `AWSService` callers, the user name for failed console sign-ins, which carry no ARN).
fn principal(record: &Value) -> Option<String> {
    first_text(
        record,
        &[
            &["userIdentity", "arn"],
            &["userIdentity", "invokedBy"],
            &["userIdentity", "userName"],
            &["userIdentity", "principalId"],
        ],
    )
}

fn cloudtrail_outcome(record: &Value, operation: &str) -> (Option<Outcome>, Option<String>) {
    let error_code = text(record, &["errorCode"]);
    let error_message = text(record, &["errorMessage"]);
    if operation == "ConsoleLogin" {
        let result = text(record, &["responseElements", "ConsoleLogin"]);
        let failed = result
            .as_deref()
            .is_some_and(|r| r.eq_ignore_ascii_case("failure"))
            || error_code.is_some();
        if failed {
            return (
                Some(Outcome::Failure),
                error_message.or(error_code).or(result),
            );
        }
        return (result.map(|_| Outcome::Success), None);
    }
    match (error_code, error_message) {
        (Some(code), Some(message)) => (
            Some(Outcome::Failure),
            Some(format!("{code}: {}", truncate(&message, 200))),
        ),
        (Some(code), None) => (Some(Outcome::Failure), Some(code)),
        (None, _) => (Some(Outcome::Success), None),
    }
}

/// What a provisioning call asked for: instance type and count, from whichever request shape
/// the operation uses; the created instance id when the response names one.
fn provisioned(record: &Value, service: &str, operation: &str) -> Resource {
    let request = record.get("requestParameters").unwrap_or(&Value::Null);
    let response = record.get("responseElements").unwrap_or(&Value::Null);
    let created: Vec<&Value> = at(response, &["instancesSet", "items"])
        .and_then(Value::as_array)
        .map(|items| items.iter().collect())
        .unwrap_or_default();
    let (kind, instance_type, requested) = match (service, operation) {
        ("lightsail.amazonaws.com", _) => (
            "lightsail:instance",
            text(request, &["bundleId"]),
            at(request, &["instanceNames"])
                .and_then(Value::as_array)
                .map(|names| names.len() as u64),
        ),
        ("ec2.amazonaws.com", "RequestSpotInstances") => (
            "ec2:instance",
            text(request, &["launchSpecification", "instanceType"]),
            count(request, &["instanceCount"]),
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
        ),
        ("ec2.amazonaws.com", _) => (
            "ec2:instance",
            text(request, &["instanceType"]),
            at(request, &["instancesSet", "items"])
                .and_then(Value::as_array)
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|item| count(item, &["maxCount"]))
                        .sum()
                }),
        ),
        ("autoscaling.amazonaws.com", _) => (
            "autoscaling:group",
            None,
            count(request, &["desiredCapacity"]).or_else(|| count(request, &["minSize"])),
        ),
        _ => ("instance", text(request, &["instanceType"]), None),
    };
    let instance_count = if created.is_empty() {
        requested
    } else {
        Some(created.len() as u64)
    };
    Resource {
        kind: Some(kind.into()),
        id: created
            .first()
            .and_then(|item| text(item, &["instanceId"]))
            .or_else(|| first_arn(record)),
        instance_type,
        instance_count: instance_count.map(|n| n.min(u32::MAX as u64) as u32),
        ..Resource::default()
    }
}

/// The instance type of the first launch template override of a `CreateFleet` request.
fn fleet_instance_type(request: &Value) -> Option<String> {
    let configs = at(request, &["CreateFleetRequest", "LaunchTemplateConfigs"])?;
    let first = |v: &Value| -> Value {
        match v {
            Value::Array(items) => items.first().cloned().unwrap_or(Value::Null),
            other => other.clone(),
        }
    };
    let config = first(configs);
    let config = config.get("item").map(first).unwrap_or(config);
    let overrides = first(config.get("Overrides")?);
    let overrides = overrides.get("item").map(first).unwrap_or(overrides);
    text(&overrides, &["InstanceType"])
}

fn count(value: &Value, path: &[&str]) -> Option<u64> {
    match fields::number(value, path)? {
        Ok(n) if n >= 0.0 => Some(n as u64),
        _ => None,
    }
}

/// For ordinary calls, the first resource CloudTrail lists, if any.
fn touched_resource(record: &Value) -> Resource {
    let first = record
        .get("resources")
        .and_then(Value::as_array)
        .and_then(|r| r.first());
    Resource {
        kind: first.and_then(|r| text(r, &["type"])),
        id: first.and_then(|r| text(r, &["ARN"])),
        ..Resource::default()
    }
}

fn first_arn(record: &Value) -> Option<String> {
    record
        .get("resources")
        .and_then(Value::as_array)
        .and_then(|r| r.first())
        .and_then(|r| text(r, &["ARN"]))
}

fn cost_explorer_unit(unit: &Value, context: &RecordContext) -> Result<Record, RecordError> {
    let time = fields::required_time(unit, &["start"], "TimePeriod.Start")?;
    let metrics = unit
        .get("metrics")
        .ok_or(RecordError::MissingField("Metrics"))?;
    let metric = COST_EXPLORER_METRICS
        .iter()
        .find_map(|name| metrics.get(*name))
        .ok_or(RecordError::MissingField("Metrics.UnblendedCost"))?;
    let cost = fields::required_number(metric, &["Amount"], "Metrics.Amount")?;
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
    let time = match text(row, &["lineItem/UsageStartDate"]) {
        Some(_) => {
            fields::required_time(row, &["lineItem/UsageStartDate"], "lineItem/UsageStartDate")?
        }
        None => fields::required_time(
            row,
            &["line_item_usage_start_date"],
            "line_item_usage_start_date",
        )?,
    };
    let cost = if has(row, "lineItem/UnblendedCost") {
        fields::required_number(row, &["lineItem/UnblendedCost"], "lineItem/UnblendedCost")?
    } else {
        fields::required_number(
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
        service: first_text(
            row,
            &[
                &["product/ProductName"],
                &["product_product_name"],
                &["lineItem/ProductCode"],
                &["line_item_product_code"],
            ],
        ),
        cost,
        currency: first_text(
            row,
            &[&["lineItem/CurrencyCode"], &["line_item_currency_code"]],
        ),
        source: context.source.clone(),
    }))
}
