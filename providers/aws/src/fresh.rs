//! A service client whose credentials are asked for anew once the service refused them as
//! expired. The SDK's identity cache renews credentials by their own expiry time. A server that
//! says `ExpiredToken` earlier (clock skew, a revoked session) would get the same cached
//! credentials on every retry. So after an `Unauthorized` the next try goes through a client with
//! an empty cache, which asks the provider (the role's `AssumeRole`, the chain) again.

use std::sync::Mutex;

use auditsweep_source::PullError;
use aws_config::identity::IdentityCache;
use aws_config::SdkConfig;

pub struct Fresh<C> {
    sdk: SdkConfig,
    build: Box<dyn Fn(&SdkConfig) -> C + Send + Sync>,
    client: Mutex<C>,
}

impl<C: Clone> Fresh<C> {
    /// `build` makes the client from a configuration (region, endpoint and path style are its).
    pub fn new(sdk: &SdkConfig, build: impl Fn(&SdkConfig) -> C + Send + Sync + 'static) -> Self {
        let client = build(sdk);
        Fresh {
            sdk: sdk.clone(),
            build: Box::new(build),
            client: Mutex::new(client),
        }
    }

    /// The client for the next request (SDK clients are handles: cloning is cheap).
    pub fn get(&self) -> C {
        self.client
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Passes `result` on; after an `Unauthorized`, the next [`Fresh::get`] asks for new
    /// credentials.
    pub fn after<T>(&self, result: Result<T, PullError>) -> Result<T, PullError> {
        if let Err(PullError::Unauthorized(_)) = &result {
            let sdk = self
                .sdk
                .to_builder()
                .identity_cache(IdentityCache::lazy().build())
                .build();
            *self.client.lock().unwrap_or_else(|e| e.into_inner()) = (self.build)(&sdk);
            tracing::debug!("credentials refused: the next try asks for new ones");
        }
        result
    }
}
