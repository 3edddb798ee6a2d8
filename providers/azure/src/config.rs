//! One `[[tenant]]` table of auditsweep.toml for Azure: what to pull, how to authenticate, and
//! where the endpoints are. `check` reads it without a network call; `sources` builds the
//! adapters with credentials resolved through azure_identity.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use auditsweep_source::http::{Credential, Refreshing};
use auditsweep_source::{PullError, Source};
use azure_core::cloud::{CloudConfiguration, CustomConfiguration};
use azure_core::credentials::TokenCredential;
use azure_core::http::{ClientOptions, Transport as AzureTransport, Url};
use azure_identity::{
    AzureCliCredential, AzureCliCredentialOptions, ClientAssertionCredentialOptions,
    ClientSecretCredential, ClientSecretCredentialOptions, ManagedIdentityCredential,
    ManagedIdentityCredentialOptions, UserAssignedId, WorkloadIdentityCredential,
    WorkloadIdentityCredentialOptions,
};
use serde::Deserialize;

use crate::activity_log::ActivityLog;
use crate::cost::CostQuery;
use crate::credential::{token_error, AzureToken, Build};
use crate::graph::{GraphKind, GraphLog};
use crate::transport::Transport;

/// The provider-specific keys of one `[[tenant]]` table of auditsweep.toml (the main crate
/// strips `name` and `provider` and hands the rest to this struct via serde).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantConfig {
    /// The Entra directory (tenant id or verified domain) whose sign-ins and directory audits
    /// Graph returns. Defaults to the `tenant_id` of `auth`.
    #[serde(default)]
    pub directory: Option<String>,
    /// Subscription ids: one Activity Log source each, and the default Cost Management scopes.
    #[serde(default)]
    pub subscriptions: Vec<String>,
    /// Cost Management scopes (`subscriptions/<id>`,
    /// `providers/Microsoft.Management/managementGroups/<id>`,
    /// `providers/Microsoft.Billing/billingAccounts/<id>`); default: each subscription.
    #[serde(default)]
    pub cost_scopes: Option<Vec<String>>,
    /// Which sources to pull; default all four.
    #[serde(default = "all_sources")]
    pub sources: Vec<SourceKind>,
    pub auth: Auth,
    #[serde(default)]
    pub endpoints: Endpoints,
    /// Seconds before a request is given up (and retried by the driver).
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    ActivityLog,
    Signins,
    DirectoryAudits,
    Cost,
}

fn all_sources() -> Vec<SourceKind> {
    vec![
        SourceKind::ActivityLog,
        SourceKind::Signins,
        SourceKind::DirectoryAudits,
        SourceKind::Cost,
    ]
}

fn default_timeout() -> u64 {
    60
}

/// How tokens are obtained: azure_identity's credential of that name.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "method", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Auth {
    /// An app registration's client secret, read from an environment variable or a file.
    ClientSecret {
        tenant_id: String,
        client_id: String,
        #[serde(default)]
        secret_env: Option<String>,
        #[serde(default)]
        secret_file: Option<PathBuf>,
        /// Accepted, with a warning from `check`: a config file is easily shared.
        #[serde(default)]
        secret: Option<InlineSecret>,
    },
    /// The managed identity of the VM, App Service or container running auditsweep; a
    /// user-assigned one by at most one of its ids.
    ManagedIdentity {
        #[serde(default)]
        client_id: Option<String>,
        #[serde(default)]
        object_id: Option<String>,
        #[serde(default)]
        resource_id: Option<String>,
    },
    /// A federated token file (AKS workload identity); unset keys fall back to
    /// `AZURE_TENANT_ID`, `AZURE_CLIENT_ID` and `AZURE_FEDERATED_TOKEN_FILE`.
    WorkloadIdentity {
        #[serde(default)]
        tenant_id: Option<String>,
        #[serde(default)]
        client_id: Option<String>,
        #[serde(default)]
        token_file: Option<PathBuf>,
    },
    /// The account `az login` signed in.
    AzureCli {
        #[serde(default)]
        tenant_id: Option<String>,
    },
}

/// A secret written into the config; never printed.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct InlineSecret(String);

impl std::fmt::Debug for InlineSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Where the cloud's endpoints are: a sovereign cloud by name, or each endpoint by URL (a
/// proxy, Azure Stack, a local test server). Token audiences follow `cloud`, not the URLs: a
/// server reached through another address still expects its own audience.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoints {
    #[serde(default)]
    pub cloud: Cloud,
    #[serde(default)]
    pub management: Option<String>,
    #[serde(default)]
    pub graph: Option<String>,
    /// The Entra authority (login) host.
    #[serde(default)]
    pub authority: Option<String>,
    /// A PEM root certificate trusted besides the public ones (a private CA).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cloud {
    #[default]
    Public,
    UsGovernment,
    China,
}

