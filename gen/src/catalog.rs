//! Facts about the three clouds that the generator needs to write believable records: region
//! and zone names, machine types and their on-demand prices, billing service names.
//!
//! These are not behaviour (that lives in `normal` and `attacks`); they are
//! the vocabulary both draw from. Prices are public on-demand list prices (USD per hour, Linux,
//! rounded), close enough that a GPU burst costs what it would in real life.

use auditsweep::schema::Provider;

/// One of the three clouds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Cloud {
    Aws,
    Azure,
    Gcp,
}

impl Cloud {
    pub const ALL: [Cloud; 3] = [Cloud::Aws, Cloud::Azure, Cloud::Gcp];

    pub fn provider(self) -> Provider {
        match self {
            Cloud::Aws => Provider::Aws,
            Cloud::Azure => Provider::Azure,
            Cloud::Gcp => Provider::Gcp,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Cloud::Aws => "aws",
            Cloud::Azure => "azure",
            Cloud::Gcp => "gcp",
        }
    }

    /// Every region (AWS, Azure location) or zone (GCP) an instance can be placed in.
    pub fn all_regions(self) -> &'static [&'static str] {
        match self {
            Cloud::Aws => AWS_REGIONS,
            Cloud::Azure => AZURE_LOCATIONS,
            Cloud::Gcp => GCP_ZONES,
        }
    }
}

pub const AWS_REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ca-central-1",
    "sa-east-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-central-1",
    "eu-north-1",
    "eu-south-1",
    "me-central-1",
    "af-south-1",
    "ap-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
];

pub const AZURE_LOCATIONS: &[&str] = &[
    "eastus",
    "eastus2",
    "westus2",
    "westus3",
    "canadacentral",
    "brazilsouth",
    "uksouth",
    "northeurope",
    "westeurope",
    "germanywestcentral",
    "francecentral",
    "swedencentral",
    "southafricanorth",
    "centralindia",
    "japaneast",
    "japanwest",
    "koreacentral",
    "southeastasia",
    "eastasia",
    "australiaeast",
];

pub const GCP_ZONES: &[&str] = &[
    "us-east1-b",
    "us-east1-c",
    "us-east4-a",
    "us-central1-a",
    "us-central1-f",
    "us-west1-a",
    "us-west1-b",
    "northamerica-northeast1-a",
    "southamerica-east1-b",
    "europe-west1-b",
    "europe-west1-c",
    "europe-west2-a",
    "europe-west2-b",
    "europe-west3-a",
    "europe-west3-b",
    "europe-west4-a",
    "europe-west9-a",
    "europe-north1-a",
    "asia-south1-a",
    "asia-northeast1-a",
    "asia-northeast1-b",
    "asia-northeast3-a",
    "asia-southeast1-a",
    "asia-southeast1-b",
    "australia-southeast1-a",
];

/// `europe-west1` for `europe-west1-b`.
pub fn gcp_region(zone: &str) -> &str {
    zone.rsplit_once('-').map_or(zone, |(region, _)| region)
}

/// Where a cloud region is, for billing exports that say (GCP `location.country`).
pub fn gcp_country(region: &str) -> &'static str {
    match region {
        r if r.starts_with("us-") => "US",
        r if r.starts_with("northamerica-") => "CA",
        r if r.starts_with("southamerica-") => "BR",
        "europe-west1" => "BE",
        "europe-west2" => "GB",
        "europe-west3" => "DE",
        "europe-west4" => "NL",
        "europe-west9" => "FR",
        "europe-north1" => "FI",
        "asia-south1" => "IN",
        "asia-northeast1" => "JP",
        "asia-northeast3" => "KR",
        "asia-southeast1" => "SG",
        "australia-southeast1" => "AU",
        _ => "US",
    }
}

/// A machine type and its on-demand price.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MachineType {
    pub name: &'static str,
    pub usd_per_hour: f64,
}

const fn machine(name: &'static str, usd_per_hour: f64) -> MachineType {
    MachineType { name, usd_per_hour }
}

/// Machine types by what they are used for, per cloud.
pub struct Machines {
    /// What engineers start by hand: small, cheap.
    pub dev: &'static [MachineType],
    /// What nightly batch jobs use: compute-optimized, large.
    pub batch: &'static [MachineType],
    /// What autoscaling groups of web services run.
    pub service: &'static [MachineType],
    /// What miners want: GPUs or the largest CPU machines.
    pub mining: &'static [MachineType],
}

