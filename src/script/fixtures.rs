//! A transcript's server side: the `@file`, `@mtime` and `@dir` fixtures written into an FTP
//! server's root before a run, and the `@after-file` / `@after-missing` state checked after it.
//! Names are relative to the root and may not leave it. Files get mode 0644 and directories
//! 0777 (servers running as another user must be able to write in them), whatever the umask,
//! so server listings are the same on every machine.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::parse::Header;

/// Writes the fixtures of `header` under `root` (replacing files of the same name).
pub fn install(header: &Header, root: &Path) -> io::Result<()> {
    for dir in &header.dirs {
        let path = inside(root, dir)?;
        fs::create_dir_all(&path)?;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o777))?;
    }
    for (name, content) in &header.files {
        let path = inside(root, name)?;
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(&path, content.bytes())?;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644))?;
    }
    for (name, stamp) in &header.mtimes {
        let time = mdtm_time(stamp).ok_or_else(|| io::Error::other(format!("bad @mtime {stamp:?}")))?;
        fs::File::options().write(true).open(inside(root, name)?)?.set_modified(time)?;
    }
    Ok(())
}

/// Checks the `@after-file` and `@after-missing` state under `root`.
pub fn verify(header: &Header, root: &Path) -> Result<(), String> {
    for (name, content) in &header.after_files {
        let path = inside(root, name).map_err(|e| e.to_string())?;
        let got = fs::read(&path).map_err(|e| format!("@after-file {name}: {e}"))?;
        if got != content.bytes() {
            return Err(format!("@after-file {name}: holds {} bytes that differ from {content}", got.len()));
        }
    }
    for name in &header.after_missing {
        if inside(root, name).map_err(|e| e.to_string())?.exists() {
            return Err(format!("@after-missing {name}: the file is still there"));
        }
    }
    Ok(())
}

/// `root/name`, refusing names that are absolute or climb out with `..`.
fn inside(root: &Path, name: &str) -> io::Result<PathBuf> {
    let rel = Path::new(name.trim_start_matches('/'));
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("fixture name {name:?} leaves the root")));
    }
    Ok(root.join(rel))
}

/// The instant an FTP `YYYYMMDDHHMMSS` timestamp (UTC) names.
pub fn mdtm_time(stamp: &str) -> Option<SystemTime> {
    if stamp.len() != 14 || !stamp.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| stamp[r].parse::<i64>().ok();
    let (y, mo, d, h, mi, s) = (n(0..4)?, n(4..6)?, n(6..8)?, n(8..10)?, n(10..12)?, n(12..14)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm), proleptic Gregorian calendar.
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = u64::try_from(days * 86_400 + h * 3600 + mi * 60 + s).ok()?;
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::Script;

    #[test]
    fn mdtm_timestamps() {
        let t = mdtm_time("20140409060951").unwrap();
        assert_eq!(t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs(), 1_397_023_791);
        assert_eq!(mdtm_time("19700101000000"), Some(SystemTime::UNIX_EPOCH));
        assert!(mdtm_time("2014040906095").is_none());
        assert!(mdtm_time("20141309060951").is_none());
    }

    #[test]
    fn install_and_verify() {
        let dir = tempfile::tempdir().unwrap();
        let s = Script::parse("@dir sub\n@file sub/a.txt = text:hi\n@mtime sub/a.txt = 20140409060951\n@after-file sub/a.txt = text:hi\n@after-missing b\n").unwrap();
        install(&s.header, dir.path()).unwrap();
        assert_eq!(fs::read(dir.path().join("sub/a.txt")).unwrap(), b"hi");
        assert_eq!(
            fs::metadata(dir.path().join("sub/a.txt")).unwrap().modified().unwrap(),
            mdtm_time("20140409060951").unwrap()
        );
        verify(&s.header, dir.path()).unwrap();
        fs::write(dir.path().join("b"), "x").unwrap();
        assert!(verify(&s.header, dir.path()).is_err());
    }

    #[test]
    fn names_cannot_leave_the_root() {
        let root = Path::new("/srv/ftp");
        assert!(inside(root, "../etc/passwd").is_err());
        assert!(inside(root, "a/../../b").is_err());
        assert_eq!(inside(root, "/a/b").unwrap(), Path::new("/srv/ftp/a/b"));
    }
}
