//! What "normal" means in a generated world: every benign behaviour and its parameters.
//!
//! A detector is only as good as the benign data it is judged on, so the benign side copies the
//! things that make real logs hard: a reviewer should be able to read this one file and know
//! every false-positive trap the generator sets. Each constant below says what it models.
//!
//! **People.** Each company has a few to a few dozen people: engineers, administrators and
//! analysts (analysts never provision). Most work from an office, where everyone leaves through
//! one NAT address; the rest from home, whose residential address changes every few weeks within
//! the same ISP. People sign in on workdays, around their own start time, in their own time zone
//! (daylight saving is not modelled); a few work on a weekend day; some take a week off. On-call
//! engineers sign in at night during their on-call week when something breaks.
//!
//! **Sign-in noise.** Typos (1 to 3 failures, then success from the same address), a few people
//! who mistype far more often, expired passwords (Entra 50055, then success after the reset),
//! MFA prompts (Entra 50074, then success with MFA), a rare benign lockout (50053), a leaver
//! whose phone keeps trying a disabled account (50057) for a few days, travellers who sign in
//! from another country for a few days (new address, no failures), and new hires whose first
//! sign-in and first launch fall inside the window.
//!
//! **Automation.** CI deploys on workdays; on AWS a monitoring poller reads the inventory all
//! day (the other clouds' activity logs do not record reads); a batch scheduler launches a large
//! batch of the same machine type in the same region every night (occasionally refused for
//! capacity, then retried) and removes it in the morning; the cloud's autoscaler adds machines
//! in the morning and removes them in the evening. Automation calls from cloud addresses.
//!
//! **Benign first uses.** A team starts using a new region with a few instances (and keeps
//! using it); a new engineer launches for the first time; a small company starts a Lightsail
//! website. A detector that flags every first use will flag these.
//!
//! **Billing.** Daily cost per service with a weekly rhythm (compute and traffic drop at
//! weekends, storage does not), a monthly growth trend, day-to-day noise, charges on the 1st of
//! each month (support, reserved-instance fees, marketplace subscriptions) and one day of
//! missing data per tenant-cloud.
//!
//! **Small, young and quiet.** In worlds of four or more companies one company has the minimum
//! headcount and a small bill, one tenant-cloud only begins two weeks before the end (nothing
//! before: no calls, sign-ins or billing), and one is quiet (people rarely touch it, no nightly
//! batch, no autoscaling): the single-tenant and cold-start cases an evaluation must cover.
//!
//! `--events-scale` multiplies the volume of routine API calls only (sessions, deploys, polls);
//! sign-ins, launches and billing keep their rates, so a small demo still has every behaviour.

use std::net::Ipv4Addr;

use chrono::{Datelike, Duration, NaiveDate, Weekday};

use super::activity::{
    Action, Activity, Actor, ApiOp, Call, CostLine, Failure, Launch, LaunchApi, Origin, SignIn,
    SignInResult,
};
use super::catalog::{self, Cloud, MachineType, Spend};
use super::random::Rand;
use super::world::{AutomationKind, Company, Person, Place, Presence, Role, World, PLACES};

// ---------------------------------------------------------------------------------------------
// Companies and people
// ---------------------------------------------------------------------------------------------

/// Company size is log-uniform between these: a 6-person start-up to a 60-person scale-up.
const SIZE_RANGE: (f64, f64) = (0.6, 3.0);
/// People per unit of size.
const PEOPLE_PER_SIZE: f64 = 12.0;
/// Share of people who work from an office (the rest from home).
const OFFICE_SHARE: f64 = 0.65;
/// Role mix after the first two people (an admin and an engineer).
const ROLE_WEIGHTS: &[(Role, f64)] = &[
    (Role::Engineer, 0.6),
    (Role::Admin, 0.1),
    (Role::Analyst, 0.3),
];
/// Share of companies on a second cloud, besides every fourth one.
const SECOND_CLOUD_SHARE: f64 = 0.15;

/// When a workday starts (local hours) and how long it is.
const WORKDAY_START_HOURS: (f64, f64) = (8.75, 0.75);
const WORKDAY_LENGTH_HOURS: (f64, f64) = (8.5, 0.75);
/// Chance that someone works on a given weekend day.
const WEEKEND_WORK_SHARE: f64 = 0.04;
/// Chance that someone takes a week off in the window, and how long.
const VACATION_SHARE: f64 = 0.3;
const VACATION_DAYS: (u32, u32) = (5, 9);
/// Residential leases: a home address changes this often (days).
pub const HOME_LEASE_DAYS: i64 = 30;

/// Share of people enrolled in MFA.
const MFA_SHARE: f64 = 0.9;
/// Chance that a sign-in starts with a typo, for most people and for the clumsy few.
const TYPO_RATE: f64 = 0.03;
const CLUMSY_TYPO_RATE: f64 = 0.12;
const CLUMSY_SHARE: f64 = 0.1;
/// How many failures a typo episode has (1, 2 or 3).
const TYPO_FAILURE_WEIGHTS: &[(u32, f64)] = &[(1, 0.65), (2, 0.25), (3, 0.1)];
/// Entra: chance a sign-in finds the password expired (50055), then the user resets it.
const EXPIRED_PASSWORD_RATE: f64 = 1.0 / 150.0;
/// Entra: chance a sign-in is interrupted for MFA (50074) before succeeding.
const MFA_PROMPT_RATE: f64 = 0.25;
/// Entra: chance of a benign lockout (five typos, 50053, success half an hour later).
const BENIGN_LOCKOUT_RATE: f64 = 0.002;

/// Engineers on call (one per week, in turn) and the chance of a night incident.
const ON_CALL_SHARE: f64 = 0.3;
const NIGHT_INCIDENT_RATE: f64 = 0.3;
/// Travellers: share of people, trip length (days).
const TRAVELLER_SHARE: f64 = 0.15;
const TRIP_DAYS: (u32, u32) = (3, 7);
/// New hires (share of people after the first three) and leavers.
const NEW_HIRE_SHARE: f64 = 0.05;
const LEAVER_SHARE: f64 = 0.03;
/// A leaver's phone keeps trying the disabled account for this many days, this often a day.
const LEAVER_RETRY_DAYS: (u32, u32) = (2, 5);
const LEAVER_RETRIES_PER_DAY: (u32, u32) = (2, 6);

/// Chance per workday that someone signs in to the cloud's console (AWS) or identity provider
/// (Entra and Workspace, which people use all day for mail and documents).
const AWS_CONSOLE_DAY_RATE: f64 = 0.6;
const DIRECTORY_DAY_RATE: f64 = 0.95;
/// Extra sessions per workday beyond the first (Poisson mean).
const EXTRA_SESSIONS: f64 = 0.5;

// ---------------------------------------------------------------------------------------------
// The small company, the young tenant-cloud and the quiet one (worlds of 4+ companies)
// ---------------------------------------------------------------------------------------------

/// The small company: the minimum headcount (an admin, two engineers and two more) and the
/// spend of a company of this size (a quarter of a size-1 company's bill).
pub const SMALL_COMPANY_HEADCOUNT: usize = 5;
pub const SMALL_COMPANY_SIZE: f64 = 0.25;
/// The young tenant-cloud: a new account whose records (API calls, sign-ins, billing) begin
/// this many days before the world's end; nothing before.
pub const YOUNG_ACCOUNT_DAYS: u32 = 14;
/// Attacks on the young tenant-cloud come after at least this many days of its data (fewer than
/// the detectors' default `min_history_days`: the cold start is the point).
pub const YOUNG_ACCOUNT_HISTORY_DAYS: u32 = 4;
/// The quiet tenant-cloud: chance that a person touches it at all on a day they work (sign-in,
/// API calls, launches, night incidents), and the share of the usual CI deploys. It has no
/// nightly batch, its autoscaler never scales, no team starts a new region and no Lightsail
/// website is started: hardly anything is ever provisioned there.
pub const QUIET_ACTIVE_DAY_RATE: f64 = 0.1;
pub const QUIET_DEPLOY_SHARE: f64 = 0.1;

// ---------------------------------------------------------------------------------------------
// API volume (scaled by --events-scale)
// ---------------------------------------------------------------------------------------------

/// AWS calls per human session (CloudTrail records reads too), by role.
const AWS_SESSION_CALLS: f64 = 25.0;
const AWS_ANALYST_SESSION_CALLS: f64 = 8.0;
/// Azure and GCP activity logs record writes only: a few per engineer session.
const WRITE_SESSION_CALLS: f64 = 3.0;
/// Deploys per workday per account, and calls per deploy.
const DEPLOYS_PER_WORKDAY: f64 = 8.0;
/// Monitoring polls per day (one every five minutes) and calls per poll.
const POLLS_PER_DAY: f64 = 288.0;
const CALLS_PER_POLL: (u32, u32) = (3, 6);
/// Chance a human write is refused (missing permission).
const ACCESS_DENIED_RATE: f64 = 0.01;

