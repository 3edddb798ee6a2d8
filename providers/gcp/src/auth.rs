//! Bearer tokens from Google's own credential chain (`google-cloud-auth`): a named credentials
//! file or variable, else Application Default Credentials (`GOOGLE_APPLICATION_CREDENTIALS`,
//! gcloud's `application_default_credentials.json`, the metadata server).

use std::path::PathBuf;

use async_trait::async_trait;
use auditsweep_source::http::Credential;
use auditsweep_source::{PullError, Secret};
use google_cloud_auth::credentials::{
    external_account, impersonated, mds, service_account, user_account, AccessTokenCredentials,
    Builder,
};
use serde_json::Value;
use tokio::sync::Mutex;

/// Enough to read logs and run a query job: `entries.list` and `jobs.query` both accept it,
/// and it grants no write.
pub const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform.read-only";

/// Where the credential comes from (at most one of `file`, `env`, `inline`).
#[derive(Debug, Clone, Default)]
pub(crate) struct AuthSettings {
    pub file: Option<PathBuf>,
    pub env: Option<String>,
    pub inline: Option<String>,
    pub quota_project: Option<String>,
    /// Replaces the `token_uri` of user credentials.
    pub token_uri: Option<String>,
    /// Replaces the metadata server.
    pub metadata: Option<String>,
    /// How long fetching a token may take: google-cloud-auth's own requests have no timeout,
    /// and a metadata server or token endpoint that never answers would stall the pull.
    pub timeout: std::time::Duration,
}

/// Google credentials behind the adapters' [`Credential`] trait. `google-cloud-auth` caches
/// and renews tokens before they expire; a token the API refuses anyway (revoked, or expired
/// early) is replaced by building the credentials again, which fetches a new one.
pub(crate) struct GoogleCredential {
    settings: AuthSettings,
    quota_project: Option<String>,
    current: Mutex<AccessTokenCredentials>,
}

impl std::fmt::Debug for GoogleCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GoogleCredential(<redacted>)")
    }
}

impl GoogleCredential {
    /// Reads and parses the credential now, so a missing file fails `sources()`, not the pull.
    /// Needs a Tokio runtime (the token cache runs a task).
    pub fn new(settings: AuthSettings) -> Result<GoogleCredential, PullError> {
        install_crypto_provider();
        let current = Mutex::new(build(&settings)?);
        // As Google's clients choose it: the setting, `GOOGLE_CLOUD_QUOTA_PROJECT`, the
        // credentials file's `quota_project_id`.
        let quota_project = settings
            .quota_project
            .clone()
            .or_else(|| std::env::var("GOOGLE_CLOUD_QUOTA_PROJECT").ok())
            .or_else(|| {
                let json = credentials_json(&settings).ok()??;
                json["quota_project_id"].as_str().map(str::to_string)
            })
            .filter(|project| !project.is_empty());
        Ok(GoogleCredential {
            settings,
            quota_project,
            current,
        })
    }

    pub fn quota_project(&self) -> Option<String> {
        self.quota_project.clone()
    }
}

#[async_trait]
impl Credential for GoogleCredential {
    async fn token(&self, refresh: bool) -> Result<Secret, PullError> {
        let mut current = self.current.lock().await;
        if refresh {
            *current = build(&self.settings)?;
        }
        let token = tokio::time::timeout(self.settings.timeout, current.access_token())
            .await
            .map_err(|_| {
                PullError::Transient(format!(
                    "fetching a Google access token timed out after {:?}",
                    self.settings.timeout
                ))
            })?;
        match token {
            Ok(token) => Ok(Secret::new(token.token)),
            Err(err) if err.is_transient() => Err(PullError::Transient(format!(
                "fetching a Google access token: {err}"
            ))),
            Err(err) => Err(PullError::Fatal(format!(
                "fetching a Google access token: {err}"
            ))),
        }
    }
}

/// One API's base URL and the means to call it, per source.
pub(crate) struct Api {
    pub base: String,
    pub client: reqwest::Client,
    pub bearer: Bearer,
}

/// A credential and whether the API refused its last token. The driver retries a fetch without
/// telling the source why the last one failed, so the source remembers a refusal itself and
/// asks for a new token on the next try.
pub(crate) struct Bearer {
    credential: std::sync::Arc<dyn Credential>,
    /// Sent as `x-goog-user-project`: the token alone does not name a quota project.
    quota_project: Option<String>,
    refused: std::sync::atomic::AtomicBool,
}

