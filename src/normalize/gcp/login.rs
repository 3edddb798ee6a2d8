//! Google Workspace sign-ins shared into Cloud Logging (`login.googleapis.com`).
//!
//! Workspace writes its Login Audit event (the one the Reports API returns) inside the audit
//! entry: `protoPayload.metadata.event[].parameter[]`, each parameter a `name` and one of
//! `value`, `boolValue`, `intValue` or `multiStrValue`. The parameters say how the user signed
//! in (`login_challenge_method`, `is_second_factor`) and why a sign-in failed
//! (`login_failure_type`, e.g. `login_failure_invalid_password`).

use serde_json::Value;

use crate::normalize::fields::text;
use crate::schema::{Outcome, Resource};

/// Challenge methods that are a second factor (or, for passkeys, stand in for one). Anything
/// else besides `password` (`login_location`, `knowledge_*`, values Google adds later) is not
/// taken as evidence either way.
const SECOND_FACTOR_METHODS: &[&str] = &[
    "backup_code",
    "google_authenticator",
    "google_prompt",
    "idv_any_phone",
    "idv_preregistered_phone",
    "internal_two_factor",
    "offline_otp",
    "otp",
    "passkey",
    "security_key",
    "security_key_otp",
    "totp",
];

/// Resource kind of a Workspace sign-in: the thing signed into.
const WORKSPACE: &str = "google:workspace";

/// What a Workspace sign-in entry says beyond the common audit fields.
pub(super) struct SignIn {
    pub outcome: Option<Outcome>,
    pub reason: Option<String>,
    pub resource: Resource,
}

/// `method` is the method name without an API version prefix.
pub(super) fn sign_in(payload: &Value, method: &str) -> SignIn {
    let parameters = Parameters::of(payload);
    let (outcome, reason) = match method.rsplit('.').next().unwrap_or(method) {
        "loginFailure" => (
            Some(Outcome::Failure),
            parameters.text("login_failure_type"),
        ),
        "loginSuccess" => (Some(Outcome::Success), None),
        // Challenges and verifications say in `login_challenge_status` whether they passed.
        _ => challenge_outcome(parameters.text("login_challenge_status")),
    };
    SignIn {
        outcome,
        reason,
        resource: Resource {
            kind: Some(WORKSPACE.into()),
            mfa: second_factor(&parameters),
            ..Resource::default()
        },
    }
}

fn challenge_outcome(status: Option<String>) -> (Option<Outcome>, Option<String>) {
    let Some(status) = status else {
        return (None, None);
    };
    let lower = status.to_ascii_lowercase();
    if lower.contains("fail") {
        (Some(Outcome::Failure), Some(status))
    } else if lower.contains("pass") {
        (Some(Outcome::Success), None)
    } else {
        (None, Some(status))
    }
}

/// `Some(true)` when a second factor was used, `Some(false)` when the only challenge was the
/// password, `None` when the entry does not say.
fn second_factor(parameters: &Parameters) -> Option<bool> {
    if parameters.flag("is_second_factor") == Some(true) {
        return Some(true);
    }
    let methods = parameters.list("login_challenge_method");
    if methods.iter().any(|method| {
        SECOND_FACTOR_METHODS
            .iter()
            .any(|known| method.eq_ignore_ascii_case(known))
    }) {
        return Some(true);
    }
    let password_only =
        !methods.is_empty() && methods.iter().all(|m| m.eq_ignore_ascii_case("password"));
    password_only.then_some(false)
}

/// The parameters of every event in the entry's metadata.
struct Parameters<'v>(Vec<&'v Value>);

impl<'v> Parameters<'v> {
    fn of(payload: &'v Value) -> Self {
        let events: Vec<&Value> = match payload.get("metadata").and_then(|m| m.get("event")) {
            Some(Value::Array(events)) => events.iter().collect(),
            Some(event @ Value::Object(_)) => vec![event],
            _ => Vec::new(),
        };
        let parameters = events
            .into_iter()
            .filter_map(|event| event.get("parameter").and_then(Value::as_array))
            .flatten()
            .collect();
        Parameters(parameters)
    }

