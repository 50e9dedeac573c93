//! A person's records, as the portal and the kiosk show them: basic information, cards and
//! their timeline, employment, the five insurances, contributions, 低保和优抚 (minimum living
//! allowance and special care) and 生命与健康数据 (life and health data). Everything comes
//! from the store; money is `i64` fen; instants are RFC 3339 UTC, dates `YYYY-MM-DD`, months
//! `YYYY-MM`. Labels come in Chinese (`*_label`) and English (`*_label_en`).
//!
//! How the figures are made:
//! - **pension**: contribution months = months in the contribution record with a pension part
//!   (for a retiree, the months recorded with the pension award when larger); personal
//!   account accumulation = the sum of the personal pension parts; monthly pension = the
//!   active pension benefit.
//! - **medical**: the insurance type is the medical enrolment's scheme; the balance is the
//!   ledger's `medical_personal` account (so it always equals the ledger), with its latest
//!   transactions; settlements are those of the institution API (`med_settlements`), or, where
//!   a person has none there, the settlement transfers of the ledger (personal-account part
//!   only).
//! - **unemployment**: continuous contribution months = the run of consecutive months with an
//!   unemployment contribution ending at the latest such month (or the months recorded with the
//!   unemployment registration when larger); registration and benefits from the benefit record.
//!
//! Refusals: `PERSON_NOT_FOUND`, `RECORD_NOT_YOURS`, `FORBIDDEN`, `YEAR_INVALID`.

use serde::Serialize;
use sscard_domain::card::CardStatus;
use sscard_domain::ids::RegionCode;
use sscard_domain::mask::mask_id;
use sscard_domain::person::{Gender, LifeStatus};
use sscard_store::Tx;
use sscard_store::repo::selfservice as repo;
use sscard_store::repo::{aftercare, cards as card_repo, ledger as ledger_repo, persons};

use super::require_reader;
use crate::App;
use crate::audit::Actor;
use crate::cards::CardView;
use crate::error::{ErrorKind, ServiceError};
use crate::persons::person_not_found;

/// How many ledger entries and settlements the medical area lists.
pub const RECENT_LIMIT: i64 = 20;

/// Basic information (个人基础信息).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BasicInfo {
    pub name: String,
    pub gender: String,
    pub gender_label: String,
    pub gender_label_en: String,
    pub birth_date: String,
    pub ethnicity: String,
    pub doc_type: String,
    /// The social security number (= citizen ID number), masked: `5101**********1234`.
    pub doc_number_masked: String,
    pub phone_masked: String,
    pub address: String,
    pub region_code: String,
    pub region_name: String,
    pub life_status: String,
    pub life_status_label: String,
    pub life_status_label_en: String,
    /// Whether the portal query password was changed from the initial one.
    pub query_password_changed: bool,
}

/// An enrolment in one insurance.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct EnrolmentView {
    pub insurance: String,
    pub insurance_label: String,
    pub insurance_label_en: String,
    /// `employee`, `resident`, `flexible`.
    pub scheme: String,
    pub scheme_label: String,
    pub scheme_label_en: String,
    pub status: String,
    pub status_label: String,
    pub status_label_en: String,
    pub region_code: String,
    pub start_date: String,
    pub end_date: Option<String>,
}

/// A benefit (待遇) being paid or recorded.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BenefitView {
    pub kind: String,
    pub kind_label: String,
    pub kind_label_en: String,
    pub status: String,
    pub status_label: String,
    pub status_label_en: String,
    pub start_month: String,
    pub end_month: Option<String>,
    pub monthly_fen: i64,
    pub lump_sum_fen: i64,
    /// Kind-specific details (grade, category, household size…).
    pub detail: serde_json::Value,
}

/// An employment spell (就业信息).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct EmploymentView {
    pub employer_name: String,
    pub employer_no: String,
    pub credit_code: String,
    pub start_date: String,
    pub end_date: Option<String>,
    pub position: String,
    pub current: bool,
}

