//! Reading the bank's settlement file, a line at a time: header
//! `value_date,terminal_id,stan,rrn,approval_code,amount_idr,type` (UTF-8, optional BOM, LF or
//! CRLF, quoted fields). A line that cannot be used is reported with its number and reason, and
//! reading goes on. Lines are borrowed from the reader's buffer, so nothing accumulates.

use std::io::Read;

use crate::{csv_input::HeaderError, domain::money::Amount, model::recon::EntryType};

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

/// Why a line of the bank's file could not be used. `Display` is the English the API's
/// exception report carries as `detail`; `code` and `args` let a page say it in its reader's
/// language (the text keyed `line-problem-CODE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineProblem {
    TooLong {
        max_bytes: usize,
    },
    /// Not CSV as RFC 4180 reads it (an unclosed quote, say); the reader's reason.
    Unreadable {
        reason: &'static str,
    },
    FieldCount {
        expected: usize,
        found: usize,
    },
    NotUtf8 {
        column: &'static str,
    },
    ControlCharacters {
        column: &'static str,
    },
    NotADate {
        value: String,
    },
    OtherDate {
        date: String,
        reconciled: String,
    },
    TerminalId,
    Stan {
        value: String,
    },
    RrnOrApprovalTooLong,
    Amount {
        value: String,
        message: String,
    },
    EntryType {
        value: String,
    },
}

impl LineProblem {
    /// A stable code (recorded with the exception as `detail_code`).
    pub fn code(&self) -> &'static str {
        match self {
            LineProblem::TooLong { .. } => "line_too_long",
            LineProblem::Unreadable { .. } => "line_unreadable",
            LineProblem::FieldCount { .. } => "field_count",
            LineProblem::NotUtf8 { .. } => "not_utf8",
            LineProblem::ControlCharacters { .. } => "control_characters",
            LineProblem::NotADate { .. } => "not_a_date",
            LineProblem::OtherDate { .. } => "other_date",
            LineProblem::TerminalId => "terminal_id",
            LineProblem::Stan { .. } => "stan",
            LineProblem::RrnOrApprovalTooLong => "rrn_too_long",
            LineProblem::Amount { .. } => "amount",
            LineProblem::EntryType { .. } => "entry_type",
        }
    }

    /// The values the words quote, by name.
    pub fn args(&self) -> Vec<(&'static str, String)> {
        match self {
            LineProblem::TooLong { max_bytes } => vec![("max", max_bytes.to_string())],
            LineProblem::FieldCount { expected, found } => vec![
                ("expected", expected.to_string()),
                ("found", found.to_string()),
            ],
            LineProblem::NotUtf8 { column } | LineProblem::ControlCharacters { column } => {
                vec![("column", column.to_string())]
            }
            LineProblem::NotADate { value }
            | LineProblem::Stan { value }
            | LineProblem::Amount { value, .. }
            | LineProblem::EntryType { value } => vec![("value", value.clone())],
            LineProblem::OtherDate { date, reconciled } => {
                vec![("date", date.clone()), ("reconciled", reconciled.clone())]
            }
            LineProblem::Unreadable { .. }
            | LineProblem::TerminalId
            | LineProblem::RrnOrApprovalTooLong => Vec::new(),
        }
    }
}

impl std::fmt::Display for LineProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LineProblem::TooLong { max_bytes } => {
                write!(f, "the line is longer than {max_bytes} bytes")
            }
            LineProblem::Unreadable { reason } => write!(f, "unreadable line: {reason}"),
            LineProblem::FieldCount { expected, found } => {
                write!(f, "expected {expected} fields, found {found}")
            }
            LineProblem::NotUtf8 { column } => write!(f, "{column} is not UTF-8"),
            LineProblem::ControlCharacters { column } => {
                write!(f, "{column} has control characters")
            }
            LineProblem::NotADate { value } => {
                write!(f, "value_date '{value}' is not a date YYYY-MM-DD")
            }
            LineProblem::OtherDate { date, reconciled } => {
                write!(
                    f,
                    "value_date {date} is not the reconciled date {reconciled}"
                )
            }
            LineProblem::TerminalId => f.write_str("terminal_id is empty or longer than 16"),
            LineProblem::Stan { value } => write!(f, "stan '{value}' is not 6 digits"),
            LineProblem::RrnOrApprovalTooLong => f.write_str("rrn or approval_code is too long"),
            LineProblem::Amount { message, .. } => write!(f, "amount_idr: {message}"),
            LineProblem::EntryType { value } => {
                write!(f, "type '{value}' is not SALE, VOID or REFUND")
            }
        }
    }
}

