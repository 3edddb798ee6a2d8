//! Writing a file the user named, without doing harm: the report (`sweep --out`) and the range
//! cache. A regular file is replaced atomically (readers see the old file or the new one, never a
//! part); a FIFO or a device is written into as a stream, never replaced by a regular file (as
//! root, replacing `/dev/null` would break the machine); a symlink keeps pointing where it did
//! and its target is replaced. New files get mode 0644 less the umask, the mode any tool gives a
//! new file, not the 0600 of a temporary file; a replaced file keeps its mode.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Temporary files start with this, beside their target. A run killed mid-write leaves one with
/// a name no later run reuses, and hidden: the input listing skips hidden files in directories,
/// so a report directory that is also an input never feeds a half-written report back in.
pub const TEMP_PREFIX: &str = ".auditsweep-tmp-";

/// Writes `bytes` to `path`: atomically for a regular file (or a new one), as a stream for a
/// FIFO or a character device. A socket, a block device or a directory is refused.
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    match fs::metadata(path) {
        Ok(meta) if meta.file_type().is_fifo() || meta.file_type().is_char_device() => {
            let mut stream = OpenOptions::new().write(true).open(path)?;
            stream.write_all(bytes)?;
            stream.flush()
        }
        Ok(meta) if meta.is_file() => {
            // Through a symlink, the target is what gets replaced; the link stays.
            let target = fs::canonicalize(path)?;
            replace(&target, bytes, Some(meta.permissions().mode()))
        }
        Ok(meta) => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("not a regular file, a pipe or a terminal ({})", kind(&meta)),
        )),
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            // A dangling symlink names where the file should be.
            let target = match fs::read_link(path) {
                Ok(link) => path.parent().unwrap_or(Path::new(".")).join(link),
                Err(_) => path.to_path_buf(),
            };
            replace(&target, bytes, None)
        }
        Err(err) => Err(err),
    }
}

fn kind(meta: &fs::Metadata) -> &'static str {
    let kind = meta.file_type();
    if kind.is_dir() {
        "a directory"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_block_device() {
        "a block device"
    } else {
        "a special file"
    }
}

/// A temp file beside `target`, flushed to disk, renamed over it. On any error the temp file is
/// removed.
fn replace(target: &Path, bytes: &[u8], mode: Option<u32>) -> io::Result<()> {
    let dir = target
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let temp = Temp::create(dir)?;
    let written = (|| {
        let mut file = &temp.file;
        file.write_all(bytes)?;
        if let Some(mode) = mode {
            file.set_permissions(fs::Permissions::from_mode(mode & 0o7777))?;
        }
        file.sync_all()?;
        fs::rename(&temp.path, target)
    })();
    match written {
        Ok(()) => {
            temp.persisted();
            Ok(())
        }
        Err(err) => Err(err),
    }
}

/// A new file with a unique name in `dir`, removed when dropped unless it was renamed.
struct Temp {
    path: PathBuf,
    file: File,
    keep: bool,
}

impl Temp {
    fn create(dir: &Path) -> io::Result<Temp> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        loop {
            let name = format!(
                "{TEMP_PREFIX}{}-{}-{nanos:08x}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed)
            );
            let path = dir.join(name);
            // The kernel applies the umask to 0644, as for any new file.
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o644)
                .open(&path)
            {
                Ok(file) => {
                    return Ok(Temp {
                        path,
                        file,
                        keep: false,
                    })
                }
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(err) => return Err(err),
            }
        }
    }

    fn persisted(mut self) {
        self.keep = true;
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Whether `out` is the same file as one of `inputs` (by device and inode, so through symlinks
/// and hard links too): writing there would destroy what the run reads.
pub fn same_file_as(out: &Path, inputs: &[PathBuf]) -> Option<PathBuf> {
    use std::os::unix::fs::MetadataExt;
    let out = fs::metadata(out).ok()?;
    if !out.is_file() {
        return None;
    }
    inputs
        .iter()
        .find(|input| {
            fs::metadata(input).is_ok_and(|meta| meta.dev() == out.dev() && meta.ino() == out.ino())
        })
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leftovers(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .unwrap()
            .filter_map(|entry| entry.ok())
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with(TEMP_PREFIX))
            .collect()
    }

    #[test]
    fn a_new_file_is_0644_less_the_umask_and_no_temp_file_stays() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        write(&path, b"one").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"one");
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        // Whatever the umask, nothing beyond 0644, and the owner can read and write.
        assert_eq!(mode & !0o644, 0, "{mode:o}");
        assert_eq!(mode & 0o600, 0o600, "{mode:o}");
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn a_replaced_file_keeps_its_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        fs::write(&path, b"old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        write(&path, b"new").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
    }

    #[test]
    fn a_symlink_keeps_pointing_at_its_replaced_target() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("real.json");
        let link = dir.path().join("link.json");
        fs::write(&target, b"old").unwrap();
        std::os::unix::fs::symlink(&target, &link).unwrap();
        write(&link, b"new").unwrap();
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read(&target).unwrap(), b"new");
        let dangling = dir.path().join("dangling.json");
        std::os::unix::fs::symlink("later.json", &dangling).unwrap();
        write(&dangling, b"first").unwrap();
        assert!(fs::symlink_metadata(&dangling)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read(dir.path().join("later.json")).unwrap(), b"first");
    }

    #[test]
    fn a_device_is_written_into_never_replaced() {
        write(Path::new("/dev/null"), b"into the void").unwrap();
        let meta = fs::metadata("/dev/null").unwrap();
        assert!(meta.file_type().is_char_device());
    }

    #[test]
    fn a_fifo_is_streamed_into() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || fs::read(fifo).unwrap())
        };
        write(&fifo, b"streamed").unwrap();
        assert_eq!(reader.join().unwrap(), b"streamed");
        assert!(fs::metadata(&fifo).unwrap().file_type().is_fifo());
    }

    #[test]
    fn a_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = write(dir.path(), b"x").unwrap_err();
        assert!(err.to_string().contains("a directory"), "{err}");
    }

    #[test]
    fn the_same_file_is_found_through_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("trail.json");
        fs::write(&input, b"{}").unwrap();
        let link = dir.path().join("out.json");
        std::os::unix::fs::symlink(&input, &link).unwrap();
        assert_eq!(
            same_file_as(&link, std::slice::from_ref(&input)),
            Some(input.clone())
        );
        assert_eq!(same_file_as(&dir.path().join("new.json"), &[input]), None);
    }
}
