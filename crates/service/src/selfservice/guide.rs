//! The public service guide (办事指南), generated from each region's policy in force, so the
//! loss-report validity, the fees and the working days are right for each city; the hotline
//! numbers; and the agency directory searchable by region and by text. No login needed.
//!
//! Refusals: `REGION_NOT_SERVED` (an unknown or unserved region code).

use serde::Serialize;
use sscard_domain::ids::RegionCode;
use sscard_domain::money::Money;
use sscard_domain::policy::{QueryPasswordRule, RegionPolicy};
use sscard_store::repo::org::AgencyRow;

use crate::App;
use crate::error::ServiceError;
use crate::reference;

/// One topic of the guide, in both languages.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct GuideSection {
    /// `apply`, `collect`, `loss`, `lift`, `reissue`, `temporary`, `replace`, `cancel`,
    /// `pin`, `portal`.
    pub key: String,
    pub title: String,
    pub title_en: String,
    pub steps: Vec<String>,
    pub steps_en: Vec<String>,
}

/// The guide of one region.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ServiceGuide {
    pub region_code: String,
    pub region_name: String,
    pub hotline: String,
    pub local_hotline: String,
    pub sections: Vec<GuideSection>,
}

/// A region's hotlines.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Hotline {
    pub region_code: String,
    pub region_name: String,
    /// The national line, 12333.
    pub hotline: String,
    /// The city's own line (with area code) or card line.
    pub local_hotline: String,
}

fn yuan(fen: i64) -> String {
    Money::from_fen(fen).format_yuan()
}

fn section(key: &str, title: &str, title_en: &str, steps: Vec<(String, String)>) -> GuideSection {
    let (zh, en) = steps.into_iter().unzip();
    GuideSection {
        key: key.into(),
        title: title.into(),
        title_en: title_en.into(),
        steps: zh,
        steps_en: en,
    }
}

fn s(zh: impl Into<String>, en: impl Into<String>) -> (String, String) {
    (zh.into(), en.into())
}

