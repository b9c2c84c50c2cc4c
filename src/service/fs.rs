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
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use cap_std::ambient_authority;
use cap_std::fs::{Dir, OpenOptions};

/// The block the quota counts in. No SIMCom document gives the block size of the module's file
/// system, so this is a choice: 2048 bytes is the largest power of two that divides the free
/// space M7080 §9.2 shows for an empty SIM7080 (6391808 bytes, 3121 blocks), and a common flash
/// page size. On a host file system of 4096-byte blocks the folder then takes at most twice the
/// quota.
pub const BLOCK: u64 = 2048;

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
    /// Where the root folder is to be: a host folder, or a temporary one (`None`).
    place: Option<std::path::PathBuf>,
    /// The temporary folder it lives in, if it is one; removed with the last handle.
    temporary: std::sync::OnceLock<tempfile::TempDir>,
    /// Where the root folder is, once it has been prepared (created, cleaned and counted).
    path: std::sync::OnceLock<std::path::PathBuf>,
    /// Held while the root folder is prepared or opened.
    preparing: Mutex<()>,
    /// The root folder, opened at first use: an idle modem holds no file descriptor for it
    /// (a fleet of thousands would run out).
    root: std::sync::OnceLock<Dir>,
    quota: u64,
    /// Blocks the files take, those in place and those being staged. Every change to the files
    /// holds this lock from its check to its count, so the count stays exact and two changes
    /// never interleave.
    used: Mutex<u64>,
    /// The blocks the preparation counted, until `used` takes them (it is not locked while
    /// preparing, so that preparing can never wait on a change in progress).
    counted: Mutex<Option<u64>>,
    /// Names staging files uniquely.
    next_stage: AtomicU64,
    /// Directory entries [`ModuleFs::scan`] has visited, for the tests of its cost.
    #[cfg(test)]
    visited: AtomicU64,
}

/// The staging folder under the root: not an area, so no host name reaches it.
const STAGING: &str = ".partial";

impl ModuleFs {
    /// Opens (creating them if needed) the four directories under `root`, with room for
    /// `quota` bytes in all (counted in [`BLOCK`]s). Left-over staging files of an earlier run
    /// are removed, and the blocks the files take are counted.
    pub fn open(root: &Path, quota: u64) -> io::Result<ModuleFs> {
        Self::prepared(Some(root.to_path_buf()), quota)
    }

    /// A file system in a fresh temporary folder, removed when the last handle goes.
    pub fn temporary(quota: u64) -> io::Result<ModuleFs> {
        Self::prepared(None, quota)
    }

    /// A file system under `root` (or in a temporary folder) that is created, cleaned and
    /// counted only when it is first used: a fleet's idle modems leave no folders behind.
    pub fn deferred(root: Option<&Path>, quota: u64) -> ModuleFs {
        let inner = Inner {
            place: root.map(Path::to_path_buf),
            temporary: std::sync::OnceLock::new(),
            path: std::sync::OnceLock::new(),
            preparing: Mutex::new(()),
            root: std::sync::OnceLock::new(),
            quota,
            used: Mutex::new(0),
            counted: Mutex::new(None),
            next_stage: AtomicU64::new(0),
            #[cfg(test)]
            visited: AtomicU64::new(0),
        };
        ModuleFs { inner: Arc::new(inner) }
    }

    /// A file system prepared now, so that a folder it cannot use is an error at once; its
    /// root folder is closed again until it is used.
    fn prepared(root: Option<std::path::PathBuf>, quota: u64) -> io::Result<ModuleFs> {
        let mut fs = Self::deferred(root.as_deref(), quota);
        fs.root()?;
        drop(fs.used());
        if let Some(inner) = Arc::get_mut(&mut fs.inner) {
            inner.root.take();
        }
        Ok(fs)
    }

    /// The root folder, prepared and opened if it is not yet.
    fn root(&self) -> io::Result<&Dir> {
        if let Some(root) = self.inner.root.get() {
            return Ok(root);
        }
        let _preparing = self.inner.preparing.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(root) = self.inner.root.get() {
            return Ok(root);
        }
        let opened = match self.inner.path.get() {
            Some(path) => Dir::open_ambient_dir(path, ambient_authority())?,
            None => self.prepare()?,
        };
        Ok(self.inner.root.get_or_init(|| opened))
    }

