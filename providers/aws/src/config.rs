//! A tenant's AWS settings as `auditsweep.toml` writes them, and the checks `auditsweep config
//! check` runs on them without a network call.

use serde::Deserialize;

/// The provider-specific keys of one `[[tenant]]` table of auditsweep.toml (the main crate strips
/// `name` and `provider` and hands the rest to this struct via serde).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantConfig {
    /// The accounts swept: 12 digits each.
    pub accounts: Vec<String>,
    /// The regions of `LookupEvents` (and of the trail bucket's folders unless it names its own).
    #[serde(default)]
    pub regions: Vec<String>,
    /// A profile of `~/.aws/config` (SSO, `credential_process`, a source profile); the standard
    /// chain (env, profiles, SSO, IMDS) when absent.
    pub profile: Option<String>,
    /// A role assumed in each account before its calls, `{account}` replaced by the account id:
    /// `arn:aws:iam::{account}:role/AuditsweepRead`.
    pub role_arn: Option<String>,
    /// The role's external id, when its trust policy asks for one (an identifier, not a secret).
    pub external_id: Option<String>,
    /// Keys named in the config instead of the chain: names of environment variables (or, with a
    /// warning, the values themselves).
    pub credentials: Option<StaticCredentials>,
    /// CloudTrail `LookupEvents` per account and region (on unless `false`).
    #[serde(default = "yes")]
    pub lookup_events: bool,
    /// The trail's S3 bucket, for history older than 90 days and for organisation trails.
    pub trail_bucket: Option<TrailBucketConfig>,
    /// Cost Explorer `GetCostAndUsage` (each request costs USD 0.01, so it is off unless named).
    pub cost_explorer: Option<CostExplorerConfig>,
    /// Service endpoints other than AWS's own: local test servers, S3-compatible stores.
    #[serde(default)]
    pub endpoints: Endpoints,
    /// Seconds before one request (an S3 object included) gives up; default 60.
    pub timeout_secs: Option<u64>,
}

fn yes() -> bool {
    true
}

/// Static keys. `*_env` names an environment variable read when the sources are built; the
/// plain keys hold values written into the file, accepted with a warning. `Debug` shows which
/// are set, never a secret's value (a config may be logged).
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticCredentials {
    pub access_key_id_env: Option<String>,
    pub secret_access_key_env: Option<String>,
    pub session_token_env: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for StaticCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |value: &Option<String>| value.as_ref().map(|_| "<redacted>");
        f.debug_struct("StaticCredentials")
            .field("access_key_id_env", &self.access_key_id_env)
            .field("secret_access_key_env", &self.secret_access_key_env)
            .field("session_token_env", &self.session_token_env)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &redacted(&self.secret_access_key))
            .field("session_token", &redacted(&self.session_token))
            .finish()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrailBucketConfig {
    pub bucket: String,
    /// The trail's S3 key prefix, before `AWSLogs/`.
    pub prefix: Option<String>,
    /// An organisation trail's id (`o-...`): objects sit under `AWSLogs/<org-id>/<account>/`.
    pub org_id: Option<String>,
    /// Accounts whose folders are listed; the tenant's `accounts` when absent.
    pub accounts: Option<Vec<String>>,
    /// Region folders listed; the tenant's `regions` when absent.
    pub regions: Option<Vec<String>>,
    /// The bucket's own region (request signing); `us-east-1` when absent.
    pub region: Option<String>,
    /// The account that owns the bucket, when `role_arn` is to be assumed there; the base
    /// credentials when absent.
    pub account: Option<String>,
    /// Keys per `ListObjectsV2` page; the API's maximum (1000) when absent.
    pub list_page_size: Option<i32>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CostExplorerConfig {
    /// The account whose credentials ask (the organisation's management account sees every
    /// linked account); the base credentials when absent.
    pub account: Option<String>,
    /// A day this many days before today (UTC) or older is final: its stream key is the day,
    /// and a caller that already has it need not ask again. Younger days are asked each run.
    #[serde(default = "three")]
    pub final_after_days: u32,
}

fn three() -> u32 {
    3
}

/// `[tenant.endpoints]`: base URLs per service.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoints {
    pub cloudtrail: Option<String>,
    pub s3: Option<String>,
    pub ce: Option<String>,
    pub sts: Option<String>,
    /// `bucket` in the path instead of the host name (S3-compatible stores, local servers).
    #[serde(default)]
    pub s3_force_path_style: bool,
}

/// What `auditsweep config check` says about a tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Check {
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
    /// One human line per thing it would pull.
    pub plan: Vec<String>,
}

/// How many requests per second `LookupEvents` allows per account and region.
pub const LOOKUP_EVENTS_PER_SECOND: f64 = 2.0;

