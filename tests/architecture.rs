//! The house rules of `src/`, checked on the source: the top-level modules depend on each other
//! in one direction only (no cycles), and the layers below the services (domain ← model ← ledger
//! ← store) never reach up. A dependency is any `crate::module` path outside `#[cfg(test)]` code.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

type Graph = BTreeMap<String, BTreeSet<String>>;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

/// The top-level names inside `crate::{…}`: `a::b, c, d::{e, f}` gives a, c, d.
fn names_in_braces(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let (mut depth, mut current) = (0, String::new());
    for ch in text.chars() {
        match ch {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                names.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(ch);
    }
    names.push(current);
    names
        .iter()
        .filter_map(|name| {
            let name: String = name
                .trim_start()
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            (!name.is_empty()).then_some(name)
        })
        .collect()
}

/// The modules a source text names through `crate::`.
fn named_modules(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(inner) = rest.strip_prefix('{') {
            let mut depth = 1;
            let end = inner
                .char_indices()
                .find(|(_, ch)| {
                    match ch {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        _ => {}
                    }
                    depth == 0
                })
                .map_or(inner.len(), |(i, _)| i);
            found.extend(names_in_braces(&inner[..end]));
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            found.push(name);
        }
    }
    found
}

/// The modules under `dir` (a file `X.rs` or a folder `X/` each; `skip` left out) and which
/// of them each names, read from the source outside `#[cfg(test)]` code (test modules may reach
/// anywhere). `paths` turns a file's text into `crate::X` paths for the scanner.
fn graph_of(dir: &Path, skip: &[&str], paths: impl Fn(&Path, &str) -> String) -> Graph {
    let mut files = Vec::new();
    rust_files(dir, &mut files);
    let top = |path: &Path| -> String {
        let first = path.strip_prefix(dir).unwrap().components().next().unwrap();
        let name = first.as_os_str().to_string_lossy();
        name.trim_end_matches(".rs").to_string()
    };
    let modules: BTreeSet<String> = files
        .iter()
        .map(|path| top(path))
        .filter(|name| !skip.contains(&name.as_str()))
        .collect();
    let mut graph = Graph::new();
    for path in &files {
        let me = top(path);
        let text = std::fs::read_to_string(path).unwrap();
        let text = text.split("#[cfg(test)]").next().unwrap();
        for name in named_modules(&paths(path, text)) {
            if name != me && modules.contains(&name) {
                graph.entry(me.clone()).or_default().insert(name);
            }
        }
    }
    graph
}

fn module_graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    graph_of(&src, &["lib", "main"], |_, text| text.to_string())
}

/// A cycle through `start`, if there is one: the path back to it.
fn cycle_through(graph: &Graph, start: &str) -> Option<Vec<String>> {
    fn walk(
        graph: &Graph,
        at: &str,
        start: &str,
        path: &mut Vec<String>,
        seen: &mut BTreeSet<String>,
    ) -> bool {
        for next in graph.get(at).into_iter().flatten() {
            if next == start {
                path.push(next.clone());
                return true;
            }
            if seen.insert(next.clone()) {
                path.push(next.clone());
                if walk(graph, next, start, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![start.to_string()];
    walk(graph, start, start, &mut path, &mut BTreeSet::new()).then_some(path)
}

#[test]
fn top_level_modules_have_no_dependency_cycles() {
    let graph = module_graph();
    assert!(graph.len() > 10, "the scan found too little: {graph:?}");
    for module in graph.keys() {
        if let Some(cycle) = cycle_through(&graph, module) {
            panic!("dependency cycle: {}", cycle.join(" -> "));
        }
    }
}

#[test]
fn the_lower_layers_never_reach_up() {
    let graph = module_graph();
    let depends = |module: &str| graph.get(module).cloned().unwrap_or_default();
    let allowed = |module: &str, below: &[&str]| {
        let reached: Vec<String> = depends(module)
            .into_iter()
            .filter(|name| !below.contains(&name.as_str()))
            .collect();
        assert!(
            reached.is_empty(),
            "{module} depends on {reached:?}; it may use only {below:?}"
        );
    };
    allowed("domain", &[]);
    allowed("model", &["domain", "auth"]);
    allowed("ledger", &["domain", "model"]);
    // The store reads and writes; the rules it runs come from below it (jobs from above are
    // handed in as `LedgerJob`/`DayJob`). Besides the layers below, it uses the key vault's
    // sealed-card type, the business-date arithmetic, the close's report type and the metrics.
    allowed(
        "store",
        &[
            "domain",
            "model",
            "ledger",
            "auth",
            "business_day",
            "close",
            "metrics",
        ],
    );
    for module in ["domain", "model", "ledger", "store"] {
        for above in ["http", "cli", "startup", "redemption", "gateway", "bench"] {
            assert!(
                !depends(module).contains(above),
                "{module} depends on {above}"
            );
        }
    }
}

/// The store's own modules (`src/store/X.rs` or `src/store/X/`) and which of them each uses,
/// through `crate::store::X` or, in a file directly under `src/store`, `super::X`.
fn store_graph() -> Graph {
    let store = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/store");
    graph_of(&store, &["mod"], |path, text| {
        let text = text.replace("crate::store::", "crate::");
        if path.parent() == Some(store.as_path()) {
            text.replace("super::", "crate::")
        } else {
            text
        }
    })
}

#[test]
fn the_stores_own_modules_have_no_dependency_cycles() {
    let graph = store_graph();
    assert!(
        graph.contains_key("registry") && graph.contains_key("sqlite"),
        "the scan found too little: {graph:?}"
    );
    for module in graph.keys() {
        if let Some(cycle) = cycle_through(&graph, module) {
            panic!("dependency cycle inside the store: {}", cycle.join(" -> "));
        }
    }
}

#[test]
fn the_scanner_sees_braced_and_plain_paths() {
    let text = "use crate::{a::b, c, d::{e, f}};\nlet x = crate::g::h();";
    assert_eq!(named_modules(text), ["a", "c", "d", "g"]);
}
