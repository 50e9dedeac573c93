//! How a medical bill is split between the pooling fund (统筹基金), the medical personal
//! account (个人账户) and cash (现金), as a designated institution's pre-settlement (2206) and
//! settlement (2207) compute it. Integer fen throughout; rounding always favours the insured
//! person's own money staying put (the fund's share is rounded down).

use serde::{Deserialize, Serialize};

use crate::policy::RegionPolicy;

/// Catalogue class of an item (医保目录): A fully eligible, B eligible after a self-paid part,
/// C not covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemClass {
    A,
    B,
    C,
}

/// One line of an itemised bill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillItem {
    pub code: String,
    pub name: String,
    pub class: ItemClass,
    /// Line amount (price × quantity), in fen, positive.
    pub amount_fen: i64,
}

/// Institution level for the pooling ratio.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstitutionLevel {
    Level1,
    Level2,
    Level3,
    Pharmacy,
}

impl InstitutionLevel {
    /// From the stored `level` (1–3) and kind (`hospital`/`pharmacy`).
    pub fn from_stored(kind: &str, level: i64) -> InstitutionLevel {
        match (kind, level) {
            ("pharmacy", _) => InstitutionLevel::Pharmacy,
            (_, 3) => InstitutionLevel::Level3,
            (_, 2) => InstitutionLevel::Level2,
            _ => InstitutionLevel::Level1,
        }
    }
}

/// What the person has used this year, and may spend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct YearToDate {
    pub deductible_used_fen: i64,
    pub pooling_paid_fen: i64,
}

/// Whether the person is in the employees' scheme (职工) or the residents' (城乡居民).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scheme {
    Employee,
    Resident,
}

/// Share of B-class items paid by the person first (先行自付), basis points.
pub const B_CLASS_SELF_PAY_BP: i64 = 1000;

/// The split of a bill. `pooling_fen + personal_account_fen + cash_fen == total_fen` always.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Split {
    pub total_fen: i64,
    /// Not covered: C-class items and the self-paid part of B-class items.
    pub self_pay_fen: i64,
    /// Covered amount that falls under this year's remaining deductible.
    pub deductible_fen: i64,
    /// Paid by the pooling fund.
    pub pooling_fen: i64,
    /// Paid from the medical personal account.
    pub personal_account_fen: i64,
    /// Paid in cash by the person.
    pub cash_fen: i64,
}

/// A bill that cannot be split.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    #[error("the bill has no items")]
    Empty,
    #[error("item {0} has a non-positive or too large amount")]
    BadAmount(usize),
}

impl crate::Coded for SplitError {
    fn code(&self) -> &'static str {
        match self {
            SplitError::Empty => "BILL_EMPTY",
            SplitError::BadAmount(_) => "BILL_ITEM_AMOUNT",
        }
    }
    fn message_zh(&self) -> String {
        match self {
            SplitError::Empty => "费用明细为空".into(),
            SplitError::BadAmount(i) => format!("第 {} 项费用金额无效", i + 1),
        }
    }
    fn message_en(&self) -> String {
        self.to_string()
    }
}

/// Largest line amount accepted (10 million yuan).
const MAX_ITEM_FEN: i64 = 1_000_000_000;

