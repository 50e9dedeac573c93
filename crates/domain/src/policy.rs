//! Per-region policy. Every setting that differs between cities lives here, with defaults that
//! follow the most common practice; a region's stored policy overrides them.

use serde::{Deserialize, Serialize};

/// How the first web-portal query password is derived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "rule", content = "value")]
pub enum QueryPasswordRule {
    /// The same fixed password for everybody (123456, 111111…), to be changed at first login.
    Fixed(String),
    /// The last six characters of the personal number (Chongqing).
    LastSixOfPersonalNumber,
}

impl QueryPasswordRule {
    /// The initial query password of a person under this rule.
    pub fn initial_for(&self, personal_number: &str) -> String {
        match self {
            QueryPasswordRule::Fixed(p) => p.clone(),
            QueryPasswordRule::LastSixOfPersonalNumber => {
                let chars: Vec<char> = personal_number.chars().collect();
                chars[chars.len().saturating_sub(6)..].iter().collect()
            }
        }
    }
}

/// Outpatient pooling ratio, in basis points (1/100 of a percent), by institution level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PoolingRatios {
    pub level1_bp: u32,
    pub level2_bp: u32,
    pub level3_bp: u32,
    pub pharmacy_bp: u32,
    /// Reduction applied for residents' (城乡居民) insurance instead of employees'.
    pub resident_reduction_bp: u32,
}

impl Default for PoolingRatios {
    fn default() -> Self {
        PoolingRatios {
            level1_bp: 9000,
            level2_bp: 8500,
            level3_bp: 8000,
            pharmacy_bp: 0,
            resident_reduction_bp: 1000,
        }
    }
}

/// The policy of one pooling region. Money in fen, periods in days/months/seconds as named.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegionPolicy {
    /// Initial social-security PIN of a new card.
    pub initial_pin: String,
    /// Initial web-portal query password.
    pub query_password: QueryPasswordRule,
    /// Wrong social-security PIN tries before the card's PIN locks (3 or 6 in practice).
    pub pin_lock_threshold: u32,
    /// Wrong query-password tries before the portal account locks.
    pub web_lock_threshold: u32,
    /// Days an oral/phone/kiosk/web loss pre-report stays valid unless made written.
    pub oral_loss_valid_days: u32,
    /// Reissue fee (first card is free; from the second card on this fee applies).
    pub reissue_fee_fen: i64,
    /// Fee for replacing a card damaged by the holder (free for quality faults).
    pub replacement_fee_fen: i64,
    /// Working days from a reissue application to the new card being ready.
    pub reissue_working_days: u32,
    /// Validity of an emergency temporary card.
    pub temp_card_valid_days: u32,
    /// Months after the collection notice before uncollected cards go back to the card centre.
    pub collection_window_months: u32,
    /// Days after death or emigration is recorded before the centre cancels the card itself.
    pub auto_cancel_after_days: u32,
    /// Whether the first card is free.
    pub first_card_free: bool,
    /// The national HR & social security hotline.
    pub hotline: String,
    /// The city's own hotline with area code (0832-12333) or card line (96102).
    pub local_hotline: String,
    /// Kiosk idle timeout.
    pub kiosk_idle_timeout_secs: u32,
    /// Share of the contribution base credited monthly to the medical personal account.
    pub medical_account_rate_bp: u32,
    /// Annual outpatient deductible before the pooling fund pays.
    pub pooling_deductible_fen: i64,
    /// Annual cap of the pooling fund per person.
    pub pooling_annual_cap_fen: i64,
    /// Pooling ratios by institution level.
    pub pooling_ratios: PoolingRatios,
    /// A settlement whose personal-account part is above this amount requires the card PIN
    /// (0: every settlement that uses the account).
    pub pin_required_above_fen: i64,
    /// Monthly contribution bases flexible-employment contributors may choose from.
    pub flexible_contribution_levels_fen: Vec<i64>,
}

impl Default for RegionPolicy {
    fn default() -> Self {
        RegionPolicy {
            initial_pin: "123456".into(),
            query_password: QueryPasswordRule::Fixed("123456".into()),
            pin_lock_threshold: 6,
            web_lock_threshold: 5,
            oral_loss_valid_days: 7,
            reissue_fee_fen: 2000,
            replacement_fee_fen: 2000,
            reissue_working_days: 15,
            temp_card_valid_days: 60,
            collection_window_months: 6,
            auto_cancel_after_days: 30,
            first_card_free: true,
            hotline: "12333".into(),
            local_hotline: "12333".into(),
            kiosk_idle_timeout_secs: 60,
            medical_account_rate_bp: 200,
            pooling_deductible_fen: 80_000,
            pooling_annual_cap_fen: 30_000_000,
            pooling_ratios: PoolingRatios::default(),
            pin_required_above_fen: 20_000,
            flexible_contribution_levels_fen: vec![400_000, 500_000, 600_000, 800_000, 1_000_000],
        }
    }
}

/// A policy setting outside its allowed range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("policy setting {field} is invalid: {reason}")]
pub struct PolicyError {
    pub field: &'static str,
    pub reason: &'static str,
}