/// A line that could not be used, with what can still be read of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unusable {
    pub line_no: i64,
    /// Boxed: bad lines are rare, and a parsed line's `Result` stays small.
    pub reason: Box<LineProblem>,
    /// The raw fields, clipped, for the exception report.
    pub terminal_id: Option<String>,
    pub stan: Option<String>,
    pub rrn: Option<String>,
}

/// Why a file cannot be reconciled at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    #[error("the file is empty: it has no header line")]
    Empty,
    #[error(transparent)]
    Header(crate::csv_input::HeaderError),
    /// The upload broke off before the end of the file.
    #[error("the upload broke off: {0}")]
    Interrupted(String),
}

/// The longest physical line read; a longer one is reported as malformed and skipped to its end,
/// so a file without line breaks can never fill memory.
pub const MAX_LINE_BYTES: usize = 4_096;

/// Lines between progress reports.
const PROGRESS_EVERY: u64 = 8_192;

/// Reads `reader` to the end, handing each data line to `on_line` and the bytes read so far to
/// `on_progress` (every few thousand lines). Returns how many data lines there were (blank lines
/// are not counted). `value_date` is the date being reconciled: a line for another date is
/// unusable here. Stops early when `on_line` returns false.
///
/// Every record is one physical line: a bank file never breaks a field across lines, so a stray
/// quote makes only its own line malformed instead of swallowing the lines after it.
pub fn read(
    reader: impl Read,
    value_date: &str,
    mut on_line: impl FnMut(Result<BankLine<'_>, Unusable>) -> bool,
    mut on_progress: impl FnMut(u64),
) -> Result<u64, FileError> {
    let mut reader = std::io::BufReader::with_capacity(256 * 1024, reader);
    let mut line = Vec::with_capacity(256);
    let mut record = csv::ByteRecord::new();
    let mut scratch = Vec::new();
    let mut bytes_read = 0u64;
    let io_error = |error: std::io::Error| FileError::Interrupted(error.to_string());

    let header = read_physical_line(&mut reader, &mut line).map_err(io_error)?;
    let Some(header) = header else {
        return Err(FileError::Empty);
    };
    bytes_read += header.consumed as u64;
    let text = line.strip_prefix("\u{feff}".as_bytes()).unwrap_or(&line);
    if text.iter().all(u8::is_ascii_whitespace) {
        let more = std::io::BufRead::fill_buf(&mut reader).map_err(io_error)?;
        return Err(if more.is_empty() {
            FileError::Empty
        } else {
            FileError::Header(HeaderError::Blank)
        });
    }
    if header.too_long {
        return Err(FileError::Header(HeaderError::TooLong));
    }
    split_fields(text, &mut record, &mut scratch)
        .map_err(|reason| FileError::Header(HeaderError::Unreadable(reason.to_string())))?;
    let names = record
        .iter()
        .map(std::str::from_utf8)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| FileError::Header(HeaderError::NotUtf8))?;
    crate::csv_input::check_header_names(names.into_iter(), &HEADER).map_err(FileError::Header)?;

    let mut line_no = 1i64;
    let mut lines = 0u64;
    while let Some(read) = read_physical_line(&mut reader, &mut line).map_err(io_error)? {
        line_no += 1;
        bytes_read += read.consumed as u64;
        if line.iter().all(u8::is_ascii_whitespace) && !read.too_long {
            continue;
        }
        lines += 1;
        let outcome = if read.too_long {
            Err(Unusable::without_fields(
                line_no,
                LineProblem::TooLong {
                    max_bytes: MAX_LINE_BYTES,
                },
            ))
        } else {
            match split_fields(&line, &mut record, &mut scratch) {
                Ok(()) => parse_line(&record, line_no, value_date),
                Err(reason) => Err(Unusable::without_fields(
                    line_no,
                    LineProblem::Unreadable { reason },
                )),
            }
        };
        if !on_line(outcome) {
            break;
        }
        if lines.is_multiple_of(PROGRESS_EVERY) {
            on_progress(bytes_read);
        }
    }
    on_progress(bytes_read);
    Ok(lines)
}

