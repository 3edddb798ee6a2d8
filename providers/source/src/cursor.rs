//! Where a pull stands: enough to resume it after a failure, and to start the next one.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::Window;

/// The progress of one source over one window. Serialized into the scheduled run's state (and
/// printed by `sweep --pull` when it stops early), it resumes the pull at the first page not
/// yet handed over: nothing is fetched twice and nothing is skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    pub source: String,
    pub window: Window,
    /// Streams read to their last page.
    pub done: BTreeSet<String>,
    /// The stream interrupted, and the token of its first page not handed over (`None`: its
    /// first page).
    pub partial: Option<(String, Option<String>)>,
    /// True once every stream of the window is done.
    pub complete: bool,
}

impl Cursor {
    pub fn start(source: &str, window: Window) -> Cursor {
        Cursor {
            source: source.to_string(),
            window,
            done: BTreeSet::new(),
            partial: None,
            complete: false,
        }
    }
}
