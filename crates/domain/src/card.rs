//! Card statuses and the card state machine.
//!
//! The statuses follow a real card centre's back office: applied → in production → awaiting
//! collection → collected → active, with temporary (oral) and written loss, and the terminal
//! states an old card ends in when it is reissued, replaced, cancelled or (temporary cards)
//! expires.

use serde::{Deserialize, Serialize};

/// Status of one card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardStatus {
    /// Application accepted (初始/申请受理).
    Applied,
    /// In a production batch (制卡中).
    InProduction,
    /// Made, waiting for the holder (待领取).
    AwaitingCollection,
    /// Collected but the social-security function not yet activated (已领卡).
    Collected,
    /// Usable (已启用).
    Active,
    /// Oral/phone/kiosk/web loss pre-report: frozen, lapses after the policy's days (临时挂失).
    TemporaryLoss,
    /// Written loss at the counter: permanent (书面挂失).
    WrittenLoss,
    /// A reissue was applied for; this old card is dead for ever (补卡中).
    Reissuing,
    /// A replacement or correction was applied for; this old card was returned (换卡中).
    Replacing,
    /// Cancelled (注销).
    Cancelled,
    /// A temporary card past its validity (已过期).
    Expired,
}

impl CardStatus {
    pub const ALL: [CardStatus; 11] = [
        CardStatus::Applied,
        CardStatus::InProduction,
        CardStatus::AwaitingCollection,
        CardStatus::Collected,
        CardStatus::Active,
        CardStatus::TemporaryLoss,
        CardStatus::WrittenLoss,
        CardStatus::Reissuing,
        CardStatus::Replacing,
        CardStatus::Cancelled,
        CardStatus::Expired,
    ];

    /// Stable snake_case name (stored in the database and used in JSON).
    pub fn as_str(self) -> &'static str {
        match self {
            CardStatus::Applied => "applied",
            CardStatus::InProduction => "in_production",
            CardStatus::AwaitingCollection => "awaiting_collection",
            CardStatus::Collected => "collected",
            CardStatus::Active => "active",
            CardStatus::TemporaryLoss => "temporary_loss",
            CardStatus::WrittenLoss => "written_loss",
            CardStatus::Reissuing => "reissuing",
            CardStatus::Replacing => "replacing",
            CardStatus::Cancelled => "cancelled",
            CardStatus::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<CardStatus> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            CardStatus::Applied => "已申请",
            CardStatus::InProduction => "制卡中",
            CardStatus::AwaitingCollection => "待领取",
            CardStatus::Collected => "已领卡未启用",
            CardStatus::Active => "正常",
            CardStatus::TemporaryLoss => "临时挂失",
            CardStatus::WrittenLoss => "书面挂失",
            CardStatus::Reissuing => "补卡中",
            CardStatus::Replacing => "换卡中",
            CardStatus::Cancelled => "已注销",
            CardStatus::Expired => "已过期",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            CardStatus::Applied => "Applied",
            CardStatus::InProduction => "In production",
            CardStatus::AwaitingCollection => "Awaiting collection",
            CardStatus::Collected => "Collected, not activated",
            CardStatus::Active => "Active",
            CardStatus::TemporaryLoss => "Temporary loss",
            CardStatus::WrittenLoss => "Written loss",
            CardStatus::Reissuing => "Being reissued",
            CardStatus::Replacing => "Being replaced",
            CardStatus::Cancelled => "Cancelled",
            CardStatus::Expired => "Expired",
        }
    }

    /// A live card is the person's current card (at most one per person). Old cards that were
    /// reissued, replaced, cancelled or expired are not live.
    pub fn is_live(self) -> bool {
        !self.is_terminal()
    }

    /// Terminal statuses: the card can never be used again.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            CardStatus::Reissuing
                | CardStatus::Replacing
                | CardStatus::Cancelled
                | CardStatus::Expired
        )
    }

    /// Whether a medical settlement may be made with a card in this status.
    pub fn can_settle(self) -> bool {
        self == CardStatus::Active
    }
}

/// Regular card or emergency temporary card (no bank function, expires by itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardKind {
    Regular,
    Temporary,
}

impl CardKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CardKind::Regular => "regular",
            CardKind::Temporary => "temporary",
        }
    }
    pub fn parse(s: &str) -> Option<CardKind> {
        match s {
            "regular" => Some(CardKind::Regular),
            "temporary" => Some(CardKind::Temporary),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in CardStatus::ALL {
            assert_eq!(CardStatus::parse(s.as_str()), Some(s));
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.as_str()));
        }
    }

    #[test]
    fn only_active_cards_settle() {
        for s in CardStatus::ALL {
            assert_eq!(s.can_settle(), s == CardStatus::Active);
        }
        assert!(!CardStatus::Reissuing.is_live());
        assert!(CardStatus::WrittenLoss.is_live());
    }
}
