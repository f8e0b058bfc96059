//! A run's report for people and spreadsheets: the exceptions as CSV, and a summary for the
//! terminal.

use std::fmt::Write as _;

use crate::{
    domain::money::format_minor,
    model::recon::{Category, ReconException, ReconReport},
};

pub const EXCEPTION_HEADER: &str = "id,category,line_no,terminal_id,stan,rrn,approval_code,type,bank_amount_idr,host_amount_idr,ewarung_id,detail,resolved_at,resolution\n";

pub fn write_exceptions_header(out: &mut Vec<u8>) {
    out.extend_from_slice(EXCEPTION_HEADER.as_bytes());
}

/// Appends `rows` as CSV lines (no header).
pub fn write_exceptions(rows: &[ReconException], out: &mut Vec<u8>) {
    let mut csv = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(out);
    for e in rows {
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        let amount = |v: Option<i64>| v.map(format_minor).unwrap_or_default();
        let _ = csv.write_record([
            e.id.to_string(),
            e.category.clone(),
            e.line_no.map(|n| n.to_string()).unwrap_or_default(),
            opt(&e.terminal_id),
            opt(&e.stan),
            opt(&e.rrn),
            opt(&e.approval_code),
            opt(&e.entry_type),
            amount(e.bank_amount_minor),
            amount(e.host_amount_minor),
            e.ewarung_id.map(|id| id.to_string()).unwrap_or_default(),
            e.detail.clone(),
            e.resolved_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
            opt(&e.resolution),
        ]);
    }
    let _ = csv.flush();
}

/// The totals as CSV: one line per category for the whole file, then per E-Warung.
pub fn write_totals(report: &ReconReport, out: impl std::io::Write) -> csv::Result<()> {
    let mut csv = csv::Writer::from_writer(out);
    csv.write_record([
        "business_date",
        "ewarung_id",
        "ewarung_name",
        "category",
        "count",
        "bank_amount_idr",
        "host_amount_idr",
    ])?;
    let mut rows = |id: &str, name: &str, totals: &crate::model::recon::CategoryTotals| {
        Category::ALL.into_iter().try_for_each(|category| {
            let t = totals.get(&category).copied().unwrap_or_default();
            csv.write_record([
                report.business_date.as_str(),
                id,
                name,
                category.as_str(),
                &t.count.to_string(),
                &format_minor(t.bank_amount_minor),
                &format_minor(t.host_amount_minor),
            ])
        })
    };
    rows("", "(all)", &report.categories)?;
    for e in &report.ewarungs {
        let id = e.ewarung_id.map(|id| id.to_string()).unwrap_or_default();
        rows(&id, &e.name, &e.categories)?;
    }
    csv.flush()?;
    Ok(())
}

/// The summary printed by `ssn recon run`.
pub fn summary(report: &ReconReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "reconciled {} ({}): {} bank lines ({} unusable) against {} host entries",
        report.business_date,
        report.file_name,
        report.bank_lines,
        report.unusable_lines,
        report.host_entries
    );
    let _ = writeln!(
        out,
        "  {:<16} {:>10} {:>18} {:>18}",
        "category", "lines", "bank IDR", "host IDR"
    );
    for category in Category::ALL {
        let t = report
            .categories
            .get(&category)
            .copied()
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {:<16} {:>10} {:>18} {:>18}",
            category.as_str(),
            t.count,
            format_minor(t.bank_amount_minor),
            format_minor(t.host_amount_minor)
        );
    }
    let _ = writeln!(out, "  per E-Warung (matched lines, payable):");
    for e in &report.ewarungs {
        let matched = e.categories.get(&Category::Matched).map_or(0, |t| t.count);
        let problems: i64 = e
            .categories
            .iter()
            .filter(|(c, _)| **c != Category::Matched)
            .map(|(_, t)| t.count)
            .sum();
        let _ = writeln!(
            out,
            "    {:<32} {:>10} matched {:>18} payable {:>8} exceptions",
            e.name,
            matched,
            format_minor(e.payable_minor),
            problems
        );
    }
    let _ = write!(out, "  {} exceptions open", report.exceptions);
    out
}