/// Pension insurance (养老保险).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PensionRecord {
    pub enrolment: Option<EnrolmentView>,
    pub contribution_months: i64,
    /// The latest month with a pension contribution.
    pub last_contribution_month: Option<String>,
    pub personal_account_fen: i64,
    pub retired: bool,
    /// The monthly pension of a retiree (active award), if any.
    pub monthly_pension_fen: Option<i64>,
    pub benefits: Vec<BenefitView>,
}

/// One entry of the medical personal account.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AccountEntryView {
    /// RFC 3339 UTC.
    pub at: String,
    /// Positive: credited; negative: debited.
    pub amount_fen: i64,
    pub kind: String,
    pub label: String,
    pub label_en: String,
}

/// A settlement at a designated hospital or pharmacy.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SettlementView {
    pub at: String,
    pub institution_name: String,
    /// The whole bill (unknown for ledger-only settlements).
    pub total_fen: Option<i64>,
    pub pooling_fen: Option<i64>,
    /// Paid from the personal account.
    pub personal_fen: i64,
    pub cash_fen: Option<i64>,
    /// `settled` or `reversed`.
    pub status: String,
}

/// Medical insurance (医疗保险).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MedicalRecord {
    pub enrolment: Option<EnrolmentView>,
    /// 职工基本医疗保险, 城乡居民基本医疗保险…
    pub insurance_type_label: String,
    pub insurance_type_label_en: String,
    /// The personal account's balance (None: no personal account).
    pub balance_fen: Option<i64>,
    /// Reserved by pre-settlements not yet finished.
    pub reserved_fen: i64,
    /// Newest first, at most [`RECENT_LIMIT`].
    pub transactions: Vec<AccountEntryView>,
    /// Newest first, at most [`RECENT_LIMIT`].
    pub settlements: Vec<SettlementView>,
}

/// Unemployment registration (失业登记).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct UnemploymentRegistration {
    pub registered_on: String,
    /// Months of benefit granted.
    pub months_total: Option<i64>,
}

/// Unemployment insurance (失业保险).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct UnemploymentRecord {
    pub enrolment: Option<EnrolmentView>,
    pub continuous_contribution_months: i64,
    pub registration: Option<UnemploymentRegistration>,
    pub benefits: Vec<BenefitView>,
}

/// A work-injury case (工伤认定).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct InjuryCaseView {
    /// `injury` or `death`.
    pub kind: String,
    pub kind_label: String,
    pub kind_label_en: String,
    pub employer_name: Option<String>,
    pub occurred_on: String,
    pub recognised_on: Option<String>,
    /// 1 (most severe) to 10.
    pub disability_grade: Option<i64>,
    pub description: String,
}

/// Work-injury insurance (工伤保险).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WorkInjuryRecord {
    pub enrolment: Option<EnrolmentView>,
    pub cases: Vec<InjuryCaseView>,
    /// The most severe recognised disability grade.
    pub disability_grade: Option<i64>,
    pub benefits: Vec<BenefitView>,
}

/// Maternity insurance (生育保险).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MaternityRecord {
    pub enrolment: Option<EnrolmentView>,
    pub benefits: Vec<BenefitView>,
}

/// Contributions of one year.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct ContributionYear {
    pub year: i32,
    pub months: i64,
    pub personal_fen: i64,
    pub employer_fen: i64,
}

/// One month of contributions.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ContributionMonthView {
    pub month: String,
    /// None for flexible employment (self-paid).
    pub employer_name: Option<String>,
    pub base_fen: i64,
    pub pension_employer_fen: i64,
    pub pension_personal_fen: i64,
    pub medical_employer_fen: i64,
    pub medical_personal_fen: i64,
    pub unemployment_employer_fen: i64,
    pub unemployment_personal_fen: i64,
    pub injury_employer_fen: i64,
    pub maternity_employer_fen: i64,
    pub personal_fen: i64,
    pub employer_fen: i64,
    pub paid: bool,
}

