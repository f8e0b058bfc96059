//! What the CSV files people send have in common: a header line to check, whatever BOM, case or
//! spacing a spreadsheet put around its names.

use std::io::Read;

/// Why a file's header line was refused. The text is the API's (English); the pages show each
/// case in their reader's language.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("the first line is blank; it must be the header")]
    Blank,
    #[error("the header line is too long")]
    TooLong,
    #[error("the header line is not UTF-8")]
    NotUtf8,
    #[error("cannot read the header line: {0}")]
    Unreadable(String),
    /// Other column names than the expected ones (both lists comma-joined).
    #[error("the header must be '{expected}', found '{found}'")]
    Wrong { expected: String, found: String },
}

/// Reads the header line and checks it names exactly `expected`, in order; the error says what
/// was found.
pub fn check_header<R: Read>(
    csv: &mut csv::Reader<R>,
    expected: &[&str],
) -> Result<(), HeaderError> {
    let header = csv
        .headers()
        .map_err(|error| HeaderError::Unreadable(error.to_string()))?;
    check_header_names(header.iter(), expected)
}

/// Checks that the header's field names are exactly `expected`, in order.
pub fn check_header_names<'a>(
    header: impl Iterator<Item = &'a str>,
    expected: &[&str],
) -> Result<(), HeaderError> {
    let names: Vec<String> = header
        .enumerate()
        .map(|(i, name)| {
            let name = if i == 0 {
                name.trim_start_matches('\u{feff}')
            } else {
                name
            };
            name.trim().to_ascii_lowercase()
        })
        .collect();
    if names != expected {
        return Err(HeaderError::Wrong {
            expected: expected.join(","),
            found: crate::domain::text::printable(&names.join(","), 200),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn bom_case_and_spaces_are_forgiven_other_names_are_not() {
        let mut good = csv::Reader::from_reader("\u{feff}A, b \n1,2\n".as_bytes());
        assert!(super::check_header(&mut good, &["a", "b"]).is_ok());
        let mut bad = csv::Reader::from_reader("a,c\n".as_bytes());
        let error = super::check_header(&mut bad, &["a", "b"]).unwrap_err();
        assert_eq!(error.to_string(), "the header must be 'a,b', found 'a,c'");
    }
}
