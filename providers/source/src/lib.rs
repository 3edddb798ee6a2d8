//! What every provider adapter shares, so that no cloud gets its own copy: the [`Source`] trait
//! (list the streams of a window, fetch one page), the [`pull`] driver that pages every stream
//! to its end and resumes from a [`Cursor`] after a failure, retries with exponential backoff,
//! jitter and `Retry-After` ([`retry`]), rate limits ([`RateLimit`]), progress bars that only a
//! terminal sees ([`Progress`]), and [`Secret`], which never prints.
//!
//! Adapters fetch native records and nothing else: a [`Page`] holds the bytes the provider
//! returned, in a format auditsweep's file readers accept, so that what is pulled, what is saved
//! with `--save-raw` and what is read from an export all go through the one normalizer.

mod cursor;
mod days;
pub mod document;
mod error;
#[cfg(feature = "http")]
pub mod http;
mod progress;
mod pull;
mod rate;
pub mod retry;
mod secret;
mod source;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use cursor::Cursor;
pub use error::PullError;
pub use progress::Progress;
pub use pull::{pull, Pulled};
pub use rate::RateLimit;
pub use retry::RetryPolicy;
pub use secret::Secret;
pub use source::{Page, Source, Stream, Window};
