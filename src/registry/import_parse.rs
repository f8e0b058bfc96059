//! Reading a registry file: the checks one line needs no database for (KK number, NIK and the
//! birth date and sex it encodes, name, relation, address), and a streaming CSV reader that
//! hands out lines in chunks so that a file of a million members is read in constant memory.
//! What needs the whole file or the registry (a NIK twice, a KK's head and address, a NIK in
//! another household, a KK registered already) is the store's, once the file is in.

use std::io::Read;

use chrono::NaiveDate;

use crate::{
    domain::{
        household::Address,
        identity::{KkNumber, Nik},
        limits::NAME_CHARS,
        member::{check_identity, parse_birth_date, Relation, Sex},
        text::bounded,
    },
    model::registry_import::ImportLineError,
};

pub const HEADER: [&str; 11] = [
    "kk_number",
    "nik",
    "name",
    "relation",
    "sex",
    "birth_date",
    "street",
    "rt",
    "rw",
    "kelurahan",
    "kecamatan",
];

/// Lines per chunk handed to the stager.
pub const CHUNK_ROWS: usize = 5_000;

/// A line that passed its own checks (ids are given when it is staged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedLine {
    pub line_no: i64,
    pub kk_number: String,
    pub nik: String,
    pub name: String,
    pub relation: Relation,
    pub sex: Sex,
    pub birth_date: NaiveDate,
    pub address: Address,
}

/// One chunk of a file: the good lines and the refused ones, in file order.
#[derive(Debug, Default)]
pub struct Chunk {
    pub lines: Vec<CheckedLine>,
    pub errors: Vec<ImportLineError>,
    /// Data rows read in this chunk (good or not).
    pub rows: u64,
}

/// Checks one line's eleven fields; every problem of the line is reported.
pub fn check_line(
    line_no: i64,
    fields: [&str; 11],
    today: NaiveDate,
) -> Result<CheckedLine, Vec<ImportLineError>> {
    let [kk, nik, name, relation, sex, birth_date, street, rt, rw, kelurahan, kecamatan] = fields;
    let kk = KkNumber::parse_as_printed(kk);
    let kk_text = kk.as_ref().ok().map(|kk| kk.as_str().to_string());
    let mut errors = Vec::new();
    let mut refuse = |field: &str, invalid: crate::domain::Invalid| {
        errors.push(ImportLineError {
            line_no,
            kk_number: kk_text.clone(),
            field: field.to_string(),
            code: invalid.code.to_string(),
            message: invalid.message,
        })
    };
    let kk = kk.map_err(|invalid| refuse("kk_number", invalid)).ok();
    let nik = Nik::parse_as_printed(nik)
        .map_err(|invalid| refuse("nik", invalid))
        .ok();
    let name = bounded(name, NAME_CHARS, "name")
        .map_err(|invalid| refuse("name", invalid))
        .ok();
    let relation = Relation::parse(relation.trim())
        .map_err(|invalid| refuse("relation", invalid))
        .ok();
    let sex = Sex::parse(sex.trim())
        .map_err(|invalid| refuse("sex", invalid))
        .ok();
    let birth_date = parse_birth_date(birth_date, today)
        .map_err(|invalid| refuse("birth_date", invalid))
        .ok();
    if let (Some(nik), Some(sex), Some(birth_date)) = (&nik, sex, birth_date) {
        if let Err(invalid) = check_identity(nik, sex, birth_date, today) {
            refuse("nik", invalid);
        }
    }
    let address = Address {
        street: street.to_string(),
        rt: rt.to_string(),
        rw: rw.to_string(),
        kelurahan: kelurahan.to_string(),
        kecamatan: kecamatan.to_string(),
    }
    .normalised();
    let address = match address {
        Ok(address) => Some(address),
        Err(refusals) => {
            for (field, invalid) in refusals.iter() {
                refuse(field.trim_start_matches("address."), invalid.clone());
            }
            None
        }
    };
    match (kk, nik, name, relation, sex, birth_date, address) {
        (
            Some(kk),
            Some(nik),
            Some(name),
            Some(relation),
            Some(sex),
            Some(birth_date),
            Some(address),
        ) if errors.is_empty() => Ok(CheckedLine {
            line_no,
            kk_number: kk.as_str().to_string(),
            nik: nik.as_str().to_string(),
            name,
            relation,
            sex,
            birth_date,
            address,
        }),
        _ => Err(errors),
    }
}

/// Why a registry file could not be read through.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The header was not the expected one; nothing was read.
    #[error(transparent)]
    Header(crate::csv_input::HeaderError),
    /// The upload broke off: what was read is not the whole file, so nothing is kept.
    #[error("the upload broke off: {0}")]
    Interrupted(String),
}

fn row_error(line_no: i64, code: &str, message: String) -> ImportLineError {
    ImportLineError {
        line_no,
        kk_number: None,
        field: "row".into(),
        code: code.into(),
        message,
    }
}

