//! Words for the codes pages show: statuses and terminal response codes.

/// The text key of a household's or a card's status.
pub fn status_key(status: &str) -> &'static str {
    match status {
        "active" => "status-active",
        "suspended" => "status-suspended",
        "exited" => "status-exited",
        "blocked" => "status-blocked",
        "lost" => "status-lost",
        "replaced" => "status-replaced",
        "closed" => "status-closed",
        "retired" => "status-retired",
        // Quota batches and reconciliation runs.
        "validating" => "quota-status-validating",
        "invalid" => "quota-status-invalid",
        "validated" => "quota-status-validated",
        "posted" => "quota-status-posted",
        "running" => "status-running",
        "finished" => "status-finished",
        _ => "empty-none",
    }
}

/// The text key of a terminal response code, in words an operator understands.
pub fn response_key(code: &str) -> &'static str {
    match code {
        "00" => "rc-00",
        "12" => "rc-12",
        "14" => "rc-14",
        "25" => "rc-25",
        "51" => "rc-51",
        "55" => "rc-55",
        "57" => "rc-57",
        "58" => "rc-58",
        "62" => "rc-62",
        "75" => "rc-75",
        "94" => "rc-94",
        "96" => "rc-96",
        _ => "rc-other",
    }
}

/// The text key of a reconciliation category.
pub fn category_key(category: &str) -> &'static str {
    match category {
        "matched" => "category-matched",
        "amount_mismatch" => "category-amount-mismatch",
        "host_only" => "category-host-only",
        "bank_only" => "category-bank-only",
        "duplicate" => "category-duplicate",
        _ => "category-malformed",
    }
}

/// The text key of a purchase's state.
pub fn purchase_key(state: &str) -> &'static str {
    match state {
        "held" => "purchase-held",
        "completed" => "purchase-completed",
        "voided" => "purchase-voided",
        "reversed" => "purchase-reversed",
        "expired" => "purchase-expired",
        "refunded" => "purchase-refunded",
        _ => "empty-none",
    }
}

/// What a reconciliation exception means, in the reader's words, from its recorded fields; and
/// for a line of the file that could not be read, the reader's technical reason as the engine
/// wrote it (column names and values of the bank's file).
pub fn exception_detail(
    tr: &crate::web::i18n::Tr,
    exception: &crate::model::recon::ReconException,
) -> (String, Option<String>) {
    let money = |minor: Option<i64>| crate::web::format::rupiah(minor.unwrap_or(0));
    let refund = exception.entry_type.as_deref() == Some("REFUND");
    match exception.category.as_str() {
        "amount_mismatch" => (
            tr.with_args(
                "exception-amount-mismatch",
                &[
                    ("bank", money(exception.bank_amount_minor)),
                    ("host", money(exception.host_amount_minor)),
                ],
            ),
            None,
        ),
        "host_only" if refund => (tr.t("exception-host-only-refund"), None),
        "host_only" => (tr.t("exception-host-only-sale"), None),
        "bank_only" => match &exception.rrn {
            Some(rrn) => (tr.t1("exception-bank-only-rrn", "rrn", rrn), None),
            None => (tr.t("exception-bank-only-no-rrn"), None),
        },
        "duplicate" => (tr.t("exception-duplicate"), None),
        _ => (tr.t("exception-malformed"), Some(exception.detail.clone())),
    }
}
