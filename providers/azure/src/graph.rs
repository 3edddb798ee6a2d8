//! Entra ID audit logs from Microsoft Graph: `GET /v1.0/auditLogs/signIns` and
//! `/v1.0/auditLogs/directoryAudits`, one stream per UTC day, `@odata.nextLink` paging. A
//! page's bytes are Graph's answer `{"@odata.context":...,"value":[...],"@odata.nextLink":...}`.

use async_trait::async_trait;
use auditsweep_source::http::Refreshing;
use auditsweep_source::{Page, PullError, Source, Stream, Window};
use azure_core::http::Url;

use crate::paging;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphKind {
    SignIns,
    DirectoryAudits,
}

impl GraphKind {
    fn path(self) -> &'static str {
        match self {
            GraphKind::SignIns => "v1.0/auditLogs/signIns",
            GraphKind::DirectoryAudits => "v1.0/auditLogs/directoryAudits",
        }
    }

    /// The time property each collection filters on.
    fn time(self) -> &'static str {
        match self {
            GraphKind::SignIns => "createdDateTime",
            GraphKind::DirectoryAudits => "activityDateTime",
        }
    }

    fn kind(self) -> &'static str {
        match self {
            GraphKind::SignIns => "signins",
            GraphKind::DirectoryAudits => "directory-audits",
        }
    }
}

pub struct GraphLog {
    kind: GraphKind,
    id: String,
    endpoint: Url,
    http: reqwest::Client,
    token: Refreshing,
}

impl GraphLog {
    pub(crate) fn new(
        kind: GraphKind,
        tenant: &str,
        directory: &str,
        endpoint: Url,
        http: reqwest::Client,
        token: Refreshing,
    ) -> GraphLog {
        GraphLog {
            kind,
            id: format!("azure/{tenant}/{}/{directory}", kind.kind()),
            endpoint,
            http,
            token,
        }
    }
}

/// `createdDateTime ge 2026-11-01T00:00:00.0000000Z and createdDateTime le
/// 2026-11-01T23:59:59.9999999Z`: Graph documents `eq`, `ge` and `le` on both time properties
/// (not `lt`), and takes unquoted date-time literals.
pub(crate) fn filter(kind: GraphKind, window: &Window) -> String {
    let time = kind.time();
    format!(
        "{time} ge {} and {time} le {}",
        paging::ticks(window.start),
        paging::ticks(paging::last_tick(window))
    )
}

#[async_trait]
impl Source for GraphLog {
    fn id(&self) -> &str {
        &self.id
    }

    async fn list(&self, window: &Window) -> Result<Vec<Stream>, PullError> {
        Ok(paging::streams(window.days()))
    }

    async fn fetch(
        &self,
        stream: &Stream,
        window: &Window,
        token: Option<&str>,
    ) -> Result<Page, PullError> {
        let url = match token {
            Some(link) => paging::checked_link(link, &self.endpoint)?,
            None => {
                let day = paging::piece(window.days(), &stream.key)?;
                let mut url = paging::endpoint(&self.endpoint, self.kind.path());
                url.set_query(Some(&paging::query(&[(
                    "$filter",
                    &filter(self.kind, &day),
                )])));
                url
            }
        };
        let bytes = self.token.get_json(|| self.http.get(url.as_str())).await?;
        paging::page(bytes, &["value"], &["@odata.nextLink"], &self.endpoint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_collection_filters_on_its_own_time() {
        let window = Window {
            start: "2026-11-01T00:00:00Z".parse().unwrap(),
            end: "2026-11-02T00:00:00Z".parse().unwrap(),
        };
        assert_eq!(
            filter(GraphKind::SignIns, &window),
            "createdDateTime ge 2026-11-01T00:00:00.0000000Z and createdDateTime le 2026-11-01T23:59:59.9999999Z"
        );
        assert_eq!(
            filter(GraphKind::DirectoryAudits, &window),
            "activityDateTime ge 2026-11-01T00:00:00.0000000Z and activityDateTime le 2026-11-01T23:59:59.9999999Z"
        );
    }
}
