//! The module's file system: the directories a SIMCom module keeps files in (`/custapp/`,
//! `/fota/`, `/datatx/`, `/customer/`), each a folder under one host folder, with a size quota.
//! The SIMCom `AT+CFS*` commands, `AT+FTPEXTGET=2` and the certificate store read and write it.
//!
//! It is a sandbox. A host names a directory by index and a file by a single name; the name is
//! checked (no `/`, `\`, NUL, `.` or `..`, not empty), every access goes through a
//! [`cap_std::fs::Dir`] opened on the root (which refuses any path or symlink that resolves
//! outside it), and a symlink in place of a file is refused rather than followed. A file is
//! only ever seen whole: writes go to a hidden staging folder (`.partial/`, which no host name
//! can reach) and are renamed into place once complete.

use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use cap_std::ambient_authority;
use cap_std::fs::{Dir, OpenOptions};

/// One of the module's directories (M7080 §9.2: `<index>` 0 to 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Area {
    /// 0: `/custapp/`.
    Custapp,
    /// 1: `/fota/`.
    Fota,
    /// 2: `/datatx/`.
    Datatx,
    /// 3: `/customer/`, where certificates usually go.
    Customer,
    /// The SIM800's FTP folder in flash, `C:\User\Ftp\` (`AT+FTPGETTOFS=0,...`).
    UserFtp,
    /// The SIM800's FTP folder on the SD card, `D:\ftp\` (`AT+FTPGETTOFS=1,...`).
    SdFtp,
}

impl Area {
    /// Every directory.
    pub const ALL: [Area; 6] = [Area::Custapp, Area::Fota, Area::Datatx, Area::Customer, Area::UserFtp, Area::SdFtp];

    /// The `AT+CFS*` directories, in the manual's index order.
    pub const CFS: [Area; 4] = [Area::Custapp, Area::Fota, Area::Datatx, Area::Customer];

    /// The `AT+CFS*` directory with the manual's `<index>`.
    pub fn from_index(index: u64) -> Option<Area> {
        usize::try_from(index).ok().and_then(|i| Area::CFS.get(i).copied())
    }

    /// Its folder name under the root.
    pub fn folder(self) -> &'static str {
        match self {
            Area::Custapp => "custapp",
            Area::Fota => "fota",
            Area::Datatx => "datatx",
            Area::Customer => "customer",
            Area::UserFtp => "user-ftp",
            Area::SdFtp => "sd-ftp",
        }
    }
}

/// What a file-system operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum FsError {
    /// The name is not a single safe file name.
    #[error("invalid file name")]
    InvalidName,
    /// No such file (or it is not a regular file).
    #[error("no such file")]
    NotFound,
    /// The file already exists.
    #[error("file exists")]
    Exists,
    /// The quota has no room for it.
    #[error("file system full")]
    Full,
    /// The host folder failed us.
    #[error("file system: {0}")]
    Io(#[from] io::Error),
}

/// How a write treats an existing file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// Replace its contents (or create it).
    Replace,
    /// Add to its end (or create it).
    Append,
}

/// The module's file system; cheap to clone, shared by the dialect and its jobs.
#[derive(Debug, Clone)]
pub struct ModuleFs {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// The temporary folder it lives in, if it is one; removed with the last handle.
    _temporary: Option<tempfile::TempDir>,
    root: Dir,
    quota: u64,
    /// Bytes held by files being downloaded, not yet in place.
    staged: AtomicU64,
    /// Names staging files uniquely.
    next_stage: AtomicU64,
}

/// The staging folder under the root: not an area, so no host name reaches it.
const STAGING: &str = ".partial";

impl ModuleFs {
    /// Opens (creating them if needed) the four directories under `root`, with room for
    /// `quota` bytes in all. Left-over staging files of an earlier run are removed.
    pub fn open(root: &Path, quota: u64) -> io::Result<ModuleFs> {
        Self::open_in(root, quota, None)
    }

    /// A file system in a fresh temporary folder, removed when the last handle goes.
    pub fn temporary(quota: u64) -> io::Result<ModuleFs> {
        let dir = tempfile::Builder::new().prefix("vmodem-fs-").tempdir()?;
        let path = dir.path().to_path_buf();
        Self::open_in(&path, quota, Some(dir))
    }

