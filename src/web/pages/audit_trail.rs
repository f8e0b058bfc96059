//! The sealed audit trail for inspectors: the signed heads of closed dates and the key they are
//! signed with, and `ssn audit verify` run on request and shown (a read, but a long one: it asks
//! for the form's token like the ledger check).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;

use crate::{
    audit_trail::{ProblemKind, VerifyReport},
    domain::{locale::Locale, role::Permission},
    http::state::AppState,
    model::audit_chain::AuditHead,
    web::{
        error::WebError, format::Shows, layout::Layout, session::SignedIn, signed_form::SignedForm,
    },
};

#[derive(Template, WebTemplate)]
#[template(path = "audit_trail.html", config = "src/web/askama.toml")]
pub struct TrailPage {
    layout: Layout,
    public_key: String,
    heads: Vec<AuditHead>,
    report: Option<VerifyReport>,
}

impl Shows for TrailPage {
    fn locale(&self) -> Locale {
        self.layout.tr.locale
    }
}

impl TrailPage {
    /// A problem's kind in words.
    fn kind(&self, kind: &ProblemKind) -> String {
        let key = match kind {
            ProblemKind::Altered => "trail-altered",
            ProblemKind::Removed => "trail-removed",
            ProblemKind::Inserted => "trail-inserted",
            ProblemKind::ChainBroken => "trail-chain-broken",
            ProblemKind::HeadMismatch => "trail-head-mismatch",
            ProblemKind::BadSignature => "trail-bad-signature",
        };
        self.layout.tr.t(key)
    }

    /// A hash shortened for reading; the full value is in the API and `ssn audit`.
    fn short(&self, hash: &str) -> String {
        hash.chars().take(16).collect::<String>() + "…"
    }

    fn counted(&self, report: &VerifyReport) -> String {
        self.layout.tr.with_args(
            "trail-counted",
            &[
                ("links", report.links.to_string()),
                ("heads", report.heads.to_string()),
                ("unsealed", report.unsealed.to_string()),
            ],
        )
    }

    fn size(&self, head: &AuditHead) -> i64 {
        (head.last_seq - head.first_seq + 1).max(0)
    }
}

async fn page(
    state: &AppState,
    signed: &SignedIn,
    report: Option<VerifyReport>,
) -> Result<TrailPage, WebError> {
    signed.require(Permission::ReadLedger)?;
    let mut heads = state.store.audit_chain().heads().await?;
    heads.reverse();
    Ok(TrailPage {
        layout: Layout::new(signed, "/audit"),
        public_key: state.audit_signer.public_key_hex(),
        heads,
        report,
    })
}

pub async fn show(State(state): State<AppState>, signed: SignedIn) -> Result<TrailPage, WebError> {
    page(&state, &signed, None).await
}

pub async fn verify(
    State(state): State<AppState>,
    SignedForm { signed, form: _ }: SignedForm<crate::web::form::NoFields>,
) -> Result<TrailPage, WebError> {
    signed.require(Permission::ReadLedger)?;
    let key = state.audit_signer.public_key();
    let report = crate::audit_trail::verify(&state.store, &[key], |_| {})
        .await
        .map_err(|error| WebError::Internal(error.to_string()))?;
    tracing::info!(user = %signed.user.username, intact = report.is_intact(), "audit trail verified from the web");
    page(&state, &signed, Some(report)).await
}
