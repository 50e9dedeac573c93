//! Reference data: pooling regions and their policies, agencies, cooperating banks and the
//! working-day calendar. [`ensure`] loads what is missing at every start (idempotent).
//!
//! Neijiang's agencies are the real table of seed 002 (内江市人社局社保卡业务经办机构联系方式).
//! The other cities get their card centre with the city hotline; their street addresses are not
//! in the seeds and are marked as to be completed by the administrator.

use chrono::NaiveDate;
use serde::Serialize;
use sscard_domain::ids::RegionCode;
use sscard_domain::policy::RegionPolicy;
use sscard_store::repo::{org, regions};

use crate::App;
use crate::audit::{self, Actor, Change, Channel};
use crate::error::ServiceError;

/// The pooling regions the seeds describe: code and display name.
pub const SEED_REGIONS: [(&str, &str); 4] = [
    ("500000", "重庆市"),
    ("511000", "内江市"),
    ("210200", "大连市"),
    ("130100", "石家庄市"),
];

/// An agency of the directory (kind: card_centre, service_centre, bureau).
pub struct AgencySeed {
    pub code: &'static str,
    pub region: &'static str,
    pub name: &'static str,
    pub kind: &'static str,
    pub phone: &'static str,
    pub address: &'static str,
}

/// Neijiang's table from seed 002, plus the bureaus named on the same page.
pub const NEIJIANG_AGENCIES: &[AgencySeed] = &[
    AgencySeed {
        code: "NJ-CARD",
        region: "511000",
        name: "内江市社会保障卡管理中心",
        kind: "card_centre",
        phone: "0832-2286791",
        address: "内江市市中区上南街12-16号",
    },
    AgencySeed {
        code: "NJ-SZQ",
        region: "511002",
        name: "市中区社会保障卡管理中心",
        kind: "service_centre",
        phone: "0832-2180608",
        address: "市中区人社局东坝街11号",
    },
    AgencySeed {
        code: "NJ-DXQ",
        region: "511011",
        name: "东兴区社会保障卡管理中心",
        kind: "service_centre",
        phone: "0832-2251528",
        address: "东兴区中兴路国贸大厦三楼",
    },
    AgencySeed {
        code: "NJ-JKQ",
        region: "511000",
        name: "经开区社会保障卡管理中心",
        kind: "service_centre",
        phone: "0832-2203551",
        address: "经开区城西工业园788号",
    },
    AgencySeed {
        code: "NJ-ZZX",
        region: "511025",
        name: "资中县社会保障卡管理中心",
        kind: "service_centre",
        phone: "0832-5832858",
        address: "资中县国土局2楼征缴中心办公室",
    },
    AgencySeed {
        code: "NJ-LCX",
        region: "511083",
        name: "隆昌县社会保障卡管理中心",
        kind: "service_centre",
        phone: "0832-3991086",
        address: "隆昌县锦林大厦三楼",
    },
    AgencySeed {
        code: "NJ-WYX",
        region: "511024",
        name: "威远县社会保障卡管理中心",
        kind: "service_centre",
        phone: "0832-8224475、0832-8245572",
        address: "威远县人社局三河路341号",
    },
    AgencySeed {
        code: "NJ-HRSS",
        region: "511000",
        name: "内江市人力资源和社会保障局",
        kind: "bureau",
        phone: "0832-2286509、2286518、2060630",
        address: "内江市西林大道228号",
    },
    AgencySeed {
        code: "NJ-SIB",
        region: "511000",
        name: "内江市社会保险事业管理局",
        kind: "bureau",
        phone: "0832-2278250",
        address: "内江市东兴区汉安大道136号",
    },
    AgencySeed {
        code: "NJ-JGSY",
        region: "511000",
        name: "内江市机关事业单位社会保险局",
        kind: "bureau",
        phone: "0832-2040814",
        address: "四川省内江市市辖区报社路84号",
    },
];

/// The card centres of the other seed cities (addresses to be completed by the administrator).
pub const OTHER_AGENCIES: &[AgencySeed] = &[
    AgencySeed {
        code: "CQ-CARD",
        region: "500000",
        name: "重庆市社会保障卡服务中心",
        kind: "card_centre",
        phone: "023-12333",
        address: "(地址待管理员补充)",
    },
    AgencySeed {
        code: "DL-CARD",
        region: "210200",
        name: "大连市社会保障卡服务中心",
        kind: "card_centre",
        phone: "0411-12333",
        address: "(地址待管理员补充)",
    },
    AgencySeed {
        code: "SJZ-CARD",
        region: "130100",
        name: "石家庄市社会保障卡服务中心",
        kind: "card_centre",
        phone: "0311-12333",
        address: "(地址待管理员补充)",
    },
];

/// Cooperating banks: code, name, customer hotline.
pub const BANKS: [(&str, &str, &str); 5] = [
    ("ICBC", "中国工商银行", "95588"),
    ("ABC", "中国农业银行", "95599"),
    ("CCB", "中国建设银行", "95533"),
    ("BOC", "中国银行", "95566"),
    ("CQRCB", "重庆农村商业银行", "96888"),
];