/// The contribution history (缴费记录), optionally of one year.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ContributionHistory {
    /// Years with contributions, newest first (for the year filter).
    pub years: Vec<i32>,
    /// The year shown (None: all).
    pub year: Option<i32>,
    /// Oldest first.
    pub months: Vec<ContributionMonthView>,
    pub personal_fen: i64,
    pub employer_fen: i64,
}

/// 低保和优抚.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AssistanceRecord {
    /// 最低生活保障.
    pub minimum_living: Vec<BenefitView>,
    /// 优抚 (special care: veterans, martyrs' families).
    pub special_care: Vec<BenefitView>,
}

/// One life-and-health record (生命与健康数据).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct HealthView {
    /// `blood_type`, `allergy`, `organ_donation`, `vaccination`, `checkup`.
    pub category: String,
    pub category_label: String,
    pub category_label_en: String,
    pub item: String,
    pub value: String,
    pub recorded_on: String,
    pub source: String,
}

/// One entry of a card's timeline, as the holder sees it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CardTimelineView {
    pub event: String,
    pub event_label: String,
    pub event_label_en: String,
    pub to_status: String,
    pub to_status_label: String,
    pub to_status_label_en: String,
    pub channel: String,
    pub at: String,
}

/// A card with its timeline (oldest first).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CardRecord {
    pub card: CardView,
    /// Live (not reissued, replaced, cancelled or expired).
    pub live: bool,
    pub timeline: Vec<CardTimelineView>,
}

/// Every area of a person's records.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PersonRecords {
    pub person_id: i64,
    /// The day the records are "as of" (today, Asia/Shanghai).
    pub as_of: String,
    pub basic: BasicInfo,
    /// Every card, newest first.
    pub cards: Vec<CardRecord>,
    pub enrolments: Vec<EnrolmentView>,
    pub employment: Vec<EmploymentView>,
    pub pension: PensionRecord,
    pub medical: MedicalRecord,
    pub unemployment: UnemploymentRecord,
    pub work_injury: WorkInjuryRecord,
    pub maternity: MaternityRecord,
    /// Contributions summed by year, newest first.
    pub contributions_by_year: Vec<ContributionYear>,
    pub assistance: AssistanceRecord,
    pub health: Vec<HealthView>,
}

fn pair(zh: &str, en: &str) -> (String, String) {
    (zh.to_string(), en.to_string())
}

fn insurance_label(s: &str) -> (String, String) {
    match s {
        "pension" => pair("养老保险", "Pension insurance"),
        "medical" => pair("医疗保险", "Medical insurance"),
        "unemployment" => pair("失业保险", "Unemployment insurance"),
        "work_injury" => pair("工伤保险", "Work-injury insurance"),
        "maternity" => pair("生育保险", "Maternity insurance"),
        o => pair(o, o),
    }
}

fn scheme_label(s: &str) -> (String, String) {
    match s {
        "employee" => pair("城镇职工", "Employees"),
        "resident" => pair("城乡居民", "Urban and rural residents"),
        "flexible" => pair("灵活就业", "Flexible employment"),
        o => pair(o, o),
    }
}

fn enrolment_status_label(s: &str) -> (String, String) {
    match s {
        "active" => pair("参保缴费", "Contributing"),
        "suspended" => pair("暂停缴费", "Suspended"),
        "terminated" => pair("终止参保", "Terminated"),
        "retired" => pair("退休", "Retired"),
        o => pair(o, o),
    }
}

fn benefit_kind_label(s: &str) -> (String, String) {
    match s {
        "pension" => pair("基本养老金", "Basic pension"),
        "unemployment" => pair("失业保险金", "Unemployment benefit"),
        "work_injury" => pair("工伤保险待遇", "Work-injury benefit"),
        "work_death" => pair("工亡待遇", "Work-death benefit"),
        "maternity" => pair("生育津贴", "Maternity allowance"),
        "minimum_living" => pair("最低生活保障金", "Minimum living allowance"),
        "special_care" => pair("优抚金", "Special-care allowance"),
        o => pair(o, o),
    }
}