    /// Creates the root folder and its directories, removes left-over staging files and
    /// counts the blocks the files take.
    fn prepare(&self) -> io::Result<Dir> {
        let path = match &self.inner.place {
            Some(path) => {
                std::fs::create_dir_all(path)?;
                path.clone()
            }
            None => {
                let dir = tempfile::Builder::new().prefix("vmodem-fs-").tempdir()?;
                let path = dir.path().to_path_buf();
                let _ = self.inner.temporary.set(dir);
                path
            }
        };
        let root = Dir::open_ambient_dir(&path, ambient_authority())?;
        for area in Area::ALL {
            root.create_dir_all(area.folder())?;
        }
        if root.symlink_metadata(STAGING).is_ok() {
            root.remove_dir_all(STAGING)?;
        }
        root.create_dir(STAGING)?;
        let counted = self.scan(&root)?;
        *self.inner.counted.lock().unwrap_or_else(PoisonError::into_inner) = Some(counted);
        let _ = self.inner.path.set(path);
        Ok(root)
    }

    /// The quota in bytes.
    pub fn quota(&self) -> u64 {
        self.inner.quota
    }

    /// Bytes the quota has left once the files' blocks are taken (`AT+CFSGFRS?`).
    pub fn free(&self) -> u64 {
        self.inner.quota.saturating_sub(self.used().saturating_mul(BLOCK))
    }

    /// The size of a file (`AT+CFSGFIS`).
    pub fn size(&self, area: Area, name: &str) -> Result<u64, FsError> {
        Ok(self.regular(area, name)?.len())
    }

    /// Up to `max` bytes of a file from `offset` (`AT+CFSRFILE`); fewer at its end.
    pub fn read(&self, area: Area, name: &str, offset: u64, max: usize) -> Result<Vec<u8>, FsError> {
        let path = self.existing(area, name)?;
        let mut file = self.root()?.open(&path)?;
        file.seek(SeekFrom::Start(offset))?;
        let mut out = Vec::with_capacity(max.min(1 << 20));
        file.take(max as u64).read_to_end(&mut out)?;
        Ok(out)
    }

    /// The whole file (certificates, upload buffers).
    pub fn read_all(&self, area: Area, name: &str) -> Result<Vec<u8>, FsError> {
        let path = self.existing(area, name)?;
        Ok(self.root()?.read(&path)?)
    }

    /// Writes `data` to a file, whole or not at all (`AT+CFSWFILE`): the new contents are
    /// staged and renamed into place, so a reader never sees half of them.
    pub fn write(&self, area: Area, name: &str, data: &[u8], mode: WriteMode) -> Result<(), FsError> {
        let path = safe_path(area, name)?;
        let mut used = self.used();
        let old = match self.regular(area, name) {
            Ok(meta) => meta.len(),
            Err(FsError::NotFound) => 0,
            Err(e) => return Err(e),
        };
        let kept = if mode == WriteMode::Append { old } else { 0 };
        let after = used.saturating_sub(blocks(old)) + blocks(kept + data.len() as u64);
        if after > self.capacity() {
            return Err(FsError::Full);
        }
        let stage = self.stage_name();
        let result = (|| {
            if kept > 0 {
                let root = self.root()?;
                root.copy(&path, root, &stage)?;
            }
            let mut file = self.root()?.open_with(&stage, OpenOptions::new().append(true).create(true))?;
            file.write_all(data)?;
            self.root()?.rename(&stage, self.root()?, &path)
        })();
        match result {
            Ok(()) => {
                *used = after;
                Ok(())
            }
            Err(e) => {
                self.root()?.remove_file(&stage).ok();
                Err(e.into())
            }
        }
    }