/// Splits a bill. `balance_fen` is the personal account's available balance; when
/// `use_account` is false the person pays their share in cash.
pub fn split(
    items: &[BillItem],
    policy: &RegionPolicy,
    level: InstitutionLevel,
    scheme: Scheme,
    ytd: YearToDate,
    balance_fen: i64,
    use_account: bool,
) -> Result<Split, SplitError> {
    if items.is_empty() {
        return Err(SplitError::Empty);
    }
    let mut total: i64 = 0;
    let mut self_pay: i64 = 0;
    for (i, it) in items.iter().enumerate() {
        if it.amount_fen <= 0 || it.amount_fen > MAX_ITEM_FEN {
            return Err(SplitError::BadAmount(i));
        }
        total += it.amount_fen;
        self_pay += match it.class {
            ItemClass::A => 0,
            ItemClass::B => it.amount_fen * B_CLASS_SELF_PAY_BP / 10_000,
            ItemClass::C => it.amount_fen,
        };
    }
    let eligible = total - self_pay;
    let deductible_left = (policy.pooling_deductible_fen - ytd.deductible_used_fen).max(0);
    let deductible = eligible.min(deductible_left);
    let r = &policy.pooling_ratios;
    let mut ratio_bp = i64::from(match level {
        InstitutionLevel::Level1 => r.level1_bp,
        InstitutionLevel::Level2 => r.level2_bp,
        InstitutionLevel::Level3 => r.level3_bp,
        InstitutionLevel::Pharmacy => r.pharmacy_bp,
    });
    if scheme == Scheme::Resident {
        ratio_bp = (ratio_bp - i64::from(r.resident_reduction_bp)).max(0);
    }
    let cap_left = (policy.pooling_annual_cap_fen - ytd.pooling_paid_fen).max(0);
    let pooling = ((eligible - deductible) * ratio_bp / 10_000).min(cap_left);
    let personal_share = total - pooling;
    let from_account = if use_account && scheme == Scheme::Employee {
        personal_share.min(balance_fen.max(0))
    } else {
        0
    };
    Ok(Split {
        total_fen: total,
        self_pay_fen: self_pay,
        deductible_fen: deductible,
        pooling_fen: pooling,
        personal_account_fen: from_account,
        cash_fen: personal_share - from_account,
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn item(class: ItemClass, fen: i64) -> BillItem {
        BillItem {
            code: "X".into(),
            name: "x".into(),
            class,
            amount_fen: fen,
        }
    }

    #[test]
    fn a_worked_example() {
        // Level 3 hospital, employee, 800 yuan deductible of which 300 already used.
        let p = RegionPolicy::default();
        let items = [
            item(ItemClass::A, 100_000),
            item(ItemClass::B, 50_000),
            item(ItemClass::C, 10_000),
        ];
        let ytd = YearToDate {
            deductible_used_fen: 30_000,
            pooling_paid_fen: 0,
        };
        let s = split(
            &items,
            &p,
            InstitutionLevel::Level3,
            Scheme::Employee,
            ytd,
            20_000,
            true,
        )
        .unwrap();
        assert_eq!(s.total_fen, 160_000);
        assert_eq!(s.self_pay_fen, 5_000 + 10_000);
        assert_eq!(s.deductible_fen, 50_000);
        // (145 000 - 50 000) × 80 %.
        assert_eq!(s.pooling_fen, 76_000);
        assert_eq!(s.personal_account_fen, 20_000);
        assert_eq!(s.cash_fen, 160_000 - 76_000 - 20_000);
    }

    #[test]
    fn residents_have_no_account_and_a_lower_ratio() {
        let p = RegionPolicy::default();
        let items = [item(ItemClass::A, 200_000)];
        let ytd = YearToDate {
            deductible_used_fen: 80_000,
            pooling_paid_fen: 0,
        };
        let s = split(
            &items,
            &p,
            InstitutionLevel::Level1,
            Scheme::Resident,
            ytd,
            99_999,
            true,
        )
        .unwrap();
        assert_eq!(s.pooling_fen, 160_000);
        assert_eq!(s.personal_account_fen, 0);
        assert_eq!(s.cash_fen, 40_000);
    }

    #[test]
    fn the_annual_cap_limits_the_fund() {
        let p = RegionPolicy::default();
        let ytd = YearToDate {
            deductible_used_fen: 80_000,
            pooling_paid_fen: p.pooling_annual_cap_fen - 100,
        };
        let s = split(
            &[item(ItemClass::A, 100_000)],
            &p,
            InstitutionLevel::Level1,
            Scheme::Employee,
            ytd,
            0,
            true,
        )
        .unwrap();
        assert_eq!(s.pooling_fen, 100);
        assert_eq!(s.cash_fen, 99_900);
    }

    #[test]
    fn bad_bills_are_refused() {
        let p = RegionPolicy::default();
        let y = YearToDate::default();
        assert_eq!(
            split(
                &[],
                &p,
                InstitutionLevel::Level1,
                Scheme::Employee,
                y,
                0,
                true
            ),
            Err(SplitError::Empty)
        );
        assert_eq!(
            split(
                &[item(ItemClass::A, 0)],
                &p,
                InstitutionLevel::Level1,
                Scheme::Employee,
                y,
                0,
                true
            ),
            Err(SplitError::BadAmount(0))
        );
    }

    proptest! {
        #[test]
        fn the_parts_always_add_up(
            amounts in proptest::collection::vec((0u8..3, 1i64..5_000_000), 1..20),
            ded_used in 0i64..200_000,
            pool_used in 0i64..40_000_000,
            balance in -10i64..2_000_000,
            level in 0u8..4,
            resident in any::<bool>(),
            use_account in any::<bool>(),
        ) {
            let items: Vec<BillItem> = amounts.iter().map(|(c, a)| item(
                match c { 0 => ItemClass::A, 1 => ItemClass::B, _ => ItemClass::C }, *a)).collect();
            let level = [InstitutionLevel::Level1, InstitutionLevel::Level2, InstitutionLevel::Level3, InstitutionLevel::Pharmacy][level as usize];
            let scheme = if resident { Scheme::Resident } else { Scheme::Employee };
            let p = RegionPolicy::default();
            let s = split(&items, &p, level, scheme, YearToDate { deductible_used_fen: ded_used, pooling_paid_fen: pool_used }, balance, use_account).unwrap();
            prop_assert_eq!(s.pooling_fen + s.personal_account_fen + s.cash_fen, s.total_fen);
            prop_assert!(s.pooling_fen >= 0 && s.personal_account_fen >= 0 && s.cash_fen >= 0);
            prop_assert!(s.personal_account_fen <= balance.max(0));
            prop_assert!(s.pooling_fen <= (p.pooling_annual_cap_fen - pool_used).max(0));
        }
    }
}