fn benefit_status_label(s: &str) -> (String, String) {
    match s {
        "active" => pair("正常发放", "Being paid"),
        "ended" => pair("已终止", "Ended"),
        "suspended" => pair("暂停发放", "Suspended"),
        "unclaimed" => pair("待领取", "Unclaimed"),
        o => pair(o, o),
    }
}

fn health_label(s: &str) -> (String, String) {
    match s {
        "blood_type" => pair("血型", "Blood type"),
        "allergy" => pair("过敏史", "Allergies"),
        "organ_donation" => pair("器官捐献意愿", "Organ donation"),
        "vaccination" => pair("预防接种", "Vaccinations"),
        "checkup" => pair("健康体检", "Health check-ups"),
        o => pair(o, o),
    }
}

fn entry_label(kind: &str, memo: &str) -> (String, String) {
    let en = match kind {
        "contribution" => "Monthly credit from contributions",
        "carry_forward" => "Balance carried forward",
        "retiree_credit" => "Retiree's monthly credit",
        "settlement" => "Settlement at a designated institution",
        "heir_payout" => "Paid to the heirs",
        "migration_out" => "Transferred out",
        "withdrawal" => "Cash withdrawal",
        "reversal" => "Reversal",
        _ => "Account movement",
    };
    let zh = if memo.is_empty() {
        match kind {
            "contribution" => "个人账户划入",
            "settlement" => "医疗费用结算",
            _ => "账户变动",
        }
        .to_string()
    } else {
        memo.to_string()
    };
    (zh, en.to_string())
}

fn event_label(event: &str) -> (String, String) {
    match event {
        "apply" | "applied" => pair("申领", "Applied"),
        "batch" => pair("制卡批次", "Put into production"),
        "produced" => pair("制卡完成", "Produced"),
        "collect" => pair("领卡", "Collected"),
        "activate" => pair("启用", "Activated"),
        "report_loss_temporary" => pair("临时挂失", "Temporary loss report"),
        "report_loss_written" => pair("书面挂失", "Written loss report"),
        "loss_lapsed" => pair("临时挂失失效", "Temporary loss lapsed"),
        "lift_loss" => pair("解除挂失", "Loss report lifted"),
        "reissue" => pair("补卡", "Reissue"),
        "replace" => pair("换卡", "Replacement"),
        "cancel" => pair("注销", "Cancelled"),
        "expire" => pair("到期", "Expired"),
        "pin_locked" => pair("密码锁定", "PIN locked"),
        "pin_changed" => pair("修改密码", "PIN changed"),
        "pin_reset" => pair("重置密码", "PIN reset"),
        "pin_unlocked" => pair("密码解锁", "PIN unlocked"),
        "moved_to_card_centre" => pair("退回卡管中心", "Returned to the card centre"),
        o => pair(o, &o.replace('_', " ")),
    }
}

fn enrolment_view(e: &repo::EnrolmentRow) -> EnrolmentView {
    let (il, ile) = insurance_label(&e.insurance);
    let (sl, sle) = scheme_label(&e.scheme);
    let (tl, tle) = enrolment_status_label(&e.status);
    EnrolmentView {
        insurance: e.insurance.clone(),
        insurance_label: il,
        insurance_label_en: ile,
        scheme: e.scheme.clone(),
        scheme_label: sl,
        scheme_label_en: sle,
        status: e.status.clone(),
        status_label: tl,
        status_label_en: tle,
        region_code: e.region_code.clone(),
        start_date: e.start_date.clone(),
        end_date: e.end_date.clone(),
    }
}

fn benefit_view(b: &persons::BenefitRow) -> BenefitView {
    let (kl, kle) = benefit_kind_label(&b.kind);
    let (sl, sle) = benefit_status_label(&b.status);
    BenefitView {
        kind: b.kind.clone(),
        kind_label: kl,
        kind_label_en: kle,
        status: b.status.clone(),
        status_label: sl,
        status_label_en: sle,
        start_month: b.start_month.clone(),
        end_month: b.end_month.clone(),
        monthly_fen: b.monthly_fen,
        lump_sum_fen: b.lump_sum_fen,
        detail: serde_json::from_str(&b.detail_json).unwrap_or(serde_json::Value::Null),
    }
}