    fn open_in(root: &Path, quota: u64, temporary: Option<tempfile::TempDir>) -> io::Result<ModuleFs> {
        std::fs::create_dir_all(root)?;
        let root = Dir::open_ambient_dir(root, ambient_authority())?;
        for area in Area::ALL {
            root.create_dir_all(area.folder())?;
        }
        if root.symlink_metadata(STAGING).is_ok() {
            root.remove_dir_all(STAGING)?;
        }
        root.create_dir(STAGING)?;
        let inner =
            Inner { _temporary: temporary, root, quota, staged: AtomicU64::new(0), next_stage: AtomicU64::new(0) };
        Ok(ModuleFs { inner: Arc::new(inner) })
    }

    /// The quota in bytes.
    pub fn quota(&self) -> u64 {
        self.inner.quota
    }

    /// Bytes still free under the quota (`AT+CFSGFRS?`).
    pub fn free(&self) -> io::Result<u64> {
        let mut used = self.inner.staged.load(Ordering::Relaxed);
        for area in Area::ALL {
            for entry in self.inner.root.read_dir(area.folder())? {
                let meta = entry?.metadata()?;
                if meta.is_file() {
                    used += meta.len();
                }
            }
        }
        Ok(self.inner.quota.saturating_sub(used))
    }

    /// The size of a file (`AT+CFSGFIS`).
    pub fn size(&self, area: Area, name: &str) -> Result<u64, FsError> {
        Ok(self.regular(area, name)?.len())
    }

    /// Up to `max` bytes of a file from `offset` (`AT+CFSRFILE`); fewer at its end.
    pub fn read(&self, area: Area, name: &str, offset: u64, max: usize) -> Result<Vec<u8>, FsError> {
        let path = self.existing(area, name)?;
        let mut file = self.inner.root.open(&path)?;
        file.seek(SeekFrom::Start(offset))?;
        let mut out = Vec::with_capacity(max.min(1 << 20));
        file.take(max as u64).read_to_end(&mut out)?;
        Ok(out)
    }

    /// The whole file (certificates, upload buffers).
    pub fn read_all(&self, area: Area, name: &str) -> Result<Vec<u8>, FsError> {
        let path = self.existing(area, name)?;
        Ok(self.inner.root.read(&path)?)
    }

    /// Writes `data` to a file, whole or not at all (`AT+CFSWFILE`): the new contents are
    /// staged and renamed into place, so a reader never sees half of them.
    pub fn write(&self, area: Area, name: &str, data: &[u8], mode: WriteMode) -> Result<(), FsError> {
        let path = safe_path(area, name)?;
        let old = match self.regular(area, name) {
            Ok(meta) => Some(meta.len()),
            Err(FsError::NotFound) => None,
            Err(e) => return Err(e),
        };
        let kept = if mode == WriteMode::Append { old.unwrap_or(0) } else { 0 };
        let freed = old.unwrap_or(0) - kept;
        if data.len() as u64 > self.free()? + freed {
            return Err(FsError::Full);
        }
        let stage = self.stage_name();
        let result = (|| {
            if kept > 0 {
                self.inner.root.copy(&path, &self.inner.root, &stage)?;
            }
            let mut file = self.inner.root.open_with(&stage, OpenOptions::new().append(true).create(true))?;
            file.write_all(data)?;
            self.inner.root.rename(&stage, &self.inner.root, &path)
        })();
        if result.is_err() {
            self.inner.root.remove_file(&stage).ok();
        }
        Ok(result?)
    }

    /// Deletes a file (`AT+CFSDFILE`).
    pub fn delete(&self, area: Area, name: &str) -> Result<(), FsError> {
        let path = self.existing(area, name)?;
        Ok(self.inner.root.remove_file(path)?)
    }

    /// Renames a file within its directory (`AT+CFSREN`); an existing `to` is not replaced.
    pub fn rename(&self, area: Area, from: &str, to: &str) -> Result<(), FsError> {
        let from = self.existing(area, from)?;
        let to = safe_path(area, to)?;
        if self.inner.root.symlink_metadata(&to).is_ok() {
            return Err(FsError::Exists);
        }
        Ok(self.inner.root.rename(from, &self.inner.root, to)?)
    }