// ---------------------------------------------------------------------------------------------
// Provisioning
// ---------------------------------------------------------------------------------------------

/// Share of tenant-clouds with a nightly batch, its size and when it starts (local minutes).
const NIGHTLY_SHARE: f64 = 0.8;
const NIGHTLY_COUNT: (u32, u32) = (20, 80);
const NIGHTLY_START_MINUTE: (u32, u32) = (60, 110);
/// Relative spread of the nightly count from night to night.
const NIGHTLY_COUNT_SPREAD: f64 = 0.08;
/// Chance that a nightly launch is refused for capacity and retried.
const NIGHTLY_CAPACITY_FAILURE: f64 = 0.03;
/// Share of AWS nightly batches that use Spot requests.
const SPOT_SHARE: f64 = 0.3;
/// Autoscaling: scale-out steps per workday (Poisson mean + 1), instances per step.
const AUTOSCALE_STEPS: f64 = 1.5;
const AUTOSCALE_WEEKEND_STEPS: f64 = 0.8;
const AUTOSCALE_STEP_SIZE: (u32, u32) = (1, 3);
/// Chance per workday that an engineer launches a dev machine or two by hand.
const AD_HOC_LAUNCH_RATE: f64 = 0.05;
/// Share of tenant-clouds where a team starts using a new region inside the window.
const FIRST_USE_SHARE: f64 = 0.5;
const FIRST_USE_COUNT: (u32, u32) = (2, 4);
/// After a first use, share of that engineer's launches that go to the new region.
const FIRST_USE_STICKINESS: f64 = 0.3;
/// Share of AWS tenants that start a Lightsail website inside the window.
const LIGHTSAIL_SITE_SHARE: f64 = 0.2;

// ---------------------------------------------------------------------------------------------
// Billing
// ---------------------------------------------------------------------------------------------

/// Base daily cost (USD at size 1) per service, the chance a tenant uses it, its day-to-day
/// noise (log-sd) and its weekend factor.
const SPEND_PROFILE: &[(Spend, f64, f64, f64, f64)] = &[
    (Spend::Compute, 420.0, 1.0, 0.06, 0.75),
    (Spend::Storage, 90.0, 1.0, 0.02, 1.0),
    (Spend::DataTransfer, 45.0, 1.0, 0.15, 0.6),
    (Spend::Database, 160.0, 0.7, 0.03, 0.95),
    (Spend::Monitoring, 25.0, 1.0, 0.08, 0.85),
    (Spend::Serverless, 12.0, 0.5, 0.2, 0.7),
];
/// Monthly growth trend range (fraction per 30 days).
const GROWTH_PER_MONTH: (f64, f64) = (0.0, 0.08);
/// Charges on the 1st: support (share of last month's spend), reserved-instance fees (share of
/// a month of compute), marketplace subscriptions (USD), and the chance a tenant has each.
const SUPPORT_SHARE_OF_SPEND: f64 = 0.07;
const RESERVATION_SHARE: (f64, f64) = (0.5, 0.3);
const MARKETPLACE_SHARE: (f64, (f64, f64)) = (0.4, (500.0, 3000.0));
/// The second account of a tenant (dev subscription or project) carries this share of spend.
const SECOND_ACCOUNT_SPEND: f64 = 0.2;

/// The share of a tenant's routine spend billed to one of its accounts.
pub fn account_spend_share(accounts: usize, account: usize) -> f64 {
    match (accounts, account) {
        (0 | 1, _) => 1.0,
        (_, 0) => 1.0 - SECOND_ACCOUNT_SPEND,
        _ => SECOND_ACCOUNT_SPEND,
    }
}

// ---------------------------------------------------------------------------------------------
// User agents
// ---------------------------------------------------------------------------------------------

const BROWSERS: &[&str] = &[
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36 Edg/122.0.2365.80",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.4; rv:124.0) Gecko/20100101 Firefox/124.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
];
const MAIL_CLIENT: &str = "Microsoft Office/16.0 (iOS 17.4; iPhone15,2; Outlook 4.2411.0)";
const AWS_TOOLS: &[&str] = &[
    "console.amazonaws.com",
    "aws-cli/2.15.30 Python/3.11.8 Darwin/23.4.0 exe/x86_64 prompt/off",
    "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0-1016-aws exe/x86_64.ubuntu.22 prompt/off",
    "APN/1.0 HashiCorp/1.0 Terraform/1.7.5 (+https://www.terraform.io) terraform-provider-aws/5.42.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.25.3 os/macos lang/go#1.21.8 md/GOOS#darwin md/GOARCH#arm64 api/ec2#1.151.1",
];
const AWS_AUTOMATION_UA: &str = "Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#5.10.213-201.855.amzn2.x86_64 md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.69";
const GCP_TOOLS: &[&str] = &[
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36,gzip(gfe),gzip(gfe)",
    "google-cloud-sdk gcloud/471.0.0 command/gcloud.compute.instances.create invocation-id/2c5f0b9b2b1e4c5d environment/None environment-version/None client-os/MACOSX client-os-ver/14.4.1 client-pltf-arch/arm interactive/True from-script/False python/3.11.8 term/xterm-256color (Macintosh; Intel Mac OS X 14.4.1),gzip(gfe)",
];
const GCP_AUTOMATION_UA: &str = "google-api-go-client/0.5 Terraform/1.7.5 (+https://www.terraform.io) Terraform-Plugin-SDK/2.33.0 terraform-provider-google/5.22.0,gzip(gfe)";
const GCP_AUTOSCALER_UA: &str = "GCE Managed Instance Group";
const AZURE_TOOLS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36 Edg/122.0.2365.80",
    "AZURECLI/2.58.0 (DEB) azsdk-python-azure-mgmt-compute/30.5.0 Python/3.11.8 (Linux-6.5.0-1016-azure-x86_64-with-glibc2.35)",
];
const AZURE_AUTOMATION_UA: &str = "azsdk-go-armcompute/v5.6.0 (go1.21.8; linux)";

// ---------------------------------------------------------------------------------------------
// Control-plane operations
// ---------------------------------------------------------------------------------------------

const fn op(
    service: &'static str,
    name: &'static str,
    read_only: bool,
    resource: &'static str,
) -> ApiOp {
    ApiOp {
        service,
        name,
        read_only,
        resource,
    }
}

const EC2: &str = "ec2.amazonaws.com";
const S3: &str = "s3.amazonaws.com";
const CLOUDWATCH: &str = "monitoring.amazonaws.com";
const COMPUTE: &str = "compute.googleapis.com";

// The operation mixes below are weighted tables, one operation per line:
// (op(service, operation, read-only, resource type), relative weight).

/// What engineers and administrators do on AWS (CloudTrail management events, reads included).
#[rustfmt::skip]
static AWS_ENGINEER_OPS: &[(ApiOp, f64)] = &[
    (op(EC2, "DescribeInstances", true, ""), 20.0),
    (op(EC2, "DescribeSecurityGroups", true, ""), 6.0),
    (op(EC2, "DescribeVpcs", true, ""), 3.0),
    (op(EC2, "DescribeSubnets", true, ""), 3.0),
    (op(EC2, "DescribeVolumes", true, ""), 3.0),
    (op(EC2, "CreateTags", false, ""), 2.0),
    (op(EC2, "StopInstances", false, ""), 0.8),
    (op(EC2, "StartInstances", false, ""), 0.8),
    (op(EC2, "AuthorizeSecurityGroupIngress", false, ""), 0.4),
    (op(S3, "ListBuckets", true, ""), 5.0),
    (op(S3, "GetBucketPolicy", true, ""), 2.0),
    (op(S3, "PutBucketPolicy", false, ""), 0.2),
    (op("iam.amazonaws.com", "ListRoles", true, ""), 3.0),
    (op("iam.amazonaws.com", "GetRole", true, ""), 2.0),
    (op("sts.amazonaws.com", "GetCallerIdentity", true, ""), 4.0),
    (op(CLOUDWATCH, "GetMetricData", true, ""), 8.0),
    (op(CLOUDWATCH, "DescribeAlarms", true, ""), 3.0),
    (op("logs.amazonaws.com", "DescribeLogGroups", true, ""), 3.0),
    (op("lambda.amazonaws.com", "ListFunctions20150331", true, ""), 2.0),
    (op("lambda.amazonaws.com", "UpdateFunctionCode20150331v2", false, ""), 0.5),
    (op("rds.amazonaws.com", "DescribeDBInstances", true, ""), 2.0),
    (op("cloudformation.amazonaws.com", "DescribeStacks", true, ""), 3.0),
    (op("cloudformation.amazonaws.com", "UpdateStack", false, ""), 0.3),
];

