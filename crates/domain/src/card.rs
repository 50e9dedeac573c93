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

/// Something that happens to a card. Each event moves the card along the state machine of
/// [`next_status`]; the service layer decides *whether* the actor may cause it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardEvent {
    /// Put into a production batch.
    Batch,
    /// The bank's return file arrived: card number and identifier assigned, notice sent.
    Produced,
    /// Handed over (to the holder or a proxy) without activating the social-security function.
    Collect,
    /// Social-security function activated (normally at collection).
    Activate,
    /// Oral / phone / kiosk / web / counter loss pre-report.
    ReportLossTemporary,
    /// Written loss at the counter.
    ReportLossWritten,
    /// A temporary loss lapsed after the policy's days without being made written.
    LossLapsed,
    /// A loss report lifted at the counter with ID and card.
    LiftLoss,
    /// A reissue was applied for (after a written loss): the old card is dead for ever.
    Reissue,
    /// A replacement (damaged card) or correction (wrong data) was applied for.
    Replace,
    /// Cancelled (transfer-out, emigration, leaving insurance, death).
    Cancel,
    /// A temporary card passed its validity.
    Expire,
}

impl CardEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            CardEvent::Batch => "batch",
            CardEvent::Produced => "produced",
            CardEvent::Collect => "collect",
            CardEvent::Activate => "activate",
            CardEvent::ReportLossTemporary => "report_loss_temporary",
            CardEvent::ReportLossWritten => "report_loss_written",
            CardEvent::LossLapsed => "loss_lapsed",
            CardEvent::LiftLoss => "lift_loss",
            CardEvent::Reissue => "reissue",
            CardEvent::Replace => "replace",
            CardEvent::Cancel => "cancel",
            CardEvent::Expire => "expire",
        }
    }
}

/// A transition the state machine does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a card in state {} cannot {}", from.as_str(), event.as_str())]
pub struct TransitionError {
    pub from: CardStatus,
    pub event: CardEvent,
}

impl crate::Coded for TransitionError {
    fn code(&self) -> &'static str {
        match (self.from, self.event) {
            (CardStatus::Reissuing, CardEvent::LiftLoss) => "LOSS_LIFT_AFTER_REISSUE",
            (s, _) if s.is_terminal() => "CARD_DEAD",
            (CardStatus::TemporaryLoss | CardStatus::WrittenLoss, _) => "CARD_LOST",
            _ => "CARD_STATE",
        }
    }
    fn message_zh(&self) -> String {
        match self.code() {
            "LOSS_LIFT_AFTER_REISSUE" => {
                "已申请补卡,原卡不能解除挂失,找回的原卡不能恢复使用".into()
            }
            "CARD_DEAD" => format!("该卡已{},不能再办理此业务", self.from.label_zh()),
            "CARD_LOST" => format!("该卡处于{}状态,不能办理此业务", self.from.label_zh()),
            _ => format!("卡片当前状态为“{}”,不能办理此业务", self.from.label_zh()),
        }
    }
    fn message_en(&self) -> String {
        match self.code() {
            "LOSS_LIFT_AFTER_REISSUE" => {
                "A reissue was applied for: the loss report cannot be lifted and the old card stays dead".into()
            }
            _ => format!("A card that is {} cannot {}", self.from.label_en().to_lowercase(), self.event.as_str().replace('_', " ")),
        }
    }
}

/// The card state machine: where `event` takes a card in state `from`.
pub fn next_status(
    from: CardStatus,
    kind: CardKind,
    event: CardEvent,
) -> Result<CardStatus, TransitionError> {
    use CardEvent as E;
    use CardStatus as S;
    let to = match (from, event) {
        (S::Applied, E::Batch) => S::InProduction,
        (S::InProduction, E::Produced) => S::AwaitingCollection,
        (S::AwaitingCollection, E::Collect) => S::Collected,
        (S::Collected, E::Activate) => S::Active,
        (S::Active | S::Collected, E::ReportLossTemporary) => S::TemporaryLoss,
        (S::Active | S::Collected | S::TemporaryLoss, E::ReportLossWritten) => S::WrittenLoss,
        (S::TemporaryLoss, E::LossLapsed) => S::Active,
        (S::TemporaryLoss | S::WrittenLoss, E::LiftLoss) => S::Active,
        (S::WrittenLoss, E::Reissue) if kind == CardKind::Regular => S::Reissuing,
        (S::Active | S::Collected | S::AwaitingCollection, E::Replace)
            if kind == CardKind::Regular =>
        {
            S::Replacing
        }
        (s, E::Cancel) if !s.is_terminal() => S::Cancelled,
        (S::Active | S::TemporaryLoss | S::WrittenLoss, E::Expire)
            if kind == CardKind::Temporary =>
        {
            S::Expired
        }
        _ => return Err(TransitionError { from, event }),
    };
    Ok(to)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_happy_path() {
        let k = CardKind::Regular;
        let mut s = CardStatus::Applied;
        for e in [
            CardEvent::Batch,
            CardEvent::Produced,
            CardEvent::Collect,
            CardEvent::Activate,
        ] {
            s = next_status(s, k, e).unwrap();
        }
        assert_eq!(s, CardStatus::Active);
    }

    #[test]
    fn dead_cards_stay_dead() {
        let all_events = [
            CardEvent::Batch,
            CardEvent::Produced,
            CardEvent::Collect,
            CardEvent::Activate,
            CardEvent::ReportLossTemporary,
            CardEvent::ReportLossWritten,
            CardEvent::LossLapsed,
            CardEvent::LiftLoss,
            CardEvent::Reissue,
            CardEvent::Replace,
            CardEvent::Cancel,
            CardEvent::Expire,
        ];
        for s in CardStatus::ALL.into_iter().filter(|s| s.is_terminal()) {
            for k in [CardKind::Regular, CardKind::Temporary] {
                for e in all_events {
                    assert!(next_status(s, k, e).is_err(), "{s:?} {e:?}");
                }
            }
        }
        let err = next_status(
            CardStatus::Reissuing,
            CardKind::Regular,
            CardEvent::LiftLoss,
        )
        .unwrap_err();
        assert_eq!(crate::Coded::code(&err), "LOSS_LIFT_AFTER_REISSUE");
    }

    #[test]
    fn temporary_cards_are_not_reissued_and_expire() {
        assert!(
            next_status(
                CardStatus::WrittenLoss,
                CardKind::Temporary,
                CardEvent::Reissue
            )
            .is_err()
        );
        assert_eq!(
            next_status(CardStatus::Active, CardKind::Temporary, CardEvent::Expire),
            Ok(CardStatus::Expired)
        );
        assert!(next_status(CardStatus::Active, CardKind::Regular, CardEvent::Expire).is_err());
    }

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
