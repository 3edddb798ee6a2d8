//! The one redaction step every output passes through: normalized records, the report, logs and
//! skip examples.
//!
//! Audit records carry secrets by accident: a SAS signature inside a resource id, a JWT in an
//! error message, a password typed into the user-name field. A ticket is read by many people
//! and kept for years, so nothing the tool writes may repeat them. Two kinds of redaction:
//! - **patterns** ([`text`], [`value`]): secrets recognizable by their shape, from one table
//!   (`patterns.tsv`), replaced by `[REDACTED:<name>]`;
//! - **failed user names** ([`UserNames`]): a name that only ever failed to sign in, was never
//!   seen succeeding, acting or changed in the directory, and does not look like an identity is
//!   most likely a password typed into the wrong field (CloudTrail hides such names as
//!   `HIDDEN_DUE_TO_SECURITY_REASONS`; Entra and Workspace do not).
//!
//! What is redacted and why: `docs/redaction.md`.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::OnceLock;

use regex::{Regex, RegexSet};
use serde_json::Value;

/// The table, as data: name, pattern, why (see the file's header).
const TABLE: &str = include_str!("patterns.tsv");

/// One row of the table.
pub struct Pattern {
    pub name: &'static str,
    pub regex: Regex,
    pub why: &'static str,
}

struct Compiled {
    patterns: Vec<Pattern>,
    /// All patterns at once: most texts match none, and one pass over them says so.
    any: RegexSet,
}

fn compiled() -> &'static Compiled {
    static COMPILED: OnceLock<Compiled> = OnceLock::new();
    COMPILED.get_or_init(|| {
        let patterns: Vec<Pattern> = TABLE
            .lines()
            .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
            .map(|line| {
                let mut columns = line.split('\t');
                let (Some(name), Some(pattern), Some(why), None) = (
                    columns.next(),
                    columns.next(),
                    columns.next(),
                    columns.next(),
                ) else {
                    panic!("patterns.tsv: a row needs three tab-separated columns: {line}");
                };
                let regex =
                    Regex::new(pattern).unwrap_or_else(|err| panic!("patterns.tsv: {name}: {err}"));
                Pattern { name, regex, why }
            })
            .collect();
        let any = RegexSet::new(patterns.iter().map(|p| p.regex.as_str()))
            .expect("the patterns compiled one by one");
        Compiled { patterns, any }
    })
}

/// The table's rows, for docs and tests.
pub fn patterns() -> &'static [Pattern] {
    &compiled().patterns
}

/// `raw` with every secret the table recognizes replaced; borrowed when there is none.
pub fn text(raw: &str) -> Cow<'_, str> {
    let compiled = compiled();
    let matches = compiled.any.matches(raw);
    if !matches.matched_any() {
        return Cow::Borrowed(raw);
    }
    let mut out = raw.to_string();
    for index in matches.iter() {
        let pattern = &compiled.patterns[index];
        let replacement = format!("${{1}}[REDACTED:{}]", pattern.name);
        if let Cow::Owned(replaced) = pattern.regex.replace_all(&out, replacement.as_str()) {
            out = replaced;
        }
    }
    Cow::Owned(out)
}

/// Redacts every string of a JSON document in place, object keys included.
pub fn value(document: &mut Value) {
    walk(document, &|s| text(s).into_owned());
}