/// China's 2026 public holidays and adjusted working days (State Council notice on the 2026
/// holiday arrangement): (date, holiday?, name).
pub const CALENDAR_2026: &[(&str, bool, &str)] = &[
    ("2026-01-01", true, "元旦"),
    ("2026-01-02", true, "元旦"),
    ("2026-01-03", true, "元旦"),
    ("2026-01-04", false, "元旦调休上班"),
    ("2026-02-14", false, "春节调休上班"),
    ("2026-02-15", true, "春节"),
    ("2026-02-16", true, "春节"),
    ("2026-02-17", true, "春节"),
    ("2026-02-18", true, "春节"),
    ("2026-02-19", true, "春节"),
    ("2026-02-20", true, "春节"),
    ("2026-02-21", true, "春节"),
    ("2026-02-22", true, "春节"),
    ("2026-02-23", true, "春节"),
    ("2026-02-28", false, "春节调休上班"),
    ("2026-04-04", true, "清明节"),
    ("2026-04-05", true, "清明节"),
    ("2026-04-06", true, "清明节"),
    ("2026-05-01", true, "劳动节"),
    ("2026-05-02", true, "劳动节"),
    ("2026-05-03", true, "劳动节"),
    ("2026-05-04", true, "劳动节"),
    ("2026-05-05", true, "劳动节"),
    ("2026-05-09", false, "劳动节调休上班"),
    ("2026-06-19", true, "端午节"),
    ("2026-06-20", true, "端午节"),
    ("2026-06-21", true, "端午节"),
    ("2026-09-20", false, "国庆节调休上班"),
    ("2026-09-25", true, "中秋节"),
    ("2026-09-26", true, "中秋节"),
    ("2026-09-27", true, "中秋节"),
    ("2026-10-01", true, "国庆节"),
    ("2026-10-02", true, "国庆节"),
    ("2026-10-03", true, "国庆节"),
    ("2026-10-04", true, "国庆节"),
    ("2026-10-05", true, "国庆节"),
    ("2026-10-06", true, "国庆节"),
    ("2026-10-07", true, "国庆节"),
    ("2026-10-10", false, "国庆节调休上班"),
];

/// The date from which the seed policies apply.
pub fn policy_epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(2000, 1, 1).expect("valid date")
}

/// Loads missing reference data. Safe to run at every start.
pub fn ensure(app: &App) -> Result<(), ServiceError> {
    let now = app.now();
    app.store().write(|tx| {
        let existing = regions::list_regions(tx)?;
        if existing.iter().any(|r| r.code == "511000") {
            return Ok(());
        }
        for (code, name) in SEED_REGIONS {
            regions::upsert_region(tx, code, name, now)?;
            if regions::policy_in_force(tx, code, now.date_naive())?.is_none() {
                regions::insert_policy(
                    tx,
                    code,
                    policy_epoch(),
                    &RegionPolicy::for_region(code),
                    now,
                    "system",
                )?;
            }
        }
        for a in NEIJIANG_AGENCIES.iter().chain(OTHER_AGENCIES) {
            org::upsert_agency(
                tx,
                &org::NewAgency {
                    code: a.code,
                    region_code: a.region,
                    name: a.name,
                    kind: a.kind,
                    phone: a.phone,
                    address: a.address,
                },
            )?;
        }
        for (day, holiday, name) in CALENDAR_2026 {
            let d = NaiveDate::parse_from_str(day, "%Y-%m-%d").expect("valid calendar date");
            regions::set_calendar_day(tx, d, *holiday, name)?;
        }
        audit::record(
            tx,
            now,
            &Actor::system(Channel::System),
            Change {
                action: "reference.load",
                entity: "reference",
                entity_id: "seed",
                before: serde_json::Value::Null,
                after: serde_json::json!({
                    "regions": SEED_REGIONS.len(),
                    "agencies": NEIJIANG_AGENCIES.len() + OTHER_AGENCIES.len(),
                    "calendar_days": CALENDAR_2026.len(),
                }),
            },
        )
    })?;
    Ok(())
}

/// A region with its policy in force today, for the API and the pages.
#[derive(Debug, Clone, Serialize)]
pub struct RegionView {
    pub code: String,
    pub name: String,
    pub full_name: String,
    pub policy: RegionPolicy,
}

/// Every pooling region with its policy in force today.
pub fn list_regions(app: &App) -> Result<Vec<RegionView>, ServiceError> {
    let today = app.today();
    Ok(app.store().read(|tx| {
        let mut out = Vec::new();
        for r in regions::list_regions(tx)? {
            let policy = regions::policy_in_force(tx, &r.code, today)?.unwrap_or_default();
            let full_name = RegionCode::parse(&r.code)
                .map(|c| c.full_name())
                .unwrap_or_else(|_| r.name.clone());
            out.push(RegionView {
                code: r.code,
                name: r.name,
                full_name,
                policy,
            });
        }
        Ok::<_, sscard_store::StoreError>(out)
    })?)
}

/// The policy in force in a region on a day.
pub fn policy(
    app: &App,
    region: &RegionCode,
    day: NaiveDate,
) -> Result<RegionPolicy, ServiceError> {
    app.store()
        .read(|tx| regions::policy_in_force(tx, region.as_str(), day))?
        .ok_or_else(|| {
            ServiceError::not_found(
                "REGION_NOT_SERVED",
                format!("{}({})不是本系统的统筹区", region.name(), region.as_str()),
                format!("{} is not a pooling region served here", region.as_str()),
            )
        })
}

/// The agency directory, optionally for one region (a city code includes its districts).
pub fn agencies(
    app: &App,
    region: Option<&RegionCode>,
) -> Result<Vec<org::AgencyRow>, ServiceError> {
    let prefix = region.map(|r| {
        let c = r.as_str();
        if c.ends_with("0000") {
            c[..2].to_string()
        } else if c.ends_with("00") {
            c[..4].to_string()
        } else {
            c.to_string()
        }
    });
    Ok(app
        .store()
        .read(|tx| org::list_agencies(tx, prefix.as_deref()))?)
}