/// What analysts look at on AWS: costs and dashboards.
#[rustfmt::skip]
static AWS_ANALYST_OPS: &[(ApiOp, f64)] = &[
    (op("ce.amazonaws.com", "GetCostAndUsage", true, ""), 10.0),
    (op("ce.amazonaws.com", "GetCostForecast", true, ""), 3.0),
    (op(CLOUDWATCH, "GetMetricData", true, ""), 5.0),
    (op(EC2, "DescribeInstances", true, ""), 2.0),
    (op(S3, "ListBuckets", true, ""), 2.0),
];

/// A CI deploy on AWS.
#[rustfmt::skip]
static AWS_DEPLOY_OPS: &[(ApiOp, f64)] = &[
    (op("sts.amazonaws.com", "AssumeRoleWithWebIdentity", true, ""), 2.0),
    (op("ecr.amazonaws.com", "GetAuthorizationToken", true, ""), 2.0),
    (op("ecr.amazonaws.com", "PutImage", false, ""), 1.0),
    (op("ecs.amazonaws.com", "RegisterTaskDefinition", false, ""), 1.0),
    (op("ecs.amazonaws.com", "UpdateService", false, ""), 1.0),
    (op("ecs.amazonaws.com", "DescribeServices", true, ""), 4.0),
    (op("cloudformation.amazonaws.com", "DescribeStacks", true, ""), 2.0),
];

/// A monitoring poll on AWS.
#[rustfmt::skip]
static AWS_POLL_OPS: &[(ApiOp, f64)] = &[
    (op(EC2, "DescribeInstances", true, ""), 4.0),
    (op(EC2, "DescribeVolumes", true, ""), 1.0),
    (op(CLOUDWATCH, "GetMetricData", true, ""), 4.0),
    (op(CLOUDWATCH, "ListMetrics", true, ""), 1.0),
    (op("rds.amazonaws.com", "DescribeDBInstances", true, ""), 1.0),
    (op("elasticloadbalancing.amazonaws.com", "DescribeLoadBalancers", true, ""), 1.0),
    (op("autoscaling.amazonaws.com", "DescribeAutoScalingGroups", true, ""), 1.0),
];

pub(crate) static AWS_TERMINATE: ApiOp = op(EC2, "TerminateInstances", false, "");

/// Azure Activity Log writes engineers make.
#[rustfmt::skip]
static AZURE_ENGINEER_OPS: &[(ApiOp, f64)] = &[
    (op("Microsoft.Compute", "Microsoft.Compute/virtualMachines/start/action", false, "virtualMachines"), 2.0),
    (op("Microsoft.Compute", "Microsoft.Compute/virtualMachines/deallocate/action", false, "virtualMachines"), 2.0),
    (op("Microsoft.Compute", "Microsoft.Compute/virtualMachines/restart/action", false, "virtualMachines"), 1.0),
    (op("Microsoft.Storage", "Microsoft.Storage/storageAccounts/listKeys/action", false, "storageAccounts"), 4.0),
    (op("Microsoft.Network", "Microsoft.Network/networkSecurityGroups/write", false, "networkSecurityGroups"), 1.0),
    (op("Microsoft.Web", "Microsoft.Web/sites/write", false, "sites"), 1.5),
    (op("Microsoft.Web", "Microsoft.Web/sites/restart/action", false, "sites"), 1.0),
    (op("Microsoft.KeyVault", "Microsoft.KeyVault/vaults/write", false, "vaults"), 0.5),
    (op("Microsoft.Resources", "Microsoft.Resources/tags/write", false, "tags"), 1.0),
    (op("Microsoft.Authorization", "Microsoft.Authorization/roleAssignments/write", false, "roleAssignments"), 0.3),
];

/// A CI deploy on Azure.
#[rustfmt::skip]
static AZURE_DEPLOY_OPS: &[(ApiOp, f64)] = &[
    (op("Microsoft.Resources", "Microsoft.Resources/deployments/write", false, "deployments"), 2.0),
    (op("Microsoft.Web", "Microsoft.Web/sites/write", false, "sites"), 2.0),
    (op("Microsoft.Web", "Microsoft.Web/sites/config/write", false, "sites"), 1.0),
    (op("Microsoft.Storage", "Microsoft.Storage/storageAccounts/listKeys/action", false, "storageAccounts"), 2.0),
    (op("Microsoft.ContainerRegistry", "Microsoft.ContainerRegistry/registries/listCredentials/action", false, "registries"), 1.0),
];

/// GCP Admin Activity writes engineers make.
#[rustfmt::skip]
static GCP_ENGINEER_OPS: &[(ApiOp, f64)] = &[
    (op(COMPUTE, "v1.compute.instances.stop", false, "gce_instance"), 2.0),
    (op(COMPUTE, "v1.compute.instances.start", false, "gce_instance"), 2.0),
    (op(COMPUTE, "v1.compute.instances.setMetadata", false, "gce_instance"), 1.0),
    (op(COMPUTE, "v1.compute.instances.setLabels", false, "gce_instance"), 1.0),
    (op(COMPUTE, "v1.compute.firewalls.patch", false, "gce_firewall_rule"), 0.5),
    (op("storage.googleapis.com", "storage.buckets.update", false, "gcs_bucket"), 1.0),
    (op("storage.googleapis.com", "storage.setIamPermissions", false, "gcs_bucket"), 0.5),
    (op("cloudresourcemanager.googleapis.com", "SetIamPolicy", false, "project"), 0.3),
    (op("iam.googleapis.com", "google.iam.admin.v1.CreateServiceAccountKey", false, "service_account"), 0.2),
];

/// A CI deploy on GCP.
#[rustfmt::skip]
static GCP_DEPLOY_OPS: &[(ApiOp, f64)] = &[
    (op("run.googleapis.com", "google.cloud.run.v1.Services.ReplaceService", false, "cloud_run_revision"), 2.0),
    (op("cloudbuild.googleapis.com", "google.devtools.cloudbuild.v1.CloudBuild.CreateBuild", false, "build"), 2.0),
    (op("storage.googleapis.com", "storage.buckets.update", false, "gcs_bucket"), 0.5),
];

pub(crate) static GCP_DELETE: ApiOp = op(
    COMPUTE,
    "v1.compute.instances.delete",
    false,
    "gce_instance",
);

const ACCESS_DENIED_AWS: Failure = Failure {
    code: "AccessDenied",
    message: "User is not authorized to perform this operation because no identity-based policy allows the action",
};
const ACCESS_DENIED_AZURE: Failure = Failure {
    code: "AuthorizationFailed",
    message: "The client does not have authorization to perform action over scope.",
};
const ACCESS_DENIED_GCP: Failure = Failure {
    code: "7",
    message: "PERMISSION_DENIED",
};
const CAPACITY_AWS: Failure = Failure {
    code: "Server.InsufficientInstanceCapacity",
    message: "We currently do not have sufficient capacity in the Availability Zone you requested.",
};
const CAPACITY_AZURE: Failure = Failure {
    code: "AllocationFailed",
    message: "Allocation failed. We do not have sufficient capacity for the requested VM size in this region.",
};
const CAPACITY_GCP: Failure = Failure {
    code: "8",
    message: "ZONE_RESOURCE_POOL_EXHAUSTED",
};

// ---------------------------------------------------------------------------------------------
// Traits chosen when the world is built
// ---------------------------------------------------------------------------------------------

/// A person's habits: when they work, how they sign in, where they go.
#[derive(Debug, Clone)]
pub struct Habits {
    /// Local minute of the day work usually starts, and how long a workday lasts (minutes).
    pub start_minute: u32,
    pub work_minutes: u32,
    pub typo_rate: f64,
    pub mfa: bool,
    pub on_call: bool,
    /// Offsets the person's residential lease changes from everyone else's.
    pub lease_phase: u32,
    /// New hire: the first day the person exists.
    pub joins: Option<u32>,
    /// Leaver: the first day the account is disabled.
    pub leaves: Option<u32>,
    pub leaver_retry_days: u32,
    pub trip: Option<Trip>,
    /// First day and length of a week off.
    pub vacation: Option<(u32, u32)>,
}

/// A business trip: a few days signing in from another country.
#[derive(Debug, Clone)]
pub struct Trip {
    pub first_day: u32,
    pub days: u32,
    pub place: &'static Place,
    pub address: Ipv4Addr,
}