impl TenantConfig {
    /// Problems found without any network call (missing accounts, bad region names, a secret
    /// written inline => a warning, not an error) for `auditsweep config check`.
    pub fn check(&self, tenant: &str) -> Check {
        let mut check = Check::default();
        let error =
            |check: &mut Check, text: String| check.errors.push(format!("{tenant}: {text}"));
        let warn =
            |check: &mut Check, text: String| check.warnings.push(format!("{tenant}: {text}"));

        if self.accounts.is_empty() {
            error(
                &mut check,
                "`accounts` is empty: name at least one 12-digit account id".into(),
            );
        }
        for account in &self.accounts {
            if !is_account(account) {
                error(
                    &mut check,
                    format!("account {account:?} is not a 12-digit AWS account id"),
                );
            }
        }
        for (what, list) in [("accounts", &self.accounts), ("regions", &self.regions)] {
            let mut seen = std::collections::BTreeSet::new();
            for item in list {
                if !seen.insert(item) {
                    error(&mut check, format!("{what} names {item} twice"));
                }
            }
        }
        for region in self.all_regions() {
            if !is_region(region) {
                error(
                    &mut check,
                    format!("region {region:?} is not an AWS region name (like us-east-1)"),
                );
            }
        }
        if let Some(arn) = &self.role_arn {
            if !arn.starts_with("arn:") || !arn.contains(":role/") {
                error(
                    &mut check,
                    format!(
                        "role_arn {arn:?} is not a role ARN (arn:aws:iam::{{account}}:role/NAME)"
                    ),
                );
            } else if !arn.contains("{account}") && self.accounts.len() > 1 {
                warn(&mut check, format!("role_arn has no {{account}}: every account's calls go through the one role {arn}"));
            }
        }
        if let Some(credentials) = &self.credentials {
            let (warnings, errors) = credentials.check();
            warnings.into_iter().for_each(|text| warn(&mut check, text));
            errors.into_iter().for_each(|text| error(&mut check, text));
            if self.profile.is_some() {
                warn(
                    &mut check,
                    "both `profile` and `credentials` are set: the credentials are used".into(),
                );
            }
        }
        for (name, url) in [
            ("cloudtrail", &self.endpoints.cloudtrail),
            ("s3", &self.endpoints.s3),
            ("ce", &self.endpoints.ce),
            ("sts", &self.endpoints.sts),
        ] {
            if let Some(url) = url {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    error(
                        &mut check,
                        format!("endpoints.{name} {url:?} is not an http:// or https:// URL"),
                    );
                }
            }
        }
        if self.timeout_secs == Some(0) {
            error(&mut check, "timeout_secs is 0".into());
        }

