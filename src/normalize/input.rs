//! Finds input files and opens them, gunzipping by content rather than by name.
//!
//! The arguments become a list of inputs in which every file appears once: a file named
//! twice, reached through a symlink or through overlapping directories is one file (same
//! device and inode), so no record is counted twice. A pipe named on the command line
//! (`sweep <(zcat x.gz)`) and `-` (stdin) are read as streams. Anything else (a device, a
//! socket) is refused before reading starts.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const READ_BUFFER: usize = 256 * 1024;

/// One input to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A regular file, or a pipe named as an argument (read once, as a stream).
    File(PathBuf),
    /// `-`: standard input.
    Stdin,
}

impl Input {
    /// The name records are traced to.
    pub fn name(&self) -> String {
        match self {
            Input::File(path) => path.display().to_string(),
            Input::Stdin => "<stdin>".to_string(),
        }
    }
}

/// What the arguments name, each file once.
#[derive(Debug, Default)]
pub struct Inputs {
    pub inputs: Vec<Input>,
    /// Paths inside the arguments that cannot be read (a permission, a loop, a device inside a
    /// directory): reported, and the run goes on.
    pub unreadable: Vec<(PathBuf, String)>,
    /// Arguments that do not exist. `sweep` refuses to run without them (a report that
    /// silently lacks a source is wrong); `normalize` reads the rest and exits 2.
    pub missing: Vec<PathBuf>,
    /// Arguments that are not inputs at all (a device, a socket): refused before reading.
    pub refused: Vec<(PathBuf, String)>,
    /// Files reached more than once and read once.
    pub repeated: u64,
}

/// Lists every input the arguments name, in argument order and, inside a directory, in a
/// stable order so runs are repeatable. Hidden files and directories (`.git`, editor swap
/// files) are passed over.
pub fn list(paths: &[PathBuf]) -> Inputs {
    let mut inputs = Inputs::default();
    let mut seen = HashSet::new();
    let mut stdin = false;
    for path in paths {
        if path.as_os_str() == "-" {
            if std::mem::replace(&mut stdin, true) {
                inputs.repeated += 1;
            } else {
                inputs.inputs.push(Input::Stdin);
            }
            continue;
        }
        let metadata = match std::fs::metadata(path) {
            Ok(metadata) => metadata,
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                inputs.missing.push(path.clone());
                continue;
            }
            Err(err) => {
                inputs.unreadable.push((path.clone(), err.to_string()));
                continue;
            }
        };
        let kind = kind_of(&metadata.file_type());
        match kind {
            Kind::File | Kind::Pipe => inputs.add(path.clone(), &metadata, &mut seen),
            Kind::Dir => inputs.walk(path, &mut seen),
            Kind::Other(what) => inputs.refused.push((
                path.clone(),
                format!("a {what}, not a file, directory or pipe: refusing to read it"),
            )),
        }
    }
    if inputs.repeated > 0 {
        tracing::info!(
            files = inputs.repeated,
            "Files named more than once (a repeated argument, a symlink, overlapping directories) are read once"
        );
    }
    inputs
}

impl Inputs {
    fn add(&mut self, path: PathBuf, metadata: &std::fs::Metadata, seen: &mut HashSet<FileId>) {
        if seen.insert(file_id(&path, metadata)) {
            self.inputs.push(Input::File(path));
        } else {
            self.repeated += 1;
        }
    }

    fn walk(&mut self, root: &Path, seen: &mut HashSet<FileId>) {
        let walk = walkdir::WalkDir::new(root)
            .follow_links(true)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|entry| entry.depth() == 0 || !is_hidden(entry.file_name()));
        for entry in walk {
            let entry = match entry {
                Ok(entry) => entry,
                Err(err) => {
                    let path = err.path().unwrap_or(root).to_path_buf();
                    self.unreadable.push((path, err.to_string()));
                    continue;
                }
            };
            match kind_of(&entry.file_type()) {
                Kind::Dir => {}
                Kind::File => match entry.metadata() {
                    Ok(metadata) => self.add(entry.into_path(), &metadata, seen),
                    Err(err) => self.unreadable.push((entry.into_path(), err.to_string())),
                },
                // Inside a directory a pipe would block the run on a writer that may never
                // come; name it as an argument to read it.
                Kind::Pipe => self.unreadable.push((
                    entry.into_path(),
                    "a pipe inside a directory is not read (name it as an argument)".into(),
                )),
                Kind::Other(what) => self
                    .unreadable
                    .push((entry.into_path(), format!("a {what}, not a file: not read"))),
            }
        }
    }
}

enum Kind {
    File,
    Dir,
    Pipe,
    Other(&'static str),
}

fn kind_of(file_type: &std::fs::FileType) -> Kind {
    if file_type.is_file() {
        return Kind::File;
    }
    if file_type.is_dir() {
        return Kind::Dir;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return Kind::Pipe;
        }
        if file_type.is_char_device() {
            return Kind::Other("character device");
        }
        if file_type.is_block_device() {
            return Kind::Other("block device");
        }
        if file_type.is_socket() {
            return Kind::Other("socket");
        }
    }
    Kind::Other("special file")
}

/// What makes two paths the same file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum FileId {
    #[cfg(unix)]
    Inode(u64, u64),
    #[cfg_attr(unix, allow(dead_code))]
    Path(PathBuf),
}

#[cfg(unix)]
fn file_id(_path: &Path, metadata: &std::fs::Metadata) -> FileId {
    use std::os::unix::fs::MetadataExt;
    FileId::Inode(metadata.dev(), metadata.ino())
}

#[cfg(not(unix))]
fn file_id(path: &Path, _metadata: &std::fs::Metadata) -> FileId {
    FileId::Path(std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()))
}

fn is_hidden(name: &std::ffi::OsStr) -> bool {
    name.to_str().is_some_and(|name| name.starts_with('.'))
}

/// Opens an input, transparently decompressing gzip (also concatenated gzip members, which is
/// how some exporters append to `.gz` files).
pub fn open_input(input: &Input) -> io::Result<Box<dyn BufRead>> {
    match input {
        Input::File(path) => open(path),
        Input::Stdin => decoded(BufReader::with_capacity(READ_BUFFER, Box::new(io::stdin()))),
    }
}

fn decoded(mut reader: BufReader<Box<dyn Read>>) -> io::Result<Box<dyn BufRead>> {
    let is_gzip = loop {
        match reader.fill_buf() {
            Ok(buffer) => break buffer.starts_with(&GZIP_MAGIC),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        }
    };
    if is_gzip {
        Ok(Box::new(BufReader::with_capacity(
            READ_BUFFER,
            MultiGzDecoder::new(reader),
        )))
    } else {
        Ok(Box::new(reader))
    }
}

/// Opens a file for reading, gunzipping by content.
pub(crate) fn open(path: &Path) -> io::Result<Box<dyn BufRead>> {
    let file: Box<dyn Read> = Box::new(File::open(path)?);
    decoded(BufReader::with_capacity(READ_BUFFER, file))
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
