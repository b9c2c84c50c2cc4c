//! Writes one test function per transcript under tests/transcripts/ for the integration tests
//! (`tests/it/transcripts.rs` includes the file), so that adding a transcript adds its test.
//! A transcript whose `@server` is one of the Debian servers scripts/test-servers.sh starts is
//! marked `#[ignore]` with that reason: `cargo test` runs the rest, scripts/test.sh all of them.

use std::fmt::Write as _;
use std::path::Path;

/// The `@server` values that name a Debian server, not an in-process one.
const REAL_SERVERS: &[&str] = &["vsftpd", "proftpd", "pureftpd", "vsftpd-implicit", "proftpd-implicit"];

fn main() {
    let root = Path::new("tests/transcripts");
    println!("cargo::rerun-if-changed={}", root.display());
    let recorded = std::fs::read_to_string(root.join("recorded.txt")).unwrap_or_default();
    let recorded: Vec<&str> =
        recorded.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
    let mut families: Vec<_> = std::fs::read_dir(root)
        .map(|dir| dir.flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect())
        .unwrap_or_default();
    families.sort();
    let (mut tests, mut replays) = (String::new(), String::new());
    for dir in families {
        let family = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .map(|d| d.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "at")).collect())
            .unwrap_or_default();
        files.sort();
        let (mut own, mut own_replays) = (String::new(), String::new());
        for file in files {
            let stem = file.file_stem().and_then(|n| n.to_str()).unwrap_or_default();
            let name = format!("{family}/{stem}");
            let ident = stem.replace('-', "_");
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            let real =
                text.lines().filter_map(|l| l.strip_prefix("@server ")).any(|s| REAL_SERVERS.contains(&s.trim()));
            let ignore = if real {
                "    #[ignore = \"needs the Debian test servers (scripts/test.sh starts them)\"]\n"
            } else {
                ""
            };
            let _ = writeln!(own, "    #[test]\n{ignore}    fn {ident}() {{\n        super::run({name:?});\n    }}");
            if recorded.contains(&name.as_str()) {
                let _ = writeln!(
                    own_replays,
                    "        #[test]\n        fn {ident}() {{\n            super::super::recorded({name:?});\n        }}"
                );
            }
        }
        let _ = writeln!(tests, "mod {family} {{\n{own}}}");
        if !own_replays.is_empty() {
            let _ = writeln!(replays, "    mod {family} {{\n{own_replays}    }}");
        }
    }
    for name in &recorded {
        if !root.join(name).with_extension("at").is_file() {
            panic!("tests/transcripts/recorded.txt names {name}, which is not a transcript");
        }
    }
    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("transcripts.rs");
    std::fs::write(out, format!("{tests}mod recorded {{\n{replays}}}\n")).expect("writing the transcript tests");
}
