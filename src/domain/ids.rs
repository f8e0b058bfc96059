//! Newtype ids, so a household id can never be passed where a card id is expected.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
            utoipa::ToSchema, sqlx::Type,
        )]
        #[serde(transparent)]
        #[sqlx(transparent)]
        #[schema(value_type = String, format = Uuid)]
        pub struct $name(pub Uuid);

        impl $name {
            /// Time-ordered (v7) so that ids sort roughly by creation and index well.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        /// Stored as 16 bytes, as sqlx stores a uuid in SQLite.
        impl rusqlite::types::ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                Ok(rusqlite::types::ToSqlOutput::Borrowed(
                    rusqlite::types::ValueRef::Blob(self.0.as_bytes()),
                ))
            }
        }

        impl rusqlite::types::FromSql for $name {
            fn column_result(
                value: rusqlite::types::ValueRef<'_>,
            ) -> rusqlite::types::FromSqlResult<Self> {
                Uuid::from_slice(value.as_blob()?)
                    .map(Self)
                    .map_err(|error| rusqlite::types::FromSqlError::Other(Box::new(error)))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// A user of the service (office staff, operator, bank, auditor, admin).
    UserId
);
id_type!(
    /// A household: the unit that holds the entitlement.
    HouseholdId
);
id_type!(
    /// A person listed in a household (the head included).
    MemberId
);
id_type!(
    /// One plastic card; a household may have had several over time.
    CardId
);
id_type!(
    /// A registered E-Warung kiosk.
    EwarungId
);
id_type!(
    /// An assistance program.
    ProgramId
);
id_type!(
    /// A ledger account.
    AccountId
);
id_type!(
    /// An immutable ledger transfer.
    TransferId
);
id_type!(
    /// One redemption request from a terminal.
    RedemptionId
);
id_type!(
    /// One uploaded quota file.
    QuotaBatchId
);
id_type!(
    /// A terminal's refund request (its own STAN, naming a purchase).
    RefundRequestId
);
id_type!(
    /// A proposed change to a household (or a proposed household), decided by the office.
    ChangeRequestId
);
id_type!(
    /// A field visit to a household.
    VisitId
);
id_type!(
    /// A complaint about a kiosk, a card, a balance or the household's data.
    ComplaintId
);
id_type!(
    /// An adult named to buy on a household's entitlement with a card of their own.
    RepresentativeId
);
id_type!(
    /// A printed notice telling a dormant household what will expire.
    DormancyNoticeId
);
id_type!(
    /// A re-verification campaign.
    CampaignId
);
id_type!(
    /// An uploaded registry file (households and members).
    RegistryImportId
);