        let auth = self.auth_text();
        if self.lookup_events {
            if self.regions.is_empty() {
                error(
                    &mut check,
                    "`regions` is empty: LookupEvents is asked per region".into(),
                );
            }
            for account in &self.accounts {
                check.plan.push(format!(
                    "CloudTrail LookupEvents: account {account}, regions {} ({LOOKUP_EVENTS_PER_SECOND} requests/s each; the last 90 days only; {auth})",
                    self.regions.join(", ")
                ));
            }
        }
        if let Some(bucket) = &self.trail_bucket {
            let accounts = bucket.accounts.as_ref().unwrap_or(&self.accounts);
            let regions = bucket.regions.as_ref().unwrap_or(&self.regions);
            if bucket.bucket.is_empty() {
                error(&mut check, "trail_bucket.bucket is empty".into());
            }
            if accounts.is_empty() || regions.is_empty() {
                error(
                    &mut check,
                    "trail_bucket lists no folder: it needs accounts and regions".into(),
                );
            }
            if bucket
                .list_page_size
                .is_some_and(|n| !(1..=1000).contains(&n))
            {
                error(
                    &mut check,
                    "trail_bucket.list_page_size is not between 1 and 1000".into(),
                );
            }
            if let Some(org) = &bucket.org_id {
                if !org.starts_with("o-") {
                    error(
                        &mut check,
                        format!("trail_bucket.org_id {org:?} is not an organisation id (o-...)"),
                    );
                }
            }
            for account in bucket
                .account
                .iter()
                .chain(bucket.accounts.iter().flatten())
            {
                if !is_account(account) {
                    error(
                        &mut check,
                        format!(
                            "trail_bucket account {account:?} is not a 12-digit AWS account id"
                        ),
                    );
                }
            }
            check.plan.push(format!(
                "S3 trail bucket {}: {}<region>/YYYY/MM/DD/ for accounts {} and regions {}, one listing per account, region and day (and the day after the window, for late deliveries), each .json.gz object once ({})",
                bucket.bucket,
                bucket.key_base("<account>"),
                accounts.join(", "),
                regions.join(", "),
                self.auth_text_for(bucket.account.as_deref())
            ));
        }
        if let Some(cost) = &self.cost_explorer {
            if let Some(account) = &cost.account {
                if !is_account(account) {
                    error(
                        &mut check,
                        format!(
                            "cost_explorer.account {account:?} is not a 12-digit AWS account id"
                        ),
                    );
                }
            }
            check.plan.push(format!(
                "Cost Explorer GetCostAndUsage: DAILY UnblendedCost by SERVICE and LINKED_ACCOUNT, one request per final day (older than {} days) and one for the younger days, USD 0.01 each ({})",
                cost.final_after_days,
                self.auth_text_for(cost.account.as_deref())
            ));
        }
        if !self.lookup_events && self.trail_bucket.is_none() && self.cost_explorer.is_none() {
            error(&mut check, "no source: lookup_events is false and neither trail_bucket nor cost_explorer is set".into());
        }
        check
    }

    fn all_regions(&self) -> impl Iterator<Item = &String> {
        let bucket = self.trail_bucket.as_ref();
        self.regions
            .iter()
            .chain(
                bucket
                    .and_then(|b| b.regions.as_ref())
                    .into_iter()
                    .flatten(),
            )
            .chain(bucket.and_then(|b| b.region.as_ref()))
    }

    /// How the calls of an account authenticate, in words.
    fn auth_text(&self) -> String {
        let base = match (&self.credentials, &self.profile) {
            (Some(_), _) => "keys from the config".to_string(),
            (None, Some(profile)) => format!("profile {profile}"),
            (None, None) => "the default credential chain".to_string(),
        };
        match &self.role_arn {
            Some(arn) => format!("{base}, then role {arn}"),
            None => base,
        }
    }

    fn auth_text_for(&self, account: Option<&str>) -> String {
        match account {
            Some(account) if self.role_arn.is_some() => {
                format!("{} in account {account}", self.auth_text())
            }
            _ => self
                .auth_text()
                .split(", then role")
                .next()
                .unwrap_or_default()
                .to_string(),
        }
    }
}

impl TrailBucketConfig {
    /// `[<prefix>/]AWSLogs/[<org-id>/]<account>/CloudTrail/`.
    pub fn key_base(&self, account: &str) -> String {
        let mut key = String::new();
        if let Some(prefix) = self.prefix.as_deref().map(|p| p.trim_matches('/')) {
            if !prefix.is_empty() {
                key.push_str(prefix);
                key.push('/');
            }
        }
        key.push_str("AWSLogs/");
        if let Some(org) = &self.org_id {
            key.push_str(org);
            key.push('/');
        }
        key.push_str(account);
        key.push_str("/CloudTrail/");
        key
    }
}

impl StaticCredentials {
    /// Warnings and errors.
    fn check(&self) -> (Vec<String>, Vec<String>) {
        let (mut warnings, mut errors) = (Vec::new(), Vec::new());
        let pairs = [
            (
                "access_key_id",
                &self.access_key_id,
                &self.access_key_id_env,
            ),
            (
                "secret_access_key",
                &self.secret_access_key,
                &self.secret_access_key_env,
            ),
            (
                "session_token",
                &self.session_token,
                &self.session_token_env,
            ),
        ];
        for (name, inline, env) in pairs {
            if inline.is_some() && env.is_some() {
                errors.push(format!(
                    "credentials.{name} and credentials.{name}_env are both set"
                ));
            }
            // The key id alone names a key and proves nothing; the others are secrets.
            if inline.is_some() && name != "access_key_id" {
                warnings.push(format!(
                    "credentials.{name} is written in the config file: name an environment variable with credentials.{name}_env instead"
                ));
            }
        }
        let has = |inline: &Option<String>, env: &Option<String>| inline.is_some() || env.is_some();
        if !has(&self.access_key_id, &self.access_key_id_env)
            || !has(&self.secret_access_key, &self.secret_access_key_env)
        {
            errors.push(
                "credentials needs an access key id and a secret access key (or their _env names)"
                    .into(),
            );
        }
        (warnings, errors)
    }
}

pub(crate) fn is_account(account: &str) -> bool {
    account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())
}