    /// Deletes a file (`AT+CFSDFILE`).
    pub fn delete(&self, area: Area, name: &str) -> Result<(), FsError> {
        let mut used = self.used();
        let len = self.regular(area, name)?.len();
        self.root()?.remove_file(safe_path(area, name)?)?;
        *used = used.saturating_sub(blocks(len));
        Ok(())
    }

    /// Renames a file within its directory (`AT+CFSREN`); an existing `to` is not replaced.
    pub fn rename(&self, area: Area, from: &str, to: &str) -> Result<(), FsError> {
        let _used = self.used();
        let from = self.existing(area, from)?;
        let to = safe_path(area, to)?;
        if self.root()?.symlink_metadata(&to).is_ok() {
            return Err(FsError::Exists);
        }
        let root = self.root()?;
        Ok(root.rename(from, root, to)?)
    }

    /// Starts a file that appears only when [`StagedFile::commit`] is called: a download
    /// (`AT+FTPEXTGET=2`). Fails at once if the file exists; dropping it uncommitted removes
    /// everything written so far.
    pub fn create_new(&self, area: Area, name: &str) -> Result<StagedFile, FsError> {
        let target = safe_path(area, name)?;
        if self.root()?.symlink_metadata(&target).is_ok() {
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
        let stage = self.stage_name();
        let file = self.root()?.open_with(&stage, OpenOptions::new().write(true).create_new(true))?;
        Ok(StagedFile { fs: self.clone(), file: Some(file.into_std()), stage, target, written: 0, replace })
    }

    /// Renames a complete staged file to `target`; unless `replace`, only if no file has that
    /// name, and only ever over a regular file. The blocks of a replaced file are freed.
    fn place(&self, stage: &str, target: &str, replace: bool) -> Result<(), FsError> {
        let mut used = self.used();
        let root = self.root()?;
        let replaced = match root.symlink_metadata(target) {
            Ok(meta) if replace && meta.is_file() => blocks(meta.len()),
            Ok(_) => return Err(FsError::Exists),
            Err(_) => 0,
        };
        root.rename(stage, root, target)?;
        *used = used.saturating_sub(replaced);
        Ok(())
    }

    /// Takes `n` more blocks, if the quota has them.
    fn reserve(&self, n: u64) -> Result<(), FsError> {
        let mut used = self.used();
        if *used + n > self.capacity() {
            return Err(FsError::Full);
        }
        *used += n;
        Ok(())
    }

    /// Gives back `n` blocks.
    fn release(&self, n: u64) {
        let mut used = self.used();
        *used = used.saturating_sub(n);
    }

    /// The blocks in use, locked (the file system prepared first, if it can be: an error
    /// shows at the operation's own use of the folder).
    fn used(&self) -> MutexGuard<'_, u64> {
        let _ = self.root();
        let mut used = self.inner.used.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(counted) = self.inner.counted.lock().unwrap_or_else(PoisonError::into_inner).take() {
            *used += counted;
        }
        used
    }

    /// The whole blocks the quota holds.
    fn capacity(&self) -> u64 {
        self.inner.quota / BLOCK
    }

    /// Every file, by area and name, with its size (the console's list); names no host could
    /// give are left out.
    pub fn list(&self) -> Result<Vec<(Area, String, u64)>, FsError> {
        let mut files = Vec::new();
        for area in Area::ALL {
            for entry in self.root()?.read_dir(area.folder())? {
                let entry = entry?;
                let meta = entry.metadata()?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if meta.is_file() && valid_name(&name) {
                    files.push((area, name, meta.len()));
                }
            }
        }
        files.sort_by(|a, b| (a.0.folder(), &a.1).cmp(&(b.0.folder(), &b.1)));
        Ok(files)
    }

    /// Blocks the files on disk take, counted file by file: every regular file of the areas
    /// and of the staging folder. Run once, at open.
    fn scan(&self, root: &Dir) -> io::Result<u64> {
        let mut used = 0;
        for folder in Area::ALL.map(Area::folder).into_iter().chain([STAGING]) {
            for entry in root.read_dir(folder)? {
                #[cfg(test)]
                self.inner.visited.fetch_add(1, Ordering::Relaxed);
                let meta = entry?.metadata()?;
                if meta.is_file() {
                    used += blocks(meta.len());
                }
            }
        }
        Ok(used)
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
        match self.root()?.symlink_metadata(&path) {
            Ok(meta) if meta.is_file() => Ok(meta),
            Ok(_) => Err(FsError::NotFound),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(FsError::NotFound),
            Err(e) => Err(e.into()),
        }
    }
}