    fn named(&self, name: &str) -> Option<&'v Value> {
        self.0
            .iter()
            .copied()
            .find(|parameter| parameter.get("name").and_then(Value::as_str) == Some(name))
    }

    fn text(&self, name: &str) -> Option<String> {
        text(self.named(name)?, &["value"])
    }

    fn flag(&self, name: &str) -> Option<bool> {
        let parameter = self.named(name)?;
        match parameter.get("boolValue") {
            Some(Value::Bool(flag)) => Some(*flag),
            _ => match text(parameter, &["value"])?.to_ascii_lowercase().as_str() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            },
        }
    }

    /// A repeated parameter (`multiStrValue`), or a single `value` as a list of one.
    fn list(&self, name: &str) -> Vec<String> {
        let Some(parameter) = self.named(name) else {
            return Vec::new();
        };
        match parameter.get("multiStrValue").and_then(Value::as_array) {
            Some(values) => values
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            None => text(parameter, &["value"]).into_iter().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn payload(parameters: Value) -> Value {
        json!({"metadata": {"event": [{"eventName": "x", "parameter": parameters}]}})
    }

    fn mfa(parameters: Value) -> Option<bool> {
        second_factor(&Parameters::of(&payload(parameters)))
    }

    #[test]
    fn second_factor_from_methods_and_flags() {
        assert_eq!(
            mfa(
                json!([{"name": "login_challenge_method", "multiStrValue": ["password", "password"]}])
            ),
            Some(false)
        );
        assert_eq!(
            mfa(
                json!([{"name": "login_challenge_method", "multiStrValue": ["password", "security_key"]}])
            ),
            Some(true)
        );
        assert_eq!(
            mfa(json!([{"name": "login_challenge_method", "value": "google_authenticator"}])),
            Some(true)
        );
        assert_eq!(
            mfa(json!([{"name": "is_second_factor", "boolValue": true}])),
            Some(true)
        );
        // A knowledge challenge is neither a second factor nor "password only".
        assert_eq!(
            mfa(
                json!([{"name": "login_challenge_method", "multiStrValue": ["password", "knowledge_preregistered_email"]}])
            ),
            None
        );
        assert_eq!(
            mfa(json!([{"name": "is_second_factor", "boolValue": false}])),
            None
        );
        assert_eq!(mfa(json!([])), None);
    }

    #[test]
    fn failures_carry_the_failure_type() {
        let entry = payload(json!([
            {"name": "login_type", "value": "google_password"},
            {"name": "login_failure_type", "value": "login_failure_invalid_second_factor"},
        ]));
        let failed = sign_in(&entry, "google.login.LoginService.loginFailure");
        assert_eq!(failed.outcome, Some(Outcome::Failure));
        assert_eq!(
            failed.reason.as_deref(),
            Some("login_failure_invalid_second_factor")
        );
        let bare = sign_in(&json!({}), "google.login.LoginService.loginFailure");
        assert_eq!(bare.outcome, Some(Outcome::Failure));
        assert_eq!(bare.reason, None);
        assert_eq!(bare.resource.kind.as_deref(), Some(WORKSPACE));
    }

    #[test]
    fn challenges_say_whether_they_passed() {
        let passed =
            payload(json!([{"name": "login_challenge_status", "value": "Challenge Passed"}]));
        let failed =
            payload(json!([{"name": "login_challenge_status", "value": "Challenge Failed"}]));
        let verify = "google.login.LoginService.loginVerification";
        assert_eq!(sign_in(&passed, verify).outcome, Some(Outcome::Success));
        let failure = sign_in(&failed, verify);
        assert_eq!(failure.outcome, Some(Outcome::Failure));
        assert_eq!(failure.reason.as_deref(), Some("Challenge Failed"));
        assert_eq!(sign_in(&json!({}), verify).outcome, None);
    }

    #[test]
    fn a_single_event_object_is_read_too() {
        let entry = json!({"metadata": {"event": {"parameter": [
            {"name": "login_failure_type", "value": "login_failure_account_disabled"}
        ]}}});
        assert_eq!(
            sign_in(&entry, "google.login.LoginService.loginFailure")
                .reason
                .as_deref(),
            Some("login_failure_account_disabled")
        );
    }
}