pub const AWS_MACHINES: Machines = Machines {
    dev: &[
        machine("t3.medium", 0.0416),
        machine("t3.large", 0.0832),
        machine("m5.large", 0.096),
        machine("m5.xlarge", 0.192),
    ],
    batch: &[
        machine("c5.4xlarge", 0.68),
        machine("c5.9xlarge", 1.53),
        machine("c6i.8xlarge", 1.36),
        machine("r5.2xlarge", 0.504),
    ],
    service: &[machine("m5.large", 0.096), machine("c5.xlarge", 0.17)],
    mining: &[
        machine("p3.16xlarge", 24.48),
        machine("p3.8xlarge", 12.24),
        machine("g4dn.12xlarge", 3.912),
        machine("g5.12xlarge", 5.672),
        machine("c5.24xlarge", 4.08),
    ],
};

pub const AZURE_MACHINES: Machines = Machines {
    dev: &[
        machine("Standard_B2ms", 0.0832),
        machine("Standard_D2s_v5", 0.096),
        machine("Standard_D4s_v5", 0.192),
    ],
    batch: &[
        machine("Standard_F16s_v2", 0.677),
        machine("Standard_D16s_v5", 0.768),
    ],
    service: &[machine("Standard_D4s_v5", 0.192)],
    mining: &[
        machine("Standard_NC6s_v3", 3.06),
        machine("Standard_NC24ads_A100_v4", 3.673),
        machine("Standard_F72s_v2", 3.045),
    ],
};

pub const GCP_MACHINES: Machines = Machines {
    dev: &[
        machine("e2-medium", 0.0335),
        machine("n2-standard-2", 0.097),
        machine("n2-standard-4", 0.194),
    ],
    batch: &[
        machine("n2-highcpu-16", 0.573),
        machine("c2-standard-16", 0.835),
    ],
    service: &[machine("n2-standard-4", 0.194)],
    mining: &[
        machine("a2-highgpu-1g", 3.673),
        machine("a2-highgpu-2g", 7.347),
        machine("c2-standard-60", 3.132),
    ],
};

pub fn machines(cloud: Cloud) -> &'static Machines {
    match cloud {
        Cloud::Aws => &AWS_MACHINES,
        Cloud::Azure => &AZURE_MACHINES,
        Cloud::Gcp => &GCP_MACHINES,
    }
}

/// The price of a machine type by name, across clouds (`None` for unknown names).
#[cfg(test)]
fn price(name: &str) -> Option<f64> {
    [&AWS_MACHINES, &AZURE_MACHINES, &GCP_MACHINES]
        .iter()
        .flat_map(|m| [m.dev, m.batch, m.service, m.mining])
        .flatten()
        .chain(LIGHTSAIL_BUNDLES)
        .find(|machine| machine.name == name)
        .map(|machine| machine.usd_per_hour)
}

/// Lightsail bundles (monthly price / 730 hours).
pub const LIGHTSAIL_BUNDLES: &[MachineType] = &[
    machine("small_3_0", 12.0 / 730.0),
    machine("medium_3_0", 24.0 / 730.0),
    machine("large_3_0", 44.0 / 730.0),
    machine("xlarge_3_0", 84.0 / 730.0),
];

/// What a billing line is for; each cloud names it its own way ([`service_name`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Spend {
    Compute,
    Storage,
    DataTransfer,
    Database,
    Monitoring,
    Serverless,
    Vps,
    Support,
    Reservation,
    Marketplace,
}

/// A billing service as the cloud's export names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceName {
    /// AWS `lineItem/ProductCode`, GCP `service.id`, Azure `MeterSubCategory`.
    pub code: &'static str,
    /// AWS `product/ProductName`, GCP `service.description`, Azure `MeterCategory`.
    pub name: &'static str,
    /// AWS `lineItem/UsageType` / GCP `sku.description` / Azure meter name.
    pub usage: &'static str,
}

const fn service(code: &'static str, name: &'static str, usage: &'static str) -> ServiceName {
    ServiceName { code, name, usage }
}