/// Reads a registry CSV (UTF-8, optional BOM, LF or CRLF, quoted fields) from `reader`, calling
/// `sink` with each chunk; stops early when `sink` returns false (the receiver went away).
pub fn read_csv(
    reader: impl Read,
    today: NaiveDate,
    mut sink: impl FnMut(Chunk) -> bool,
) -> Result<(), ReadError> {
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(reader);
    crate::csv_input::check_header(&mut csv, &HEADER).map_err(ReadError::Header)?;
    let mut chunk = Chunk::default();
    let mut record = csv::StringRecord::new();
    // The header is line 1; the csv crate does not count a CRLF header's terminator, so line
    // numbers are corrected by the offset seen right after the header.
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
                    let message = format!("expected 11 fields, found {}", record.len());
                    chunk
                        .errors
                        .push(row_error(line_no, "wrong_field_count", message));
                } else {
                    let fields: [&str; 11] = std::array::from_fn(|at| &record[at]);
                    match check_line(line_no, fields, today) {
                        Ok(line) => chunk.lines.push(line),
                        Err(errors) => chunk.errors.extend(errors),
                    }
                }
            }
            Err(error) if matches!(error.kind(), csv::ErrorKind::Utf8 { .. }) => {
                chunk.rows += 1;
                let line_no = line_of(error.position(), before);
                chunk
                    .errors
                    .push(row_error(line_no, "invalid_utf8", error.to_string()));
            }
            Err(error) => return Err(ReadError::Interrupted(error.to_string())),
        }
        if chunk.rows as usize >= CHUNK_ROWS && !sink(std::mem::take(&mut chunk)) {
            return Ok(());
        }
    }
    sink(chunk);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 7).unwrap()
    }

    fn read(text: &str) -> (Vec<CheckedLine>, Vec<ImportLineError>) {
        let (mut lines, mut errors) = (Vec::new(), Vec::new());
        read_csv(text.as_bytes(), today(), |chunk| {
            lines.extend(chunk.lines);
            errors.extend(chunk.errors);
            true
        })
        .unwrap();
        (lines, errors)
    }

    const HEAD: &str =
        "kk_number,nik,name,relation,sex,birth_date,street,rt,rw,kelurahan,kecamatan\n";

    #[test]
    fn a_good_line_is_read_with_its_kk_as_digits() {
        let (lines, errors) = read(&format!(
            "{HEAD}6472 0109 0999 0001,6472015501800001,Siti,head,female,1980-01-15,Jl. Mawar 1,3,2,Pelita,Samarinda Ilir\r\n"
        ));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(lines[0].kk_number, "6472010909990001");
        assert_eq!(lines[0].line_no, 2);
        assert_eq!(lines[0].address.rt, "003");
    }

    #[test]
    fn every_problem_of_a_line_is_reported_with_its_number_and_kk() {
        let (lines, errors) = read(&format!(
            "{HEAD}6472010909990001,6472015501800001,Siti,head,female,1980-01-15,Jl. Mawar 1,3,2,Pelita,Samarinda Ilir\n\
             6472010909990001,6472015501800002,,boss,female,1980-01-16,Jl. Mawar 1,3,2,Pelita,Samarinda Ilir\n\
             123,64720155018,Budi,child,male,2010-01-01,Jl. Mawar 1,3,2,Pelita,Samarinda Ilir\n\
             only,three,fields\n"
        ));
        assert_eq!(lines.len(), 1);
        let found: Vec<(i64, Option<&str>, &str, &str)> = errors
            .iter()
            .map(|e| {
                (
                    e.line_no,
                    e.kk_number.as_deref(),
                    e.field.as_str(),
                    e.code.as_str(),
                )
            })
            .collect();
        assert_eq!(
            found,
            [
                (3, Some("6472010909990001"), "name", "blank"),
                (3, Some("6472010909990001"), "relation", "invalid_relation"),
                (3, Some("6472010909990001"), "nik", "nik_mismatch"),
                (4, None, "kk_number", "invalid_kk_number"),
                (4, None, "nik", "invalid_nik"),
                (5, None, "row", "wrong_field_count"),
            ]
        );
    }

    #[test]
    fn a_refusal_never_echoes_a_control_character() {
        let (_, errors) = read(&format!(
            "{HEAD}6472010909990001,6472015501800001,Siti,he\u{0}ad,fe\u{7}male,1980-01-15,Jl. Mawar 1,3,2,Pelita,Samarinda Ilir\n"
        ));
        assert_eq!(errors.len(), 2, "{errors:?}");
        for error in errors {
            assert!(!error.message.chars().any(char::is_control), "{error:?}");
        }
    }

    #[test]
    fn a_wrong_header_reads_nothing() {
        let refused = read_csv("kk,nik\n1,2\n".as_bytes(), today(), |_| true);
        assert!(matches!(refused, Err(ReadError::Header(_))));
    }
}
