//! Small helpers for SQL text that several of the store's modules build: parameter lists and
//! `LIKE` patterns. A module of its own, below the rest of the store, so that the modules which
//! use it do not depend on each other for it.

/// Builds `$first, $first+1, …` for an `IN (…)` list of `count` values.
pub(crate) fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The condition that keeps rows to a verifier's kelurahan (`within`), with its placeholders
/// from `$first`: `Some("")` when there is no such limit, `None` when the limit is the empty
/// set (the query answers nothing).
pub(crate) fn within_kelurahan(
    column: &str,
    within: Option<&[String]>,
    first: usize,
) -> Option<String> {
    match within {
        None => Some(String::new()),
        Some([]) => None,
        Some(names) => Some(format!(
            "AND {column} IN ({})",
            placeholders(first, names.len())
        )),
    }
}

/// A `LIKE` pattern (escape character `\`) matching text that contains `part` in lower case.
pub(crate) fn contains_pattern(part: &str) -> String {
    let mut pattern = String::from("%");
    for c in part.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}
