//! The module file system is a sandbox: a corpus of hostile names, and symlinks planted inside
//! its folder, never read or write anything outside its root.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use vmodem::service::fs::{Area, FsError, ModuleFs, WriteMode, valid_name};

/// Names in the corpus that only look like paths: ordinary file names.
const LOOK_ALIKES: &[&str] = &["..%2fsecret.txt", "\u{2215}etc\u{2215}passwd"];

/// Names a host might send to reach outside the directory it names.
fn corpus() -> Vec<String> {
    let mut names: Vec<String> = [
        "..",
        ".",
        "../outside/secret.txt",
        "../../outside/secret.txt",
        "../../../../../../../../etc/passwd",
        "/etc/passwd",
        "/tmp",
        "customer/../../outside/secret.txt",
        "..\\outside\\secret.txt",
        "a/b",
        "a\0b",
        "\0",
        "secret.txt\0.cer",
        "\n",
        "a\rb",
        "",
        "./secret.txt",
        "..%2fsecret.txt",
        "%2e%2e/secret.txt",
        "\u{2215}etc\u{2215}passwd",
        "..\u{0000}",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    names.push("x".repeat(10_000));
    names.push(format!("{}/secret.txt", "../".repeat(64)));
    names
}

struct World {
    _dir: tempfile::TempDir,
    root: PathBuf,
    outside: PathBuf,
    fs: ModuleFs,
}

/// A module file system under `<tmp>/fs`, beside `<tmp>/outside/secret.txt`.
fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("fs");
    let outside = dir.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join("secret.txt"), b"secret").unwrap();
    let fs = ModuleFs::open(&root, 1 << 20).unwrap();
    World { _dir: dir, root, outside, fs }
}

/// What is outside the root: file names and contents, to compare before and after.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap_or_default())
        })
        .collect();
    out.sort();
    out
}

/// Tries every operation with `name`; none may succeed in reading the secret.
fn attack(fs: &ModuleFs, area: Area, name: &str) {
    let secret = b"secret".to_vec();
    if let Ok(data) = fs.read_all(area, name) {
        assert_ne!(data, secret, "read_all({name:?}) read the secret");
    }
    if let Ok(data) = fs.read(area, name, 0, 100) {
        assert_ne!(data, secret, "read({name:?}) read the secret");
    }
    let _ = fs.size(area, name);
    let _ = fs.write(area, name, b"pwned", WriteMode::Replace);
    let _ = fs.write(area, name, b"pwned", WriteMode::Append);
    let _ = fs.rename(area, name, "moved");
    let _ = fs.rename(area, "moved", name);
    let _ = fs.delete(area, name);
    if let Ok(mut staged) = fs.create_new(area, name) {
        let _ = staged.write(b"pwned");
        let _ = staged.commit();
    }
}

#[test]
fn hostile_names_are_refused_and_touch_nothing_outside() {
    let w = world();
    let before = snapshot(&w.outside);
    for name in corpus() {
        for area in Area::ALL {
            attack(&w.fs, area, &name);
            if !valid_name(&name) {
                assert!(
                    matches!(w.fs.size(area, &name), Err(FsError::InvalidName)),
                    "{name:?} in {area:?} names a file"
                );
            }
        }
    }
    assert_eq!(snapshot(&w.outside), before, "something outside the root changed");
    assert_eq!(snapshot(&w.root.parent().unwrap().join("outside")), before);
}

#[test]
fn hostile_names_are_refused_with_invalid_name() {
    let w = world();
    for name in corpus().into_iter().filter(|n| n.len() < 1000) {
        if LOOK_ALIKES.contains(&name.as_str()) {
            // Plain characters in a file name: allowed, and they stay inside the directory.
            assert!(valid_name(&name));
            continue;
        }
        assert!(
            matches!(w.fs.write(Area::Customer, &name, b"x", WriteMode::Replace), Err(FsError::InvalidName)),
            "{name:?} was not refused as a name"
        );
    }
    // Look-alikes are ordinary names inside the directory.
    w.fs.write(Area::Customer, "..%2fsecret.txt", b"x", WriteMode::Replace).unwrap();
    assert!(w.root.join("customer").join("..%2fsecret.txt").is_file());
}

#[test]
fn symlinks_planted_inside_are_not_followed() {
    let w = world();
    let before = snapshot(&w.outside);
    let customer = w.root.join("customer");
    // A file-name symlink to the secret, one to the outside folder, and an absolute one.
    symlink("../../outside/secret.txt", customer.join("link.txt")).unwrap();
    symlink(&w.outside, customer.join("linkdir")).unwrap();
    symlink(w.outside.join("secret.txt"), customer.join("abs.txt")).unwrap();
    // A dangling link whose target would be created outside by a write that followed it.
    symlink(w.outside.join("created.txt"), customer.join("dangling.txt")).unwrap();
    for name in ["link.txt", "linkdir", "abs.txt", "dangling.txt"] {
        attack(&w.fs, Area::Customer, name);
    }
    assert_eq!(snapshot(&w.outside), before, "a planted symlink let something out");
    assert!(!w.outside.join("created.txt").exists());
}

#[test]
fn an_area_replaced_by_a_symlink_to_outside_is_not_followed() {
    let w = world();
    let before = snapshot(&w.outside);
    let fota = w.root.join("fota");
    std::fs::remove_dir(&fota).unwrap();
    symlink(&w.outside, &fota).unwrap();
    attack(&w.fs, Area::Fota, "secret.txt");
    attack(&w.fs, Area::Fota, "new.txt");
    assert!(w.fs.size(Area::Fota, "secret.txt").is_err());
    assert_eq!(snapshot(&w.outside), before, "the symlinked area let something out");
}

#[test]
fn a_staged_download_is_invisible_and_removed_when_abandoned() {
    let w = world();
    let mut staged = w.fs.create_new(Area::Fota, "image.bin").unwrap();
    staged.write(&[7; 1000]).unwrap();
    assert!(!w.root.join("fota").join("image.bin").exists());
    drop(staged);
    assert!(!w.root.join("fota").join("image.bin").exists());
    let staging: Vec<_> = std::fs::read_dir(w.root.join(".partial")).unwrap().collect();
    assert!(staging.is_empty(), "an abandoned download left {staging:?}");
}