/// What reading one physical line found.
struct PhysicalLine {
    /// Bytes taken from the input, the line break included.
    consumed: usize,
    /// The line was cut at [`MAX_LINE_BYTES`].
    too_long: bool,
}

/// Reads up to the next LF into `line` (without the LF or a CR before it), keeping at most
/// [`MAX_LINE_BYTES`]; `None` at the end of the input.
fn read_physical_line(
    reader: &mut impl std::io::BufRead,
    line: &mut Vec<u8>,
) -> std::io::Result<Option<PhysicalLine>> {
    line.clear();
    let mut consumed = 0;
    let mut too_long = false;
    loop {
        let available = reader.fill_buf()?;
        if available.is_empty() {
            break;
        }
        let (chunk, ended) = match available.iter().position(|&b| b == b'\n') {
            Some(at) => (&available[..at], Some(at + 1)),
            None => (available, None),
        };
        let room = MAX_LINE_BYTES.saturating_sub(line.len());
        if chunk.len() > room {
            too_long = true;
        }
        line.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let taken = ended.unwrap_or(available.len());
        reader.consume(taken);
        consumed += taken;
        if ended.is_some() {
            break;
        }
    }
    if consumed == 0 {
        return Ok(None);
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(Some(PhysicalLine { consumed, too_long }))
}

/// Splits one line into `record`'s fields: comma-separated, a field may be quoted (`"a,b"`, with
/// `""` for a quote inside). A quote left open, text after a closing quote, or a quote inside an
/// unquoted field makes the line unreadable.
fn split_fields(
    line: &[u8],
    record: &mut csv::ByteRecord,
    scratch: &mut Vec<u8>,
) -> Result<(), &'static str> {
    record.clear();
    let mut at = 0;
    loop {
        let rest = &line[at..];
        let leading_spaces = rest.iter().take_while(|&&b| b == b' ').count();
        let end = if rest.get(leading_spaces) == Some(&b'"') {
            scratch.clear();
            let mut i = at + leading_spaces + 1;
            loop {
                let Some(quote) = line[i..].iter().position(|&b| b == b'"') else {
                    return Err("a quoted field is not closed on its line");
                };
                scratch.extend_from_slice(&line[i..i + quote]);
                i += quote + 1;
                if line.get(i) == Some(&b'"') {
                    scratch.push(b'"');
                    i += 1;
                } else {
                    break;
                }
            }
            let trailing_spaces = line[i..].iter().take_while(|&&b| b == b' ').count();
            i += trailing_spaces;
            if i < line.len() && line[i] != b',' {
                return Err("text after a closing quote");
            }
            record.push_field(scratch);
            i
        } else {
            let end = rest
                .iter()
                .position(|&b| b == b',')
                .map_or(line.len(), |p| at + p);
            if line[at..end].contains(&b'"') {
                return Err("a quote inside an unquoted field");
            }
            record.push_field(&line[at..end]);
            end
        };
        if end >= line.len() {
            return Ok(());
        }
        at = end + 1;
    }
}

