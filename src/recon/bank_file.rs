//! Reading the bank's settlement file, a line at a time: header
//! `value_date,terminal_id,stan,rrn,approval_code,amount_idr,type` (UTF-8, optional BOM, LF or
//! CRLF, quoted fields). A line that cannot be used is reported with its number and reason, and
//! reading goes on. Lines are borrowed from the reader's buffer, so nothing accumulates.

use std::io::Read;

use crate::{domain::money::Amount, recon::model::EntryType};

pub const HEADER: [&str; 7] = [
    "value_date",
    "terminal_id",
    "stan",
    "rrn",
    "approval_code",
    "amount_idr",
    "type",
];

/// One usable line of the bank's file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BankLine<'a> {
    pub line_no: i64,
    pub terminal_id: &'a str,
    pub stan: &'a str,
    /// Empty when the bank sent none.
    pub rrn: &'a str,
    pub approval_code: &'a str,
    pub amount_minor: i64,
    pub entry_type: EntryType,
}

/// A line that could not be used, with what can still be read of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unusable {
    pub line_no: i64,
    pub reason: String,
    /// The raw fields, clipped, for the exception report.
    pub terminal_id: Option<String>,
    pub stan: Option<String>,
    pub rrn: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct HeaderError(pub String);

/// Reads `reader` to the end, handing each line to `on_line` and the bytes read so far to
/// `on_progress` (every few thousand lines). `value_date` is the date being reconciled: a line
/// for another date is unusable here. Stops early when `on_line` returns false.
pub fn read(
    reader: impl Read,
    value_date: &str,
    mut on_line: impl FnMut(Result<BankLine<'_>, Unusable>) -> bool,
    mut on_progress: impl FnMut(u64),
) -> Result<u64, HeaderError> {
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .buffer_capacity(256 * 1024)
        .from_reader(reader);
    crate::csv_input::check_header(&mut csv, &HEADER).map_err(HeaderError)?;
    // The header is line 1. The csv crate does not count a CRLF header's terminator, so its line
    // numbers are corrected by what it reports right after the header.
    let shift = 2 - csv.position().line() as i64;
    let mut record = csv::ByteRecord::new();
    let mut lines = 0u64;
    loop {
        let line_no = csv.position().line() as i64 + shift;
        match csv.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                lines += 1;
                let line_no = record
                    .position()
                    .map_or(line_no, |p| p.line() as i64 + shift);
                if !on_line(parse_line(&record, line_no, value_date)) {
                    break;
                }
            }
            Err(error) => {
                lines += 1;
                let unusable = Unusable {
                    line_no,
                    reason: format!("unreadable line: {error}"),
                    terminal_id: None,
                    stan: None,
                    rrn: None,
                };
                if !on_line(Err(unusable)) {
                    break;
                }
                // An I/O error does not advance; stop rather than spin.
                if matches!(error.kind(), csv::ErrorKind::Io(_)) {
                    break;
                }
            }
        }
        if lines % 8192 == 0 {
            on_progress(csv.position().byte());
        }
    }
    on_progress(csv.position().byte());
    Ok(lines)
}

