//! What the CSV files people send have in common: a header line to check, whatever BOM, case or
//! spacing a spreadsheet put around its names.

use std::io::Read;

/// Reads the header line and checks it names exactly `expected`, in order; the error says what
/// was found.
pub fn check_header<R: Read>(csv: &mut csv::Reader<R>, expected: &[&str]) -> Result<(), String> {
    let header = csv
        .headers()
        .map_err(|error| format!("cannot read the header line: {error}"))?;
    check_header_names(header.iter(), expected)
}

/// Checks that the header's field names are exactly `expected`, in order.
pub fn check_header_names<'a>(
    header: impl Iterator<Item = &'a str>,
    expected: &[&str],
) -> Result<(), String> {
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
        return Err(format!(
            "the header must be '{}', found '{}'",
            expected.join(","),
            names.join(",")
        ));
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
        assert_eq!(error, "the header must be 'a,b', found 'a,c'");
    }
}
