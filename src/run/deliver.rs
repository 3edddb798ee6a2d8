//! Delivery of queued incident changes to webhooks, Jira Cloud and ServiceNow.
//!
//! A change leaves the outbox only when the receiver answered 2xx. Every request carries an
//! `Idempotency-Key` (incident id and revision), so a change sent again after a crash between
//! the answer and its recording is recognizable as the same change. Retries back off
//! exponentially with jitter and honour `Retry-After`; a 4xx other than 408 and 429 cannot
//! succeed by repetition and stops retrying (the change is kept as `rejected`).

use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use super::state::{DeliveryOutcome, Queued, State, StateError};
use crate::config::{WebhookFormat, WebhookSink};

/// The header carrying the HMAC-SHA256 of the body, hex, when a secret is configured.
pub const SIGNATURE_HEADER: &str = "X-Auditsweep-Signature";
/// The longest `Retry-After` waited for within a run; longer ones wait for the next run.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// A sink ready to send: its settings and the secrets read from the environment or files.
pub struct Sink {
    pub settings: WebhookSink,
    secret: Option<Vec<u8>>,
    auth: Option<String>,
    client: reqwest::blocking::Client,
}

impl Sink {
    /// Reads the sink's secrets (never from the config itself) and builds its HTTP client.
    pub fn new(settings: WebhookSink) -> anyhow::Result<Sink> {
        use anyhow::Context;
        let secret = match (&settings.secret_env, &settings.secret_file) {
            (Some(var), _) => Some(
                std::env::var(var)
                    .with_context(|| {
                        format!("sink {}: secret_env {var} is not set", settings.name)
                    })?
                    .into_bytes(),
            ),
            (None, Some(file)) => Some(
                std::fs::read(file)
                    .with_context(|| {
                        format!("sink {}: secret_file {}", settings.name, file.display())
                    })?
                    .trim_ascii()
                    .to_vec(),
            ),
            (None, None) => None,
        };
        let auth =
            match &settings.auth_env {
                Some(var) => Some(std::env::var(var).with_context(|| {
                    format!("sink {}: auth_env {var} is not set", settings.name)
                })?),
                None => None,
            };
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs_f64(settings.timeout_seconds))
            .connect_timeout(Duration::from_secs_f64(settings.timeout_seconds))
            .user_agent(concat!("auditsweep/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("building the HTTP client")?;
        Ok(Sink {
            settings,
            secret,
            auth,
            client,
        })
    }

    /// Sends one queued change, retrying within this run, and records what became of it.
    pub fn deliver(&self, state: &State, queued: &Queued) -> Result<DeliveryOutcome, StateError> {
        let mut outcome = DeliveryOutcome::Retry("not attempted".into());
        for attempt in 0..self.settings.attempts {
            let (result, retry_after) = self.attempt(state, queued)?;
            outcome = result;
            let DeliveryOutcome::Retry(why) = &outcome else {
                break;
            };
            tracing::warn!(
                sink = %self.settings.name,
                incident = %queued.incident_id,
                revision = queued.revision,
                "Delivery attempt {} failed: {why}",
                attempt + 1
            );
            if attempt + 1 == self.settings.attempts {
                break;
            }
            let wait = match retry_after {
                Some(wait) if wait > MAX_RETRY_AFTER => break,
                Some(wait) => wait,
                None => backoff(self.settings.backoff_ms, attempt),
            };
            std::thread::sleep(wait);
        }
        if outcome == DeliveryOutcome::Delivered {
            super::fault("delivered-unrecorded");
        }
        state.delivered(queued.seq, &outcome)?;
        Ok(outcome)
    }

    /// One request. Returns the outcome and the receiver's `Retry-After`, if any.
    fn attempt(
        &self,
        state: &State,
        queued: &Queued,
    ) -> Result<(DeliveryOutcome, Option<Duration>), StateError> {
        let change: Value = serde_json::from_str(&queued.payload).unwrap_or(Value::Null);
        let reference = state.external_ref(&self.settings.name, &queued.incident_id)?;
        let (method, url, body) = self.request(&change, reference.as_deref());
        let body = serde_json::to_vec(&body).unwrap_or_default();
        let mut request = self
            .client
            .request(method, &url)
            .header("Content-Type", "application/json")
            .header("Accept", "application/json")
            .header(
                "Idempotency-Key",
                format!("{}:{}", queued.incident_id, queued.revision),
            );
        if let Some(secret) = &self.secret {
            request = request.header(SIGNATURE_HEADER, format!("sha256={}", sign(secret, &body)));
        }
        if let Some(auth) = &self.auth {
            request = request.header("Authorization", basic(auth));
        }
        let response = match request.body(body).send() {
            Ok(response) => response,
            Err(err) => {
                // Only the kind of failure: reqwest's message can carry the URL's query.
                let why = if err.is_timeout() {
                    "timed out"
                } else if err.is_connect() {
                    "cannot connect"
                } else {
                    "request failed"
                };
                return Ok((DeliveryOutcome::Retry(why.into()), None));
            }
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get("Retry-After")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        if status.is_success() {
            if reference.is_none() {
                if let Some(created) = self.created_reference(response) {
                    state.set_external_ref(&self.settings.name, &queued.incident_id, &created)?;
                }
            }
            return Ok((DeliveryOutcome::Delivered, None));
        }
        let code = status.as_u16();
        let why = format!("HTTP {code}");
        if code == 408 || code == 429 || status.is_server_error() {
            Ok((DeliveryOutcome::Retry(why), retry_after))
        } else {
            Ok((DeliveryOutcome::Rejected(why), None))
        }
    }

    /// Method, URL and body for this sink's format.
    fn request(&self, change: &Value, reference: Option<&str>) -> (reqwest::Method, String, Value) {
        let base = self.settings.url.trim_end_matches('/');
        match self.settings.format {
            WebhookFormat::Generic => (reqwest::Method::POST, base.to_string(), change.clone()),
            WebhookFormat::Jira => match reference {
                None => (
                    reqwest::Method::POST,
                    format!("{base}/rest/api/3/issue"),
                    jira_issue(change, &self.settings),
                ),
                Some(key) => (
                    reqwest::Method::POST,
                    format!("{base}/rest/api/3/issue/{key}/comment"),
                    json!({ "body": adf(&change_note(change)) }),
                ),
            },
            WebhookFormat::ServiceNow => match reference {
                None => (
                    reqwest::Method::POST,
                    format!("{base}/api/now/table/incident"),
                    servicenow_incident(change),
                ),
                Some(sys_id) => (
                    reqwest::Method::PATCH,
                    format!("{base}/api/now/table/incident/{sys_id}"),
                    servicenow_update(change),
                ),
            },
        }
    }

    /// The ticket a create call made: Jira's `key`, ServiceNow's `result.sys_id`.
    fn created_reference(&self, response: reqwest::blocking::Response) -> Option<String> {
        let body: Value = serde_json::from_slice(&response.bytes().ok()?).ok()?;
        match self.settings.format {
            WebhookFormat::Generic => None,
            WebhookFormat::Jira => body.get("key")?.as_str().map(str::to_string),
            WebhookFormat::ServiceNow => body
                .get("result")?
                .get("sys_id")?
                .as_str()
                .map(str::to_string),
        }
    }
}

/// `base * 2^attempt`, plus up to half of it again at random, so that many runs that failed
/// together do not retry together.
fn backoff(base_ms: u64, attempt: u32) -> Duration {
    let exponential = base_ms.saturating_mul(1u64 << attempt.min(16));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos()));
    let jitter = if exponential == 0 {
        0
    } else {
        nanos % (exponential / 2 + 1)
    };
    Duration::from_millis(exponential + jitter)
}