    /// Starts a file that appears only when [`StagedFile::commit`] is called: a download
    /// (`AT+FTPEXTGET=2`). Fails at once if the file exists; dropping it uncommitted removes
    /// everything written so far.
    pub fn create_new(&self, area: Area, name: &str) -> Result<StagedFile, FsError> {
        let target = safe_path(area, name)?;
        if self.inner.root.symlink_metadata(&target).is_ok() {
            return Err(FsError::Exists);
        }
        self.stage(target, false)
    }

    /// Like [`create_new`](Self::create_new), but the committed file replaces one of that
    /// name (`AT+FTPGETTOFS` overwrites); until then the old file stays as it was.
    pub fn create(&self, area: Area, name: &str) -> Result<StagedFile, FsError> {
        self.stage(safe_path(area, name)?, true)
    }

    fn stage(&self, target: String, replace: bool) -> Result<StagedFile, FsError> {
        let budget = self.free()?;
        let stage = self.stage_name();
        let file = self.inner.root.open_with(&stage, OpenOptions::new().write(true).create_new(true))?;
        Ok(StagedFile { fs: self.clone(), file: Some(file.into_std()), stage, target, written: 0, budget, replace })
    }

    /// A fresh name in the staging folder.
    fn stage_name(&self) -> String {
        format!("{STAGING}/{}", self.inner.next_stage.fetch_add(1, Ordering::Relaxed))
    }

    /// The path of an existing regular file.
    fn existing(&self, area: Area, name: &str) -> Result<String, FsError> {
        self.regular(area, name)?;
        safe_path(area, name)
    }

    /// The metadata of an existing regular file; a symlink or a folder counts as missing.
    fn regular(&self, area: Area, name: &str) -> Result<cap_std::fs::Metadata, FsError> {
        let path = safe_path(area, name)?;
        match self.inner.root.symlink_metadata(&path) {
            Ok(meta) if meta.is_file() => Ok(meta),
            Ok(_) => Err(FsError::NotFound),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(FsError::NotFound),
            Err(e) => Err(e.into()),
        }
    }
}

/// Whether `name` is one plain file name: not empty, not `.` or `..`, without `/`, `\\`, NUL
/// or other control characters.
pub fn valid_name(name: &str) -> bool {
    !(name.is_empty() || name == "." || name == ".." || name.chars().any(|c| c == '/' || c == '\\' || c.is_control()))
}

/// `area/name` once `name` is known to be one plain file name.
fn safe_path(area: Area, name: &str) -> Result<String, FsError> {
    if !valid_name(name) {
        return Err(FsError::InvalidName);
    }
    Ok(format!("{}/{name}", area.folder()))
}

/// A file being written that no one sees until it is committed.
#[derive(Debug)]
pub struct StagedFile {
    fs: ModuleFs,
    file: Option<std::fs::File>,
    stage: String,
    target: String,
    written: u64,
    budget: u64,
    /// Whether committing replaces a file of the same name.
    replace: bool,
}