/// What a tenant-cloud runs routinely.
#[derive(Debug, Clone)]
pub struct Routine {
    pub nightly: Option<Nightly>,
    pub autoscale: Autoscale,
    pub first_use: Option<FirstUse>,
    /// AWS: the day a Lightsail website is started, and where.
    pub lightsail_site: Option<(u32, &'static str)>,
    pub billing: BillingProfile,
}

#[derive(Debug, Clone)]
pub struct Nightly {
    pub region: &'static str,
    pub machine: MachineType,
    pub mean_count: u32,
    pub start_minute: u32,
    /// AWS: Spot requests instead of on-demand launches.
    pub spot: bool,
}

#[derive(Debug, Clone)]
pub struct Autoscale {
    pub region: &'static str,
    pub machine: MachineType,
}

/// A team starts using a new region.
#[derive(Debug, Clone)]
pub struct FirstUse {
    pub day: u32,
    pub region: &'static str,
    pub machine: MachineType,
    pub count: u32,
}

#[derive(Debug, Clone)]
pub struct BillingProfile {
    /// Base daily cost per service, with its noise and weekend factor.
    pub daily: Vec<(Spend, f64, f64, f64)>,
    pub growth_per_month: f64,
    /// The day with no billing data.
    pub missing_day: u32,
    pub reservation: Option<f64>,
    pub marketplace: Option<f64>,
}

pub fn company_size(rand: &mut Rand) -> f64 {
    let (lo, hi) = SIZE_RANGE;
    (lo.ln() + rand.unit() * (hi.ln() - lo.ln())).exp()
}

pub fn headcount(size: f64, rand: &mut Rand) -> usize {
    ((PEOPLE_PER_SIZE * size * rand.jitter(0.15)).round() as usize).clamp(5, 60)
}

pub fn role(index: usize, rand: &mut Rand) -> Role {
    match index {
        0 => Role::Admin,
        1 | 2 => Role::Engineer,
        _ => *rand.pick_weighted(ROLE_WEIGHTS),
    }
}

pub fn works_from_office(rand: &mut Rand) -> bool {
    rand.chance(OFFICE_SHARE)
}

/// Every fourth company is on two clouds, and a few more.
pub fn uses_second_cloud(index: usize, rand: &mut Rand) -> bool {
    index % 4 == 3 || rand.chance(SECOND_CLOUD_SHARE)
}

pub fn currency(cloud: Cloud, country: &str) -> &'static str {
    match (cloud, country) {
        (Cloud::Azure, "DE" | "FR" | "ES") => "EUR",
        _ => "USD",
    }
}

pub fn habits(
    role: Role,
    index: usize,
    days: u32,
    home: &'static Place,
    rand: &mut Rand,
) -> Habits {
    let start_minute = (rand.normal(WORKDAY_START_HOURS.0, WORKDAY_START_HOURS.1) * 60.0)
        .clamp(360.0, 660.0) as u32;
    let work_minutes = (rand.normal(WORKDAY_LENGTH_HOURS.0, WORKDAY_LENGTH_HOURS.1) * 60.0)
        .clamp(360.0, 660.0) as u32;
    let typo_rate = if rand.chance(CLUMSY_SHARE) {
        CLUMSY_TYPO_RATE
    } else {
        TYPO_RATE
    };
    let last = days.max(2);
    let joins = (index >= 3 && role != Role::Analyst && rand.chance(NEW_HIRE_SHARE))
        .then(|| rand.int(last * 3 / 10, last * 8 / 10));
    let leaves = (index >= 3 && joins.is_none() && rand.chance(LEAVER_SHARE))
        .then(|| rand.int(last / 5, last * 7 / 10));
    let trip = rand.chance(TRAVELLER_SHARE).then(|| {
        let abroad: Vec<&'static Place> = PLACES
            .iter()
            .filter(|p| p.country != home.country)
            .collect();
        let place = *rand.pick(&abroad);
        Trip {
            first_day: rand.int(0, last.saturating_sub(3)),
            days: rand.int(TRIP_DAYS.0, TRIP_DAYS.1),
            place,
            address: rand.pick(place.isp).address(rand),
        }
    });
    let vacation = rand.chance(VACATION_SHARE).then(|| {
        (
            rand.int(0, last.saturating_sub(5)),
            rand.int(VACATION_DAYS.0, VACATION_DAYS.1),
        )
    });
    Habits {
        start_minute,
        work_minutes,
        typo_rate,
        mfa: rand.chance(MFA_SHARE),
        on_call: role == Role::Engineer && rand.chance(ON_CALL_SHARE),
        lease_phase: rand.int(0, HOME_LEASE_DAYS as u32 - 1),
        joins,
        leaves,
        leaver_retry_days: rand.int(LEAVER_RETRY_DAYS.0, LEAVER_RETRY_DAYS.1),
        trip,
        vacation,
    }
}

pub fn routine(
    cloud: Cloud,
    regions: &[&'static str],
    days: u32,
    size: f64,
    rand: &mut Rand,
) -> Routine {
    let machines = catalog::machines(cloud);
    let nightly = rand.chance(NIGHTLY_SHARE).then(|| Nightly {
        region: regions[0],
        machine: *rand.pick(machines.batch),
        mean_count: rand.int(NIGHTLY_COUNT.0, NIGHTLY_COUNT.1),
        start_minute: rand.int(NIGHTLY_START_MINUTE.0, NIGHTLY_START_MINUTE.1),
        spot: cloud == Cloud::Aws && rand.chance(SPOT_SHARE),
    });
    let autoscale = Autoscale {
        region: rand.choose(regions),
        machine: *rand.pick(machines.service),
    };
    let first_use = (days >= 7 && rand.chance(FIRST_USE_SHARE)).then(|| {
        let fresh: Vec<&'static str> = cloud
            .all_regions()
            .iter()
            .copied()
            .filter(|region| !regions.contains(region))
            .collect();
        FirstUse {
            day: rand.int(days / 5, days * 3 / 5),
            region: rand.choose(&fresh),
            machine: *rand.pick(machines.dev),
            count: rand.int(FIRST_USE_COUNT.0, FIRST_USE_COUNT.1),
        }
    });
    let lightsail_site = (cloud == Cloud::Aws && rand.chance(LIGHTSAIL_SITE_SHARE))
        .then(|| (rand.int(0, days.saturating_sub(1)), regions[0]));
    let mut daily = Vec::new();
    for (spend, base, share, noise, weekend) in SPEND_PROFILE {
        if rand.chance(*share) {
            daily.push((*spend, base * size * rand.jitter(0.3), *noise, *weekend));
        }
    }
    let compute = daily
        .iter()
        .find(|(s, ..)| *s == Spend::Compute)
        .map_or(0.0, |(_, c, ..)| *c);
    let billing = BillingProfile {
        daily,
        growth_per_month: rand.float(GROWTH_PER_MONTH.0, GROWTH_PER_MONTH.1),
        missing_day: rand.int(1, days.saturating_sub(1).max(1)),
        reservation: rand
            .chance(RESERVATION_SHARE.0)
            .then_some(compute * 30.0 * RESERVATION_SHARE.1),
        marketplace: rand
            .chance(MARKETPLACE_SHARE.0)
            .then(|| rand.float(MARKETPLACE_SHARE.1 .0, MARKETPLACE_SHARE.1 .1)),
    };
    Routine {
        nightly,
        autoscale,
        first_use,
        lightsail_site,
        billing,
    }
}

/// The first day of a young tenant-cloud: [`YOUNG_ACCOUNT_DAYS`] before the end of the window
/// (day 0 when the window is not longer than that).
pub fn young_first_day(days: u32) -> u32 {
    days.saturating_sub(YOUNG_ACCOUNT_DAYS)
}

/// A young tenant-cloud has no benign first use of a region or Lightsail website planned (its
/// whole life is inside the window); a quiet one has neither and no nightly batch either.
pub fn adapt_routine(routine: &mut Routine, young: bool, quiet: bool) {
    if young || quiet {
        routine.first_use = None;
        routine.lightsail_site = None;
    }
    if quiet {
        routine.nightly = None;
    }
}

/// Regions a tenant-cloud uses benignly at some point of the window: attacks pick others.
pub fn benign_regions(presence: &Presence) -> Vec<&'static str> {
    let mut regions = presence.regions.clone();
    if let Some(first_use) = &presence.routine.first_use {
        regions.push(first_use.region);
    }
    regions
}

// ---------------------------------------------------------------------------------------------
// One day of benign activity
// ---------------------------------------------------------------------------------------------

/// Everything a generator of one tenant-cloud's day needs to know.
pub struct Day<'w> {
    pub world: &'w World,
    pub company: &'w Company,
    pub presence: &'w Presence,
    /// Position of the presence in the company's presences (part of the random stream's name).
    pub presence_index: usize,
    /// Days since the start of the window; may be -1 or `days` for the edges.
    pub day: i64,
}

impl Day<'_> {
    fn date(&self) -> NaiveDate {
        self.world.start + Duration::days(self.day)
    }

    fn is_weekend(&self) -> bool {
        matches!(self.date().weekday(), Weekday::Sat | Weekday::Sun)
    }

    /// The UTC time of `minute` (may exceed a day) local time at `place` on this day.
    fn at(&self, place: &Place, minute: f64) -> chrono::DateTime<chrono::Utc> {
        let millis = (minute * 60_000.0).round() as i64 - place.utc_offset * 3_600_000;
        self.world.day_start(self.day) + Duration::milliseconds(millis)
    }

    fn scale(&self) -> f64 {
        self.world.events_scale
    }

    fn day_u32(&self) -> Option<u32> {
        u32::try_from(self.day).ok()
    }
}