impl Bearer {
    pub fn new(
        credential: std::sync::Arc<dyn Credential>,
        quota_project: Option<String>,
    ) -> Bearer {
        Bearer {
            credential,
            quota_project,
            refused: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// [`auditsweep_source::http::get_json`] with a fresh token after a refusal.
    pub async fn send(
        &self,
        build: impl FnOnce() -> reqwest::RequestBuilder,
    ) -> Result<Vec<u8>, PullError> {
        self.call(build, None).await
    }

    /// [`auditsweep_source::http::get_bytes`] likewise: an object of `len` bytes.
    pub async fn download(
        &self,
        build: impl FnOnce() -> reqwest::RequestBuilder,
        len: u64,
    ) -> Result<Vec<u8>, PullError> {
        self.call(build, Some(len)).await
    }

    async fn call(
        &self,
        build: impl FnOnce() -> reqwest::RequestBuilder,
        len: Option<u64>,
    ) -> Result<Vec<u8>, PullError> {
        use auditsweep_source::http::{get_bytes, get_json};
        use std::sync::atomic::Ordering;
        let refused = PullError::Unauthorized(String::new());
        let previous = self
            .refused
            .swap(false, Ordering::SeqCst)
            .then_some(&refused);
        let build = || match &self.quota_project {
            Some(project) => build().header("x-goog-user-project", project),
            None => build(),
        };
        let credential = &*self.credential;
        let result = match len {
            None => get_json(build, credential, previous).await,
            Some(len) => get_bytes(build, credential, previous, Some(len)).await,
        };
        // A refusal, or a failure right after one (the new token may not have come): the
        // next try asks again.
        if matches!(result, Err(PullError::Unauthorized(_)))
            || (previous.is_some() && result.is_err())
        {
            self.refused.store(true, Ordering::SeqCst);
        }
        result
    }
}

/// google-cloud-auth is built without a TLS provider of its own (it would bring aws-lc-rs, a
/// second crypto library): it then uses the process default, which is set here to ring, the
/// provider reqwest already uses, unless the program chose one.
fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race to another thread installing one is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

fn build(settings: &AuthSettings) -> Result<AccessTokenCredentials, PullError> {
    let failed = |err: google_cloud_auth::build_errors::Error| {
        PullError::Fatal(format!("GCP credentials: {err}"))
    };
    let Some(json) = credentials_json(settings)? else {
        if let Some(endpoint) = &settings.metadata {
            let builder = mds::Builder::default()
                .with_endpoint(endpoint)
                .with_scopes([SCOPE]);
            let builder = match &settings.quota_project {
                Some(project) => builder.with_quota_project_id(project),
                None => builder,
            };
            return builder.build_access_token_credentials().map_err(failed);
        }
        let builder = Builder::default().with_scopes([SCOPE]);
        let builder = match &settings.quota_project {
            Some(project) => builder.with_quota_project_id(project),
            None => builder,
        };
        return builder.build_access_token_credentials().map_err(failed);
    };
    let kind = json["type"].as_str().unwrap_or("").to_string();
    let quota = settings.quota_project.clone();
    match kind.as_str() {
        "authorized_user" => {
            let mut builder = user_account::Builder::new(json).with_scopes([SCOPE]);
            if let Some(uri) = &settings.token_uri {
                builder = builder.with_token_uri(uri);
            }
            if let Some(project) = quota {
                builder = builder.with_quota_project_id(project);
            }
            builder.build_access_token_credentials().map_err(failed)
        }
        "service_account" => {
            let mut builder = service_account::Builder::new(json).with_access_specifier(
                service_account::AccessSpecifier::from_scopes([SCOPE]),
            );
            if let Some(project) = quota {
                builder = builder.with_quota_project_id(project);
            }
            builder.build_access_token_credentials().map_err(failed)
        }
        "impersonated_service_account" => {
            let mut builder = impersonated::Builder::new(json).with_scopes([SCOPE]);
            if let Some(project) = quota {
                builder = builder.with_quota_project_id(project);
            }
            builder.build_access_token_credentials().map_err(failed)
        }
        "external_account" => {
            let mut builder = external_account::Builder::new(json).with_scopes([SCOPE]);
            if let Some(project) = quota {
                builder = builder.with_quota_project_id(project);
            }
            builder.build_access_token_credentials().map_err(failed)
        }
        other => Err(PullError::Fatal(format!(
            "GCP credentials: type `{other}` is not supported (authorized_user, service_account, impersonated_service_account, external_account)"
        ))),
    }
}

/// The named credentials JSON, if one is named. Errors say where it was looked for, never
/// what it holds.
fn credentials_json(settings: &AuthSettings) -> Result<Option<Value>, PullError> {
    let (text, origin) = if let Some(path) = &settings.file {
        let text = std::fs::read_to_string(path).map_err(|err| {
            PullError::Fatal(format!(
                "GCP credentials: reading {}: {}",
                path.display(),
                err.kind()
            ))
        })?;
        (text, format!("the file {}", path.display()))
    } else if let Some(name) = &settings.env {
        let text = std::env::var(name).map_err(|_| {
            PullError::Fatal(format!(
                "GCP credentials: the environment variable {name} is not set"
            ))
        })?;
        (text, format!("the environment variable {name}"))
    } else if let Some(text) = &settings.inline {
        (text.clone(), "credentials_json".to_string())
    } else {
        return Ok(None);
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(json) if json.is_object() => Ok(Some(json)),
        _ => Err(PullError::Fatal(format!(
            "GCP credentials: {origin} is not a credentials JSON object"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_credential_is_named_without_its_content() {
        let settings = AuthSettings {
            inline: Some("not json hunter2".into()),
            ..AuthSettings::default()
        };
        let error = credentials_json(&settings).unwrap_err().to_string();
        assert!(error.contains("credentials_json"), "{error}");
        assert!(!error.contains("hunter2"), "{error}");
        let settings = AuthSettings {
            env: Some("AUDITSWEEP_GCP_TEST_UNSET_VARIABLE".into()),
            ..AuthSettings::default()
        };
        assert!(credentials_json(&settings)
            .unwrap_err()
            .to_string()
            .contains("AUDITSWEEP_GCP_TEST_UNSET_VARIABLE is not set"));
        let unknown = AuthSettings {
            inline: Some(r#"{"type": "api_key", "key": "hunter2"}"#.into()),
            ..AuthSettings::default()
        };
        let error = build(&unknown).unwrap_err().to_string();
        assert!(error.contains("`api_key` is not supported"), "{error}");
        assert!(!error.contains("hunter2"));
    }
}
