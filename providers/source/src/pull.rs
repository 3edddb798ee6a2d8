//! The driver: every stream of a window, every page to the end, each request retried by the
//! policy, the cursor kept current so a failure resumes where it stopped.

use crate::{Cursor, Page, Progress, PullError, RetryPolicy, Source, Stream, Window};

/// What a pull handed over.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pulled {
    pub pages: u64,
    pub records: u64,
}

/// Pulls `window` from `source`, handing each page to `sink` in order (stream by stream, page
/// by page). `resume`, a cursor of an earlier pull of the same window, skips what it handed
/// over. On a failure that outlasts its retries, or a sink error, returns the cursor to resume
/// from with the error.
///
/// A page counts as handed over once `sink` returned `Ok`: a sink that writes files and fails
/// halfway is given the same page again on resume.
pub async fn pull(
    source: &dyn Source,
    window: Window,
    resume: Option<Cursor>,
    policy: &RetryPolicy,
    sink: &mut (dyn FnMut(&Stream, Page) -> Result<(), String> + Send),
) -> Result<(Cursor, Pulled), (Cursor, PullError)> {
    let mut cursor = match resume {
        Some(cursor) if cursor.source == source.id() && cursor.window == window => cursor,
        _ => Cursor::start(source.id(), window),
    };
    let mut pulled = Pulled::default();
    let progress = Progress::new(source.id());
    let what = format!("{}: listing", source.id());
    let streams = match policy.run(&what, |_| source.list(&window)).await {
        Ok(streams) => streams,
        Err(error) => return Err((cursor, error)),
    };
    for stream in streams {
        if cursor.done.contains(&stream.key) {
            continue;
        }
        let mut token = match &cursor.partial {
            Some((key, token)) if *key == stream.key => token.clone(),
            _ => None,
        };
        loop {
            cursor.partial = Some((stream.key.clone(), token.clone()));
            let what = format!("{} {}", source.id(), stream.key);
            let page = policy
                .run(&what, |_| source.fetch(&stream, &window, token.as_deref()))
                .await;
            let page = match page {
                Ok(page) => page,
                Err(error) => return Err((cursor, error)),
            };
            let next = page.next.clone();
            if next.is_some() && next == token {
                // A provider that hands back the token it was given would page forever.
                let error = PullError::Fatal(format!("{what}: the next page token repeats"));
                return Err((cursor, error));
            }
            pulled.pages += 1;
            pulled.records += page.records;
            if let Err(why) = sink(&stream, page) {
                return Err((cursor, PullError::Fatal(why)));
            }
            progress.page(&stream.key, pulled.pages, pulled.records);
            match next {
                Some(next) => token = Some(next),
                None => break,
            }
        }
        cursor.done.insert(stream.key.clone());
        cursor.partial = None;
    }
    cursor.complete = true;
    progress.finish(pulled.pages, pulled.records);
    tracing::info!(
        source = source.id(),
        pages = pulled.pages,
        records = pulled.records,
        "pulled"
    );
    Ok((cursor, pulled))
}