pub fn service_name(cloud: Cloud, spend: Spend) -> ServiceName {
    match (cloud, spend) {
        (Cloud::Aws, Spend::Compute | Spend::Reservation) => {
            service("AmazonEC2", "Amazon Elastic Compute Cloud", "BoxUsage")
        }
        (Cloud::Aws, Spend::Storage) => service(
            "AmazonS3",
            "Amazon Simple Storage Service",
            "TimedStorage-ByteHrs",
        ),
        (Cloud::Aws, Spend::DataTransfer) => service(
            "AWSDataTransfer",
            "AWS Data Transfer",
            "DataTransfer-Out-Bytes",
        ),
        (Cloud::Aws, Spend::Database) => service(
            "AmazonRDS",
            "Amazon Relational Database Service",
            "InstanceUsage:db.r6g.large",
        ),
        (Cloud::Aws, Spend::Monitoring) => service(
            "AmazonCloudWatch",
            "AmazonCloudWatch",
            "CW:MetricMonitorUsage",
        ),
        (Cloud::Aws, Spend::Serverless) => service("AWSLambda", "AWS Lambda", "Lambda-GB-Second"),
        (Cloud::Aws, Spend::Vps) => service("AmazonLightsail", "Amazon Lightsail", "BundleUsage"),
        (Cloud::Aws, Spend::Support) => {
            service("AWSSupportBusiness", "AWS Support (Business)", "Dollar")
        }
        (Cloud::Aws, Spend::Marketplace) => service(
            "6x1yn4qz2m0c8b7v5d3k9f1hj",
            "Observability Suite (AWS Marketplace)",
            "SaaS-Subscription",
        ),
        (Cloud::Azure, Spend::Compute | Spend::Vps | Spend::Reservation) => {
            service("Dv5 Series", "Virtual Machines", "D4s v5")
        }
        (Cloud::Azure, Spend::Storage) => {
            service("General Block Blob v2", "Storage", "Hot LRS Data Stored")
        }
        (Cloud::Azure, Spend::DataTransfer) => service(
            "Rtn Preference: MGN",
            "Bandwidth",
            "Standard Data Transfer Out",
        ),
        (Cloud::Azure, Spend::Database) => {
            service("General Purpose - Compute Gen5", "SQL Database", "vCore")
        }
        (Cloud::Azure, Spend::Monitoring) => service(
            "Log Analytics",
            "Log Analytics",
            "Analytics Logs Data Ingestion",
        ),
        (Cloud::Azure, Spend::Serverless) => service("", "Functions", "Execution Time"),
        (Cloud::Azure, Spend::Support) => service("Support", "Azure Support", "Standard Support"),
        (Cloud::Azure, Spend::Marketplace) => service(
            "Observability Suite",
            "SaaS",
            "Observability Suite - Annual",
        ),
        (Cloud::Gcp, Spend::Compute | Spend::Vps | Spend::Reservation) => service(
            "6F81-5844-456A",
            "Compute Engine",
            "N2 Instance Core running",
        ),
        (Cloud::Gcp, Spend::Storage) => {
            service("95FF-2EF5-5EA1", "Cloud Storage", "Standard Storage")
        }
        (Cloud::Gcp, Spend::DataTransfer) => service(
            "E505-1604-58F8",
            "Networking",
            "Network Internet Data Transfer Out",
        ),
        (Cloud::Gcp, Spend::Database) => service(
            "9662-B51E-5089",
            "Cloud SQL",
            "Cloud SQL for PostgreSQL: Zonal - vCPU",
        ),
        (Cloud::Gcp, Spend::Monitoring) => service("5490-F7B7-8DF6", "Cloud Logging", "Log Volume"),
        (Cloud::Gcp, Spend::Serverless) => {
            service("152E-C115-5142", "Cloud Run", "CPU Allocation Time")
        }
        (Cloud::Gcp, Spend::Support) => service("2062-016F-44A2", "Support", "Enhanced Support"),
        (Cloud::Gcp, Spend::Marketplace) => service(
            "A1B2-C3D4-E5F6",
            "Observability Suite",
            "Observability Suite - Annual",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones_name_their_region() {
        assert_eq!(gcp_region("europe-west1-b"), "europe-west1");
        assert_eq!(
            gcp_region("northamerica-northeast1-a"),
            "northamerica-northeast1"
        );
        for zone in GCP_ZONES {
            assert_ne!(gcp_region(zone), *zone);
        }
    }

    #[test]
    fn every_machine_has_a_price_and_gpus_cost_more_than_dev_boxes() {
        for cloud in Cloud::ALL {
            let m = machines(cloud);
            let cheapest_miner = m
                .mining
                .iter()
                .map(|t| t.usd_per_hour)
                .fold(f64::MAX, f64::min);
            let dearest_dev = m.dev.iter().map(|t| t.usd_per_hour).fold(0.0, f64::max);
            assert!(cheapest_miner > 10.0 * dearest_dev, "{cloud:?}");
            for t in m.dev.iter().chain(m.batch).chain(m.mining) {
                assert_eq!(price(t.name), Some(t.usd_per_hour));
            }
        }
        assert_eq!(price("no-such-type"), None);
    }
}