/// The defaults of one cloud: management, graph, authority.
struct CloudUrls {
    management: &'static str,
    graph: &'static str,
    authority: &'static str,
}

impl Cloud {
    fn urls(self) -> CloudUrls {
        match self {
            Cloud::Public => CloudUrls {
                management: "https://management.azure.com",
                graph: "https://graph.microsoft.com",
                authority: "https://login.microsoftonline.com",
            },
            Cloud::UsGovernment => CloudUrls {
                management: "https://management.usgovcloudapi.net",
                graph: "https://graph.microsoft.us",
                authority: "https://login.microsoftonline.us",
            },
            Cloud::China => CloudUrls {
                management: "https://management.chinacloudapi.cn",
                graph: "https://microsoftgraph.chinacloudapi.cn",
                authority: "https://login.chinacloudapi.cn",
            },
        }
    }
}

/// What `auditsweep config check` prints for a tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Check {
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
    /// One line per thing a pull would fetch.
    pub plan: Vec<String>,
}

/// The endpoints and audiences a tenant's sources use.
pub(crate) struct Resolved {
    pub(crate) management: Url,
    pub(crate) graph: Url,
    pub(crate) authority: Url,
    pub(crate) management_scope: String,
    pub(crate) graph_scope: String,
}

impl TenantConfig {
    /// Problems found without any network call, and what would be pulled.
    pub fn check(&self, tenant: &str) -> Check {
        let mut check = Check::default();
        let errors = &mut check.errors;
        let warnings = &mut check.warnings;
        if self.sources.is_empty() {
            errors.push(format!("tenant {tenant}: `sources` is empty"));
        }
        for subscription in &self.subscriptions {
            if !is_guid(subscription) {
                errors.push(format!(
                    "tenant {tenant}: subscription {subscription:?} is not a subscription id (a GUID)"
                ));
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for subscription in &self.subscriptions {
            if !seen.insert(subscription.to_ascii_lowercase()) {
                errors.push(format!(
                    "tenant {tenant}: subscription {subscription} is listed twice"
                ));
            }
        }
        let wants = |kind| self.sources.contains(&kind);
        if wants(SourceKind::ActivityLog) && self.subscriptions.is_empty() {
            errors.push(format!(
                "tenant {tenant}: the Activity Log is pulled per subscription, and `subscriptions` is empty"
            ));
        }
        if wants(SourceKind::Cost) && self.scopes().is_empty() {
            errors.push(format!(
                "tenant {tenant}: Cost Management needs `cost_scopes` or `subscriptions`"
            ));
        }
        for scope in self.scopes() {
            if let Err(why) = scope_label(&scope) {
                errors.push(format!("tenant {tenant}: cost scope {scope:?}: {why}"));
            }
        }
        let graph = wants(SourceKind::Signins) || wants(SourceKind::DirectoryAudits);
        match self.directory() {
            Some(directory) if !is_tenant(&directory) => errors.push(format!(
                "tenant {tenant}: directory {directory:?} is neither a tenant id nor a domain"
            )),
            None if graph => errors.push(format!(
                "tenant {tenant}: Graph sign-ins and directory audits need `directory` (the Entra tenant id)"
            )),
            _ => {}
        }
        self.check_auth(tenant, errors, warnings);
        if let Err(why) = self.resolve() {
            errors.push(format!("tenant {tenant}: {why}"));
        }
        if let Some(path) = &self.endpoints.ca_file {
            if std::fs::metadata(path).is_err() {
                errors.push(format!(
                    "tenant {tenant}: endpoints.ca_file {} cannot be read",
                    path.display()
                ));
            }
        }
        if self.timeout_secs == 0 {
            errors.push(format!("tenant {tenant}: timeout_secs must be above 0"));
        }
        check.plan = self.plan();
        check
    }

    fn check_auth(&self, tenant: &str, errors: &mut Vec<String>, warnings: &mut Vec<String>) {
        match &self.auth {
            Auth::ClientSecret {
                tenant_id,
                client_id,
                secret_env,
                secret_file,
                secret,
            } => {
                if !is_tenant(tenant_id) {
                    errors.push(format!("tenant {tenant}: auth.tenant_id {tenant_id:?} is neither a tenant id nor a domain"));
                }
                if !is_guid(client_id) {
                    errors.push(format!("tenant {tenant}: auth.client_id {client_id:?} is not an application id (a GUID)"));
                }
                let given = [
                    secret_env.is_some(),
                    secret_file.is_some(),
                    secret.is_some(),
                ];
                match given.iter().filter(|given| **given).count() {
                    0 => errors.push(format!("tenant {tenant}: a client secret needs `secret_env` (an environment variable's name) or `secret_file`")),
                    1 => {}
                    _ => errors.push(format!("tenant {tenant}: give one of `secret_env`, `secret_file` and `secret`")),
                }
                if secret.is_some() {
                    warnings.push(format!("tenant {tenant}: auth.secret is written in the config file; name an environment variable (`secret_env`) or a file (`secret_file`) instead"));
                }
                if let Some(name) = secret_env {
                    if std::env::var_os(name).is_none() {
                        warnings.push(format!(
                            "tenant {tenant}: the environment variable {name} is not set now"
                        ));
                    }
                }
                if let Some(path) = secret_file {
                    if std::fs::metadata(path).is_err() {
                        warnings.push(format!(
                            "tenant {tenant}: the secret file {} cannot be read now",
                            path.display()
                        ));
                    }
                }
            }
            Auth::ManagedIdentity {
                client_id,
                object_id,
                resource_id,
            } => {
                let ids = [client_id, object_id, resource_id];
                if ids.iter().filter(|id| id.is_some()).count() > 1 {
                    errors.push(format!("tenant {tenant}: a managed identity is named by one of `client_id`, `object_id` and `resource_id`"));
                }
            }
            Auth::WorkloadIdentity {
                tenant_id,
                client_id,
                token_file,
            } => {
                let missing = [
                    (tenant_id.is_none(), "AZURE_TENANT_ID", "tenant_id"),
                    (client_id.is_none(), "AZURE_CLIENT_ID", "client_id"),
                    (
                        token_file.is_none(),
                        "AZURE_FEDERATED_TOKEN_FILE",
                        "token_file",
                    ),
                ];
                for (unset, variable, key) in missing {
                    if unset && std::env::var_os(variable).is_none() {
                        warnings.push(format!(
                            "tenant {tenant}: workload identity has no `{key}`, and {variable} is not set now"
                        ));
                    }
                }
            }
            Auth::AzureCli { tenant_id } => {
                if let Some(id) = tenant_id {
                    if !is_tenant(id) {
                        errors.push(format!("tenant {tenant}: auth.tenant_id {id:?} is neither a tenant id nor a domain"));
                    }
                }
            }
        }
    }

    fn plan(&self) -> Vec<String> {
        let mut plan = Vec::new();
        let wants = |kind| self.sources.contains(&kind);
        if wants(SourceKind::ActivityLog) {
            for subscription in &self.subscriptions {
                plan.push(format!("Activity Log (GET eventtypes/management/values): subscription {subscription}, one query per UTC day"));
            }
        }
        if let Some(directory) = self.directory() {
            if wants(SourceKind::Signins) {
                plan.push(format!("Entra ID sign-ins (Graph GET /v1.0/auditLogs/signIns): directory {directory}, one query per UTC day"));
            }
            if wants(SourceKind::DirectoryAudits) {
                plan.push(format!("Entra ID directory audits (Graph GET /v1.0/auditLogs/directoryAudits): directory {directory}, one query per UTC day"));
            }
        }
        if wants(SourceKind::Cost) {
            for scope in self.scopes() {
                plan.push(format!("Cost Management query (ActualCost, daily, by service): scope {scope}, one query per month"));
            }
        }
        plan
    }

    /// The sources to pull, credentials resolved through azure_identity. Nothing is requested
    /// yet: a wrong secret shows on the first page.
    pub async fn sources(&self, tenant: &str) -> Result<Vec<Box<dyn Source>>, PullError> {
        let check = self.check(tenant);
        if let Some(error) = check.errors.first() {
            return Err(PullError::Fatal(error.clone()));
        }
        let resolved = self.resolve().map_err(PullError::Fatal)?;
        let http = self.client()?;
        let build = self.credential_builder(&resolved, http.clone())?;
        let management: Arc<dyn Credential> = Arc::new(AzureToken::new(
            build.clone(),
            resolved.management_scope.clone(),
        ));
        let graph: Arc<dyn Credential> =
            Arc::new(AzureToken::new(build, resolved.graph_scope.clone()));
        let wants = |kind| self.sources.contains(&kind);
        let mut sources: Vec<Box<dyn Source>> = Vec::new();
        if wants(SourceKind::ActivityLog) {
            for subscription in &self.subscriptions {
                sources.push(Box::new(ActivityLog::new(
                    tenant,
                    subscription,
                    resolved.management.clone(),
                    http.clone(),
                    Refreshing::new(management.clone()),
                )));
            }
        }
        if let Some(directory) = self.directory() {
            for (kind, wanted) in [
                (GraphKind::SignIns, wants(SourceKind::Signins)),
                (
                    GraphKind::DirectoryAudits,
                    wants(SourceKind::DirectoryAudits),
                ),
            ] {
                if wanted {
                    sources.push(Box::new(GraphLog::new(
                        kind,
                        tenant,
                        &directory,
                        resolved.graph.clone(),
                        http.clone(),
                        Refreshing::new(graph.clone()),
                    )));
                }
            }
        }
        if wants(SourceKind::Cost) {
            for scope in self.scopes() {
                let label = scope_label(&scope).map_err(PullError::Fatal)?;
                sources.push(Box::new(CostQuery::new(
                    tenant,
                    &scope,
                    &label,
                    resolved.management.clone(),
                    http.clone(),
                    Refreshing::new(management.clone()),
                )));
            }
        }
        Ok(sources)
    }

    fn directory(&self) -> Option<String> {
        self.directory.clone().or_else(|| match &self.auth {
            Auth::ClientSecret { tenant_id, .. } => Some(tenant_id.clone()),
            Auth::WorkloadIdentity { tenant_id, .. } | Auth::AzureCli { tenant_id } => {
                tenant_id.clone()
            }
            Auth::ManagedIdentity { .. } => None,
        })
    }

    fn scopes(&self) -> Vec<String> {
        match &self.cost_scopes {
            Some(scopes) => scopes
                .iter()
                .map(|scope| scope.trim_matches('/').to_string())
                .collect(),
            None => self
                .subscriptions
                .iter()
                .map(|id| format!("subscriptions/{id}"))
                .collect(),
        }
    }

    pub(crate) fn resolve(&self) -> Result<Resolved, String> {
        let cloud = self.endpoints.cloud;
        let urls = cloud.urls();
        let url = |key: &str, given: &Option<String>, default: &str| -> Result<Url, String> {
            let text = given.as_deref().unwrap_or(default);
            let url = Url::parse(text)
                .map_err(|err| format!("endpoints.{key} {text:?} is not a URL: {err}"))?;
            if url.scheme() != "https" {
                // Bearer tokens and client secrets never travel in the clear.
                return Err(format!("endpoints.{key} {text:?} is not https"));
            }
            if url.query().is_some() || !url.username().is_empty() || url.password().is_some() {
                return Err(format!(
                    "endpoints.{key} takes a scheme, host and path only"
                ));
            }
            Ok(url)
        };
        Ok(Resolved {
            management: url("management", &self.endpoints.management, urls.management)?,
            graph: url("graph", &self.endpoints.graph, urls.graph)?,
            authority: url("authority", &self.endpoints.authority, urls.authority)?,
            management_scope: format!("{}/.default", urls.management),
            graph_scope: format!("{}/.default", urls.graph),
        })
    }

    fn client(&self) -> Result<reqwest::Client, PullError> {
        let timeout = Duration::from_secs(self.timeout_secs);
        let Some(path) = &self.endpoints.ca_file else {
            return auditsweep_source::http::client(timeout);
        };
        let pem = std::fs::read(path).map_err(|err| {
            PullError::Fatal(format!("endpoints.ca_file {}: {err}", path.display()))
        })?;
        let certificate = reqwest::Certificate::from_pem(&pem).map_err(|err| {
            PullError::Fatal(format!("endpoints.ca_file {}: {err}", path.display()))
        })?;
        reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("auditsweep/", env!("CARGO_PKG_VERSION")))
            .add_root_certificate(certificate)
            .build()
            .map_err(|err| PullError::Fatal(format!("building the HTTP client: {err}")))
    }

    /// A function that makes the configured azure_identity credential, its token requests
    /// sent to the configured authority over `http`.
    fn credential_builder(
        &self,
        resolved: &Resolved,
        http: reqwest::Client,
    ) -> Result<Arc<Build>, PullError> {
        let mut custom = CustomConfiguration::default();
        custom.authority_host = resolved
            .authority
            .as_str()
            .trim_end_matches('/')
            .to_string();
        let cloud = Arc::new(CloudConfiguration::Custom(custom));
        let options = move || ClientOptions {
            transport: Some(AzureTransport::new(Arc::new(Transport(http.clone())))),
            cloud: Some(cloud.clone()),
            ..Default::default()
        };
        let failed = |what: &'static str| move |err: azure_core::Error| token_error(what, &err);
        let build: Arc<Build> = match self.auth.clone() {
            Auth::ClientSecret {
                tenant_id,
                client_id,
                secret_env,
                secret_file,
                secret,
            } => Arc::new(move || {
                let value = read_secret(&secret_env, &secret_file, &secret)?;
                let credential = ClientSecretCredential::new(
                    &tenant_id,
                    client_id.clone(),
                    value.into(),
                    Some(ClientSecretCredentialOptions {
                        client_options: options(),
                    }),
                )
                .map_err(failed("client secret credential"))?;
                Ok(credential as Arc<dyn TokenCredential>)
            }),
            Auth::ManagedIdentity {
                client_id,
                object_id,
                resource_id,
            } => Arc::new(move || {
                let user_assigned_id = client_id
                    .clone()
                    .map(UserAssignedId::ClientId)
                    .or_else(|| object_id.clone().map(UserAssignedId::ObjectId))
                    .or_else(|| resource_id.clone().map(UserAssignedId::ResourceId));
                let credential =
                    ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
                        user_assigned_id,
                        client_options: options(),
                    }))
                    .map_err(failed("managed identity"))?;
                Ok(credential as Arc<dyn TokenCredential>)
            }),
            Auth::WorkloadIdentity {
                tenant_id,
                client_id,
                token_file,
            } => Arc::new(move || {
                let credential =
                    WorkloadIdentityCredential::new(Some(WorkloadIdentityCredentialOptions {
                        credential_options: ClientAssertionCredentialOptions {
                            client_options: options(),
                        },
                        client_id: client_id.clone(),
                        tenant_id: tenant_id.clone(),
                        token_file_path: token_file.clone(),
                    }))
                    .map_err(failed("workload identity"))?;
                Ok(credential as Arc<dyn TokenCredential>)
            }),
            Auth::AzureCli { tenant_id } => Arc::new(move || {
                let credential = AzureCliCredential::new(Some(AzureCliCredentialOptions {
                    tenant_id: tenant_id.clone(),
                    ..Default::default()
                }))
                .map_err(failed("Azure CLI"))?;
                Ok(credential as Arc<dyn TokenCredential>)
            }),
        };
        Ok(build)
    }
}