/// The blocks a file of `len` bytes takes; an empty file takes none (its name is in the
/// directory, as on the host's disk).
fn blocks(len: u64) -> u64 {
    len.div_ceil(BLOCK)
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
    /// Whether committing replaces a file of the same name.
    replace: bool,
}

impl StagedFile {
    /// Appends `data`; fails with [`FsError::Full`] when the quota has no room left for the
    /// blocks it adds (a file it replaces still counts until the commit).
    pub fn write(&mut self, data: &[u8]) -> Result<(), FsError> {
        let file = self.file.as_mut().ok_or(FsError::NotFound)?;
        let len = data.len() as u64;
        let grow = blocks(self.written + len) - blocks(self.written);
        self.fs.reserve(grow)?;
        if let Err(e) = file.write_all(data) {
            self.fs.release(grow);
            return Err(e.into());
        }
        self.written += len;
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
        // Closed before the rename. No fsync: the rename makes the file appear whole, which is
        // what a host can observe; surviving a crash of the host machine is not the contract.
        self.file = None;
        self.fs.place(&self.stage, &self.target, self.replace)?;
        // In place: its blocks are the file's now, and there is no staging file to remove.
        self.stage.clear();
        Ok(self.written)
    }
}

impl Drop for StagedFile {
    fn drop(&mut self) {
        self.file = None;
        if !self.stage.is_empty() {
            if let Ok(root) = self.fs.root() {
                root.remove_file(&self.stage).ok();
            }
            self.fs.release(blocks(self.written));
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const B: usize = BLOCK as usize;

    fn fs(quota: u64) -> (tempfile::TempDir, ModuleFs) {
        let dir = tempfile::tempdir().unwrap();
        let fs = ModuleFs::open(&dir.path().join("fs"), quota).unwrap();
        (dir, fs)
    }

    /// The running total against a count of what is on disk.
    fn assert_exact(fs: &ModuleFs) {
        let used = *fs.used();
        assert_eq!(used, fs.scan(fs.root().unwrap()).unwrap(), "the running total drifted from the files on disk");
    }

    #[test]
    fn write_read_append_rename_delete() {
        let (_d, fs) = fs(10 * BLOCK);
        fs.write(Area::Customer, "a.txt", b"hello", WriteMode::Replace).unwrap();
        fs.write(Area::Customer, "a.txt", b" world", WriteMode::Append).unwrap();
        assert_eq!(fs.read_all(Area::Customer, "a.txt").unwrap(), b"hello world");
        assert_eq!(fs.read(Area::Customer, "a.txt", 6, 3).unwrap(), b"wor");
        assert_eq!(fs.size(Area::Customer, "a.txt").unwrap(), 11);
        assert_eq!(fs.free(), 9 * BLOCK);
        fs.rename(Area::Customer, "a.txt", "b.txt").unwrap();
        assert!(matches!(fs.size(Area::Customer, "a.txt"), Err(FsError::NotFound)));
        fs.write(Area::Customer, "b.txt", b"new", WriteMode::Replace).unwrap();
        assert_eq!(fs.read_all(Area::Customer, "b.txt").unwrap(), b"new");
        fs.delete(Area::Customer, "b.txt").unwrap();
        assert!(matches!(fs.delete(Area::Customer, "b.txt"), Err(FsError::NotFound)));
        assert!(matches!(fs.size(Area::Fota, "b.txt"), Err(FsError::NotFound)));
        assert_eq!(fs.free(), 10 * BLOCK);
    }

    #[test]
    fn the_quota_refuses_what_does_not_fit_and_keeps_the_old_file() {
        let (_d, fs) = fs(2 * BLOCK);
        fs.write(Area::Custapp, "f", &[1; B + 1], WriteMode::Replace).unwrap();
        assert_eq!(fs.free(), 0);
        // The rest of the last block takes more bytes; one past it needs a block there is not.
        fs.write(Area::Custapp, "f", &[2; B - 1], WriteMode::Append).unwrap();
        assert!(matches!(fs.write(Area::Custapp, "f", b"abc", WriteMode::Append), Err(FsError::Full)));
        // Replacing frees the old contents first.
        fs.write(Area::Custapp, "f", &[3; 2 * B], WriteMode::Replace).unwrap();
        assert!(matches!(fs.write(Area::Fota, "g", b"x", WriteMode::Replace), Err(FsError::Full)));
        assert_eq!(fs.read_all(Area::Custapp, "f").unwrap(), [3; 2 * B]);
        assert_exact(&fs);
    }

    #[test]
    fn many_small_files_fill_the_quota_by_blocks() {
        // Eight blocks and 100 bytes: the bytes left over hold no block.
        let (_d, fs) = fs(8 * BLOCK + 100);
        for i in 0..8 {
            fs.write(Area::Datatx, &format!("f{i}"), b"x", WriteMode::Replace).unwrap();
        }
        assert_eq!(fs.free(), 100);
        assert!(matches!(fs.write(Area::Datatx, "f8", b"x", WriteMode::Replace), Err(FsError::Full)));
        assert!(matches!(fs.create_new(Area::Datatx, "f8").unwrap().write(b"x"), Err(FsError::Full)));
        // An empty file takes no block.
        fs.write(Area::Datatx, "f0", b"", WriteMode::Replace).unwrap();
        assert_eq!(fs.free(), BLOCK + 100);
        assert!(matches!(fs.write(Area::Fota, "g", &[0; B + 1], WriteMode::Replace), Err(FsError::Full)));
        fs.write(Area::Fota, "g", &[0; B], WriteMode::Replace).unwrap();
        assert_eq!(fs.free(), 100);
        assert_exact(&fs);
    }

    #[test]
    fn a_staged_file_appears_only_when_committed() {
        let (_d, fs) = fs(4 * BLOCK);
        let mut staged = fs.create_new(Area::Fota, "img").unwrap();
        staged.write(b"part").unwrap();
        assert!(matches!(fs.size(Area::Fota, "img"), Err(FsError::NotFound)));
        assert_eq!(fs.free(), 3 * BLOCK);
        drop(staged);
        assert!(matches!(fs.size(Area::Fota, "img"), Err(FsError::NotFound)));
        assert_eq!(fs.free(), 4 * BLOCK);

        let mut staged = fs.create_new(Area::Fota, "img").unwrap();
        staged.write(b"whole").unwrap();
        assert!(matches!(staged.write(&[0; 4 * B]), Err(FsError::Full)));
        assert_eq!(staged.commit().unwrap(), 5);
        assert_eq!(fs.read_all(Area::Fota, "img").unwrap(), b"whole");
        assert!(matches!(fs.create_new(Area::Fota, "img"), Err(FsError::Exists)));
        assert_eq!(fs.free(), 3 * BLOCK);
        assert_exact(&fs);
    }

    #[test]
    fn a_replaced_file_counts_until_its_replacement_is_committed() {
        let (_d, fs) = fs(3 * BLOCK);
        fs.write(Area::UserFtp, "f", &[1; 2 * B], WriteMode::Replace).unwrap();
        let mut staged = fs.create(Area::UserFtp, "f").unwrap();
        staged.write(&[2; B]).unwrap();
        assert!(matches!(staged.write(b"x"), Err(FsError::Full)));
        assert_eq!(fs.free(), 0);
        staged.commit().unwrap();
        assert_eq!(fs.free(), 2 * BLOCK);
        assert_exact(&fs);
    }

    #[test]
    fn a_write_visits_no_other_file() {
        let (dir, fs) = fs(1 << 30);
        let visits = || fs.inner.visited.load(Ordering::Relaxed);
        let (mut files, mut cost) = (0, Vec::new());
        for n in [10, 1000] {
            for i in files..n {
                fs.write(Area::Customer, &format!("f{i}"), b"x", WriteMode::Replace).unwrap();
            }
            files = n;
            let before = visits();
            fs.write(Area::Customer, "f0", b"yy", WriteMode::Append).unwrap();
            fs.write(Area::Fota, "new", b"z", WriteMode::Replace).unwrap();
            fs.rename(Area::Fota, "new", "renamed").unwrap();
            fs.delete(Area::Fota, "renamed").unwrap();
            let mut staged = fs.create(Area::Fota, "staged").unwrap();
            staged.write(b"s").unwrap();
            staged.commit().unwrap();
            fs.delete(Area::Fota, "staged").unwrap();
            fs.free();
            cost.push(visits() - before);
        }
        assert_eq!(cost, [0, 0], "operations listed directories");
        // Opening counts the files once, visiting each.
        let reopened = ModuleFs::open(&dir.path().join("fs"), 1 << 30).unwrap();
        assert_eq!(reopened.inner.visited.load(Ordering::Relaxed), 1000);
        assert_eq!(reopened.free(), fs.free());
    }

    /// One step of the property test: files named by a small index, so steps meet.
    #[derive(Debug, Clone)]
    enum Op {
        Write { area: bool, name: u8, len: usize, append: bool },
        Delete { area: bool, name: u8 },
        Rename { area: bool, from: u8, to: u8 },
        Stage { area: bool, name: u8, replace: bool },
        StageWrite { len: usize },
        Commit,
        Abandon,
    }

    fn op() -> impl Strategy<Value = Op> {
        let area = any::<bool>();
        let name = 0..4u8;
        let len = 0..3 * B;
        prop_oneof![
            (area, name.clone(), len.clone(), any::<bool>()).prop_map(|(area, name, len, append)| Op::Write {
                area,
                name,
                len,
                append
            }),
            (area, name.clone()).prop_map(|(area, name)| Op::Delete { area, name }),
            (area, name.clone(), name.clone()).prop_map(|(area, from, to)| Op::Rename { area, from, to }),
            (area, name, any::<bool>()).prop_map(|(area, name, replace)| Op::Stage { area, name, replace }),
            len.prop_map(|len| Op::StageWrite { len }),
            Just(Op::Commit),
            Just(Op::Abandon),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        /// Whatever succeeds or fails, the running total is what a rescan counts, and what
        /// the next open counts.
        #[test]
        fn the_running_total_is_a_rescan(ops in proptest::collection::vec(op(), 1..40)) {
            let (dir, fs) = fs(8 * BLOCK + 1000);
            let area = |fota: bool| if fota { Area::Fota } else { Area::Custapp };
            let name = |i: u8| format!("n{i}");
            let mut staged: Option<StagedFile> = None;
            for op in ops {
                match op {
                    Op::Write { area: a, name: n, len, append } => {
                        let mode = if append { WriteMode::Append } else { WriteMode::Replace };
                        let _ = fs.write(area(a), &name(n), &vec![b'w'; len], mode);
                    }
                    Op::Delete { area: a, name: n } => {
                        let _ = fs.delete(area(a), &name(n));
                    }
                    Op::Rename { area: a, from, to } => {
                        let _ = fs.rename(area(a), &name(from), &name(to));
                    }
                    Op::Stage { area: a, name: n, replace } => {
                        staged = if replace { fs.create(area(a), &name(n)) } else { fs.create_new(area(a), &name(n)) }.ok();
                    }
                    Op::StageWrite { len } => {
                        if let Some(file) = staged.as_mut() {
                            let _ = file.write(&vec![b's'; len]);
                        }
                    }
                    Op::Commit => {
                        if let Some(file) = staged.take() {
                            let _ = file.commit();
                        }
                    }
                    Op::Abandon => staged = None,
                }
                assert_exact(&fs);
                prop_assert!(fs.free() <= fs.quota());
            }
            drop(staged);
            assert_exact(&fs);
            let reopened = ModuleFs::open(&dir.path().join("fs"), fs.quota()).unwrap();
            prop_assert_eq!(reopened.free(), fs.free());
        }
    }
}
