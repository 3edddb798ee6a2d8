//! The Activity Log as one concept: the REST shape, the diagnostic-settings export and the
//! `AzureActivity` table name the same facts differently; each reader gathers them into an
//! [`ActivityRecord`], and this module turns that into an [`Event`] the same way for all three.
//!
//! A write, delete or action on Resource Manager is logged at least twice under one
//! `correlationId`: a `Started` (or `Accepted`) record when the request is taken, and a
//! `Succeeded` or `Failed` record when it completes. Only the completion knows the outcome, so
//! the start records get `outcome: None` and the status as their reason.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::super::categories;
use super::super::fields::{self, at, text};
use super::super::RecordContext;
use super::resource_id;
use super::{first_embedded, truncate};
use crate::schema::{Category, Event, Outcome, Provider, Resource};

/// How deep to look for a `vmSize` in a request body: ARM bodies nest it at most a few levels
/// (`properties.hardwareProfile.vmSize`, `properties.agentPoolProfiles[0].vmSize`); the bound keeps
/// a pathological body from costing more than a glance.
const VM_SIZE_SEARCH_DEPTH: usize = 6;

/// What every Activity Log shape says about one operation.
pub(super) struct ActivityRecord<'r> {
    pub time: DateTime<Utc>,
    pub operation: String,
    /// `resourceProviderName.value` / `ResourceProviderValue`; when absent the operation's own
    /// namespace is used.
    pub resource_provider: Option<String>,
    pub resource_id: Option<String>,
    /// The subscription field when the shape has one; otherwise read from the resource id.
    pub subscription: Option<String>,
    pub tenant: Option<String>,
    pub principal: Option<String>,
    pub caller_ip: Option<String>,
    /// `Succeeded`, `Failed`, `Started`, `Accepted`, or another status as the provider wrote it.
    pub status: Option<String>,
    /// The HTTP-level sub-status (`Created`, `Conflict`, `Forbidden`, ...).
    pub sub_status: Option<String>,
    /// `properties`: holds `requestbody`, `responseBody`, `statusMessage`, `resourceLocation`.
    pub properties: Option<Cow<'r, Value>>,
    /// Where the event was processed (diagnostic export); `global` for most records, so only a
    /// fallback for the region.
    pub location: Option<String>,
    /// `eventDataId` / `EventDataId`: one per record (a `Started` and its `Succeeded` differ).
    pub event_id: Option<String>,
}

impl ActivityRecord<'_> {
    pub(super) fn into_event(self, context: &RecordContext) -> Event {
        let properties = self.properties.as_deref();
        let provider = self
            .resource_provider
            .clone()
            .or_else(|| resource_id::operation_namespace(&self.operation).map(str::to_string))
            .unwrap_or_default();
        let category = categories::AZURE.category(&provider, &self.operation);
        let (outcome, reason) = outcome(
            self.status.as_deref(),
            self.sub_status.as_deref(),
            properties,
        );
        let request = properties.and_then(|p| first_embedded(p, &["requestbody", "requestBody"]));
        let response =
            properties.and_then(|p| first_embedded(p, &["responseBody", "responsebody"]));
        let kind = self
            .resource_id
            .as_deref()
            .and_then(resource_id::resource_type)
            .or_else(|| operation_resource_type(&self.operation));
        let resource = match category {
            Category::Provision => provisioned(
                kind,
                self.resource_id.clone(),
                [request.as_deref(), response.as_deref()],
            ),
            Category::Login | Category::Api => Resource {
                kind,
                id: self.resource_id.clone(),
                ..Resource::default()
            },
        };
        let region = [request.as_deref(), response.as_deref()]
            .into_iter()
            .flatten()
            .find_map(|body| text(body, &["location"]))
            .or_else(|| properties.and_then(|p| text(p, &["resourceLocation"])))
            .or_else(|| self.location.clone())
            .filter(|region| !region.eq_ignore_ascii_case("global"));
        let account = self
            .subscription
            .map(|s| s.to_ascii_lowercase())
            .or_else(|| {
                self.resource_id
                    .as_deref()
                    .and_then(resource_id::subscription)
            });
        Event {
            time: self.time,
            provider: Provider::Azure,
            tenant: self.tenant,
            account,
            region,
            category,
            class_uid: category.class_uid(),
            operation: self.operation,
            principal: self.principal,
            src_ip: fields::ip_address(self.caller_ip),
            user_agent: None,
            outcome,
            reason,
            resource,
            event_id: self.event_id,
            source: context.source.clone(),
        }
    }
}

/// `Microsoft.Compute/virtualMachines` for `Microsoft.Compute/virtualMachines/write`: the
/// resource type when the record has no resource id to read it from.
fn operation_resource_type(operation: &str) -> Option<String> {
    let (kind, _verb) = operation.rsplit_once('/')?;
    kind.contains('/')
        .then(|| resource_id::canonical(kind).map_or(kind.to_string(), str::to_string))
}

