//! What happens in a generated world, before it is written in any provider's format.
//!
//! `normal` and `attacks` produce [`Activity`] values and [`CostLine`]s; the
//! `writers` turn each into the records a cloud would log for it. Keeping this model
//! cloud-neutral means benign and malicious behaviour are described once, and each format's
//! quirks (CloudTrail's failed logins without an ARN, Azure's `Started`/`Succeeded` pairs, GCP's
//! first/last operation entries) live in one writer.

use std::net::Ipv4Addr;

use chrono::{DateTime, NaiveDate, Utc};

use super::catalog::Spend;

/// One thing a principal did.
#[derive(Debug, Clone)]
pub struct Activity {
    pub time: DateTime<Utc>,
    /// Index into the presence's accounts (sign-ins are tenant-wide and ignore it).
    pub account: usize,
    pub actor: Actor,
    pub origin: Origin,
    pub user_agent: &'static str,
    pub action: Action,
}

/// Who acted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// A person (index into the company's people), or whoever holds their password or keys.
    Person(usize),
    /// A service principal (index into the presence's automations), or whoever holds its key.
    Automation(usize),
}

/// Where the call came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Address(Ipv4Addr),
    /// A cloud service acting on the caller's behalf (`autoscaling.amazonaws.com`); GCP and
    /// Azure internal callers log no address at all.
    Service(&'static str),
}

impl Origin {
    pub fn address(self) -> Option<Ipv4Addr> {
        match self {
            Origin::Address(address) => Some(address),
            Origin::Service(_) => None,
        }
    }
}

#[derive(Debug, Clone)]
pub enum Action {
    SignIn(SignIn),
    Launch(Launch),
    Call(Call),
}

/// An interactive sign-in attempt.
#[derive(Debug, Clone)]
pub struct SignIn {
    pub result: SignInResult,
    /// Where the sign-in geolocates to (Entra reports city and country).
    pub city: &'static str,
    pub country: &'static str,
    /// Whether a second factor was (or would have been) part of this sign-in.
    pub mfa: bool,
    /// Entra's `clientAppUsed`: `Browser`, `Mobile Apps and Desktop clients`, `Other clients`.
    pub client: &'static str,
}

/// How a sign-in ended, in Entra's terms (the other clouds map what they can).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInResult {
    Success,
    /// Entra 50126, CloudTrail "Failed authentication", Workspace invalid password.
    WrongPassword,
    /// Entra 50074/50076: the password was right, a second factor is required.
    MfaRequired,
    /// Entra 50053: locked after too many failures.
    Locked,
    /// Entra 50057: the account is disabled.
    Disabled,
    /// Entra 50055: the password has expired.
    PasswordExpired,
}

/// A request for virtual machines.
#[derive(Debug, Clone)]
pub struct Launch {
    pub api: LaunchApi,
    /// AWS region, Azure location, or GCP zone.
    pub region: &'static str,
    pub machine_type: &'static str,
    /// How many machines the call asks for (Azure scale sets: the new capacity).
    pub count: u32,
    /// The VM, scale set or instance name (or name prefix).
    pub name: String,
    /// A call the cloud refused (quota, capacity).
    pub failure: Option<Failure>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LaunchApi {
    Ec2RunInstances,
    Ec2RequestSpotInstances,
    LightsailCreateInstances,
    AzureVirtualMachine,
    AzureScaleSet,
    GceInsert,
    GceBulkInsert,
}

/// Any other control-plane call.
#[derive(Debug, Clone)]
pub struct Call {
    pub op: &'static ApiOp,
    pub region: &'static str,
    pub failure: Option<Failure>,
}

/// A control-plane operation, described in the terms each log uses.
#[derive(Debug)]
pub struct ApiOp {
    /// CloudTrail `eventSource`, Azure resource provider namespace, GCP `serviceName`.
    pub service: &'static str,
    /// CloudTrail `eventName`, Azure `operationName.value`, GCP `methodName`.
    pub name: &'static str,
    /// CloudTrail `readOnly`.
    pub read_only: bool,
    /// Azure resource type below the provider (`storageAccounts`); GCP `resource.type`
    /// (`gce_instance`); unused for AWS.
    pub resource: &'static str,
}

/// A refusal: the provider's error code and message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure {
    pub code: &'static str,
    pub message: &'static str,
}

/// One day's cost of one service in one account.
#[derive(Debug, Clone, PartialEq)]
pub struct CostLine {
    pub day: NaiveDate,
    /// Index into the presence's accounts.
    pub account: usize,
    pub spend: Spend,
    /// In the presence's billing currency.
    pub cost: f64,
    /// CUR `lineItem/LineItemType`: `Usage`, `Fee`, `RIFee`.
    pub line_type: &'static str,
    /// Where the usage ran, when it ran somewhere in particular.
    pub region: Option<&'static str>,
}
