//! Persons: gender, life status and the five insurances.

use serde::{Deserialize, Serialize};

/// Gender as recorded on the identity document (GB 11643: odd sequence = male).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Gender {
    Male,
    Female,
}

impl Gender {
    pub fn as_str(self) -> &'static str {
        match self {
            Gender::Male => "male",
            Gender::Female => "female",
        }
    }
    pub fn parse(s: &str) -> Option<Gender> {
        match s {
            "male" => Some(Gender::Male),
            "female" => Some(Gender::Female),
            _ => None,
        }
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            Gender::Male => "男",
            Gender::Female => "女",
        }
    }
}

/// Life status of a person, as kept by the civil registry link of a real back office.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LifeStatus {
    Normal,
    Deceased,
    Missing,
    Emigrated,
    Imprisoned,
}

impl LifeStatus {
    pub const ALL: [LifeStatus; 5] = [
        LifeStatus::Normal,
        LifeStatus::Deceased,
        LifeStatus::Missing,
        LifeStatus::Emigrated,
        LifeStatus::Imprisoned,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            LifeStatus::Normal => "normal",
            LifeStatus::Deceased => "deceased",
            LifeStatus::Missing => "missing",
            LifeStatus::Emigrated => "emigrated",
            LifeStatus::Imprisoned => "imprisoned",
        }
    }
    pub fn parse(s: &str) -> Option<LifeStatus> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            LifeStatus::Normal => "正常",
            LifeStatus::Deceased => "死亡",
            LifeStatus::Missing => "失踪",
            LifeStatus::Emigrated => "出国定居",
            LifeStatus::Imprisoned => "服刑",
        }
    }
}

/// The five insurances (五险).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum InsuranceType {
    Pension,
    Medical,
    Unemployment,
    WorkInjury,
    Maternity,
}

impl InsuranceType {
    pub const ALL: [InsuranceType; 5] = [
        InsuranceType::Pension,
        InsuranceType::Medical,
        InsuranceType::Unemployment,
        InsuranceType::WorkInjury,
        InsuranceType::Maternity,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            InsuranceType::Pension => "pension",
            InsuranceType::Medical => "medical",
            InsuranceType::Unemployment => "unemployment",
            InsuranceType::WorkInjury => "work_injury",
            InsuranceType::Maternity => "maternity",
        }
    }
    pub fn parse(s: &str) -> Option<InsuranceType> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            InsuranceType::Pension => "养老保险",
            InsuranceType::Medical => "医疗保险",
            InsuranceType::Unemployment => "失业保险",
            InsuranceType::WorkInjury => "工伤保险",
            InsuranceType::Maternity => "生育保险",
        }
    }
}
