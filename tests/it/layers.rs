//! The modules of `src/` import each other without a cycle: every `crate::<module>` path in a
//! top-level module's files is an edge, and the graph of those edges must have a topological
//! order. The order found is the one DESIGN.md's layers describe, from the leaves up.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ can be read").flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file of `src/` belongs to (`src/dialect/simcom/mod.rs` is `dialect`);
/// `None` for the crate roots.
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    match first {
        "lib.rs" | "main.rs" => None,
        name => Some(name.trim_end_matches(".rs").to_string()),
    }
}

/// The top-level modules `text` names through `crate::<name>` paths (`use crate::net::Net`,
/// `crate::service::pipe::pipe(..)`), among `known`. Comments do not count: a doc link is not
/// an import.
fn references(text: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    let code: String = text.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n");
    let mut found = BTreeSet::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        // `$crate::` (a macro's crate) and `my_crate::` are not this crate's paths.
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c == '$' || c.is_alphanumeric() || c == '_') {
            continue;
        }
        let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        if known.contains(&name) {
            found.insert(name);
        }
    }
    found
}

/// A topological order of `graph` (leaves first), or a cycle.
fn order(graph: &BTreeMap<String, BTreeSet<String>>) -> Result<Vec<String>, Vec<String>> {
    let mut done: Vec<String> = Vec::new();
    let mut remaining = graph.clone();
    while !remaining.is_empty() {
        let ready: Vec<String> = remaining
            .iter()
            .filter(|(_, deps)| deps.iter().all(|d| done.contains(d)))
            .map(|(m, _)| m.clone())
            .collect();
        if ready.is_empty() {
            // Every module left has a dependency left: walk them to show one cycle.
            let mut path = vec![remaining.keys().next().cloned().unwrap_or_default()];
            loop {
                let last = path.last().cloned().unwrap_or_default();
                let next = remaining[&last].iter().find(|d| remaining.contains_key(*d)).cloned().unwrap_or_default();
                if let Some(start) = path.iter().position(|m| *m == next) {
                    let mut cycle = path[start..].to_vec();
                    cycle.push(next);
                    return Err(cycle);
                }
                path.push(next);
            }
        }
        for m in ready {
            remaining.remove(&m);
            done.push(m);
        }
    }
    Ok(done)
}

#[test]
fn the_modules_of_src_import_each_other_without_a_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let known: BTreeSet<String> = files.iter().filter_map(|f| module_of(&src, f)).collect();
    assert!(known.len() > 10, "the modules of src/: {known:?}");
    let mut graph: BTreeMap<String, BTreeSet<String>> = known.iter().map(|m| (m.clone(), BTreeSet::new())).collect();
    for file in &files {
        let Some(module) = module_of(&src, file) else { continue };
        let text = std::fs::read_to_string(file).expect("a source file can be read");
        let deps = graph.entry(module.clone()).or_default();
        deps.extend(references(&text, &known).into_iter().filter(|d| *d != module));
    }
    match order(&graph) {
        Ok(order) => eprintln!("leaves first: {}", order.join(" < ")),
        Err(cycle) => panic!("an import cycle: {}", cycle.join(" -> ")),
    }
}

#[test]
fn the_check_finds_a_cycle_and_ignores_foreign_paths() {
    let known: BTreeSet<String> = ["a", "b", "c"].into_iter().map(String::from).collect();
    let text =
        "use crate::a::X;\nlet y = crate::b::f();\n$crate::c::g();\nlet z = my_crate::c::h();\n/// [`crate::c`]\n";
    assert_eq!(references(text, &known), ["a", "b"].into_iter().map(String::from).collect());
    let graph = |edges: &[(&str, &str)]| {
        let mut g: BTreeMap<String, BTreeSet<String>> = known.iter().map(|m| (m.clone(), BTreeSet::new())).collect();
        for (from, to) in edges {
            g.entry(from.to_string()).or_default().insert(to.to_string());
        }
        g
    };
    assert_eq!(order(&graph(&[("a", "b"), ("b", "c")])), Ok(vec!["c".into(), "b".into(), "a".into()]));
    let cycle = order(&graph(&[("a", "b"), ("b", "c"), ("c", "a")])).unwrap_err();
    assert_eq!(cycle.first(), cycle.last());
    assert_eq!(cycle.len(), 4, "{cycle:?}");
}