/// Appends the benign activity of one local day of one tenant-cloud to `out` (in no order).
pub fn day_activity(day: &Day, out: &mut Vec<Activity>) {
    let key = format!("{}/{}/{}", day.company.index, day.presence_index, day.day);
    let mut rand = Rand::new(day.world.seed, &format!("normal/{key}"));
    // Routine calls draw from their own stream, so `--events-scale` changes how many calls
    // there are without moving anyone's sign-ins or launches.
    let mut volume = Rand::new(day.world.seed, &format!("volume/{key}"));
    for &person in &day.presence.users {
        person_day(
            day,
            &day.company.people[person],
            &mut rand,
            &mut volume,
            out,
        );
    }
    for (index, automation) in day.presence.automations.iter().enumerate() {
        match automation.kind {
            AutomationKind::Deployer => deployer_day(day, index, &mut volume, out),
            AutomationKind::Poller => poller_day(day, index, &mut volume, out),
            AutomationKind::NightlyBatch => nightly_day(day, index, &mut rand, out),
            AutomationKind::Autoscaler => autoscaler_day(day, index, &mut rand, out),
        }
    }
    lightsail_site_day(day, &mut rand, out);
}

/// Where a person is on a day: home country or a trip abroad.
fn whereabouts<'p>(day: &Day, person: &'p Person) -> Option<&'p Trip> {
    let d = day.day_u32()?;
    person
        .habits
        .trip
        .as_ref()
        .filter(|trip| d >= trip.first_day && d < trip.first_day + trip.days)
}

fn on_vacation(day: &Day, person: &Person) -> bool {
    match (day.day_u32(), person.habits.vacation) {
        (Some(d), Some((first, length))) => d >= first && d < first + length,
        _ => false,
    }
}

/// The on-call engineer of the week.
fn is_on_call(day: &Day, person: &Person) -> bool {
    if !person.habits.on_call {
        return false;
    }
    let pool: Vec<usize> = day
        .company
        .people
        .iter()
        .filter(|p| p.habits.on_call)
        .map(|p| p.index)
        .collect();
    let week = day.day.div_euclid(7).unsigned_abs() as usize;
    pool.get(week % pool.len().max(1)) == Some(&person.index)
}

fn person_day(
    day: &Day,
    person: &Person,
    rand: &mut Rand,
    volume: &mut Rand,
    out: &mut Vec<Activity>,
) {
    let d = day.day;
    if person
        .habits
        .joins
        .is_some_and(|joins| d < i64::from(joins))
    {
        return;
    }
    if let Some(leaves) = person.habits.leaves {
        if d >= i64::from(leaves) {
            if d < i64::from(leaves + person.habits.leaver_retry_days) {
                leaver_retries(day, person, rand, out);
            }
            return;
        }
    }
    // In the quiet tenant-cloud people rarely have anything to do.
    if day.presence.quiet && !rand.chance(QUIET_ACTIVE_DAY_RATE) {
        return;
    }
    let trip = whereabouts(day, person);
    let (place, address) = match (trip, person.office) {
        (Some(trip), _) => (trip.place, trip.address),
        (None, Some(office)) if !day.is_weekend() => {
            let office = &day.company.offices[office];
            (office.place, office.nat)
        }
        (None, _) => (
            day.company.home,
            person.home_address(day.world.seed, day.company.index, d),
        ),
    };
    let workday = if day.is_weekend() {
        rand.chance(WEEKEND_WORK_SHARE)
    } else {
        !on_vacation(day, person)
    };
    if workday {
        let signs_in = match day.presence.cloud {
            Cloud::Aws => AWS_CONSOLE_DAY_RATE,
            Cloud::Azure | Cloud::Gcp => DIRECTORY_DAY_RATE,
        };
        let sessions = 1 + rand.poisson(EXTRA_SESSIONS);
        for session in 0..sessions {
            let habits = &person.habits;
            let minute = if session == 0 {
                f64::from(habits.start_minute) + rand.normal(0.0, 20.0)
            } else {
                f64::from(habits.start_minute) + rand.float(60.0, f64::from(habits.work_minutes))
            };
            let time = day.at(place, minute);
            let origin = Origin::Address(address);
            if rand.chance(signs_in) {
                sign_in(day, person, time, origin, place, rand, out);
            }
            session_calls(day, person, time, origin, volume, out);
        }
        ad_hoc_launch(day, person, place, address, rand, out);
    }
    if is_on_call(day, person) && rand.chance(NIGHT_INCIDENT_RATE) {
        let home = person.home_address(day.world.seed, day.company.index, d);
        let minute = rand.float(22.0 * 60.0, 28.0 * 60.0);
        let time = day.at(day.company.home, minute);
        let origin = Origin::Address(home);
        sign_in(day, person, time, origin, day.company.home, rand, out);
        session_calls(day, person, time, origin, volume, out);
    }
}

/// A sign-in, with the benign failures that precede some of them.
fn sign_in(
    day: &Day,
    person: &Person,
    time: chrono::DateTime<chrono::Utc>,
    origin: Origin,
    place: &'static Place,
    rand: &mut Rand,
    out: &mut Vec<Activity>,
) {
    let cloud = day.presence.cloud;
    let user_agent = *rand.pick(BROWSERS);
    let mut clock = time;
    let push = |out: &mut Vec<Activity>, at, result, mfa| {
        out.push(Activity {
            time: at,
            account: 0,
            actor: Actor::Person(person.index),
            origin,
            user_agent,
            action: Action::SignIn(SignIn {
                result,
                city: place.city,
                country: place.country,
                mfa,
                client: "Browser",
            }),
        });
    };
    let mfa = person.habits.mfa;
    if cloud == Cloud::Azure && rand.chance(BENIGN_LOCKOUT_RATE) {
        for _ in 0..5 {
            push(out, clock, SignInResult::WrongPassword, false);
            clock += Duration::seconds(i64::from(rand.int(8, 40)));
        }
        push(out, clock, SignInResult::Locked, false);
        clock += Duration::minutes(i64::from(rand.int(30, 60)));
    } else if cloud == Cloud::Azure && rand.chance(EXPIRED_PASSWORD_RATE) {
        push(out, clock, SignInResult::PasswordExpired, false);
        clock += Duration::minutes(i64::from(rand.int(2, 10)));
    } else if rand.chance(person.habits.typo_rate) {
        for _ in 0..*rand.pick_weighted(TYPO_FAILURE_WEIGHTS) {
            push(out, clock, SignInResult::WrongPassword, false);
            clock += Duration::seconds(i64::from(rand.int(6, 45)));
        }
    }
    if cloud == Cloud::Azure && mfa && rand.chance(MFA_PROMPT_RATE) {
        push(out, clock, SignInResult::MfaRequired, true);
        clock += Duration::seconds(i64::from(rand.int(10, 60)));
    }
    push(out, clock, SignInResult::Success, mfa);
}

/// A leaver's mail app keeps trying the disabled account (Entra 50057, Workspace disabled).
fn leaver_retries(day: &Day, person: &Person, rand: &mut Rand, out: &mut Vec<Activity>) {
    if day.presence.cloud == Cloud::Aws {
        return;
    }
    let address = person.home_address(day.world.seed, day.company.index, day.day);
    for _ in 0..rand.int(LEAVER_RETRIES_PER_DAY.0, LEAVER_RETRIES_PER_DAY.1) {
        out.push(Activity {
            time: day.at(day.company.home, rand.float(7.0 * 60.0, 23.0 * 60.0)),
            account: 0,
            actor: Actor::Person(person.index),
            origin: Origin::Address(address),
            user_agent: MAIL_CLIENT,
            action: Action::SignIn(SignIn {
                result: SignInResult::Disabled,
                city: day.company.home.city,
                country: day.company.home.country,
                mfa: false,
                client: "Mobile Apps and Desktop clients",
            }),
        });
    }
}

