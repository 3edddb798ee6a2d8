//! A tenant's sources, built from its config: one `LookupEvents` per account, the trail bucket,
//! Cost Explorer; credentials resolved once per account.

use std::collections::BTreeMap;

use auditsweep_source::{PullError, Source};
use aws_config::SdkConfig;

use crate::config::TenantConfig;
use crate::{sdk, CostAndUsage, LookupEvents, TrailBucket};

impl TenantConfig {
    /// The sources to pull, credentials resolved through the cloud's own chain. A config with
    /// errors (see [`TenantConfig::check`]) is refused. No request is sent here: credentials
    /// (and roles) are asked for on the first call of each source.
    pub async fn sources(&self, tenant: &str) -> Result<Vec<Box<dyn Source>>, PullError> {
        let check = self.check(tenant);
        if !check.errors.is_empty() {
            return Err(PullError::Fatal(check.errors.join("; ")));
        }
        let base = sdk::base(self).await?;
        let mut accounts: BTreeMap<Option<String>, SdkConfig> = BTreeMap::new();
        let mut sdk_for = async |account: Option<&str>| -> SdkConfig {
            let key = account.map(str::to_string);
            if let Some(config) = accounts.get(&key) {
                return config.clone();
            }
            let config = sdk::for_account(&base, self, account).await;
            accounts.insert(key, config.clone());
            config
        };
        let endpoints = &self.endpoints;
        let mut sources: Vec<Box<dyn Source>> = Vec::new();
        if self.lookup_events {
            for account in &self.accounts {
                let sdk = sdk_for(Some(account)).await;
                sources.push(Box::new(LookupEvents::new(
                    tenant,
                    account,
                    &sdk,
                    &self.regions,
                    endpoints.cloudtrail.as_deref(),
                )));
            }
        }
        if let Some(bucket) = &self.trail_bucket {
            let sdk = sdk_for(bucket.account.as_deref()).await;
            sources.push(Box::new(TrailBucket::new(
                tenant,
                bucket,
                bucket.accounts.as_ref().unwrap_or(&self.accounts),
                bucket.regions.as_ref().unwrap_or(&self.regions),
                &sdk,
                endpoints.s3.as_deref(),
                endpoints.s3_force_path_style,
            )));
        }
        if let Some(cost) = &self.cost_explorer {
            let sdk = sdk_for(cost.account.as_deref()).await;
            let scope = cost.account.as_deref().unwrap_or("default");
            sources.push(Box::new(CostAndUsage::new(
                tenant,
                scope,
                &sdk,
                endpoints.ce.as_deref(),
                cost.final_after_days,
            )));
        }
        Ok(sources)
    }
}
