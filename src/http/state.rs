//! What every handler can reach: the store, the token keys, the PIN hasher and the card policy.

use std::sync::Arc;

use crate::{
    auth::{card_policy::CardPolicy, jwt::JwtKeys, pin::PinHasher},
    redemption::engine::RedemptionRules,
    store::Store,
};

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    /// Signs closed dates' audit heads (also for the payout file, which carries its date's).
    pub audit_signer: Arc<crate::audit_trail::signing::AuditSigner>,
    pub jwt: Arc<JwtKeys>,
    pub pins: Arc<PinHasher>,
    pub card_policy: Arc<CardPolicy>,
    /// Issuing, blocking, replacing cards and their PINs.
    pub cards: crate::cards::Cards,
    /// Grants a `/saldo` statement gives for filing a complaint.
    pub saldo_grants: std::sync::Arc<crate::auth::saldo_grant::SaldoGrants>,
    /// Wrong card numbers and PINs at `/saldo`, per client address.
    pub saldo_throttle: std::sync::Arc<crate::auth::address_throttle::AddressThrottle>,
    /// Registering households and changing them.
    pub households: crate::registry::households::Households,
    /// Household members.
    pub members: crate::registry::members::Members,
    /// Change requests to households, and their decisions.
    pub change_requests: crate::registry::change_requests::ChangeRequests,
    /// Complaints: intake, assignment, resolution.
    pub complaints: crate::registry::complaints::Complaints,
    /// Field visits and their photos.
    pub visits: crate::registry::visits::Visits,
    /// Registry imports (a city's household list, as CSV).
    pub registry_imports: crate::registry::import::RegistryImports,
    /// Re-verification campaigns.
    pub campaigns: crate::registry::campaigns::Campaigns,
    /// Dormant balances and the notices printed for them.
    pub dormancy: crate::registry::dormancy::Dormancy,
    /// Authorised representatives and their cards.
    pub representatives: crate::registry::representatives::Representatives,
    /// Users, their roles and passwords.
    pub users: crate::registry::users::Users,
    /// Programs and their catalogs.
    pub programs: crate::registry::programs::Programs,
    /// E-Warungs and their terminals.
    pub ewarungs: crate::registry::ewarungs::Ewarungs,
    pub redemptions: Arc<RedemptionRules>,
    /// Wraps and unwraps terminals' PIN keys.
    pub terminal_keys: Arc<crate::auth::terminal_keys::TerminalKeyVault>,
    /// Card numbers at rest: lookup hashes and encryption.
    pub pans: Arc<crate::auth::pan_vault::PanVault>,
    /// Password checks (bounded) and the failed-login throttle.
    pub logins: Arc<crate::login::Logins>,
    /// The reverse proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Arc<crate::http::client_address::TrustedProxies>,
    /// API tokens that no longer speak for their user.
    pub revocations: Arc<crate::revocations::TokenRevocations>,
}