/// HMAC-SHA256 of `body` under `secret`, as lowercase hex.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes a key of any size");
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `Authorization: Basic` from `user:token` (Jira: e-mail and API token; ServiceNow: user and
/// password).
fn basic(credentials: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(credentials)
    )
}

fn finding_text(change: &Value, key: &str) -> String {
    change["finding"][key]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The description of an incident for a ticket: what, where, when, why it escalates, and the
/// analyst's next steps.
fn description(change: &Value) -> String {
    let finding = &change["finding"];
    let mut lines = vec![
        finding_text(change, "escalation_reason"),
        format!(
            "Provider {} tenant {} account {}; first seen {}, last seen {}; severity {}.",
            finding["provider"].as_str().unwrap_or("-"),
            finding["tenant"].as_str().unwrap_or("-"),
            finding["account"].as_str().unwrap_or("-"),
            finding["first_seen"].as_str().unwrap_or("-"),
            finding["last_seen"].as_str().unwrap_or("-"),
            finding["severity"].as_str().unwrap_or("-"),
        ),
        format!(
            "auditsweep incident {}",
            change["incident_id"].as_str().unwrap_or("-")
        ),
    ];
    if let Some(mitre) = finding["mitre"].as_array() {
        let ids: Vec<&str> = mitre.iter().filter_map(Value::as_str).collect();
        lines.push(format!("MITRE ATT&CK: {}", ids.join(", ")));
    }
    if let Some(steps) = finding["next_steps"].as_array() {
        lines.push("Next steps:".into());
        lines.extend(
            steps
                .iter()
                .filter_map(Value::as_str)
                .map(|step| format!("- {step}")),
        );
    }
    lines.join("\n")
}

/// A note on an existing ticket: what changed.
fn change_note(change: &Value) -> String {
    format!(
        "auditsweep: incident {} {} (revision {}): {}; last seen {}, status {}.",
        change["incident_id"].as_str().unwrap_or("-"),
        change["change"].as_str().unwrap_or("updated"),
        change["revision"],
        finding_text(change, "title"),
        finding_text(change, "last_seen"),
        change["finding"]["incident"]["status"]
            .as_str()
            .unwrap_or("-"),
    )
}

/// Atlassian Document Format: one paragraph per line.
fn adf(text: &str) -> Value {
    let paragraphs: Vec<Value> = text
        .lines()
        .filter(|line| !line.is_empty())
        .map(|line| json!({"type": "paragraph", "content": [{"type": "text", "text": line}]}))
        .collect();
    json!({"type": "doc", "version": 1, "content": paragraphs})
}

/// `POST /rest/api/3/issue`: the fields Jira Cloud requires (project, issue type, summary) and
/// a description in ADF; labels find the ticket by incident id.
fn jira_issue(change: &Value, settings: &WebhookSink) -> Value {
    let id = change["incident_id"].as_str().unwrap_or_default();
    json!({
        "fields": {
            "project": {"key": settings.project.clone().unwrap_or_default()},
            "issuetype": {"name": settings.issue_type.clone().unwrap_or_else(|| "Task".into())},
            "summary": finding_text(change, "title").chars().take(250).collect::<String>(),
            "description": adf(&description(change)),
            "labels": ["auditsweep", format!("auditsweep-{id}")],
        }
    })
}

/// ServiceNow urgency and impact (1 high .. 3 low) from the finding's severity.
fn servicenow_priority(change: &Value) -> &'static str {
    match change["finding"]["severity"].as_str() {
        Some("critical") | Some("high") => "1",
        Some("medium") => "2",
        _ => "3",
    }
}

