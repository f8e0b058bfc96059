//! Complaints: what a beneficiary or an office clerk reports about an E-Warung, a card, a
//! balance or the household's data; how urgent it is; by when the office answers it; and when
//! it is escalated (overdue, or the third complaint about one E-Warung within six months).

use chrono::{DateTime, Duration, Utc};

use crate::string_enum;

string_enum!(
    /// What the complaint is about.
    Category, "invalid_complaint_category", {
        ForcedPackage => "forced_package",
        PriceAboveCap => "price_above_cap",
        CardKept => "card_kept",
        RefusedService => "refused_service",
        WrongBalance => "wrong_balance",
        DataError => "data_error",
        Other => "other",
    }
);

string_enum!(
    /// How urgent: sets the date the office answers by.
    Severity, "invalid_severity", {
        High => "high",
        Normal => "normal",
        Low => "low",
    }
);

string_enum!(
    /// How the complaint came in.
    Channel, "invalid_channel", {
        WalkIn => "walk_in",
        Phone => "phone",
        Saldo => "saldo",
    }
);

string_enum!(
    /// How the office answered it.
    Outcome, "invalid_outcome", {
        Upheld => "upheld",
        PartlyUpheld => "partly_upheld",
        Rejected => "rejected",
        Referred => "referred",
    }
);

string_enum!(
    /// Open until answered.
    ComplaintState, "invalid_complaint_state", {
        Open => "open",
        Resolved => "resolved",
    }
);

/// Complaints about one E-Warung within this many days count towards escalation.
pub const REPEAT_WINDOW_DAYS: i64 = 183;
/// The complaint that makes this many about one E-Warung within the window is escalated.
pub const REPEAT_THRESHOLD: i64 = 3;

impl Category {
    /// A kiosk that keeps cards, forces packages or overcharges takes food from the poor now:
    /// answered first.
    pub fn default_severity(self) -> Severity {
        match self {
            Category::CardKept | Category::ForcedPackage | Category::PriceAboveCap => {
                Severity::High
            }
            Category::RefusedService | Category::WrongBalance => Severity::Normal,
            Category::DataError | Category::Other => Severity::Low,
        }
    }

    /// Whether the complaint is about an E-Warung's conduct (and so names one).
    pub fn names_ewarung(self) -> bool {
        matches!(
            self,
            Category::ForcedPackage
                | Category::PriceAboveCap
                | Category::CardKept
                | Category::RefusedService
        )
    }
}

impl Severity {
    /// The service-level target: days from filing to an answer.
    pub fn target_days(self) -> i64 {
        match self {
            Severity::High => 2,
            Severity::Normal => 5,
            Severity::Low => 10,
        }
    }

    /// When a complaint filed at `filed` is to be answered by.
    pub fn due(self, filed: DateTime<Utc>) -> DateTime<Utc> {
        filed + Duration::days(self.target_days())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kiosk_keeping_cards_is_answered_within_two_days_a_data_error_within_ten() {
        let filed = DateTime::parse_from_rfc3339("2026-12-01T08:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let high = Category::CardKept.default_severity();
        assert_eq!(high, Severity::High);
        assert_eq!(high.due(filed).to_rfc3339(), "2026-12-03T08:00:00+00:00");
        assert_eq!(Category::DataError.default_severity().target_days(), 10);
        assert!(Category::PriceAboveCap.names_ewarung());
        assert!(!Category::WrongBalance.names_ewarung());
    }
}