/// The guide's sections for a policy (pure: the same policy gives the same text).
pub fn sections_for(p: &RegionPolicy) -> Vec<GuideSection> {
    let first = if p.first_card_free {
        s("首次申领免费。", "The first card is free.")
    } else {
        s(
            format!("申领收取工本费 {}。", yuan(p.reissue_fee_fen)),
            format!("A fee of {} applies.", yuan(p.reissue_fee_fen)),
        )
    };
    let query_pw = match &p.query_password {
        QueryPasswordRule::Fixed(pw) => s(
            format!("初始查询密码为 {pw},首次登录须修改。"),
            format!("The initial query password is {pw}; change it at first login."),
        ),
        QueryPasswordRule::LastSixOfPersonalNumber => s(
            "初始查询密码为个人编号(身份证号码)后六位,首次登录须修改。",
            "The initial query password is the last six characters of your personal (ID) number; change it at first login.",
        ),
    };
    vec![
        section(
            "apply",
            "申领社保卡",
            "Applying for a card",
            vec![
                s(
                    "单位参保人员由单位统一申领(提交花名册和照片);个人可持本人有效身份证件到经办机构窗口申领。",
                    "Employees apply through their employer (roster and photos); anyone may apply in person with ID at a service counter.",
                ),
                s(
                    "照片要求:白色背景,358×441 像素,350 dpi。",
                    "Photo: white background, 358×441 pixels, 350 dpi.",
                ),
                first,
            ],
        ),
        section(
            "collect",
            "领卡与启用",
            "Collecting and activating",
            vec![
                s(
                    format!(
                        "收到领卡通知后 {} 个月内,本人持有效身份证件(或代办人持授权书)到通知的网点领卡,逾期退回市社保卡服务中心。",
                        p.collection_window_months
                    ),
                    format!(
                        "Collect the card within {} months of the notice, in person with ID (or by proxy with an authorisation); later it goes back to the city card centre.",
                        p.collection_window_months
                    ),
                ),
                s(
                    format!(
                        "社保卡初始密码为 {},领卡时启用社保功能,请及时修改密码;连续输错 {} 次密码将被锁定,须本人持证件到窗口解锁。",
                        p.initial_pin, p.pin_lock_threshold
                    ),
                    format!(
                        "The initial PIN is {}; the social-security function is activated at collection; change the PIN soon. {} wrong PINs in a row lock it; unlock in person with ID at a counter.",
                        p.initial_pin, p.pin_lock_threshold
                    ),
                ),
                s(
                    "金融功能请到合作银行网点激活。",
                    "Activate the bank function at the cooperating bank.",
                ),
            ],
        ),
        section(
            "loss",
            "挂失",
            "Reporting a loss",
            vec![
                s(
                    format!(
                        "临时挂失:拨打 {} / {}、在自助终端或网上服务大厅办理(须已修改过的社保卡密码),立即停止使用,有效期 {} 天。",
                        p.hotline, p.local_hotline, p.oral_loss_valid_days
                    ),
                    format!(
                        "Temporary loss: call {} / {}, or use a kiosk or this portal (with a PIN changed from the initial one); the card is frozen at once; valid {} days.",
                        p.hotline, p.local_hotline, p.oral_loss_valid_days
                    ),
                ),
                s(
                    format!(
                        "临时挂失 {} 天内未到窗口办理书面挂失的,挂失自动失效。",
                        p.oral_loss_valid_days
                    ),
                    format!(
                        "Without a written report at a counter within {} days, the temporary loss lapses by itself.",
                        p.oral_loss_valid_days
                    ),
                ),
                s(
                    "书面挂失:本人持有效身份证件到经办机构窗口填写挂失登记表,书面挂失长期有效。",
                    "Written loss: in person with ID at a counter, filling in the loss form; it is permanent.",
                ),
                s(
                    "银行账户挂失请联系合作银行。",
                    "Report the bank account lost to the cooperating bank.",
                ),
            ],
        ),
        section(
            "lift",
            "解除挂失",
            "Lifting a loss report",
            vec![
                s(
                    "找回原卡且尚未申请补卡的,本人持有效身份证件和原卡到窗口办理解挂,不能通过电话办理。",
                    "If you find the card before applying for a reissue, bring it with your ID to a counter; it cannot be done by phone.",
                ),
                s(
                    "已申请补卡的,原卡永久停用,不能解挂。",
                    "Once a reissue was applied for, the old card stays dead.",
                ),
            ],
        ),
        section(
            "reissue",
            "补卡",
            "Reissue after loss",
            vec![
                s(
                    "书面挂失后,本人持有效身份证件到窗口填写补卡申请表,领取领卡凭证。",
                    "After a written loss report, apply in person with ID and receive a pickup certificate.",
                ),
                s(
                    format!(
                        "补卡收费 {}(首张卡免费,第二张起收取),新卡约 {} 个工作日后可领取。",
                        yuan(p.reissue_fee_fen),
                        p.reissue_working_days
                    ),
                    format!(
                        "Fee {} (the first card is free, from the second on the fee applies); the new card is ready after about {} working days.",
                        yuan(p.reissue_fee_fen),
                        p.reissue_working_days
                    ),
                ),
                s(
                    "新卡领取前,领卡凭证可作为临时就医凭证。",
                    "Until the new card is collected, the pickup certificate serves as a temporary medical voucher.",
                ),
            ],
        ),
        section(
            "temporary",
            "临时卡",
            "Temporary card",
            vec![s(
                format!(
                    "急需住院就医的,可凭相关证明申领临时卡,有效期 {} 天,无金融功能,仅限本地使用。",
                    p.temp_card_valid_days
                ),
                format!(
                    "For an urgent hospital stay, a temporary card is issued with proof: valid {} days, no bank function, local use only.",
                    p.temp_card_valid_days
                ),
            )],
        ),
        section(
            "replace",
            "换卡",
            "Replacing a damaged card",
            vec![s(
                format!(
                    "卡片损坏的,持原卡和有效身份证件到窗口换卡;因卡片质量问题免费,人为损坏收取 {}。",
                    yuan(p.replacement_fee_fen)
                ),
                format!(
                    "Bring the damaged card and your ID to a counter: free for a quality fault, {} when damaged by the holder.",
                    yuan(p.replacement_fee_fen)
                ),
            )],
        ),
        section(
            "cancel",
            "注销",
            "Cancellation",
            vec![
                s(
                    "跨省转出、出国(境)定居、终止参保或死亡的,应在一个月内申请注销;先结清医保个人账户和银行账户,再收回并注销卡片。",
                    "Within a month of moving out of the province, settling abroad, leaving insurance or death, apply for cancellation: the medical personal account and the bank account are settled first, then the card is taken back and cancelled.",
                ),
                s(
                    format!(
                        "无人申请的,经办机构在登记之日起 {} 天后自行注销。持卡人去世的,继承人可凭死亡证明申请领取医保个人账户余额。",
                        p.auto_cancel_after_days
                    ),
                    format!(
                        "Without an application the agency cancels the card {} days after the event is recorded. Heirs of a deceased holder may claim the medical personal account balance with the death certificate.",
                        p.auto_cancel_after_days
                    ),
                ),
            ],
        ),
        section(
            "portal",
            "网上查询",
            "Online enquiries",
            vec![
                s(
                    "使用 18 位身份证号码和查询密码登录网上服务大厅。",
                    "Log in to the portal with your 18-digit ID number and your query password.",
                ),
                query_pw,
                s(
                    format!(
                        "查询密码连续输错 {} 次,账户锁定至次日零时,或持本人身份证件到窗口重置。",
                        p.web_lock_threshold
                    ),
                    format!(
                        "{} wrong query passwords in a row lock the account until midnight, or have it reset at a counter with your ID.",
                        p.web_lock_threshold
                    ),
                ),
            ],
        ),
    ]
}