fn month_view(c: repo::ContributionMonthRow) -> ContributionMonthView {
    let personal = c.pension_personal_fen + c.medical_personal_fen + c.unemployment_personal_fen;
    let employer = c.pension_employer_fen
        + c.medical_employer_fen
        + c.unemployment_employer_fen
        + c.injury_employer_fen
        + c.maternity_employer_fen;
    ContributionMonthView {
        month: c.month,
        employer_name: c.employer_name,
        base_fen: c.base_fen,
        pension_employer_fen: c.pension_employer_fen,
        pension_personal_fen: c.pension_personal_fen,
        medical_employer_fen: c.medical_employer_fen,
        medical_personal_fen: c.medical_personal_fen,
        unemployment_employer_fen: c.unemployment_employer_fen,
        unemployment_personal_fen: c.unemployment_personal_fen,
        injury_employer_fen: c.injury_employer_fen,
        maternity_employer_fen: c.maternity_employer_fen,
        personal_fen: personal,
        employer_fen: employer,
        paid: c.paid,
    }
}

fn month_number(month: &str) -> Option<i32> {
    let (y, m) = month.split_once('-')?;
    Some(y.parse::<i32>().ok()? * 12 + m.parse::<i32>().ok()? - 1)
}

/// Length of the run of consecutive months ending at the latest month in `months`
/// (sorted ascending).
fn trailing_run(months: &[i32]) -> i64 {
    let mut run = 0;
    let mut expect: Option<i32> = None;
    for m in months.iter().rev() {
        match expect {
            Some(e) if *m != e => break,
            _ => {}
        }
        run += 1;
        expect = Some(m - 1);
    }
    run
}

fn detail_i64(b: &BenefitView, key: &str) -> Option<i64> {
    b.detail.get(key).and_then(|v| v.as_i64())
}

fn by_year(months: &[ContributionMonthView]) -> Vec<ContributionYear> {
    let mut out: Vec<ContributionYear> = Vec::new();
    for m in months {
        let year: i32 = m.month.get(..4).and_then(|y| y.parse().ok()).unwrap_or(0);
        match out.iter_mut().find(|y| y.year == year) {
            Some(y) => {
                y.months += 1;
                y.personal_fen += m.personal_fen;
                y.employer_fen += m.employer_fen;
            }
            None => out.push(ContributionYear {
                year,
                months: 1,
                personal_fen: m.personal_fen,
                employer_fen: m.employer_fen,
            }),
        }
    }
    out.sort_by_key(|y| std::cmp::Reverse(y.year));
    out
}

fn medical_type(e: Option<&EnrolmentView>) -> (String, String) {
    match e.map(|e| e.scheme.as_str()) {
        Some("employee") => pair("职工基本医疗保险", "Employees' basic medical insurance"),
        Some("flexible") => pair(
            "职工基本医疗保险(灵活就业)",
            "Employees' basic medical insurance (flexible employment)",
        ),
        Some("resident") => pair(
            "城乡居民基本医疗保险",
            "Urban and rural residents' basic medical insurance",
        ),
        _ => pair("未参加医疗保险", "Not insured"),
    }
}