/// The API calls of one working session.
fn session_calls(
    day: &Day,
    person: &Person,
    start: chrono::DateTime<chrono::Utc>,
    origin: Origin,
    rand: &mut Rand,
    out: &mut Vec<Activity>,
) {
    let cloud = day.presence.cloud;
    let analyst = person.role == Role::Analyst;
    let (mean, table, tools): (f64, &'static [(ApiOp, f64)], &[&'static str]) =
        match (cloud, analyst) {
            (Cloud::Aws, false) => (AWS_SESSION_CALLS, AWS_ENGINEER_OPS, AWS_TOOLS),
            (Cloud::Aws, true) => (AWS_ANALYST_SESSION_CALLS, AWS_ANALYST_OPS, &AWS_TOOLS[..1]),
            (_, true) => return,
            (Cloud::Azure, false) => (WRITE_SESSION_CALLS, AZURE_ENGINEER_OPS, AZURE_TOOLS),
            (Cloud::Gcp, false) => (WRITE_SESSION_CALLS, GCP_ENGINEER_OPS, GCP_TOOLS),
        };
    let calls = rand.poisson(mean * day.scale());
    let user_agent = *rand.pick(tools);
    let length = rand.float(20.0, 150.0);
    let account = rand.below(day.presence.accounts.len() as u64) as usize;
    for _ in 0..calls {
        let op = rand.pick_weighted(table);
        let failure = (!op.read_only && rand.chance(ACCESS_DENIED_RATE)).then_some(match cloud {
            Cloud::Aws => ACCESS_DENIED_AWS,
            Cloud::Azure => ACCESS_DENIED_AZURE,
            Cloud::Gcp => ACCESS_DENIED_GCP,
        });
        out.push(Activity {
            time: start + Duration::seconds((rand.float(0.0, length) * 60.0) as i64),
            account,
            actor: Actor::Person(person.index),
            origin,
            user_agent,
            action: Action::Call(Call {
                op,
                region: api_region(cloud, op, day.presence, rand),
                failure,
            }),
        });
    }
}

/// AWS global services log in us-east-1; everything else in one of the tenant's regions.
fn api_region(cloud: Cloud, op: &ApiOp, presence: &Presence, rand: &mut Rand) -> &'static str {
    if cloud == Cloud::Aws && matches!(op.service, "iam.amazonaws.com" | "ce.amazonaws.com") {
        return "us-east-1";
    }
    if rand.chance(0.8) {
        presence.regions[0]
    } else {
        rand.choose(&presence.regions)
    }
}

/// Engineers launch a machine or two by hand now and then; new hires on their first days;
/// and one engineer starts the team's use of a new region on the first-use day.
fn ad_hoc_launch(
    day: &Day,
    person: &Person,
    place: &Place,
    address: Ipv4Addr,
    rand: &mut Rand,
    out: &mut Vec<Activity>,
) {
    if person.role == Role::Analyst {
        return;
    }
    let Some(d) = day.day_u32() else { return };
    let machines = catalog::machines(day.presence.cloud);
    let first_use = day.presence.routine.first_use.as_ref();
    let pioneer = first_use.is_some() && first_engineer(day) == Some(person.index);
    // The team's first launch in the new region: the pioneer's first working day on or after
    // the planned day (not a weekend, not on holiday).
    let first_use_day = first_use.map(|first| {
        (first.day..first.day + 30)
            .find(|&candidate| {
                let date = day.world.start + Duration::days(i64::from(candidate));
                let weekend = matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
                let away = person
                    .habits
                    .vacation
                    .is_some_and(|(from, length)| candidate >= from && candidate < from + length);
                !weekend && !away
            })
            .unwrap_or(first.day)
    });
    // A new hire's first launch: their first workday after the day they join.
    let new_hire_first_launch = person
        .habits
        .joins
        .is_some_and(|joins| d == first_workday_after(day.world.start, joins));
    let (region, machine, count) = match first_use {
        Some(first) if pioneer && Some(d) == first_use_day => {
            (first.region, first.machine, first.count)
        }
        _ if new_hire_first_launch || rand.chance(AD_HOC_LAUNCH_RATE) => {
            let region = match first_use {
                Some(first)
                    if pioneer
                        && first_use_day.is_some_and(|first_day| d > first_day)
                        && rand.chance(FIRST_USE_STICKINESS) =>
                {
                    first.region
                }
                _ => *rand.pick(&day.presence.regions),
            };
            (region, *rand.pick(machines.dev), rand.int(1, 2))
        }
        _ => return,
    };
    let api = match day.presence.cloud {
        Cloud::Aws => LaunchApi::Ec2RunInstances,
        Cloud::Azure => LaunchApi::AzureVirtualMachine,
        Cloud::Gcp => LaunchApi::GceInsert,
    };
    let minute = f64::from(person.habits.start_minute)
        + rand.float(60.0, f64::from(person.habits.work_minutes) - 30.0);
    let first = person.handle.split('.').next().unwrap_or("dev");
    let tools = match day.presence.cloud {
        Cloud::Aws => AWS_TOOLS,
        Cloud::Azure => AZURE_TOOLS,
        Cloud::Gcp => GCP_TOOLS,
    };
    let user_agent = *rand.pick(tools);
    let time = day.at(place, minute);
    let per_call = if api == LaunchApi::Ec2RunInstances {
        count
    } else {
        1
    };
    let calls = if api == LaunchApi::Ec2RunInstances {
        1
    } else {
        count
    };
    for n in 0..calls {
        out.push(Activity {
            time: time + Duration::seconds(i64::from(n) * i64::from(rand.int(20, 90))),
            account: day.presence.accounts.len() - 1,
            actor: Actor::Person(person.index),
            origin: Origin::Address(address),
            user_agent,
            action: Action::Launch(Launch {
                api,
                region,
                machine_type: machine.name,
                count: per_call,
                name: format!("{first}-dev-{}", rand.hex(4)),
                failure: None,
            }),
        });
    }
}

/// The first Monday-to-Friday day after `day` (days counted from `start`).
fn first_workday_after(start: NaiveDate, day: u32) -> u32 {
    (day + 1..day + 4)
        .find(|d| {
            let date = start + Duration::days(i64::from(*d));
            !matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
        })
        .unwrap_or(day + 1)
}

/// The engineer who pioneers a first use: the first engineer with access to this cloud.
fn first_engineer(day: &Day) -> Option<usize> {
    day.presence.users.iter().copied().find(|&p| {
        day.company.people[p].role == Role::Engineer
            && day.company.people[p].habits.leaves.is_none()
    })
}

fn automation_origin(day: &Day, index: usize) -> Origin {
    match day.presence.automations[index].address {
        Some(address) => Origin::Address(address),
        None => Origin::Service(match day.presence.cloud {
            Cloud::Aws => "autoscaling.amazonaws.com",
            Cloud::Azure | Cloud::Gcp => "",
        }),
    }
}

fn automation_agent(cloud: Cloud) -> &'static str {
    match cloud {
        Cloud::Aws => AWS_AUTOMATION_UA,
        Cloud::Azure => AZURE_AUTOMATION_UA,
        Cloud::Gcp => GCP_AUTOMATION_UA,
    }
}

fn deployer_day(day: &Day, index: usize, rand: &mut Rand, out: &mut Vec<Activity>) {
    if day.is_weekend() {
        return;
    }
    let cloud = day.presence.cloud;
    let table = match cloud {
        Cloud::Aws => AWS_DEPLOY_OPS,
        Cloud::Azure => AZURE_DEPLOY_OPS,
        Cloud::Gcp => GCP_DEPLOY_OPS,
    };
    let automation = &day.presence.automations[index];
    let share = if day.presence.quiet {
        QUIET_DEPLOY_SHARE
    } else {
        1.0
    };
    for _ in 0..rand.poisson(DEPLOYS_PER_WORKDAY * share * day.scale()) {
        let start = day.at(day.company.home, rand.float(9.0 * 60.0, 18.5 * 60.0));
        for step in 0..rand.int(3, 8) {
            let op = rand.pick_weighted(table);
            out.push(Activity {
                time: start + Duration::seconds(i64::from(step) * i64::from(rand.int(2, 40))),
                account: automation.account,
                actor: Actor::Automation(index),
                origin: automation_origin(day, index),
                user_agent: automation_agent(cloud),
                action: Action::Call(Call {
                    op,
                    region: api_region(cloud, op, day.presence, rand),
                    failure: None,
                }),
            });
        }
    }
}

fn poller_day(day: &Day, index: usize, rand: &mut Rand, out: &mut Vec<Activity>) {
    let automation = &day.presence.automations[index];
    for _ in 0..rand.poisson(POLLS_PER_DAY * day.scale()) {
        let start = day.world.day_start(day.day) + Duration::seconds(rand.below(86_400) as i64);
        for step in 0..rand.int(CALLS_PER_POLL.0, CALLS_PER_POLL.1) {
            let op = rand.pick_weighted(AWS_POLL_OPS);
            out.push(Activity {
                time: start + Duration::milliseconds(i64::from(step) * 350),
                account: automation.account,
                actor: Actor::Automation(index),
                origin: automation_origin(day, index),
                user_agent: AWS_AUTOMATION_UA,
                action: Action::Call(Call {
                    op,
                    region: day.presence.regions[0],
                    failure: None,
                }),
            });
        }
    }
}