/// Maps an Activity Log status to an outcome and reason.
///
/// `Started` and `Accepted` are not outcomes: the completion record of the same operation carries
/// `Succeeded` or `Failed`. Other statuses (`Active`, `Resolved`, `Updated` of health events) are
/// not outcomes either and are kept as the reason. A failure's reason always starts with `Failed`,
/// whether the shape spelled it `Failed` or `Failure`, so reasons group across shapes.
pub(super) fn outcome(
    status: Option<&str>,
    sub_status: Option<&str>,
    properties: Option<&Value>,
) -> (Option<Outcome>, Option<String>) {
    let Some(status) = status.map(str::trim).filter(|s| !s.is_empty()) else {
        return (None, None);
    };
    match status.to_ascii_lowercase().as_str() {
        "succeeded" | "success" => (Some(Outcome::Success), None),
        "failed" | "failure" => {
            let detail = properties.and_then(status_message_detail);
            let parts: Vec<&str> = [Some("Failed"), sub_status, detail.as_deref()]
                .into_iter()
                .flatten()
                .map(str::trim)
                .filter(|part| !part.is_empty())
                .collect();
            (Some(Outcome::Failure), Some(parts.join(": ")))
        }
        "started" | "start" => (None, Some("Started".into())),
        "accepted" | "accept" => (None, Some("Accepted".into())),
        _ => (None, Some(status.to_string())),
    }
}

/// The error a failed operation reports in `properties.statusMessage`: a JSON document
/// (`{"error":{"code":...,"message":...,"details":[...]}}`) or plain text. The most specific
/// code wins (`SkuNotAvailable` inside a generic `ResourceOperationFailure`).
fn status_message_detail(properties: &Value) -> Option<String> {
    let Some(document) = first_embedded(properties, &["statusMessage"]) else {
        return text(properties, &["statusMessage"]).map(|raw| truncate(&raw, 200));
    };
    let error = document.get("error").unwrap_or(&document);
    let specific = error
        .get("details")
        .and_then(Value::as_array)
        .and_then(|details| details.first())
        .filter(|detail| detail.get("code").is_some())
        .unwrap_or(error);
    match (text(specific, &["code"]), text(specific, &["message"])) {
        (Some(code), Some(message)) => Some(format!("{code}: {}", truncate(&message, 200))),
        (Some(code), None) => Some(code),
        (None, Some(message)) => Some(truncate(&message, 200)),
        (None, None) => None,
    }
}

/// What a provisioning call asked for, from its request body (or, failing that, the response
/// body, which echoes the resource): the VM size, and how many machines.
fn provisioned(kind: Option<String>, id: Option<String>, bodies: [Option<&Value>; 2]) -> Resource {
    let bodies: Vec<&Value> = bodies.into_iter().flatten().collect();
    let kind_is = |wanted: &str| kind.as_deref() == Some(wanted);
    let instance_type = if kind_is(resource_id::SCALE_SETS) {
        bodies.iter().find_map(|body| text(body, &["sku", "name"]))
    } else {
        bodies
            .iter()
            .find_map(|body| find_key(body, "vmSize", VM_SIZE_SEARCH_DEPTH))
            .and_then(|size| text(size, &[]))
    };
    let instance_count = if kind_is(resource_id::VIRTUAL_MACHINES) {
        Some(1)
    } else if kind_is(resource_id::SCALE_SETS) {
        bodies
            .iter()
            .find_map(|body| count(body, &["sku", "capacity"]))
    } else if kind_is(resource_id::AKS_AGENT_POOLS) {
        bodies
            .iter()
            .find_map(|body| count(body, &["properties", "count"]))
    } else if kind_is(resource_id::AKS_CLUSTERS) {
        bodies.iter().find_map(|body| agent_pool_total(body))
    } else {
        None
    };
    Resource {
        kind,
        id,
        instance_type,
        instance_count,
        ..Resource::default()
    }
}

/// The first value under `key` (case-insensitive), searching objects and arrays breadth-first
/// within `depth` levels.
fn find_key<'v>(value: &'v Value, key: &str, depth: usize) -> Option<&'v Value> {
    let mut level: Vec<&Value> = vec![value];
    for _ in 0..=depth {
        let mut next = Vec::new();
        for value in level {
            match value {
                Value::Object(map) => {
                    if let Some((_, found)) = map.iter().find(|(k, _)| k.eq_ignore_ascii_case(key))
                    {
                        return Some(found);
                    }
                    next.extend(map.values());
                }
                Value::Array(items) => next.extend(items.iter()),
                _ => {}
            }
        }
        if next.is_empty() {
            return None;
        }
        level = next;
    }
    None
}