fn basic_info(p: &persons::PersonRow) -> BasicInfo {
    let gender = Gender::parse(&p.gender);
    let life = LifeStatus::parse(&p.life_status);
    let region_name = RegionCode::parse(&p.region_code)
        .map(|r| r.full_name())
        .unwrap_or_else(|_| p.region_code.clone());
    BasicInfo {
        name: p.name.clone(),
        gender: p.gender.clone(),
        gender_label: gender.map(|g| g.label_zh()).unwrap_or("").to_string(),
        gender_label_en: match gender {
            Some(Gender::Male) => "Male",
            Some(Gender::Female) => "Female",
            None => "",
        }
        .to_string(),
        birth_date: p.birth_date.clone(),
        ethnicity: p.ethnicity.clone(),
        doc_type: p.doc_type.clone(),
        doc_number_masked: mask_id(&p.doc_number),
        phone_masked: mask_phone(&p.phone),
        address: p.address.clone(),
        region_code: p.region_code.clone(),
        region_name,
        life_status: p.life_status.clone(),
        life_status_label: life.map(|l| l.label_zh()).unwrap_or("").to_string(),
        life_status_label_en: match life {
            Some(LifeStatus::Normal) => "Normal",
            Some(LifeStatus::Deceased) => "Deceased",
            Some(LifeStatus::Missing) => "Missing",
            Some(LifeStatus::Emigrated) => "Settled abroad",
            Some(LifeStatus::Imprisoned) => "Imprisoned",
            None => "",
        }
        .to_string(),
        query_password_changed: p.query_password_changed,
    }
}

fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() < 7 {
        return "*".repeat(chars.len());
    }
    let mut s: String = chars[..3].iter().collect();
    s.push_str(&"*".repeat(chars.len() - 7));
    s.extend(&chars[chars.len() - 4..]);
    s
}

fn cards_of(tx: &mut dyn Tx, person_id: i64) -> Result<Vec<CardRecord>, ServiceError> {
    let mut out = Vec::new();
    for c in card_repo::cards_of(tx, person_id)? {
        let timeline = card_repo::events_of(tx, c.id)?
            .into_iter()
            .map(|e| {
                let (el, ele) = event_label(&e.event);
                let status = CardStatus::parse(&e.to_status);
                CardTimelineView {
                    event_label: el,
                    event_label_en: ele,
                    to_status_label: status
                        .map(|s| s.label_zh().to_string())
                        .unwrap_or_else(|| e.to_status.clone()),
                    to_status_label_en: status
                        .map(|s| s.label_en().to_string())
                        .unwrap_or_else(|| e.to_status.clone()),
                    event: e.event,
                    to_status: e.to_status,
                    channel: e.channel,
                    at: e.at,
                }
            })
            .collect();
        out.push(CardRecord {
            live: c.status.is_live(),
            card: CardView::from(&c),
            timeline,
        });
    }
    Ok(out)
}

fn load_person(tx: &mut dyn Tx, person_id: i64) -> Result<persons::PersonRow, ServiceError> {
    persons::person_by_id(tx, person_id)?.ok_or_else(person_not_found)
}