/// `us-east-1`, `eu-central-2`, `us-gov-west-1`, `cn-north-1`, `ap-southeast-5`.
pub(crate) fn is_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    parts.len() >= 3
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[0].len() == 2
        && parts[parts.len() - 1].parse::<u8>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(toml: &str) -> TenantConfig {
        serde_json::from_value(toml_like(toml)).unwrap()
    }

    /// The tests write JSON; the main crate hands TOML through the same serde derive.
    fn toml_like(text: &str) -> serde_json::Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn a_good_tenant_gets_a_plan_line_per_pull() {
        let config = config(
            r#"{"accounts":["111122223333","444455556666"],"regions":["us-east-1","eu-west-1"],
                "role_arn":"arn:aws:iam::{account}:role/AuditsweepRead",
                "trail_bucket":{"bucket":"acme-trail","org_id":"o-exampleorgid","account":"111122223333"},
                "cost_explorer":{"account":"111122223333"}}"#,
        );
        let check = config.check("acme");
        assert!(check.errors.is_empty(), "{check:?}");
        assert!(check.warnings.is_empty(), "{check:?}");
        assert_eq!(check.plan.len(), 4, "{check:?}");
        assert_eq!(
            check.plan[0],
            "CloudTrail LookupEvents: account 111122223333, regions us-east-1, eu-west-1 (2 requests/s each; the last 90 days only; the default credential chain, then role arn:aws:iam::{account}:role/AuditsweepRead)"
        );
        assert!(
            check.plan[2]
                .contains("AWSLogs/o-exampleorgid/<account>/CloudTrail/<region>/YYYY/MM/DD/"),
            "{}",
            check.plan[2]
        );
        assert!(
            check.plan[3].contains("older than 3 days"),
            "{}",
            check.plan[3]
        );
    }

    #[test]
    fn mistakes_are_errors_and_inline_secrets_are_warnings() {
        let check = config(
            r#"{"accounts":["1111-2222-3333"],"regions":["us-east-1","US-EAST-1","useast1"],
                "credentials":{"access_key_id":"AKIAEXAMPLE","secret_access_key":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"},
                "endpoints":{"s3":"127.0.0.1:9000"},
                "trail_bucket":{"bucket":"b","org_id":"r-abc"}}"#,
        )
        .check("acme");
        let errors = check.errors.join("\n");
        for needle in [
            "\"1111-2222-3333\" is not a 12-digit",
            "\"US-EAST-1\"",
            "\"useast1\"",
            "endpoints.s3",
            "org_id \"r-abc\"",
        ] {
            assert!(errors.contains(needle), "{needle}: {errors}");
        }
        assert!(!errors.contains("\"us-east-1\""), "{errors}");
        assert_eq!(check.warnings.len(), 1, "{check:?}");
        assert!(check.warnings[0]
            .contains("credentials.secret_access_key is written in the config file"));
        // The warning names the key, never its value; nor does the config's Debug.
        assert!(!format!("{check:?}").contains("wJalrXUtnFEMI"));
        let config = config(
            r#"{"accounts":["111122223333"],"regions":["us-east-1"],
                "credentials":{"access_key_id":"AKIAEXAMPLE","secret_access_key":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY","session_token":"IQoJEXAMPLE"}}"#,
        );
        let debug = format!("{config:?}");
        assert!(
            !debug.contains("wJalrXUtnFEMI") && !debug.contains("IQoJEXAMPLE"),
            "{debug}"
        );
        assert!(
            debug.contains("secret_access_key: Some(\"<redacted>\")"),
            "{debug}"
        );
    }

    #[test]
    fn nothing_to_pull_and_unknown_keys_are_refused() {
        let check = config(r#"{"accounts":["111122223333"],"lookup_events":false}"#).check("t");
        assert!(
            check.errors.iter().any(|e| e.contains("no source")),
            "{check:?}"
        );
        let check =
            config(r#"{"accounts":["111122223333","111122223333"],"regions":["us-east-1"]}"#)
                .check("t");
        assert_eq!(check.errors, ["t: accounts names 111122223333 twice"]);
        let check = config(r#"{"accounts":["111122223333"]}"#).check("t");
        assert!(
            check
                .errors
                .iter()
                .any(|e| e.contains("`regions` is empty")),
            "{check:?}"
        );
        let unknown =
            serde_json::from_str::<TenantConfig>(r#"{"accounts":[],"region":"us-east-1"}"#);
        assert!(unknown
            .unwrap_err()
            .to_string()
            .contains("unknown field `region`"));
    }

    #[test]
    fn region_names() {
        for good in [
            "us-east-1",
            "eu-central-2",
            "us-gov-west-1",
            "cn-north-1",
            "ap-southeast-5",
        ] {
            assert!(is_region(good), "{good}");
        }
        for bad in [
            "us-east",
            "US-east-1",
            "useast1",
            "us-east-x",
            "-east-1",
            "usa-east-1",
        ] {
            assert!(!is_region(bad), "{bad}");
        }
    }
}
