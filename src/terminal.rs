//! What reaches a person's terminal on stderr. File names, tenants and principals come from
//! inputs an attacker may have written: a name with a newline forges a log line, one with ESC
//! rewrites the screen. Every such text is escaped before it is printed, and colour is only
//! used on a terminal that has not asked for none.

use std::borrow::Cow;
use std::io::IsTerminal;

/// The text with every control character (C0, DEL, C1) and bidirectional override written as
/// a Rust escape (`\n`, `\u{1b}`, `\u{202e}`); unchanged, and not copied, when it has none.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if needs_escape(c) {
            escaped.extend(c.escape_debug());
        } else {
            escaped.push(c);
        }
    }
    Cow::Owned(escaped)
}

/// Formats a value, then escapes it: `format!("{}", Escaped(path.display()))`.
pub struct Escaped<T>(pub T);

impl<T: std::fmt::Display> std::fmt::Display for Escaped<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&escape(&self.0.to_string()))
    }
}

fn needs_escape(c: char) -> bool {
    // U+202A..U+202E and U+2066..U+2069 reorder the text around them ("Trojan Source").
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Colour on stderr: only when it is a terminal and `NO_COLOR` is unset or empty
/// (<https://no-color.org>); a captured or redirected stderr gets plain text.
pub fn colour_on_stderr() -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    !no_color && std::io::stderr().is_terminal()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_the_rest_kept() {
        assert!(matches!(escape("logs/ä b.json"), Cow::Borrowed(_)));
        assert_eq!(escape("a\nb\x1b[31mc\rd\te"), "a\\nb\\u{1b}[31mc\\rd\\te");
        assert_eq!(escape("\u{7f}\u{9b}x\u{202e}"), "\\u{7f}\\u{9b}x\\u{202e}");
        assert_eq!(Escaped("x\0y").to_string(), "x\\0y");
    }
}