/// Every night: the same principal launches a batch of the same machine type in the same
/// region, about the same number of them; in the morning it removes them.
fn nightly_day(day: &Day, index: usize, rand: &mut Rand, out: &mut Vec<Activity>) {
    let Some(nightly) = &day.presence.routine.nightly else {
        return;
    };
    let cloud = day.presence.cloud;
    let automation = &day.presence.automations[index];
    let count = rand
        .normal(
            f64::from(nightly.mean_count),
            f64::from(nightly.mean_count) * NIGHTLY_COUNT_SPREAD,
        )
        .round()
        .max(1.0) as u32;
    let mut time = day.at(
        day.company.home,
        f64::from(nightly.start_minute) + rand.normal(0.0, 8.0),
    );
    let origin = automation_origin(day, index);
    let user_agent = automation_agent(cloud);
    let launch = |api, count, failure: Option<Failure>, rand: &mut Rand| Launch {
        api,
        region: nightly.region,
        machine_type: nightly.machine.name,
        count,
        name: format!("batch-{}", rand.hex(6)),
        failure,
    };
    let push = |out: &mut Vec<Activity>, time, action| {
        out.push(Activity {
            time,
            account: automation.account,
            actor: Actor::Automation(index),
            origin,
            user_agent,
            action,
        })
    };
    let (api, parts, capacity) = match cloud {
        Cloud::Aws if nightly.spot => (
            LaunchApi::Ec2RequestSpotInstances,
            rand.int(1, 3),
            CAPACITY_AWS,
        ),
        Cloud::Aws => (LaunchApi::Ec2RunInstances, rand.int(1, 3), CAPACITY_AWS),
        Cloud::Azure => (LaunchApi::AzureScaleSet, 1, CAPACITY_AZURE),
        Cloud::Gcp => (LaunchApi::GceBulkInsert, 1, CAPACITY_GCP),
    };
    if rand.chance(NIGHTLY_CAPACITY_FAILURE) {
        push(
            out,
            time,
            Action::Launch(launch(api, count, Some(capacity), rand)),
        );
        time += Duration::minutes(i64::from(rand.int(2, 6)));
    }
    let mut left = count;
    for part in 0..parts {
        let this = if part + 1 == parts {
            left
        } else {
            left / (parts - part)
        };
        left -= this;
        if this > 0 {
            push(out, time, Action::Launch(launch(api, this, None, rand)));
        }
        time += Duration::seconds(i64::from(rand.int(5, 30)));
    }
    // Morning clean-up.
    let morning = day.at(day.company.home, rand.float(6.0 * 60.0, 7.0 * 60.0));
    match cloud {
        Cloud::Aws => push(
            out,
            morning,
            Action::Call(Call {
                op: &AWS_TERMINATE,
                region: nightly.region,
                failure: None,
            }),
        ),
        Cloud::Azure => push(
            out,
            morning,
            Action::Launch(launch(LaunchApi::AzureScaleSet, 0, None, rand)),
        ),
        Cloud::Gcp => {
            for n in 0..count {
                push(
                    out,
                    morning + Duration::seconds(i64::from(n)),
                    Action::Call(Call {
                        op: &GCP_DELETE,
                        region: nightly.region,
                        failure: None,
                    }),
                );
            }
        }
    }
}

/// Load follows the working day: scale out in the morning, in again in the evening.
fn autoscaler_day(day: &Day, index: usize, rand: &mut Rand, out: &mut Vec<Activity>) {
    if day.presence.quiet {
        return;
    }
    let cloud = day.presence.cloud;
    let autoscale = &day.presence.routine.autoscale;
    let automation = &day.presence.automations[index];
    let steps = if day.is_weekend() {
        rand.poisson(AUTOSCALE_WEEKEND_STEPS)
    } else {
        1 + rand.poisson(AUTOSCALE_STEPS)
    };
    let origin = automation_origin(day, index);
    let user_agent = match cloud {
        Cloud::Aws => "autoscaling.amazonaws.com",
        Cloud::Azure => AZURE_AUTOMATION_UA,
        Cloud::Gcp => GCP_AUTOSCALER_UA,
    };
    let mut capacity = 3;
    let push = |out: &mut Vec<Activity>, time, action| {
        out.push(Activity {
            time,
            account: automation.account,
            actor: Actor::Automation(index),
            origin,
            user_agent,
            action,
        })
    };
    for step in 0..steps {
        let added = rand.int(AUTOSCALE_STEP_SIZE.0, AUTOSCALE_STEP_SIZE.1);
        capacity += added;
        let out_time = day.at(
            day.company.home,
            rand.float(7.5 * 60.0, 10.5 * 60.0) + f64::from(step),
        );
        let in_time = day.at(
            day.company.home,
            rand.float(18.0 * 60.0, 22.0 * 60.0) + f64::from(step),
        );
        let name = format!(
            "{}-{}",
            match cloud {
                Cloud::Aws => "asg-web",
                Cloud::Azure => "aks-nodepool1",
                Cloud::Gcp => "mig-web",
            },
            rand.hex(4)
        );
        match cloud {
            Cloud::Aws | Cloud::Gcp => {
                let api = if cloud == Cloud::Aws {
                    LaunchApi::Ec2RunInstances
                } else {
                    LaunchApi::GceInsert
                };
                let calls = if cloud == Cloud::Aws { 1 } else { added };
                for n in 0..calls {
                    push(
                        out,
                        out_time + Duration::seconds(i64::from(n) * 3),
                        Action::Launch(Launch {
                            api,
                            region: autoscale.region,
                            machine_type: autoscale.machine.name,
                            count: if cloud == Cloud::Aws { added } else { 1 },
                            name: format!("{name}{n}"),
                            failure: None,
                        }),
                    );
                }
                let remove = if cloud == Cloud::Aws {
                    &AWS_TERMINATE
                } else {
                    &GCP_DELETE
                };
                for n in 0..calls {
                    push(
                        out,
                        in_time + Duration::seconds(i64::from(n) * 3),
                        Action::Call(Call {
                            op: remove,
                            region: autoscale.region,
                            failure: None,
                        }),
                    );
                }
            }
            Cloud::Azure => {
                push(
                    out,
                    out_time,
                    Action::Launch(Launch {
                        api: LaunchApi::AzureScaleSet,
                        region: autoscale.region,
                        machine_type: autoscale.machine.name,
                        count: capacity,
                        name: "aks-nodepool1-vmss".into(),
                        failure: None,
                    }),
                );
                push(
                    out,
                    in_time,
                    Action::Launch(Launch {
                        api: LaunchApi::AzureScaleSet,
                        region: autoscale.region,
                        machine_type: autoscale.machine.name,
                        count: capacity - added,
                        name: "aks-nodepool1-vmss".into(),
                        failure: None,
                    }),
                );
            }
        }
    }
}

/// A small AWS company starts a Lightsail website: a benign Lightsail launch.
fn lightsail_site_day(day: &Day, rand: &mut Rand, out: &mut Vec<Activity>) {
    let Some((site_day, region)) = day.presence.routine.lightsail_site else {
        return;
    };
    if day.day != i64::from(site_day) {
        return;
    }
    let admin = day
        .presence
        .users
        .iter()
        .copied()
        .find(|&p| day.company.people[p].role == Role::Admin)
        .unwrap_or(day.presence.users[0]);
    let person = &day.company.people[admin];
    let address = match person.office {
        Some(office) => day.company.offices[office].nat,
        None => person.home_address(day.world.seed, day.company.index, day.day),
    };
    out.push(Activity {
        time: day.at(day.company.home, rand.float(10.0 * 60.0, 16.0 * 60.0)),
        account: 0,
        actor: Actor::Person(admin),
        origin: Origin::Address(address),
        user_agent: AWS_TOOLS[0],
        action: Action::Launch(Launch {
            api: LaunchApi::LightsailCreateInstances,
            region,
            machine_type: catalog::LIGHTSAIL_BUNDLES[0].name,
            count: 1,
            name: "website".into(),
            failure: None,
        }),
    });
}

// ---------------------------------------------------------------------------------------------
// Billing
// ---------------------------------------------------------------------------------------------

