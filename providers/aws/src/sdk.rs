//! The SDK's configuration for a tenant: one HTTPS client (rustls with ring), the SDK's own
//! retries off (the shared driver retries, with the cursor), timeouts, and credentials from the
//! standard chain, a profile or named keys, then optionally a role assumed per account.

use std::time::Duration;

use auditsweep_source::PullError;
use aws_config::retry::RetryConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sts::config::{Credentials, SharedCredentialsProvider};
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};

use crate::config::{StaticCredentials, TenantConfig};

/// The region of calls that have no region of their own (Cost Explorer, the bucket when not
/// named, everything when the tenant names no region).
pub const HOME_REGION: &str = "us-east-1";

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// The tenant's base configuration: its own credentials, before any role.
pub async fn base(config: &TenantConfig) -> Result<SdkConfig, PullError> {
    let timeout = config
        .timeout_secs
        .map_or(DEFAULT_TIMEOUT, Duration::from_secs);
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let region = config
        .regions
        .first()
        .cloned()
        .unwrap_or_else(|| HOME_REGION.to_string());
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .retry_config(RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(10).min(timeout))
                .operation_attempt_timeout(timeout)
                .operation_timeout(timeout)
                .build(),
        )
        .region(Region::new(region));
    if let Some(credentials) = &config.credentials {
        loader = loader.credentials_provider(static_credentials(credentials)?);
    } else if let Some(profile) = &config.profile {
        loader = loader.profile_name(profile);
    }
    Ok(loader.load().await)
}

/// The configuration for calls into `account`: the base one, or the base one's credentials
/// assuming `role_arn` there (`{account}` replaced). The role's credentials are asked for on the
/// first call and renewed by the SDK's identity cache before they expire.
pub async fn for_account(
    base: &SdkConfig,
    config: &TenantConfig,
    account: Option<&str>,
) -> SdkConfig {
    let (Some(arn), Some(account)) = (&config.role_arn, account) else {
        return base.clone();
    };
    let mut sts = base.to_builder();
    if let Some(url) = &config.endpoints.sts {
        sts = sts.endpoint_url(url);
    }
    // STS in the tenant's first region (regional endpoints; also right for other partitions).
    let sts = sts.build();
    let mut role = AssumeRoleProvider::builder(arn.replace("{account}", account))
        .session_name("auditsweep")
        .configure(&sts);
    if let Some(id) = &config.external_id {
        role = role.external_id(id);
    }
    let role = role.build().await;
    base.to_builder()
        .credentials_provider(SharedCredentialsProvider::new(role))
        .build()
}

fn static_credentials(keys: &StaticCredentials) -> Result<Credentials, PullError> {
    let id = value(
        &keys.access_key_id,
        &keys.access_key_id_env,
        "access_key_id",
    )?;
    let secret = value(
        &keys.secret_access_key,
        &keys.secret_access_key_env,
        "secret_access_key",
    )?;
    let token = match (&keys.session_token, &keys.session_token_env) {
        (None, None) => None,
        (inline, env) => Some(value(inline, env, "session_token")?),
    };
    let (Some(id), Some(secret)) = (id, secret) else {
        return Err(PullError::Fatal(
            "credentials needs an access key id and a secret access key".into(),
        ));
    };
    Ok(Credentials::new(
        id,
        secret,
        token.flatten(),
        None,
        "auditsweep-config",
    ))
}

/// An inline value, or the value of the environment variable named (its name in the error,
/// never a value).
fn value(
    inline: &Option<String>,
    env: &Option<String>,
    key: &str,
) -> Result<Option<String>, PullError> {
    match (inline, env) {
        (Some(value), _) => Ok(Some(value.clone())),
        (None, Some(name)) => match std::env::var(name) {
            Ok(value) if !value.is_empty() => Ok(Some(value)),
            _ => Err(PullError::Fatal(format!(
                "credentials.{key}_env names the environment variable {name}, which is not set"
            ))),
        },
        (None, None) => Ok(None),
    }
}