/// A non-negative whole count, from a number or numeric text.
fn count(value: &Value, path: &[&str]) -> Option<u32> {
    match fields::number(value, path)? {
        Ok(n) if n >= 0.0 && n.fract() == 0.0 => Some(n.min(u32::MAX as f64) as u32),
        _ => None,
    }
}

/// An AKS cluster creation asks for the nodes of all its agent pools.
fn agent_pool_total(body: &Value) -> Option<u32> {
    let pools = at(body, &["properties", "agentPoolProfiles"])?.as_array()?;
    let counts: Vec<u32> = pools
        .iter()
        .filter_map(|pool| count(pool, &["count"]))
        .collect();
    (!counts.is_empty()).then(|| counts.iter().fold(0u32, |sum, n| sum.saturating_add(*n)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn started_and_accepted_have_no_outcome() {
        assert_eq!(
            outcome(Some("Started"), Some(""), None),
            (None, Some("Started".into()))
        );
        assert_eq!(
            outcome(Some("Accept"), None, None),
            (None, Some("Accepted".into()))
        );
        assert_eq!(
            outcome(Some("Succeeded"), Some("Created"), None),
            (Some(Outcome::Success), None)
        );
        assert_eq!(
            outcome(Some("Active"), None, None),
            (None, Some("Active".into()))
        );
        assert_eq!(outcome(None, None, None), (None, None));
    }

    #[test]
    fn failure_reason_names_the_most_specific_error() {
        let properties = json!({"statusMessage": "{\"status\":\"Failed\",\"error\":{\"code\":\"ResourceOperationFailure\",\"message\":\"The resource operation completed with terminal provisioning state 'Failed'.\",\"details\":[{\"code\":\"SkuNotAvailable\",\"message\":\"The requested size for resource is currently not available.\"}]}}"});
        assert_eq!(
            outcome(Some("Failed"), Some("Conflict"), Some(&properties)),
            (
                Some(Outcome::Failure),
                Some("Failed: Conflict: SkuNotAvailable: The requested size for resource is currently not available.".into())
            )
        );
        let plain = json!({"statusMessage": "quota exceeded"});
        assert_eq!(
            outcome(Some("Failed"), None, Some(&plain)).1.as_deref(),
            Some("Failed: quota exceeded")
        );
        assert_eq!(
            outcome(Some("Failure"), Some(""), None).1.as_deref(),
            Some("Failed")
        );
    }

    #[test]
    fn vm_size_and_count_from_request_bodies() {
        let vm = json!({"location": "eastus", "properties": {"hardwareProfile": {"vmSize": "Standard_NC24ads_A100_v4"}}});
        let resource = provisioned(
            Some(resource_id::VIRTUAL_MACHINES.into()),
            Some("/x".into()),
            [Some(&vm), None],
        );
        assert_eq!(
            resource.instance_type.as_deref(),
            Some("Standard_NC24ads_A100_v4")
        );
        assert_eq!(resource.instance_count, Some(1));

        let scale_set =
            json!({"sku": {"name": "Standard_F72s_v2", "tier": "Standard", "capacity": 40}});
        let resource = provisioned(
            Some(resource_id::SCALE_SETS.into()),
            None,
            [Some(&scale_set), None],
        );
        assert_eq!(resource.instance_type.as_deref(), Some("Standard_F72s_v2"));
        assert_eq!(resource.instance_count, Some(40));

        let cluster = json!({"properties": {"agentPoolProfiles": [
            {"name": "a", "count": 3, "vmSize": "Standard_D4s_v5"},
            {"name": "b", "count": "5", "vmSize": "Standard_ND96asr_v4"}]}});
        let resource = provisioned(
            Some(resource_id::AKS_CLUSTERS.into()),
            None,
            [Some(&cluster), None],
        );
        assert_eq!(resource.instance_type.as_deref(), Some("Standard_D4s_v5"));
        assert_eq!(resource.instance_count, Some(8));
    }

    #[test]
    fn unknown_sizes_stay_unknown() {
        let scale_set_without_capacity = json!({"sku": {"name": "Standard_B1s"}});
        let resource = provisioned(
            Some(resource_id::SCALE_SETS.into()),
            None,
            [Some(&scale_set_without_capacity), None],
        );
        assert_eq!(resource.instance_count, None);
        let resource = provisioned(
            Some("Microsoft.Batch/batchAccounts/pools".into()),
            None,
            [None, None],
        );
        assert_eq!(resource.instance_type, None);
        assert_eq!(resource.instance_count, None);
    }

    #[test]
    fn resource_type_from_operation_when_no_id() {
        assert_eq!(
            operation_resource_type("MICROSOFT.COMPUTE/VIRTUALMACHINES/WRITE").as_deref(),
            Some("Microsoft.Compute/virtualMachines")
        );
        assert_eq!(operation_resource_type("Sign-in activity"), None);
    }
}
