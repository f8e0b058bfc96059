//! For tests that read the crate's own sources (which codes and actions they write), so that the
//! pages' words never fall behind what the code can produce.

use std::path::{Path, PathBuf};

/// The `.rs` files under `src/{relative}`, with their text (each cut at its test module).
pub fn rust_sources(relative: &str) -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                out.push(path);
            }
        }
    }
    let mut paths = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("src")
            .join(relative),
        &mut paths,
    );
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let text = text.split("#[cfg(test)]").next().unwrap().to_string();
            (path, text)
        })
        .collect()
}
