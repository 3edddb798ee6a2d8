//! Finds input files and opens them, gunzipping by content rather than by name.

use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Every regular file under `path` (or `path` itself), in a stable order so runs are repeatable.
///
/// Hidden files and directories (`.git`, editor swap files) are passed over.
pub(crate) fn files_under(path: &Path) -> impl Iterator<Item = io::Result<PathBuf>> {
    walkdir::WalkDir::new(path)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|entry| entry.depth() == 0 || !is_hidden(entry.file_name()))
        .filter_map(|entry| match entry {
            Ok(entry) if entry.file_type().is_file() => Some(Ok(entry.into_path())),
            Ok(_) => None,
            Err(err) => Some(Err(err.into())),
        })
}

fn is_hidden(name: &std::ffi::OsStr) -> bool {
    name.to_str().is_some_and(|name| name.starts_with('.'))
}

/// Opens a file for reading, transparently decompressing gzip (also concatenated gzip members,
/// which is how some exporters append to `.gz` files).
pub(crate) fn open(path: &Path) -> io::Result<Box<dyn BufRead>> {
    let mut file = BufReader::with_capacity(256 * 1024, File::open(path)?);
    let is_gzip = file.fill_buf()?.starts_with(&GZIP_MAGIC);
    if is_gzip {
        Ok(Box::new(BufReader::with_capacity(
            256 * 1024,
            MultiGzDecoder::new(file),
        )))
    } else {
        Ok(Box::new(file))
    }
}

/// How a file's content is laid out, judged by its first non-blank byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    Json,
    Csv,
    /// Starts with a control byte (NUL, say) that no JSON or CSV export begins with: a binary
    /// file, or a bomb of zeros, rejected before it is inflated any further.
    Binary,
    Empty,
}

/// Peeks at the content without consuming anything a parser needs (leading blanks aside).
pub(crate) fn sniff_layout(reader: &mut dyn BufRead) -> io::Result<Layout> {
    loop {
        let buffer = reader.fill_buf()?;
        if buffer.is_empty() {
            return Ok(Layout::Empty);
        }
        let buffer = buffer
            .strip_prefix(&[0xEF, 0xBB, 0xBF][..])
            .unwrap_or(buffer);
        match buffer.iter().position(|byte| !byte.is_ascii_whitespace()) {
            Some(at) => {
                let layout = match buffer[at] {
                    b'{' | b'[' => Layout::Json,
                    byte if byte.is_ascii_control() => Layout::Binary,
                    _ => Layout::Csv,
                };
                return Ok(layout);
            }
            None => {
                let length = reader.fill_buf()?.len();
                reader.consume(length);
            }
        }
    }
}

/// The AWS organization id from an organization trail's S3 layout
/// (`AWSLogs/o-xxxxxxxxxx/<account>/CloudTrail/...`), which no record carries itself.
///
/// A path given relative to a directory inside the layout (`auditsweep normalize .` from within
/// `AWSLogs/o-.../`) does not show it, so the absolute path is consulted too.
pub(crate) fn aws_organization_from_path(path: &Path) -> Option<String> {
    match organization_in(path) {
        Some(found) => found,
        None => organization_in(&std::fs::canonicalize(path).ok()?).flatten(),
    }
}

/// `None`: no `AWSLogs` component; `Some(None)`: an account trail; `Some(Some(org))`.
fn organization_in(path: &Path) -> Option<Option<String>> {
    let mut components = path.components().map(|c| c.as_os_str().to_str());
    while let Some(component) = components.next() {
        if component == Some("AWSLogs") {
            let Some(Some(next)) = components.next() else {
                return Some(None);
            };
            let is_org_id = next.starts_with("o-")
                && next.len() > 2
                && next[2..].chars().all(|c| c.is_ascii_alphanumeric());
            return Some(is_org_id.then(|| next.to_string()));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organization_trail_paths_name_the_org() {
        let org = aws_organization_from_path(Path::new(
            "/logs/AWSLogs/o-abc123def4/111122223333/CloudTrail/us-east-1/2024/01/02/x.json.gz",
        ));
        assert_eq!(org.as_deref(), Some("o-abc123def4"));
        let account_trail =
            Path::new("AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/02/x.json.gz");
        assert_eq!(aws_organization_from_path(account_trail), None);
    }

    #[cfg(unix)]
    #[test]
    fn a_path_that_hides_the_layout_still_names_the_org() {
        let root = tempfile::tempdir().unwrap();
        let day = root
            .path()
            .join("AWSLogs/o-abc123def4/111122223333/CloudTrail/us-east-1/2024/01/02");
        std::fs::create_dir_all(&day).unwrap();
        std::fs::write(day.join("x.json"), "{}").unwrap();
        // Like `cd AWSLogs/o-.../...; auditsweep normalize x.json`: the given path alone has no
        // `AWSLogs` component.
        let shortcut = root.path().join("today");
        std::os::unix::fs::symlink(&day, &shortcut).unwrap();
        let org = aws_organization_from_path(&shortcut.join("x.json"));
        assert_eq!(org.as_deref(), Some("o-abc123def4"));
    }

    #[test]
    fn sniffing_skips_blanks_and_bom() {
        let mut json: &[u8] = b"\xEF\xBB\xBF  \n {\"a\":1}";
        assert_eq!(sniff_layout(&mut json).unwrap(), Layout::Json);
        let mut csv: &[u8] = b"Date,Cost\n";
        assert_eq!(sniff_layout(&mut csv).unwrap(), Layout::Csv);
        let mut zeros: &[u8] = &[0; 64];
        assert_eq!(sniff_layout(&mut zeros).unwrap(), Layout::Binary);
        let mut empty: &[u8] = b"  \n\n";
        assert_eq!(sniff_layout(&mut empty).unwrap(), Layout::Empty);
    }
}