/// Every area of a person's records. The actor is the cardholder themself or reading staff
/// (see the [module](super) documentation). Errors: `PERSON_NOT_FOUND`, `RECORD_NOT_YOURS`,
/// `FORBIDDEN`.
pub fn person_records(
    app: &App,
    actor: &Actor,
    person_id: i64,
) -> Result<PersonRecords, ServiceError> {
    require_reader(actor, person_id)?;
    let today = app.today();
    app.store().read(|tx| {
        let p = load_person(tx, person_id)?;
        let enrolments: Vec<EnrolmentView> = repo::enrolments_of(tx, person_id)?
            .iter()
            .map(enrolment_view)
            .collect();
        let enrolment = |ins: &str| {
            // The latest enrolment of that insurance.
            enrolments
                .iter()
                .rev()
                .find(|e| e.insurance == ins)
                .cloned()
        };
        let benefits: Vec<BenefitView> = persons::benefits_of(tx, person_id)?
            .iter()
            .map(benefit_view)
            .collect();
        let of_kind = |kinds: &[&str]| -> Vec<BenefitView> {
            benefits
                .iter()
                .filter(|b| kinds.contains(&b.kind.as_str()))
                .cloned()
                .collect()
        };
        let months: Vec<ContributionMonthView> = repo::contribution_months(tx, person_id, None)?
            .into_iter()
            .map(month_view)
            .collect();

        // Pension.
        let pension_months: Vec<&ContributionMonthView> = months
            .iter()
            .filter(|m| m.pension_personal_fen + m.pension_employer_fen > 0)
            .collect();
        let pension_benefits = of_kind(&["pension"]);
        let recorded_months = pension_benefits
            .iter()
            .filter_map(|b| detail_i64(b, "contribution_months"))
            .max()
            .unwrap_or(0);
        let pension_enrolment = enrolment("pension");
        let pension = PensionRecord {
            contribution_months: (pension_months.len() as i64).max(recorded_months),
            last_contribution_month: pension_months.last().map(|m| m.month.clone()),
            personal_account_fen: aftercare::pension_accumulation(tx, person_id)?,
            retired: pension_enrolment
                .as_ref()
                .is_some_and(|e| e.status == "retired")
                || pension_benefits.iter().any(|b| b.status == "active"),
            monthly_pension_fen: pension_benefits
                .iter()
                .rev()
                .find(|b| b.status == "active")
                .map(|b| b.monthly_fen),
            enrolment: pension_enrolment,
            benefits: pension_benefits,
        };

        // Medical.
        let medical_enrolment = enrolment("medical");
        let (type_zh, type_en) = medical_type(medical_enrolment.as_ref());
        let balance = ledger_repo::person_balance(tx, person_id, "medical_personal")?;
        let (reserved, _) = aftercare::unsettled(tx, person_id, "medical_personal")?;
        let transactions =
            ledger_repo::person_entries(tx, person_id, "medical_personal", RECENT_LIMIT)?
                .into_iter()
                .map(|e| {
                    let (l, le) = entry_label(&e.kind, &e.memo);
                    AccountEntryView {
                        at: e.created_at,
                        amount_fen: e.amount_fen,
                        kind: e.kind,
                        label: l,
                        label_en: le,
                    }
                })
                .collect();
        let mut settlements = repo::api_settlements_of(tx, person_id, RECENT_LIMIT)?;
        if settlements.is_empty() {
            settlements = repo::ledger_settlements_of(tx, person_id, RECENT_LIMIT)?;
        }
        let medical = MedicalRecord {
            enrolment: medical_enrolment,
            insurance_type_label: type_zh,
            insurance_type_label_en: type_en,
            balance_fen: balance,
            reserved_fen: reserved,
            transactions,
            settlements: settlements
                .into_iter()
                .map(|s| SettlementView {
                    at: s.settled_at,
                    institution_name: s.institution_name,
                    total_fen: s.total_fen,
                    pooling_fen: s.pooling_fen,
                    personal_fen: s.personal_fen,
                    cash_fen: s.cash_fen,
                    status: s.status,
                })
                .collect(),
        };

        // Unemployment.
        let unemployment_months: Vec<i32> = months
            .iter()
            .filter(|m| m.unemployment_personal_fen + m.unemployment_employer_fen > 0)
            .filter_map(|m| month_number(&m.month))
            .collect();
        let unemployment_benefits = of_kind(&["unemployment"]);
        let registration = unemployment_benefits.iter().rev().find_map(|b| {
            let on = b.detail.get("registered_on")?.as_str()?.to_string();
            Some(UnemploymentRegistration {
                registered_on: on,
                months_total: detail_i64(b, "months_total"),
            })
        });
        let recorded_continuous = unemployment_benefits
            .iter()
            .filter_map(|b| detail_i64(b, "continuous_contribution_months"))
            .max()
            .unwrap_or(0);
        let unemployment = UnemploymentRecord {
            enrolment: enrolment("unemployment"),
            continuous_contribution_months: trailing_run(&unemployment_months)
                .max(recorded_continuous),
            registration,
            benefits: unemployment_benefits,
        };

        // Work injury.
        let cases: Vec<InjuryCaseView> = repo::injury_cases_of(tx, person_id)?
            .into_iter()
            .map(|c| {
                let (kl, kle) = match c.kind.as_str() {
                    "death" => pair("因工死亡", "Death at work"),
                    _ => pair("工伤", "Work injury"),
                };
                InjuryCaseView {
                    kind: c.kind,
                    kind_label: kl,
                    kind_label_en: kle,
                    employer_name: c.employer_name,
                    occurred_on: c.occurred_on,
                    recognised_on: c.recognised_on,
                    disability_grade: c.disability_grade,
                    description: c.description,
                }
            })
            .collect();
        let work_injury = WorkInjuryRecord {
            enrolment: enrolment("work_injury"),
            disability_grade: cases.iter().filter_map(|c| c.disability_grade).min(),
            cases,
            benefits: of_kind(&["work_injury", "work_death"]),
        };

        let maternity = MaternityRecord {
            enrolment: enrolment("maternity"),
            benefits: of_kind(&["maternity"]),
        };
        let assistance = AssistanceRecord {
            minimum_living: of_kind(&["minimum_living"]),
            special_care: of_kind(&["special_care"]),
        };
        let health = repo::health_of(tx, person_id)?
            .into_iter()
            .map(|h| {
                let (cl, cle) = health_label(&h.category);
                HealthView {
                    category: h.category,
                    category_label: cl,
                    category_label_en: cle,
                    item: h.item,
                    value: h.value,
                    recorded_on: h.recorded_on,
                    source: h.source,
                }
            })
            .collect();
        let employment = repo::employment_of(tx, person_id)?
            .into_iter()
            .map(|e| EmploymentView {
                current: e.end_date.is_none(),
                employer_name: e.employer_name,
                employer_no: e.employer_no,
                credit_code: e.credit_code,
                start_date: e.start_date,
                end_date: e.end_date,
                position: e.position,
            })
            .collect();
        let cards = cards_of(tx, person_id)?;
        Ok(PersonRecords {
            person_id,
            as_of: today.to_string(),
            basic: basic_info(&p),
            cards,
            enrolments: enrolments.clone(),
            employment,
            pension,
            medical,
            unemployment,
            work_injury,
            maternity,
            contributions_by_year: by_year(&months),
            assistance,
            health,
        })
    })
}

