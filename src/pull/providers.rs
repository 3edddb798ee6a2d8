//! From a `[[tenant]]` table to its cloud's adapter: the one place that knows which crate serves
//! which cloud. A cloud whose feature is off in this build is named as such, not ignored.

use auditsweep_source::Source;

use crate::config::{Cloud, TenantSource};

/// `config check` for one tenant: what is wrong, what is risky, and what a pull would fetch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TenantCheck {
    pub tenant: String,
    pub cloud: &'static str,
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
    pub plan: Vec<String>,
}

/// Checks a tenant's settings without a network call.
pub fn check(tenant: &TenantSource) -> TenantCheck {
    let mut out = TenantCheck {
        tenant: tenant.name.clone(),
        cloud: tenant.provider.as_str(),
        ..TenantCheck::default()
    };
    #[allow(unused_macros)]
    macro_rules! checked {
        ($krate:ident) => {
            match settings::<$krate::TenantConfig>(tenant) {
                Ok(config) => {
                    let check = config.check(&tenant.name);
                    out.errors = check.errors;
                    out.warnings = check.warnings;
                    out.plan = check.plan;
                }
                Err(error) => out.errors.push(error),
            }
        };
    }
    match tenant.provider {
        #[cfg(feature = "aws")]
        Cloud::Aws => checked!(auditsweep_aws),
        #[cfg(feature = "azure")]
        Cloud::Azure => checked!(auditsweep_azure),
        #[cfg(feature = "gcp")]
        Cloud::Gcp => checked!(auditsweep_gcp),
        #[allow(unreachable_patterns)]
        cloud => out.errors.push(not_built(cloud)),
    }
    out
}

/// The tenant's sources, with credentials resolved through the cloud's own chain.
pub async fn sources(tenant: &TenantSource) -> anyhow::Result<Vec<Box<dyn Source>>> {
    #[allow(unused_macros)]
    macro_rules! made {
        ($krate:ident) => {{
            let config =
                settings::<$krate::TenantConfig>(tenant).map_err(|error| anyhow::anyhow!(error))?;
            let check = config.check(&tenant.name);
            if !check.errors.is_empty() {
                anyhow::bail!("{}", check.errors.join("; "));
            }
            for warning in &check.warnings {
                tracing::warn!(tenant = %tenant.name, "{warning}");
            }
            Ok(config.sources(&tenant.name).await?)
        }};
    }
    match tenant.provider {
        #[cfg(feature = "aws")]
        Cloud::Aws => made!(auditsweep_aws),
        #[cfg(feature = "azure")]
        Cloud::Azure => made!(auditsweep_azure),
        #[cfg(feature = "gcp")]
        Cloud::Gcp => made!(auditsweep_gcp),
        #[allow(unreachable_patterns)]
        cloud => anyhow::bail!(not_built(cloud)),
    }
}

#[allow(dead_code)]
fn settings<T: serde::de::DeserializeOwned>(tenant: &TenantSource) -> Result<T, String> {
    T::deserialize(toml::Value::Table(tenant.settings.clone()))
        .map_err(|err| format!("tenant {}: {}", tenant.name, err.message()))
}

#[allow(dead_code)]
fn not_built(cloud: Cloud) -> String {
    format!(
        "this auditsweep was built without the {0} adapter (cargo feature `{0}`)",
        cloud.as_str()
    )
}