/// The client secret from the one place the config names. Read each time a credential is
/// built, so a rotated secret is used on the next refresh.
fn read_secret(
    env: &Option<String>,
    file: &Option<PathBuf>,
    inline: &Option<InlineSecret>,
) -> Result<String, PullError> {
    let value = if let Some(name) = env {
        std::env::var(name).map_err(|_| {
            PullError::Fatal(format!(
                "the environment variable {name} (the client secret) is not set"
            ))
        })?
    } else if let Some(path) = file {
        std::fs::read_to_string(path)
            .map_err(|err| PullError::Fatal(format!("the secret file {}: {err}", path.display())))?
    } else if let Some(InlineSecret(value)) = inline {
        value.clone()
    } else {
        return Err(PullError::Fatal("no client secret configured".into()));
    };
    let value = value.trim().to_string();
    if value.is_empty() {
        return Err(PullError::Fatal("the client secret is empty".into()));
    }
    Ok(value)
}

/// The scope part of a Cost Management source id: the subscription id, `mg:<id>` or
/// `billing:<id>`; other scopes by their path with `:` for `/`.
pub(crate) fn scope_label(scope: &str) -> Result<String, String> {
    let parts: Vec<&str> = scope.split('/').collect();
    if parts.iter().any(|part| {
        part.is_empty() || *part == "." || *part == ".." || part.contains(['?', '#', ' ', '%'])
    }) {
        return Err("not a scope path".into());
    }
    let lower: Vec<String> = parts.iter().map(|part| part.to_ascii_lowercase()).collect();
    let lower: Vec<&str> = lower.iter().map(String::as_str).collect();
    Ok(match lower.as_slice() {
        ["subscriptions", _] => parts[1].to_string(),
        ["providers", "microsoft.management", "managementgroups", _] => format!("mg:{}", parts[3]),
        ["providers", "microsoft.billing", "billingaccounts", _] => format!("billing:{}", parts[3]),
        ["subscriptions", ..] | ["providers", ..] => parts.join(":"),
        _ => return Err("expected subscriptions/<id> or providers/Microsoft.Management/managementGroups/<id> or providers/Microsoft.Billing/billingAccounts/<id>".into()),
    })
}

/// Whether a scope is wider than one subscription (its costs are then grouped by
/// subscription too).
pub(crate) fn is_wide(scope: &str) -> bool {
    !scope.to_ascii_lowercase().starts_with("subscriptions/")
}

fn is_guid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, len)| group.len() == len && group.chars().all(|c| c.is_ascii_hexdigit()))
}

/// A tenant id or a domain name, as azure_identity accepts them.
fn is_tenant(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
}
