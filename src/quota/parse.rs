//! Reading quota rows: per-row checks that need no database (period, program code, KK number,
//! amount), and a streaming CSV reader that hands out rows in chunks so that a file of any size is
//! read in constant memory. The unknown household is found as the rows are staged (the store),
//! the same household twice once the whole file is in (`tally`).

use std::{collections::HashMap, io::Read};

use crate::{
    domain::{
        identity::KkNumber,
        ids::ProgramId,
        money::{Amount, MAX_QUOTA_LINE_MINOR},
    },
    model::quota::{LineError, StagedLine},
};

pub const HEADER: [&str; 4] = ["period", "program_code", "kk_number", "amount_idr"];

/// Rows per chunk handed to the stager: big enough for fast multi-row inserts, small enough to keep
/// memory flat.
pub const CHUNK_ROWS: usize = 5_000;

/// One chunk of a file: the good rows and the problems, in file order.
#[derive(Debug, Default)]
pub struct Chunk {
    pub lines: Vec<StagedLine>,
    pub errors: Vec<LineError>,
    /// Data rows read in this chunk (good or not).
    pub rows: u64,
    /// Bytes of the file read so far, for progress.
    pub bytes_read: u64,
}

/// Checks one row's four fields; every problem in the row is reported, not just the first.
pub fn check_row(
    line_no: i64,
    fields: [&str; 4],
    programs: &HashMap<String, ProgramId>,
) -> Result<StagedLine, Vec<LineError>> {
    let [period, program_code, kk_number, amount] = fields.map(str::trim);
    let mut errors = Vec::new();
    let mut refuse = |field: &str, code: &str, message: String| {
        errors.push(LineError {
            line_no,
            field: field.to_string(),
            code: code.to_string(),
            message,
        })
    };
    if !is_period(period) {
        refuse(
            "period",
            "invalid_period",
            format!("'{}' is not a period YYYY-MM", clip(period)),
        );
    }
    let program_id = programs.get(program_code).copied();
    if program_id.is_none() {
        refuse(
            "program_code",
            "unknown_program",
            format!("no program '{}'", clip(program_code)),
        );
    }
    let kk = KkNumber::parse(kk_number);
    if let Err(invalid) = &kk {
        refuse("kk_number", invalid.code, invalid.message.clone());
    }
    let amount = Amount::parse(amount)
        .and_then(|amount| amount.at_most(MAX_QUOTA_LINE_MINOR, "a household's quota line"));
    if let Err(invalid) = &amount {
        refuse("amount_idr", invalid.code, invalid.message.clone());
    }
    match (program_id, kk, amount) {
        (Some(program_id), Ok(kk), Ok(amount)) if errors.is_empty() => Ok(StagedLine {
            line_no,
            program_id,
            kk_number: kk.as_str().to_string(),
            period: period.to_string(),
            amount_minor: amount.minor_units(),
        }),
        _ => Err(errors),
    }
}

/// `YYYY-MM` with a real month and a plausible year.
pub fn is_period(text: &str) -> bool {
    let bytes = text.as_bytes();
    if bytes.len() != 7 || bytes[4] != b'-' {
        return false;
    }
    let (Ok(year), Ok(month)) = (text[..4].parse::<u32>(), text[5..].parse::<u32>()) else {
        return false;
    };
    text[..4].bytes().all(|b| b.is_ascii_digit())
        && text[5..].bytes().all(|b| b.is_ascii_digit())
        && (2000..=2099).contains(&year)
        && (1..=12).contains(&month)
}

fn clip(text: &str) -> String {
    crate::domain::text::printable(text, 40)
}

/// Why a quota file could not be read through.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file's header was not the expected one; nothing was read.
    #[error(transparent)]
    Header(crate::csv_input::HeaderError),
    /// The upload broke off (the client went away, the connection failed): what was read cannot
    /// be trusted to be the whole file, so the batch is not finished.
    #[error("the upload broke off: {0}")]
    Interrupted(String),
}