/// The contribution history, of one year when `year` is given. Errors: `YEAR_INVALID`, and
/// those of [`person_records`].
pub fn contributions(
    app: &App,
    actor: &Actor,
    person_id: i64,
    year: Option<i32>,
) -> Result<ContributionHistory, ServiceError> {
    require_reader(actor, person_id)?;
    if let Some(y) = year
        && !(1990..=2100).contains(&y)
    {
        return Err(ServiceError::new(
            ErrorKind::BadRequest,
            "YEAR_INVALID",
            "年份无效",
            "Invalid year",
        ));
    }
    app.store().read(|tx| {
        load_person(tx, person_id)?;
        let all: Vec<ContributionMonthView> = repo::contribution_months(tx, person_id, None)?
            .into_iter()
            .map(month_view)
            .collect();
        let years: Vec<i32> = by_year(&all).iter().map(|y| y.year).collect();
        let months: Vec<ContributionMonthView> = match year {
            Some(y) => repo::contribution_months(tx, person_id, Some(y))?
                .into_iter()
                .map(month_view)
                .collect(),
            None => all,
        };
        Ok(ContributionHistory {
            years,
            year,
            personal_fen: months.iter().map(|m| m.personal_fen).sum(),
            employer_fen: months.iter().map(|m| m.employer_fen).sum(),
            months,
        })
    })
}

/// The person a citizen ID number belongs to (portal and kiosk login helpers).
pub(crate) fn person_by_citizen_id(
    tx: &mut dyn Tx,
    number: &str,
) -> Result<Option<persons::PersonRow>, ServiceError> {
    Ok(persons::person_by_document(tx, "citizen_id", number)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_runs_count_consecutive_months_only() {
        assert_eq!(trailing_run(&[]), 0);
        assert_eq!(trailing_run(&[10]), 1);
        assert_eq!(trailing_run(&[1, 2, 3, 5, 6, 7, 8]), 4);
        assert_eq!(trailing_run(&[1, 2, 3]), 3);
    }

    #[test]
    fn months_number_and_phones_mask() {
        assert_eq!(month_number("2026-01"), Some(2026 * 12));
        assert_eq!(month_number("2025-12"), Some(2026 * 12 - 1));
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("123"), "***");
    }
}