impl StagedFile {
    /// Appends `data`; fails with [`FsError::Full`] when the quota has no room left.
    pub fn write(&mut self, data: &[u8]) -> Result<(), FsError> {
        let len = data.len() as u64;
        if self.written + len > self.budget {
            return Err(FsError::Full);
        }
        let file = self.file.as_mut().ok_or(FsError::NotFound)?;
        file.write_all(data)?;
        self.written += len;
        self.fs.inner.staged.fetch_add(len, Ordering::Relaxed);
        Ok(())
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Puts the file in place; unless it was made to replace one, fails with
    /// [`FsError::Exists`] if a file of that name appeared meanwhile (it is kept, and this one
    /// discarded). Only a regular file is ever replaced.
    pub fn commit(mut self) -> Result<u64, FsError> {
        let root = &self.fs.inner.root;
        // Closed before the rename. No fsync: the rename makes the file appear whole, which is
        // what a host can observe; surviving a crash of the host machine is not the contract.
        self.file = None;
        match root.symlink_metadata(&self.target) {
            Ok(meta) if self.replace && meta.is_file() => {}
            Ok(_) => return Err(FsError::Exists),
            Err(_) => {}
        }
        root.rename(&self.stage, root, &self.target)?;
        self.fs.inner.staged.fetch_sub(self.written, Ordering::Relaxed);
        let written = self.written;
        self.written = 0;
        self.stage.clear();
        Ok(written)
    }
}

impl Drop for StagedFile {
    fn drop(&mut self) {
        self.file = None;
        if !self.stage.is_empty() {
            self.fs.inner.root.remove_file(&self.stage).ok();
            self.fs.inner.staged.fetch_sub(self.written, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fs(quota: u64) -> (tempfile::TempDir, ModuleFs) {
        let dir = tempfile::tempdir().unwrap();
        let fs = ModuleFs::open(&dir.path().join("fs"), quota).unwrap();
        (dir, fs)
    }

    #[test]
    fn write_read_append_rename_delete() {
        let (_d, fs) = fs(10_000);
        fs.write(Area::Customer, "a.txt", b"hello", WriteMode::Replace).unwrap();
        fs.write(Area::Customer, "a.txt", b" world", WriteMode::Append).unwrap();
        assert_eq!(fs.read_all(Area::Customer, "a.txt").unwrap(), b"hello world");
        assert_eq!(fs.read(Area::Customer, "a.txt", 6, 3).unwrap(), b"wor");
        assert_eq!(fs.size(Area::Customer, "a.txt").unwrap(), 11);
        assert_eq!(fs.free().unwrap(), 10_000 - 11);
        fs.rename(Area::Customer, "a.txt", "b.txt").unwrap();
        assert!(matches!(fs.size(Area::Customer, "a.txt"), Err(FsError::NotFound)));
        fs.write(Area::Customer, "b.txt", b"new", WriteMode::Replace).unwrap();
        assert_eq!(fs.read_all(Area::Customer, "b.txt").unwrap(), b"new");
        fs.delete(Area::Customer, "b.txt").unwrap();
        assert!(matches!(fs.delete(Area::Customer, "b.txt"), Err(FsError::NotFound)));
        assert!(matches!(fs.size(Area::Fota, "b.txt"), Err(FsError::NotFound)));
    }

    #[test]
    fn the_quota_refuses_what_does_not_fit_and_keeps_the_old_file() {
        let (_d, fs) = fs(10);
        fs.write(Area::Custapp, "f", b"12345678", WriteMode::Replace).unwrap();
        assert!(matches!(fs.write(Area::Custapp, "f", b"abc", WriteMode::Append), Err(FsError::Full)));
        // Replacing frees the old contents first.
        fs.write(Area::Custapp, "f", b"0123456789", WriteMode::Replace).unwrap();
        assert!(matches!(fs.write(Area::Fota, "g", b"x", WriteMode::Replace), Err(FsError::Full)));
        assert_eq!(fs.read_all(Area::Custapp, "f").unwrap(), b"0123456789");
    }

    #[test]
    fn a_staged_file_appears_only_when_committed() {
        let (_d, fs) = fs(100);
        let mut staged = fs.create_new(Area::Fota, "img").unwrap();
        staged.write(b"part").unwrap();
        assert!(matches!(fs.size(Area::Fota, "img"), Err(FsError::NotFound)));
        assert_eq!(fs.free().unwrap(), 96);
        drop(staged);
        assert!(matches!(fs.size(Area::Fota, "img"), Err(FsError::NotFound)));
        assert_eq!(fs.free().unwrap(), 100);

        let mut staged = fs.create_new(Area::Fota, "img").unwrap();
        staged.write(b"whole").unwrap();
        assert!(matches!(staged.write(&[0; 96]), Err(FsError::Full)));
        assert_eq!(staged.commit().unwrap(), 5);
        assert_eq!(fs.read_all(Area::Fota, "img").unwrap(), b"whole");
        assert!(matches!(fs.create_new(Area::Fota, "img"), Err(FsError::Exists)));
        assert_eq!(fs.free().unwrap(), 95);
    }
}
