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
        // Representatives.
        "expired" => "status-expired",
        "revoked" => "status-revoked",
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
        "54" => "rc-54",
        "55" => "rc-55",
        "57" => "rc-57",
        "58" => "rc-58",
        "62" => "rc-62",
        "75" => "rc-75",
        "78" => "rc-78",
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

/// What a reconciliation exception means, in the reader's words, from its recorded fields; a
/// line of the file that could not be read says why from its recorded code and values. Only a
/// line recorded before codes were (or with a code this release has no words for) adds the
/// engine's English reason, marked as such.
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
        _ => match line_problem(tr, exception) {
            Some(words) => (words, None),
            None => (tr.t("exception-malformed"), Some(exception.detail.clone())),
        },
    }
}

/// Why a malformed line could not be used, in the reader's words (the text keyed
/// `line-problem-CODE` with the recorded values), if its code has words.
fn line_problem(
    tr: &crate::web::i18n::Tr,
    exception: &crate::model::recon::ReconException,
) -> Option<String> {
    let key = format!(
        "line-problem-{}",
        exception.detail_code.as_deref()?.replace('_', "-")
    );
    if !tr.has(&key) {
        return None;
    }
    let recorded: std::collections::BTreeMap<String, String> = exception
        .detail_args
        .as_deref()
        .and_then(|json| serde_json::from_str(json).ok())
        .unwrap_or_default();
    // The names a line problem quotes (`recon::bank_file::LineProblem::args`).
    const NAMES: [&str; 7] = [
        "max",
        "expected",
        "found",
        "column",
        "value",
        "date",
        "reconciled",
    ];
    let args: Vec<(&'static str, String)> = NAMES
        .iter()
        .filter_map(|name| recorded.get(*name).map(|value| (*name, value.clone())))
        .collect();
    Some(tr.with_args(&key, &args))
}

/// Every action the audit log records (the store writes them; a unit test reads the sources
/// for any it does not list), for the audit page's choices and words.
pub const AUDIT_ACTIONS: [&str; 53] = [
    "household.register",
    "household.member_added",
    "household.member_corrected",
    "household.member_removed",
    "household.head_changed",
    "household.visit",
    "household.visit_photo",
    "household.representative_named",
    "household.representative_revoked",
    "household.dormancy_notice",
    "campaign.open",
    "registry_import.upload",
    "registry_import.approve",
    "change_request.create",
    "change_request.submit",
    "change_request.revise",
    "change_request.return",
    "change_request.reject",
    "change_request.apply",
    "complaint.file",
    "complaint.assign",
    "complaint.resolve",
    "card.issue",
    "card.blocked",
    "card.active",
    "card.lost",
    "card.replace",
    "card.pin_set",
    "card.pin_locked",
    "card.unlock",
    "quota.uploaded",
    "quota.posted",
    "quota.expired",
    "program.create",
    "catalog_item.create",
    "catalog_item.price_cap",
    "ewarung.create",
    "ewarung.status",
    "terminal.create",
    "terminal.status",
    "terminal.pin_key",
    "terminal.event",
    "terminal.batch_mismatch",
    "day.batch_mismatch",
    "day.closed",
    "recon.run",
    "recon.exception_resolved",
    "settlement.posted",
    "user.create",
    "user.disable",
    "user.enable",
    "user.password_reset",
    "user.role_change",
];

/// What the audit log's entries are about.
pub const AUDIT_SUBJECTS: [&str; 16] = [
    "household",
    "registry_import",
    "campaign",
    "change_request",
    "complaint",
    "card",
    "quota_batch",
    "ledger",
    "program",
    "catalog_item",
    "ewarung",
    "terminal",
    "business_date",
    "recon_run",
    "recon_exception",
    "user",
];

/// The text key of an audit action or subject type (`card.pin_set` → `audit-action-card-pin-set`).
pub fn audit_key(kind: &str, name: &str) -> String {
    format!("audit-{kind}-{}", name.replace(['.', '_'], "-"))
}

/// Each field as `name: value`: amounts (`…_minor`) in Rupiah, states in words, a nested record
/// in parentheses, names in the reader's language where they have words.
fn audit_fields(
    tr: &crate::web::i18n::Tr,
    fields: &serde_json::Map<String, serde_json::Value>,
    separator: &str,
) -> String {
    fields
        .iter()
        .map(|(name, value)| {
            let (name, value) = match (name.strip_suffix("_minor"), value) {
                (Some(base), serde_json::Value::Number(number)) if number.is_i64() => {
                    let minor = number.as_i64().unwrap_or_default();
                    (base, crate::web::format::rupiah(minor))
                }
                (_, serde_json::Value::Object(inner)) => (
                    name.as_str(),
                    format!("({})", audit_fields(tr, inner, ", ")),
                ),
                // A state the record moved from or to (never a clerk's own words).
                (_, serde_json::Value::String(text))
                    if matches!(name.as_str(), "status" | "from" | "to")
                        && status_key(text) != "empty-none" =>
                {
                    (name.as_str(), tr.t(status_key(text)))
                }
                (_, serde_json::Value::String(text)) => (name.as_str(), text.clone()),
                (_, other) => (name.as_str(), other.to_string()),
            };
            let key = format!("audit-field-{}", name.replace('_', "-"));
            let label = if tr.has(&key) {
                tr.t(&key)
            } else {
                name.to_string()
            };
            format!("{label}: {value}")
        })
        .collect::<Vec<_>>()
        .join(separator)
}

/// An audit entry's detail in words: each field as `name: value`, amounts (`…_minor`) in
/// Rupiah, field names in the reader's language where they have words.
pub fn audit_detail(tr: &crate::web::i18n::Tr, detail: &serde_json::Value) -> String {
    let text = match detail.as_object() {
        Some(fields) => audit_fields(tr, fields, " · "),
        None => detail.to_string(),
    };
    if text.chars().count() > 400 {
        format!("{}…", text.chars().take(400).collect::<String>())
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The actions the sources write: `audit(…, "area.action", …)` and SQL `'area.action'`.
    fn written_actions() -> std::collections::BTreeSet<String> {
        let is_action = |text: &str| {
            let mut parts = text.split('.');
            let (Some(area), Some(action), None) = (parts.next(), parts.next(), parts.next())
            else {
                return false;
            };
            [area, action].iter().all(|part| {
                !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
            })
        };
        let mut found = std::collections::BTreeSet::new();
        for (_, text) in crate::web::source_files::rust_sources("store") {
            for (at, _) in text.match_indices("audit(") {
                let window: String = text[at..].chars().take(200).collect();
                if let Some(quoted) = window.split('"').nth(1).filter(|q| is_action(q)) {
                    found.insert(quoted.to_string());
                }
            }
            for (at, _) in text.match_indices("VALUES ($1, $2, NULL, '") {
                let rest = &text[at + "VALUES ($1, $2, NULL, '".len()..];
                found.insert(rest[..rest.find('\'').unwrap()].to_string());
            }
        }
        found
    }

    #[test]
    fn the_audit_page_knows_every_action_the_store_writes() {
        let written = written_actions();
        assert!(written.contains("day.closed") && written.contains("card.pin_locked"));
        for action in &written {
            assert!(
                AUDIT_ACTIONS.contains(&action.as_str()),
                "{action} is not listed"
            );
        }
        // Card status changes are written as `card.<new status>`.
        for status in crate::domain::card::CardStatus::ALL {
            if *status != crate::domain::card::CardStatus::Replaced {
                let action = format!("card.{}", status.as_str());
                assert!(AUDIT_ACTIONS.contains(&action.as_str()), "{action}");
            }
        }
        for locale in [
            crate::domain::locale::Locale::Id,
            crate::domain::locale::Locale::En,
        ] {
            let tr = crate::web::i18n::Tr::new(locale);
            for action in AUDIT_ACTIONS {
                assert!(tr.has(&audit_key("action", action)), "{action}");
            }
            for subject in AUDIT_SUBJECTS {
                assert!(tr.has(&audit_key("subject", subject)), "{subject}");
            }
        }
    }

    #[test]
    fn audit_details_show_amounts_in_rupiah() {
        let tr = crate::web::i18n::Tr::new(crate::domain::locale::Locale::Id);
        let detail = serde_json::json!({"total_minor": 125_000_000, "reason": "salah unggah"});
        let text = audit_detail(&tr, &detail);
        assert!(text.contains("jumlah: Rp 1.250.000"), "{text}");
        assert!(text.contains("alasan: salah unggah"), "{text}");
        let nested = serde_json::json!({"to": "blocked", "registered": {"head_name": "Siti"}});
        let text = audit_detail(&tr, &nested);
        assert!(text.contains("menjadi: Diblokir"), "{text}");
        assert!(text.contains("(kepala keluarga: Siti)"), "{text}");
    }
}