/// Applies `redact` to every string (and key) of `document` that it changes.
fn walk(document: &mut Value, redact: &dyn Fn(&str) -> String) {
    match document {
        Value::String(s) => {
            let redacted = redact(s);
            if redacted != *s {
                *s = redacted;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| walk(item, redact)),
        Value::Object(map) => {
            let renamed: Vec<(String, String)> = map
                .keys()
                .filter_map(|key| {
                    let redacted = redact(key);
                    (redacted != *key).then(|| (key.clone(), redacted))
                })
                .collect();
            for (old, new) in renamed {
                if let Some(item) = map.remove(&old) {
                    map.insert(new, item);
                }
            }
            map.values_mut().for_each(|item| walk(item, redact));
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// A normalized record, redacted for writing out one by one (`auditsweep normalize`): borrowed
/// when nothing in it is secret, else rebuilt from the redacted JSON so its fields keep their
/// order. A stream cannot know whether a later record proves a failed name, so here a failed
/// sign-in's name is redacted by its shape alone: when it does not look like an identity.
pub fn record<'r>(
    record: &'r crate::schema::Record,
    identity: &Regex,
) -> serde_json::Result<Cow<'r, crate::schema::Record>> {
    let original = serde_json::to_value(record)?;
    let redacted = record_value(record, identity)?;
    if redacted == original {
        return Ok(Cow::Borrowed(record));
    }
    serde_json::from_value(redacted).map(Cow::Owned)
}

fn record_value(record: &crate::schema::Record, identity: &Regex) -> serde_json::Result<Value> {
    use crate::schema::{Category, Outcome, Record};
    let mut document = serde_json::to_value(record)?;
    if let Record::Event(event) = record {
        let failed_sign_in =
            event.category == Category::Login && event.outcome == Some(Outcome::Failure);
        let unlike = |name: &str| !looks_like_identity(name, identity);
        if failed_sign_in && event.principal.as_deref().is_some_and(unlike) {
            document["principal"] = Value::from(USER_NAME);
        }
    }
    value(&mut document);
    Ok(document)
}

/// The default identity pattern, compiled once.
pub fn default_identity() -> &'static Regex {
    static IDENTITY: OnceLock<Regex> = OnceLock::new();
    IDENTITY.get_or_init(|| Regex::new(DEFAULT_IDENTITY_PATTERN).expect("default compiles"))
}

/// Standard error through the pattern table, for the log subscriber: it writes each formatted
/// event in one call, so a secret is never split across two writes.
pub struct Stderr;

impl std::io::Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let line = String::from_utf8_lossy(buf);
        std::io::stderr().write_all(text(&line).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// The replacement of a failed user name.
pub const USER_NAME: &str = "[REDACTED:failed-user-name]";

/// Whether a name has the shape of an account rather than of a password: an e-mail address or
/// UPN, `DOMAIN\user`, an id (GUID, ARN, numeric id, service account), or a plain login name of
/// lowercase letters, digits and `.`, `_`, `-` that starts with a letter. Passwords typed into
/// the user field usually mix case, digits and symbols, and fail this test.
pub fn looks_like_identity(name: &str, pattern: &Regex) -> bool {
    pattern.is_match(name.trim())
}

/// The default identity pattern (`[redaction] identity_pattern` overrides it).
pub const DEFAULT_IDENTITY_PATTERN: &str = concat!(
    r"^(?:",
    r"[A-Za-z0-9._%+'-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})+",
    r"|[A-Za-z0-9.-]{1,64}\\[A-Za-z0-9._-]{1,64}",
    r"|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
    r"|arn:[A-Za-z0-9:/_+=,.@-]{1,2048}",
    r"|[0-9]{1,32}",
    r"|[a-z][a-z0-9._-]{0,63}",
    r")$"
);

/// Failed sign-in names to redact, decided once the whole input has been seen.
#[derive(Debug, Default)]
pub struct UserNames {
    /// Lowercased names, matched whole and case-insensitively.
    names: BTreeSet<String>,
}

impl UserNames {
    /// `failed`: names that failed to sign in and never succeeded; `known`: names seen acting,
    /// changed in the directory or configured (lowercased). A failed name is redacted when it is
    /// not known and does not look like an identity.
    pub fn decide<'a>(
        failed: impl IntoIterator<Item = &'a str>,
        known: &BTreeSet<String>,
        identity: &Regex,
    ) -> UserNames {
        let names = failed
            .into_iter()
            .filter(|name| !known.contains(&name.to_lowercase()))
            .filter(|name| !looks_like_identity(name, identity))
            .map(str::to_lowercase)
            .collect();
        UserNames { names }
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Redacts the patterns and these names in every string of `document`. A string that is a
    /// name is replaced whole; a longer one has the name replaced where it appears.
    pub fn redact(&self, document: &mut Value) {
        let inside = self.matcher();
        walk(document, &|s| {
            let patterned = text(s);
            if self.names.contains(&patterned.trim().to_lowercase()) {
                return USER_NAME.to_string();
            }
            match &inside {
                Some(inside) => inside.replace_all(&patterned, USER_NAME).into_owned(),
                None => patterned.into_owned(),
            }
        });
    }

    /// Whether `name` is one of these (whole, case-insensitive).
    pub fn contains(&self, name: &str) -> bool {
        self.names.contains(&name.trim().to_lowercase())
    }

    /// One regex for the names inside longer texts. Names under four characters are replaced
    /// only whole: inside text they would hit ordinary words.
    fn matcher(&self) -> Option<Regex> {
        let long: Vec<String> = self
            .names
            .iter()
            .filter(|name| name.chars().count() >= 4)
            .map(|name| regex::escape(name))
            .collect();
        if long.is_empty() {
            return None;
        }
        regex::RegexBuilder::new(&long.join("|"))
            .case_insensitive(true)
            .size_limit(64 << 20)
            .build()
            .ok()
    }
}

#[cfg(test)]
mod tests;