fn region_of(code: &str) -> Result<RegionCode, ServiceError> {
    RegionCode::parse(code).map_err(|e| ServiceError::invalid(&e))
}

/// The guide of a served region, from its policy in force today. Errors: the region code's
/// codes, `REGION_NOT_SERVED`.
pub fn service_guide(app: &App, region_code: &str) -> Result<ServiceGuide, ServiceError> {
    let region = region_of(region_code)?;
    let policy = reference::policy(app, &region, app.today())?;
    Ok(ServiceGuide {
        region_code: region.as_str().to_string(),
        region_name: region.full_name(),
        hotline: policy.hotline.clone(),
        local_hotline: policy.local_hotline.clone(),
        sections: sections_for(&policy),
    })
}

/// The hotlines of every served region.
pub fn hotlines(app: &App) -> Result<Vec<Hotline>, ServiceError> {
    Ok(reference::list_regions(app)?
        .into_iter()
        .map(|r| Hotline {
            region_code: r.code,
            region_name: r.full_name,
            hotline: r.policy.hotline,
            local_hotline: r.policy.local_hotline,
        })
        .collect())
}

/// The agency directory: of one region (a city includes its districts) or all, filtered by a
/// text found in the name or the address. Errors: the region code's codes.
pub fn agencies(
    app: &App,
    region_code: Option<&str>,
    text: Option<&str>,
) -> Result<Vec<AgencyRow>, ServiceError> {
    let region = region_code
        .filter(|c| !c.trim().is_empty())
        .map(|c| region_of(c.trim()))
        .transpose()?;
    let text = text.map(str::trim).filter(|t| !t.is_empty());
    Ok(reference::agencies(app, region.as_ref())?
        .into_iter()
        .filter(|a| text.is_none_or(|t| a.name.contains(t) || a.address.contains(t)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(p: &RegionPolicy) -> String {
        sections_for(p)
            .iter()
            .flat_map(|s| s.steps.clone())
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn the_guide_follows_each_citys_policy() {
        let dalian = text(&RegionPolicy::for_region("210200"));
        assert!(dalian.contains("有效期 10 天"), "{dalian}");
        assert!(dalian.contains("连续输错 3 次"));
        let neijiang = text(&RegionPolicy::for_region("511000"));
        assert!(neijiang.contains("有效期 7 天"));
        assert!(neijiang.contains("初始查询密码为 111111"));
        assert!(neijiang.contains("0832-12333"));
        assert!(neijiang.contains("¥20.00"));
        let chongqing = text(&RegionPolicy::for_region("500000"));
        assert!(chongqing.contains("后六位"));
        let p = RegionPolicy {
            reissue_fee_fen: 3500,
            reissue_working_days: 20,
            ..RegionPolicy::default()
        };
        let t = text(&p);
        assert!(t.contains("¥35.00") && t.contains("约 20 个工作日"));
        for s in sections_for(&p) {
            assert_eq!(s.steps.len(), s.steps_en.len());
        }
    }
}