impl Unusable {
    fn without_fields(line_no: i64, reason: LineProblem) -> Self {
        Self {
            line_no,
            reason: Box::new(reason),
            terminal_id: None,
            stan: None,
            rrn: None,
        }
    }
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
    let unusable = |reason: LineProblem| {
        let clip = |i: usize| {
            field(i)
                .ok()
                .filter(|s| !s.is_empty())
                .map(|s| crate::domain::text::printable(s, 40))
        };
        Unusable {
            line_no,
            reason: Box::new(reason),
            terminal_id: clip(1),
            stan: clip(2),
            rrn: clip(3),
        }
    };
    if record.len() != HEADER.len() {
        return Err(unusable(LineProblem::FieldCount {
            expected: HEADER.len(),
            found: record.len(),
        }));
    }
    let mut fields = [""; 7];
    for (i, slot) in fields.iter_mut().enumerate() {
        *slot = field(i).map_err(|()| unusable(LineProblem::NotUtf8 { column: HEADER[i] }))?;
    }
    if let Some(at) = fields.iter().position(|f| f.chars().any(char::is_control)) {
        return Err(unusable(LineProblem::ControlCharacters {
            column: HEADER[at],
        }));
    }
    let [date, terminal_id, stan, rrn, approval_code, amount, kind] = fields;
    // The reconciled date is a valid date, so a line that carries it needs no parsing.
    if date != value_date && crate::business_day::parse_date(date).is_none() {
        return Err(unusable(LineProblem::NotADate { value: clip(date) }));
    }
    if date != value_date {
        return Err(unusable(LineProblem::OtherDate {
            date: date.to_string(),
            reconciled: value_date.to_string(),
        }));
    }
    if terminal_id.is_empty() || terminal_id.len() > 16 {
        return Err(unusable(LineProblem::TerminalId));
    }
    if stan.len() != 6 || !stan.bytes().all(|b| b.is_ascii_digit()) {
        return Err(unusable(LineProblem::Stan { value: clip(stan) }));
    }
    if rrn.len() > 32 || approval_code.len() > 16 {
        return Err(unusable(LineProblem::RrnOrApprovalTooLong));
    }
    let amount_minor = match Amount::parse(amount) {
        Ok(amount) => amount.minor_units(),
        Err(invalid) => {
            return Err(unusable(LineProblem::Amount {
                value: clip(amount),
                message: invalid.message,
            }))
        }
    };
    let Some(entry_type) = EntryType::parse(kind) else {
        return Err(unusable(LineProblem::EntryType { value: clip(kind) }));
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
    crate::domain::text::printable(text, 40)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(text: &str) -> (Vec<String>, Result<u64, FileError>) {
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
        let FileError::Header(reason) = result.unwrap_err() else {
            panic!("not a header error")
        };
        assert!(
            reason.to_string().contains("the header must be"),
            "{reason}"
        );
    }

    #[test]
    fn an_empty_file_is_empty_and_a_header_alone_has_no_lines() {
        for empty in ["", "\u{feff}", "\n", "  \r\n"] {
            assert_eq!(read_all(empty).1, Err(FileError::Empty), "{empty:?}");
        }
        let (seen, lines) =
            read_all("value_date,terminal_id,stan,rrn,approval_code,amount_idr,type\r\n\r\n");
        assert_eq!((seen.len(), lines), (0, Ok(0)));
    }

    #[test]
    fn a_stray_quote_spoils_only_its_own_physical_line() {
        let text = "value_date,terminal_id,stan,rrn,approval_code,amount_idr,type\n\
                    2026-11-23,SMD00001,000001,\"1,A,100,SALE\n\
                    2026-11-23,SMD00001,000002,2,A,100,SALE\n\
                    2026-11-23,SMD\"00001,000003,3,A,100,SALE\n\
                    2026-11-23,\"SMD00001\"x,000004,4,A,100,SALE\n\
                    \n\
                    2026-11-23, \"SMD00001\" ,000005,\"5\",A,\"1,5\",SALE\n\
                    2026-11-23,\"SMD\"\"1\",000006,6,A,100,SALE";
        let (seen, lines) = read_all(text);
        assert_eq!(lines, Ok(6), "the blank line is not counted");
        assert_eq!(
            seen[0],
            "2 bad unreadable line: a quoted field is not closed on its line"
        );
        assert_eq!(seen[1], "3 ok 2 10000 SALE");
        assert_eq!(
            seen[2],
            "4 bad unreadable line: a quote inside an unquoted field"
        );
        assert_eq!(seen[3], "5 bad unreadable line: text after a closing quote");
        assert!(
            seen[4].starts_with("7 bad amount_idr"),
            "the quoted comma stays in its field: {}",
            seen[4]
        );
        assert_eq!(seen[5], "8 ok 6 10000 SALE", "a doubled quote is a quote");
    }

    #[test]
    fn an_endless_line_is_cut_reported_and_reading_goes_on() {
        let text = format!(
            "value_date,terminal_id,stan,rrn,approval_code,amount_idr,type\n{}\n2026-11-23,SMD00001,000002,2,A,100,SALE\n",
            "x".repeat(MAX_LINE_BYTES * 3)
        );
        let (seen, lines) = read_all(&text);
        assert_eq!(lines, Ok(2));
        assert!(
            seen[0].starts_with("2 bad the line is longer than"),
            "{}",
            seen[0]
        );
        assert_eq!(seen[1], "3 ok 2 10000 SALE");
    }
}