/// `POST /api/now/table/incident`: `correlation_id` carries the incident id, so the ticket is
/// found again from either side.
fn servicenow_incident(change: &Value) -> Value {
    let priority = servicenow_priority(change);
    json!({
        "short_description": finding_text(change, "title").chars().take(160).collect::<String>(),
        "description": description(change),
        "correlation_id": change["incident_id"],
        "correlation_display": "auditsweep",
        "urgency": priority,
        "impact": priority,
    })
}

/// `PATCH /api/now/table/incident/{sys_id}`: a work note, and state 6 (Resolved) with close
/// fields when the incident ended.
fn servicenow_update(change: &Value) -> Value {
    let mut body = json!({ "work_notes": change_note(change) });
    if change["change"] == "resolved" {
        body["state"] = json!("6");
        body["close_code"] = json!("Resolved by caller");
        body["close_notes"] = json!("auditsweep: back to baseline in the newest data");
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_hex() {
        // RFC 4231 test case 2.
        assert_eq!(
            sign(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn basic_auth_is_base64() {
        assert_eq!(
            basic("Aladdin:open sesame"),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        assert_eq!(basic("a:b"), "Basic YTpi");
        assert_eq!(basic("ab:c"), "Basic YWI6Yw==");
    }

    #[test]
    fn backoff_grows_and_stays_within_its_jitter() {
        for attempt in 0..5 {
            let wait = backoff(100, attempt).as_millis() as u64;
            let base = 100 << attempt;
            assert!(
                (base..=base + base / 2).contains(&wait),
                "{attempt}: {wait}"
            );
        }
    }

    #[test]
    fn servicenow_resolution_closes_the_ticket() {
        let change = json!({"incident_id": "abc", "change": "resolved", "revision": 3,
            "finding": {"title": "t", "severity": "high", "incident": {"status": "ended"}}});
        let update = servicenow_update(&change);
        assert_eq!(update["state"], "6");
        assert!(update["work_notes"].as_str().unwrap().contains("abc"));
        let create = servicenow_incident(&change);
        assert_eq!(create["correlation_id"], "abc");
        assert_eq!(create["urgency"], "1");
    }
}