/// Checks one line; the first problem found is the reason.
pub fn parse_line<'r>(
    record: &'r csv::ByteRecord,
    line_no: i64,
    value_date: &str,
) -> Result<BankLine<'r>, Unusable> {
    let field = |i: usize| -> Result<&'r str, ()> {
        std::str::from_utf8(record.get(i).unwrap_or_default())
            .map(str::trim)
            .map_err(|_| ())
    };
    let unusable = |reason: String| {
        let clip = |i: usize| {
            field(i)
                .ok()
                .filter(|s| !s.is_empty())
                .map(|s| s.chars().take(40).collect())
        };
        Unusable {
            line_no,
            reason,
            terminal_id: clip(1),
            stan: clip(2),
            rrn: clip(3),
        }
    };
    if record.len() != HEADER.len() {
        return Err(unusable(format!(
            "expected {} fields, found {}",
            HEADER.len(),
            record.len()
        )));
    }
    let mut fields = [""; 7];
    for (i, slot) in fields.iter_mut().enumerate() {
        *slot = field(i).map_err(|()| unusable(format!("{} is not UTF-8", HEADER[i])))?;
    }
    let [date, terminal_id, stan, rrn, approval_code, amount, kind] = fields;
    // The reconciled date is a valid date, so a line that carries it needs no parsing.
    if date != value_date && crate::business_day::parse_date(date).is_none() {
        return Err(unusable(format!(
            "value_date '{}' is not a date YYYY-MM-DD",
            clip(date)
        )));
    }
    if date != value_date {
        return Err(unusable(format!(
            "value_date {date} is not the reconciled date {value_date}"
        )));
    }
    if terminal_id.is_empty() || terminal_id.len() > 16 {
        return Err(unusable("terminal_id is empty or longer than 16".into()));
    }
    if stan.len() != 6 || !stan.bytes().all(|b| b.is_ascii_digit()) {
        return Err(unusable(format!("stan '{}' is not 6 digits", clip(stan))));
    }
    if rrn.len() > 32 || approval_code.len() > 16 {
        return Err(unusable("rrn or approval_code is too long".into()));
    }
    let amount_minor = match Amount::parse(amount) {
        Ok(amount) => amount.minor_units(),
        Err(invalid) => return Err(unusable(format!("amount_idr: {}", invalid.message))),
    };
    let Some(entry_type) = EntryType::parse(kind) else {
        return Err(unusable(format!(
            "type '{}' is not SALE, VOID or REFUND",
            clip(kind)
        )));
    };
    Ok(BankLine {
        line_no,
        terminal_id,
        stan,
        rrn,
        approval_code,
        amount_minor,
        entry_type,
    })
}

fn clip(text: &str) -> String {
    text.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(text: &str) -> (Vec<String>, Result<u64, HeaderError>) {
        let mut seen = Vec::new();
        let result = read(
            text.as_bytes(),
            "2026-11-23",
            |line| {
                seen.push(match line {
                    Ok(l) => format!(
                        "{} ok {} {} {}",
                        l.line_no,
                        l.rrn,
                        l.amount_minor,
                        l.entry_type.as_str()
                    ),
                    Err(u) => format!("{} bad {}", u.line_no, u.reason),
                });
                true
            },
            |_| {},
        );
        (seen, result)
    }

    #[test]
    fn bom_crlf_quotes_and_line_numbers() {
        let text = "\u{feff}value_date,terminal_id,stan,rrn,approval_code,amount_idr,type\r\n\
                    2026-11-23,SMD00001,000001,\"000000000001\",A1B2C3,25000,SALE\r\n\
                    2026-11-23,SMD00001,000002,,,1250.50,VOID\r\n";
        let (seen, lines) = read_all(text);
        assert_eq!(lines.unwrap(), 2);
        assert_eq!(
            seen,
            ["2 ok 000000000001 2500000 SALE", "3 ok  125050 VOID"]
        );
    }

    #[test]
    fn every_kind_of_bad_line_is_named_and_reading_goes_on() {
        let text = "value_date,terminal_id,stan,rrn,approval_code,amount_idr,type\n\
                    2026-11-22,SMD00001,000001,1,A,100,SALE\n\
                    2026-11-23,SMD00001,12,1,A,100,SALE\n\
                    2026-11-23,SMD00001,000003,1,A,-5,SALE\n\
                    2026-11-23,SMD00001,000004,1,A,100,CASH\n\
                    2026-11-23,SMD00001,000005\n\
                    2026-11-23,SMD00001,000006,1,A,1.005,SALE\n\
                    2026-11-23,SMD00001,000007,1,A,100,SALE\n";
        let (seen, _) = read_all(text);
        assert_eq!(seen.len(), 7);
        assert!(seen[0].contains("not the reconciled date"), "{}", seen[0]);
        assert!(seen[1].contains("stan"), "{}", seen[1]);
        assert!(seen[2].starts_with("4 bad amount_idr"), "{}", seen[2]);
        assert!(seen[3].contains("type 'CASH'"), "{}", seen[3]);
        assert!(
            seen[4].contains("expected 7 fields, found 3"),
            "{}",
            seen[4]
        );
        assert!(seen[5].starts_with("7 bad amount_idr"), "{}", seen[5]);
        assert_eq!(seen[6], "8 ok 1 10000 SALE");
    }

    #[test]
    fn a_wrong_header_is_refused_whole() {
        let (_, result) = read_all("date,terminal,stan\n2026-11-23,a,b\n");
        assert!(result.unwrap_err().0.contains("the header must be"));
    }
}