/// Reads a CSV quota file from `reader` (UTF-8, optional BOM, LF or CRLF, quoted fields), calling
/// `sink` with each chunk; stops early when `sink` returns false (the receiver went away).
pub fn read_csv(
    reader: impl Read,
    programs: &HashMap<String, ProgramId>,
    mut sink: impl FnMut(Chunk) -> bool,
) -> Result<(), ReadError> {
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(reader);
    crate::csv_input::check_header(&mut csv, &HEADER).map_err(ReadError::Header)?;
    let mut chunk = Chunk::default();
    let mut record = csv::StringRecord::new();
    // The header is line 1, so the first data row starts on line 2. The csv crate does not count
    // the header's terminator when it is CRLF, so its line numbers are corrected by the offset
    // seen right after the header.
    let shift = 2 - csv.position().line() as i64;
    let line_of = |position: Option<&csv::Position>, fallback: u64| {
        position.map_or(fallback, |p| p.line()) as i64 + shift
    };
    loop {
        let before = csv.position().line();
        match csv.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line_no = line_of(record.position(), before);
                chunk.rows += 1;
                if record.len() != HEADER.len() {
                    chunk.errors.push(LineError {
                        line_no,
                        field: "row".into(),
                        code: "wrong_field_count".into(),
                        message: format!("expected 4 fields, found {}", record.len()),
                    });
                } else {
                    let fields = [&record[0], &record[1], &record[2], &record[3]];
                    match check_row(line_no, fields, programs) {
                        Ok(line) => chunk.lines.push(line),
                        Err(errors) => chunk.errors.extend(errors),
                    }
                }
            }
            Err(error) if matches!(error.kind(), csv::ErrorKind::Utf8 { .. }) => {
                chunk.rows += 1;
                chunk.errors.push(LineError {
                    line_no: line_of(error.position(), before),
                    field: "row".into(),
                    code: "invalid_utf8".into(),
                    message: error.to_string(),
                });
            }
            Err(error) => return Err(ReadError::Interrupted(error.to_string())),
        }
        if chunk.rows as usize >= CHUNK_ROWS {
            chunk.bytes_read = csv.position().byte();
            if !sink(std::mem::take(&mut chunk)) {
                return Ok(());
            }
        }
    }
    chunk.bytes_read = csv.position().byte();
    sink(chunk);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn programs() -> HashMap<String, ProgramId> {
        HashMap::from([("SSN-SEMBAKO".to_string(), ProgramId::new())])
    }

    fn read(text: &str) -> (Vec<StagedLine>, Vec<LineError>, u64) {
        let mut lines = Vec::new();
        let mut errors = Vec::new();
        let mut rows = 0;
        read_csv(text.as_bytes(), &programs(), |chunk| {
            lines.extend(chunk.lines);
            errors.extend(chunk.errors);
            rows += chunk.rows;
            true
        })
        .unwrap();
        (lines, errors, rows)
    }

    #[test]
    fn bom_crlf_and_quotes_are_read() {
        let text = "\u{feff}period,program_code,kk_number,amount_idr\r\n\"2026-11\",SSN-SEMBAKO,\"6472010101230001\",\"200000.00\"\r\n2026-11,SSN-SEMBAKO,6472010101230002,150000\r\n";
        let (lines, errors, rows) = read(text);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(rows, 2);
        assert_eq!(lines[0].line_no, 2);
        assert_eq!(lines[0].amount_minor, 20_000_000);
        assert_eq!(lines[1].line_no, 3);
        assert_eq!(lines[1].kk_number, "6472010101230002");
    }

    #[test]
    fn every_bad_field_is_reported_with_its_line() {
        let text = "period,program_code,kk_number,amount_idr\n2026-13,NOPE,12345,-5\n2026-11,SSN-SEMBAKO,6472010101230001,0.001\n2026-11,SSN-SEMBAKO\n";
        let (lines, errors, rows) = read(text);
        assert!(lines.is_empty());
        assert_eq!(rows, 3);
        let codes: Vec<(i64, &str)> = errors
            .iter()
            .map(|e| (e.line_no, e.code.as_str()))
            .collect();
        assert_eq!(
            codes,
            vec![
                (2, "invalid_period"),
                (2, "unknown_program"),
                (2, "invalid_kk_number"),
                (2, "amount_not_positive"),
                (3, "amount_too_precise"),
                (4, "wrong_field_count"),
            ]
        );
    }

    #[test]
    fn a_wrong_header_reads_nothing() {
        let result = read_csv("kk,amount\n1,2\n".as_bytes(), &programs(), |_| true);
        assert!(result.is_err());
    }

    #[test]
    fn periods_are_real_months() {
        assert!(is_period("2026-01"));
        assert!(is_period("2026-12"));
        assert!(!is_period("2026-00"));
        assert!(!is_period("2026-1"));
        assert!(!is_period("26-01-01"));
        assert!(!is_period("+026-01"));
    }
}
