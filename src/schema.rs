//! The one normalized schema every provider record is mapped into.
//!
//! It follows OCSF where OCSF has a word for the thing: API Activity (class 6003) for control-plane
//! calls, Authentication (class 3002) for sign-ins, plus a billing row that OCSF does not model.
//! The field set is a contract (`auditsweep normalize` prints it, later stages read it), described
//! field by field in `docs/schema.md`. A value the record does not carry is `None` (JSON `null`):
//! we never invent a default, because a detector cannot tell an invented value from an observed one.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The cloud a record came from.
///
/// FOCUS billing exports may also carry rows of other providers (Oracle, say); those keep the
/// FOCUS `ProviderName`, lowercased, in [`Provider::Other`] instead of being dropped.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Provider {
    Aws,
    Azure,
    Gcp,
    Other(String),
}

impl Provider {
    pub fn as_str(&self) -> &str {
        match self {
            Provider::Aws => "aws",
            Provider::Azure => "azure",
            Provider::Gcp => "gcp",
            Provider::Other(name) => name,
        }
    }

    /// Parses a provider name as written in our own output or in a FOCUS `ProviderName`.
    pub fn from_name(name: &str) -> Provider {
        match name.trim().to_ascii_lowercase().as_str() {
            "aws" | "amazon web services" | "amazon" => Provider::Aws,
            "azure" | "microsoft" | "microsoft azure" => Provider::Azure,
            "gcp" | "google" | "google cloud" | "google cloud platform" => Provider::Gcp,
            other => Provider::Other(other.to_string()),
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Provider {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Provider {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Ok(Provider::from_name(&name))
    }
}

/// What kind of thing happened; decides which detector looks at an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// A VM / VPS / instance was requested (EC2 RunInstances, Azure virtualMachines/write, ...).
    Provision,
    /// An interactive or API sign-in attempt.
    Login,
    /// Every other control-plane call.
    Api,
}

impl Category {
    /// The OCSF class this category maps to.
    pub fn class_uid(self) -> u32 {
        match self {
            Category::Login => OCSF_AUTHENTICATION,
            Category::Provision | Category::Api => OCSF_API_ACTIVITY,
        }
    }
}

/// OCSF class 6003, API Activity.
pub const OCSF_API_ACTIVITY: u32 = 6003;
/// OCSF class 3002, Authentication.
pub const OCSF_AUTHENTICATION: u32 = 3002;

/// Whether the provider reports the operation as done.
///
/// Records of long-running operations that only say "started" (Azure `Started`/`Accepted`,
/// the first GCP audit entry of an operation) have no outcome yet: `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Failure,
}

/// Where a record came from, so every finding can point back to the exact input line.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SourceRef {
    /// The input file as given on the command line (or found under a given directory); shared
    /// by every record of the file.
    pub file: Arc<str>,
    /// 1-based position of the record in that file (its row for CSV, its line for NDJSON,
    /// its position in the record array for JSON documents).
    pub record: u64,
}

/// What the operation acted on. For provisioning, how many instances of which type.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    /// Provider resource type, e.g. `ec2:instance`, `Microsoft.Compute/virtualMachines`,
    /// `gce_instance`, or for sign-ins the application signed into.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Provider resource id (ARN, Azure resource id, GCP resource name) or application name.
    pub id: Option<String>,
    /// For provisioning: the requested instance type / VM size / machine type.
    pub instance_type: Option<String>,
    /// For provisioning: how many instances the call launched (from the response), or asked for
    /// when the response does not say.
    pub instance_count: Option<u32>,
    /// For sign-ins: whether a second factor was satisfied, when the provider says.
    pub mfa: Option<bool>,
    /// For sign-ins: where the provider geolocated the sign-in (`city, country`), when it says.
    /// For GCP resources in a zone: the zone (the event's `region` is the zone's region).
    pub location: Option<String>,
}

/// One normalized audit record: an API call (OCSF 6003) or a sign-in (OCSF 3002).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub time: DateTime<Utc>,
    pub provider: Provider,
    /// AWS organization or account, Azure tenant (directory) id, GCP organization or project.
    pub tenant: Option<String>,
    /// AWS account, Azure subscription, GCP project.
    pub account: Option<String>,
    pub region: Option<String>,
    pub category: Category,
    pub class_uid: u32,
    /// The provider's own operation name, e.g. `RunInstances`,
    /// `Microsoft.Compute/virtualMachines/write`, `v1.compute.instances.insert`.
    pub operation: String,
    pub principal: Option<String>,
    /// The caller's address; `None` when the provider gives a service name instead of an address
    /// (CloudTrail's `ec2.amazonaws.com`, `AWS Internal`).
    pub src_ip: Option<String>,
    pub user_agent: Option<String>,
    pub outcome: Option<Outcome>,
    /// The provider's error or result code and message, e.g. `UnauthorizedOperation`, `50126`.
    pub reason: Option<String>,
    pub resource: Resource,
    /// The provider's own id of the record (CloudTrail `eventID`, Activity Log `eventDataId`,
    /// Entra sign-in and directory audit `id`, Cloud Audit Logs `insertId`): the same record read
    /// twice, from two files or two exports, has the same id, so the scheduled run counts it once.
    pub event_id: Option<String>,
    pub source: SourceRef,
}

/// Always `billing`; a separate type so billing rows carry the literal category in JSON.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BillingCategory {
    #[default]
    Billing,
}

/// One billing line: a cost for one service on one usage day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BillingRecord {
    /// Midnight UTC of the usage day the cost belongs to.
    pub time: DateTime<Utc>,
    pub provider: Provider,
    pub tenant: Option<String>,
    pub account: Option<String>,
    pub category: BillingCategory,
    pub service: Option<String>,
    pub cost: f64,
    pub currency: Option<String>,
    pub source: SourceRef,
}

/// What the normalizer yields for one input record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Record {
    Event(Box<Event>),
    Billing(BillingRecord),
}

impl Record {
    pub fn source(&self) -> &SourceRef {
        match self {
            Record::Event(event) => &event.source,
            Record::Billing(row) => &row.source,
        }
    }

    pub fn provider(&self) -> &Provider {
        match self {
            Record::Event(event) => &event.provider,
            Record::Billing(row) => &row.provider,
        }
    }

    pub fn time(&self) -> DateTime<Utc> {
        match self {
            Record::Event(event) => event.time,
            Record::Billing(row) => row.time,
        }
    }

    pub fn account(&self) -> Option<&str> {
        match self {
            Record::Event(event) => event.account.as_deref(),
            Record::Billing(row) => row.account.as_deref(),
        }
    }

    pub fn tenant(&self) -> Option<&str> {
        match self {
            Record::Event(event) => event.tenant.as_deref(),
            Record::Billing(row) => row.tenant.as_deref(),
        }
    }
}
