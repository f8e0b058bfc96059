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
