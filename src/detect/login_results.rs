//! Reads providers' sign-in result codes as data: which failures are guesses, and which
//! "failures" prove the password was right.
//!
//! An Entra 50126 is a wrong password, but 50074/50076 (MFA required), 50055 (password
//! expired) and 53003 (blocked by Conditional Access) are only reached *after* the password was
//! accepted: for an attacker they are a success at guessing. The table is
//! `src/detect/tables/login_results.tsv`, one screen, tested below.

use std::collections::HashMap;
use std::sync::LazyLock;

use crate::schema::{Event, Outcome, Provider};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum LoginMeaning {
    Success,
    BadPassword,
    UnknownUser,
    Locked,
    Disabled,
    MfaRequired,
    MfaFailed,
    PasswordExpired,
    BlockedByPolicy,
    /// A failure the table does not know; counted as a failed guess.
    Other,
}

impl LoginMeaning {
    /// The password (or the stolen credential) was accepted.
    pub fn password_valid(self) -> bool {
        matches!(
            self,
            LoginMeaning::Success
                | LoginMeaning::MfaRequired
                | LoginMeaning::MfaFailed
                | LoginMeaning::PasswordExpired
                | LoginMeaning::BlockedByPolicy
        )
    }

    /// A failed guess: what a stuffing or spraying run produces.
    pub fn failed_guess(self) -> bool {
        !self.password_valid()
    }

    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "bad_password" => LoginMeaning::BadPassword,
            "unknown_user" => LoginMeaning::UnknownUser,
            "locked" => LoginMeaning::Locked,
            "disabled" => LoginMeaning::Disabled,
            "mfa_required" => LoginMeaning::MfaRequired,
            "mfa_failed" => LoginMeaning::MfaFailed,
            "password_expired" => LoginMeaning::PasswordExpired,
            "blocked_by_policy" => LoginMeaning::BlockedByPolicy,
            "other" => LoginMeaning::Other,
            _ => return None,
        })
    }
}

static TABLE: LazyLock<HashMap<(String, String), LoginMeaning>> = LazyLock::new(|| {
    let mut table = HashMap::new();
    for (number, line) in include_str!("tables/login_results.tsv").lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let mut words = line.split_whitespace();
        let (provider, meaning) = (words.next(), words.next());
        let key = words.collect::<Vec<_>>().join(" ");
        let (Some(provider), Some(meaning), false) = (provider, meaning, key.is_empty()) else {
            panic!(
                "login_results.tsv line {}: want `provider meaning key`",
                number + 1
            );
        };
        let meaning = LoginMeaning::parse(meaning.trim()).unwrap_or_else(|| {
            panic!(
                "login_results.tsv line {}: unknown meaning {meaning:?}",
                number + 1
            )
        });
        table.insert(
            (provider.to_string(), key.trim().to_ascii_lowercase()),
            meaning,
        );
    }
    table
});

/// What a sign-in event says. Looks up the reason's leading code (`50126: Invalid ...`), then
/// the whole reason text; an unknown failure is [`LoginMeaning::Other`].
pub fn meaning(event: &Event) -> LoginMeaning {
    if event.outcome == Some(Outcome::Success) {
        return LoginMeaning::Success;
    }
    let Some(reason) = event.reason.as_deref() else {
        return LoginMeaning::Other;
    };
    let provider = event.provider.as_str();
    let code = reason
        .split([':', ' '])
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let lookup = |key: &str| TABLE.get(&(provider.to_string(), key.to_string())).copied();
    lookup(&code)
        .or_else(|| lookup(&reason.trim().to_ascii_lowercase()))
        .unwrap_or(if event.provider == Provider::Azure && code == "0" {
            LoginMeaning::Success
        } else {
            LoginMeaning::Other
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Category, Resource, SourceRef};

    fn login(provider: Provider, outcome: Outcome, reason: Option<&str>) -> Event {
        Event {
            event_id: None,
            time: chrono::Utc::now(),
            provider,
            tenant: None,
            account: None,
            region: None,
            category: Category::Login,
            class_uid: 3002,
            operation: "signIn".into(),
            principal: Some("a@example.com".into()),
            src_ip: None,
            user_agent: None,
            outcome: Some(outcome),
            reason: reason.map(str::to_string),
            resource: Resource::default(),
            source: SourceRef {
                file: "t".into(),
                record: 1,
            },
        }
    }

    #[test]
    fn the_table_parses_and_reads_codes_as_meant() {
        assert!(TABLE.len() > 15);
        let cases = [
            (
                Provider::Azure,
                "50126: Invalid username or password",
                LoginMeaning::BadPassword,
            ),
            (
                Provider::Azure,
                "50074: Strong Authentication is required.",
                LoginMeaning::MfaRequired,
            ),
            (Provider::Azure, "50076", LoginMeaning::MfaRequired),
            (
                Provider::Azure,
                "50053: Account is locked",
                LoginMeaning::Locked,
            ),
            (
                Provider::Azure,
                "50057: User account is disabled",
                LoginMeaning::Disabled,
            ),
            (
                Provider::Azure,
                "50055: Password is expired",
                LoginMeaning::PasswordExpired,
            ),
            (
                Provider::Aws,
                "Failed authentication",
                LoginMeaning::BadPassword,
            ),
            (
                Provider::Gcp,
                "login_failure_invalid_password",
                LoginMeaning::BadPassword,
            ),
            (Provider::Azure, "99999: something new", LoginMeaning::Other),
        ];
        for (provider, reason, want) in cases {
            assert_eq!(
                meaning(&login(provider, Outcome::Failure, Some(reason))),
                want,
                "{reason}"
            );
        }
        assert_eq!(
            meaning(&login(Provider::Aws, Outcome::Success, None)),
            LoginMeaning::Success
        );
    }

    #[test]
    fn mfa_prompts_mean_the_password_was_right() {
        assert!(LoginMeaning::MfaRequired.password_valid());
        assert!(LoginMeaning::PasswordExpired.password_valid());
        assert!(LoginMeaning::BadPassword.failed_guess());
        assert!(LoginMeaning::Locked.failed_guess());
    }
}