/// The benign cost lines of one UTC day of one tenant-cloud (none on its missing day).
pub fn day_costs(
    world: &World,
    company: &Company,
    presence_index: usize,
    day: u32,
) -> Vec<CostLine> {
    let presence = &company.presences[presence_index];
    let profile = &presence.routine.billing;
    if day == profile.missing_day {
        return Vec::new();
    }
    let mut rand = Rand::new(
        world.seed,
        &format!("billing/{}/{presence_index}/{day}", company.index),
    );
    let date = world.start + Duration::days(i64::from(day));
    let weekend = matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
    let trend = (1.0 + profile.growth_per_month).powf(f64::from(day) / 30.0);
    let exchange = if presence.currency == "EUR" {
        0.92
    } else {
        1.0
    };
    let shares: Vec<f64> = (0..presence.accounts.len())
        .map(|account| account_spend_share(presence.accounts.len(), account))
        .collect();
    let mut lines = Vec::new();
    for (account, share) in shares.iter().enumerate() {
        for &(spend, base, noise, weekend_factor) in &profile.daily {
            let rhythm = if weekend { weekend_factor } else { 1.0 };
            lines.push(CostLine {
                day: date,
                account,
                spend,
                cost: round_cost(base * share * trend * rhythm * rand.jitter(noise) * exchange),
                line_type: "Usage",
                region: Some(presence.regions[0]),
            });
        }
    }
    if let Some((site_day, region)) = presence.routine.lightsail_site {
        if day >= site_day {
            lines.push(CostLine {
                day: date,
                account: 0,
                spend: Spend::Vps,
                cost: round_cost(catalog::LIGHTSAIL_BUNDLES[0].usd_per_hour * 24.0 * exchange),
                line_type: "Usage",
                region: Some(region),
            });
        }
    }
    if date.day() == 1 {
        let month: f64 = profile
            .daily
            .iter()
            .map(|(_, base, ..)| base * 30.0 * trend)
            .sum();
        let mut monthly = |spend, cost: f64, line_type| {
            lines.push(CostLine {
                day: date,
                account: 0,
                spend,
                cost: round_cost(cost * exchange),
                line_type,
                region: None,
            })
        };
        monthly(Spend::Support, month * SUPPORT_SHARE_OF_SPEND, "Fee");
        if let Some(reservation) = profile.reservation {
            monthly(Spend::Reservation, reservation, "RIFee");
        }
        if let Some(marketplace) = profile.marketplace {
            monthly(Spend::Marketplace, marketplace, "Fee");
        }
    }
    lines
}

/// Cost exports carry many decimals; six is plenty and keeps output stable.
pub fn round_cost(cost: f64) -> f64 {
    (cost * 1e6).round() / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world() -> World {
        World::build(11, NaiveDate::from_ymd_opt(2025, 3, 3).unwrap(), 28, 6, 1.0)
    }

    fn activity(world: &World, company: usize, presence: usize, day: i64) -> Vec<Activity> {
        let mut out = Vec::new();
        day_activity(
            &Day {
                world,
                company: &world.companies[company],
                presence: &world.companies[company].presences[presence],
                presence_index: presence,
                day,
            },
            &mut out,
        );
        out
    }

    fn sign_ins(activities: &[Activity]) -> usize {
        activities
            .iter()
            .filter(|a| matches!(a.action, Action::SignIn(_)))
            .count()
    }

    #[test]
    fn people_sign_in_on_workdays_more_than_at_weekends() {
        let world = world();
        // 2025-03-03 is a Monday: days 0-4 are workdays, 5 and 6 the weekend.
        let (mut workdays, mut weekends) = (0, 0);
        for company in 0..world.companies.len() {
            for day in 0..14 {
                let count = sign_ins(&activity(&world, company, 0, day));
                if day % 7 < 5 {
                    workdays += count;
                } else {
                    weekends += count;
                }
            }
        }
        assert!(
            workdays > 10 * weekends.max(1),
            "workdays {workdays}, weekends {weekends}"
        );
    }

    #[test]
    fn typo_failures_are_followed_by_success_from_the_same_address() {
        let world = world();
        let mut failures = 0;
        for company in 0..world.companies.len() {
            for day in 0..28 {
                let mut acts = activity(&world, company, 0, day);
                acts.sort_by_key(|a| a.time);
                for (i, act) in acts.iter().enumerate() {
                    let Action::SignIn(s) = &act.action else {
                        continue;
                    };
                    if s.result != SignInResult::WrongPassword {
                        continue;
                    }
                    failures += 1;
                    let recovered = acts[i + 1..].iter().any(|later| {
                        later.actor == act.actor
                            && later.origin == act.origin
                            && matches!(&later.action, Action::SignIn(s) if s.result == SignInResult::Success)
                            && later.time - act.time < Duration::hours(2)
                    });
                    assert!(recovered, "an unrecovered benign failure at {}", act.time);
                }
            }
        }
        assert!(failures > 0, "a month of several companies has some typos");
    }

    #[test]
    fn the_nightly_batch_is_the_same_principal_region_and_type_every_night() {
        let world = world();
        let (company, presence) = world
            .companies
            .iter()
            .enumerate()
            .find_map(|(c, co)| {
                co.presences
                    .iter()
                    .position(|p| p.routine.nightly.is_some())
                    .map(|p| (c, p))
            })
            .expect("most tenants have a nightly batch");
        let mut seen = Vec::new();
        for day in 0..14 {
            for act in activity(&world, company, presence, day) {
                if let (Actor::Automation(a), Action::Launch(l)) = (act.actor, &act.action) {
                    let kind = world.companies[company].presences[presence].automations[a].kind;
                    if kind == AutomationKind::NightlyBatch && l.count > 0 && l.failure.is_none() {
                        seen.push((a, l.region, l.machine_type, day));
                    }
                }
            }
        }
        let nights: std::collections::BTreeSet<i64> = seen.iter().map(|s| s.3).collect();
        assert_eq!(nights.len(), 14, "a launch every night");
        assert!(seen
            .windows(2)
            .all(|w| (w[0].0, w[0].1, w[0].2) == (w[1].0, w[1].1, w[1].2)));
    }

    #[test]
    fn analysts_never_provision() {
        let world = world();
        for (c, company) in world.companies.iter().enumerate() {
            for p in 0..company.presences.len() {
                for day in 0..28 {
                    for act in activity(&world, c, p, day) {
                        if let (Actor::Person(person), Action::Launch(_)) = (act.actor, &act.action)
                        {
                            assert_ne!(company.people[person].role, Role::Analyst);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn new_hires_appear_on_their_first_day_and_launch_on_their_next_workday() {
        let world = World::build(
            11,
            NaiveDate::from_ymd_opt(2025, 3, 3).unwrap(),
            28,
            30,
            1.0,
        );
        let mut checked = 0;
        for (c, company) in world.companies.iter().enumerate() {
            for person in &company.people {
                let Some(joins) = person.habits.joins else {
                    continue;
                };
                if person.habits.vacation.is_some() || person.habits.trip.is_some() {
                    continue;
                }
                let launch_day = first_workday_after(world.start, joins);
                let mut acted_before = false;
                let mut launched = false;
                for day in 0..=i64::from(launch_day) {
                    for act in activity(&world, c, 0, day) {
                        if act.actor != Actor::Person(person.index) {
                            continue;
                        }
                        acted_before |= day < i64::from(joins);
                        launched |=
                            day == i64::from(launch_day) && matches!(act.action, Action::Launch(_));
                    }
                }
                assert!(!acted_before, "{} acted before joining", person.handle);
                assert!(
                    launched,
                    "{} did not launch on day {launch_day}",
                    person.handle
                );
                checked += 1;
            }
        }
        assert!(checked > 0, "thirty companies have a new hire");
    }

    #[test]
    fn every_planned_first_use_of_a_region_happens() {
        let world = World::build(
            11,
            NaiveDate::from_ymd_opt(2025, 3, 3).unwrap(),
            28,
            12,
            1.0,
        );
        let mut planned = 0;
        for (c, company) in world.companies.iter().enumerate() {
            for (p, presence) in company.presences.iter().enumerate() {
                let Some(first) = &presence.routine.first_use else {
                    continue;
                };
                planned += 1;
                let used = (0..28).any(|day| {
                    activity(&world, c, p, day).iter().any(
                        |act| matches!(&act.action, Action::Launch(l) if l.region == first.region),
                    )
                });
                assert!(used, "{} never used {}", presence.tenant, first.region);
            }
        }
        assert!(planned > 0);
    }

    #[test]
    fn billing_has_a_weekly_rhythm_monthly_fees_and_a_missing_day() {
        let world = world();
        let company = &world.companies[0];
        let profile = &company.presences[0].routine.billing;
        let compute = |day| {
            day_costs(&world, company, 0, day)
                .iter()
                .filter(|l| l.spend == Spend::Compute)
                .map(|l| l.cost)
                .sum::<f64>()
        };
        let weekdays: f64 = (7..12)
            .filter(|d| *d != profile.missing_day)
            .map(compute)
            .sum::<f64>();
        let weekend: f64 = (12..14)
            .filter(|d| *d != profile.missing_day)
            .map(compute)
            .sum::<f64>();
        let weekday_count = (7..12).filter(|d| *d != profile.missing_day).count() as f64;
        let weekend_count = (12..14).filter(|d| *d != profile.missing_day).count() as f64;
        assert!(weekdays / weekday_count > weekend / weekend_count.max(1.0));
        assert!(day_costs(&world, company, 0, profile.missing_day).is_empty());
        // 2025-04-01 is day 29 after 2025-03-03.
        let first = day_costs(&world, company, 0, 29);
        assert!(first
            .iter()
            .any(|l| l.spend == Spend::Support && l.line_type == "Fee"));
    }
}