impl crate::Coded for PolicyError {
    fn code(&self) -> &'static str {
        "POLICY_INVALID"
    }
    fn message_zh(&self) -> String {
        format!("地区政策参数 {} 无效:{}", self.field, self.reason)
    }
    fn message_en(&self) -> String {
        self.to_string()
    }
}

impl RegionPolicy {
    /// Checks every setting is within a range a real card centre would accept.
    pub fn validate(&self) -> Result<(), PolicyError> {
        let err = |field, reason| Err(PolicyError { field, reason });
        if self.initial_pin.len() != 6 || !self.initial_pin.bytes().all(|b| b.is_ascii_digit()) {
            return err("initial_pin", "must be 6 digits");
        }
        if let QueryPasswordRule::Fixed(p) = &self.query_password
            && (p.len() < 6 || p.len() > 20)
        {
            return err("query_password", "must be 6 to 20 characters");
        }
        if !(1..=10).contains(&self.pin_lock_threshold) {
            return err("pin_lock_threshold", "must be 1 to 10");
        }
        if !(1..=20).contains(&self.web_lock_threshold) {
            return err("web_lock_threshold", "must be 1 to 20");
        }
        if !(1..=90).contains(&self.oral_loss_valid_days) {
            return err("oral_loss_valid_days", "must be 1 to 90");
        }
        if self.reissue_fee_fen < 0 || self.replacement_fee_fen < 0 {
            return err("reissue_fee_fen", "fees cannot be negative");
        }
        if !(1..=120).contains(&self.reissue_working_days) {
            return err("reissue_working_days", "must be 1 to 120");
        }
        if !(1..=365).contains(&self.temp_card_valid_days) {
            return err("temp_card_valid_days", "must be 1 to 365");
        }
        if !(1..=60).contains(&self.collection_window_months) {
            return err("collection_window_months", "must be 1 to 60");
        }
        if !(10..=3600).contains(&self.kiosk_idle_timeout_secs) {
            return err("kiosk_idle_timeout_secs", "must be 10 to 3600");
        }
        if self.medical_account_rate_bp > 10_000 {
            return err("medical_account_rate_bp", "must be at most 10000");
        }
        let r = &self.pooling_ratios;
        if [
            r.level1_bp,
            r.level2_bp,
            r.level3_bp,
            r.pharmacy_bp,
            r.resident_reduction_bp,
        ]
        .iter()
        .any(|v| *v > 10_000)
        {
            return err("pooling_ratios", "ratios must be at most 10000 bp");
        }
        if self.pooling_deductible_fen < 0 || self.pooling_annual_cap_fen < 0 {
            return err("pooling_deductible_fen", "amounts cannot be negative");
        }
        if self
            .flexible_contribution_levels_fen
            .iter()
            .any(|v| *v <= 0)
        {
            return err(
                "flexible_contribution_levels_fen",
                "levels must be positive",
            );
        }
        Ok(())
    }

    /// The policies of the four cities the seeds describe, as far as the seeds say.
    pub fn for_region(code: &str) -> RegionPolicy {
        let mut p = RegionPolicy::default();
        match code {
            // Chongqing: query password is the last six digits of the personal number.
            "500000" => {
                p.query_password = QueryPasswordRule::LastSixOfPersonalNumber;
                p.local_hotline = "023-12333".into();
            }
            // Neijiang: query password 111111, oral loss valid 7 days.
            "511000" => {
                p.query_password = QueryPasswordRule::Fixed("111111".into());
                p.local_hotline = "0832-12333".into();
            }
            // Dalian: card line 96102 style local line, lock after 3 tries.
            "210200" => {
                p.pin_lock_threshold = 3;
                p.oral_loss_valid_days = 10;
                p.local_hotline = "0411-12333".into();
            }
            "130100" => {
                p.local_hotline = "0311-12333".into();
            }
            _ => {}
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        RegionPolicy::default().validate().unwrap();
        for c in ["500000", "511000", "210200", "130100"] {
            RegionPolicy::for_region(c).validate().unwrap();
        }
    }

    #[test]
    fn query_password_rules() {
        assert_eq!(
            QueryPasswordRule::LastSixOfPersonalNumber.initial_for("11010519491231002X"),
            "31002X"
        );
        assert_eq!(
            QueryPasswordRule::Fixed("111111".into()).initial_for("x"),
            "111111"
        );
    }

    #[test]
    fn unknown_keys_are_refused_and_missing_take_defaults() {
        let p: RegionPolicy = serde_json::from_str(r#"{"pin_lock_threshold":3}"#).unwrap();
        assert_eq!(p.pin_lock_threshold, 3);
        assert_eq!(p.initial_pin, "123456");
        assert!(serde_json::from_str::<RegionPolicy>(r#"{"nope":1}"#).is_err());
    }

    #[test]
    fn bad_values_are_refused() {
        let p = RegionPolicy {
            pin_lock_threshold: 0,
            ..Default::default()
        };
        assert_eq!(p.validate().unwrap_err().field, "pin_lock_threshold");
        let p = RegionPolicy {
            initial_pin: "12a456".into(),
            ..Default::default()
        };
        assert!(p.validate().is_err());
    }
}
