//! Bearer tokens from azure_identity, one audience each (Resource Manager, Microsoft Graph),
//! behind auditsweep's [`Credential`]. azure_identity caches a token until five minutes before
//! its expiry and has no way to drop it, so a refresh after a refused token builds the
//! credential anew: its cache starts empty and the next token is fetched.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use auditsweep_source::http::Credential;
use auditsweep_source::{PullError, Secret};
use azure_core::credentials::TokenCredential;
use azure_core::error::ErrorKind;

/// Makes a new azure_identity credential (and reads the client secret again, so a rotated
/// secret file is picked up on refresh).
pub(crate) type Build = dyn Fn() -> Result<Arc<dyn TokenCredential>, PullError> + Send + Sync;

pub(crate) struct AzureToken {
    build: Arc<Build>,
    current: Mutex<Option<Arc<dyn TokenCredential>>>,
    scope: String,
}

impl AzureToken {
    pub(crate) fn new(build: Arc<Build>, scope: String) -> AzureToken {
        AzureToken {
            build,
            current: Mutex::new(None),
            scope,
        }
    }
}

#[async_trait]
impl Credential for AzureToken {
    async fn token(&self, refresh: bool) -> Result<Secret, PullError> {
        let credential = {
            let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
            match &*current {
                Some(credential) if !refresh => credential.clone(),
                _ => {
                    let credential = (self.build)()?;
                    *current = Some(credential.clone());
                    credential
                }
            }
        };
        let token = credential
            .get_token(&[self.scope.as_str()], None)
            .await
            .map_err(|err| token_error(&self.scope, &err))?;
        Ok(Secret::new(token.token.secret()))
    }
}

/// A failed token request in the retry classes: the authority unreachable or busy is worth
/// another try; a refused secret or identity is not.
pub(crate) fn token_error(scope: &str, err: &azure_core::Error) -> PullError {
    let inner = err
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<azure_core::Error>())
        .unwrap_or(err);
    // azure_identity's messages name the credential, the AADSTS code and a help link; never
    // the secret or the token.
    let message = format!("token for {scope}: {err}");
    match inner.kind() {
        ErrorKind::Connection | ErrorKind::Io => PullError::Transient(message),
        ErrorKind::HttpResponse { status, .. } => match u16::from(*status) {
            429 | 500..=599 => PullError::Transient(message),
            _ => PullError::Fatal(message),
        },
        _ => PullError::Fatal(message),
    }
}
