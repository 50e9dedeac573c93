//! View models of the portal's templates: the page frame ([`Chrome`]), the generic records
//! page ([`Area`]: facts and tables), and the builders turning a person's records into the
//! areas. Money is shown with [`yuan`], instants in Beijing time.

use askama::Template;
use sscard_domain::money::Money;
use sscard_service::ServiceError;
use sscard_service::selfservice::records::{
    BenefitView, ContributionHistory, EnrolmentView, PersonRecords,
};

use super::{Holder, Tr};

/// One navigation entry.
#[derive(Debug, Clone)]
pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

/// The logged-in cardholder as the frame shows them.
#[derive(Debug, Clone)]
pub struct UserView {
    pub name: String,
    pub doc_masked: String,
    pub csrf: String,
    pub must_change_password: bool,
}

/// The page frame: language, title, navigation, the holder, the language switch.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub t: Tr,
    pub lang: &'static str,
    pub title: String,
    pub user: Option<UserView>,
    /// The records areas (logged in, password changed).
    pub areas: Vec<NavItem>,
    /// The public pages.
    pub public: Vec<NavItem>,
    /// The same page in the other language.
    pub switch_href: String,
}

const AREAS: [(&str, &str, &str); 13] = [
    ("me", "/portal/me", "nav.basic"),
    ("pension", "/portal/pension", "nav.pension"),
    ("medical", "/portal/medical", "nav.medical"),
    ("unemployment", "/portal/unemployment", "nav.unemployment"),
    ("injury", "/portal/injury", "nav.injury"),
    ("maternity", "/portal/maternity", "nav.maternity"),
    (
        "contributions",
        "/portal/contributions",
        "nav.contributions",
    ),
    ("assistance", "/portal/assistance", "nav.assistance"),
    ("health", "/portal/health", "nav.health"),
    ("card", "/portal/card", "nav.card"),
    ("certificate", "/portal/certificate", "nav.certificate"),
    ("ecard", "/portal/ecard", "nav.ecard"),
    ("password", "/portal/password", "nav.password"),
];

const PUBLIC: [(&str, &str, &str); 4] = [
    ("guide", "/portal/guide", "nav.guide"),
    ("agencies", "/portal/agencies", "nav.agencies"),
    ("hotlines", "/portal/hotlines", "nav.hotlines"),
    ("verify", "/portal/verify", "nav.verify"),
];

impl Chrome {
    /// The frame of a page at `path` (with its query string, if any); `nav` names the current
    /// entry.
    pub fn new(t: Tr, holder: Option<&Holder>, title: &str, nav: &str, path: &str) -> Self {
        let user = holder.map(|h| UserView {
            name: h.session.name.clone(),
            doc_masked: h.session.doc_number_masked.clone(),
            csrf: h.session.csrf_token.clone(),
            must_change_password: h.session.must_change_password,
        });
        let items = |list: &[(&str, &'static str, &'static str)]| {
            list.iter()
                .map(|(k, href, key)| NavItem {
                    href,
                    label: t.t(key),
                    current: *k == nav,
                })
                .collect::<Vec<_>>()
        };
        let areas = match &user {
            Some(u) if !u.must_change_password => items(&AREAS),
            _ => Vec::new(),
        };
        let sep = if path.contains('?') { '&' } else { '?' };
        Chrome {
            t,
            lang: if t.en { "en" } else { "zh-CN" },
            title: title.to_string(),
            user,
            areas,
            public: items(&PUBLIC),
            switch_href: format!("{path}{sep}lang={}", if t.en { "zh" } else { "en" }),
        }
    }

    /// The CSRF token for forms (empty without a session).
    pub fn csrf(&self) -> &str {
        self.user.as_ref().map(|u| u.csrf.as_str()).unwrap_or("")
    }
}

/// A service error as a page shows it.
#[derive(Debug, Clone)]
pub struct ErrorView {
    pub code: String,
    pub message: String,
}

impl ErrorView {
    pub fn of(t: Tr, e: &ServiceError) -> Self {
        ErrorView {
            code: e.code.to_string(),
            message: t.pick(&e.message, &e.message_en).to_string(),
        }
    }
}

/// A whole-page error.
#[derive(Template)]
#[template(path = "portal/error.html")]
pub struct ErrorPage {
    pub c: Chrome,
    pub error: ErrorView,
}

/// `¥1,234.56`.
pub fn yuan(fen: i64) -> String {
    Money::from_fen(fen).format_yuan()
}

/// An RFC 3339 UTC instant in Beijing time (`2026-11-21 14:05`); other text unchanged.
pub fn local_time(s: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(s) {
        Ok(t) => sscard_domain::clock::to_shanghai(t.with_timezone(&chrono::Utc))
            .format("%Y-%m-%d %H:%M")
            .to_string(),
        Err(_) => s.to_string(),
    }
}

/// A labelled value; `big` ones stand out (balances).
#[derive(Debug, Clone)]
pub struct Fact {
    pub id: String,
    pub label: String,
    pub value: String,
    pub big: bool,
}

/// A table with a caption; numeric columns are right-aligned.
#[derive(Debug, Clone)]
pub struct Table {
    pub id: String,
    pub caption: String,
    pub headers: Vec<String>,
    pub numeric: Vec<bool>,
    pub rows: Vec<Vec<String>>,
    pub empty: String,
}

impl Table {
    fn is_num(&self, i: usize) -> bool {
        self.numeric.get(i).copied().unwrap_or(false)
    }

    /// The cells of a row with whether each is numeric.
    pub fn cells<'a>(&'a self, row: &'a [String]) -> Vec<(&'a str, bool)> {
        row.iter()
            .enumerate()
            .map(|(i, c)| (c.as_str(), self.is_num(i)))
            .collect()
    }

    /// The headers with whether each is numeric.
    pub fn heads(&self) -> Vec<(&str, bool)> {
        self.headers
            .iter()
            .enumerate()
            .map(|(i, c)| (c.as_str(), self.is_num(i)))
            .collect()
    }
}

/// One records page: an intro, facts, tables.
#[derive(Debug, Clone, Default)]
pub struct Area {
    pub intro: Option<String>,
    pub facts: Vec<Fact>,
    pub tables: Vec<Table>,
}

fn fact(id: &str, label: &str, value: impl Into<String>) -> Fact {
    Fact {
        id: id.into(),
        label: label.into(),
        value: value.into(),
        big: false,
    }
}

fn big(id: &str, label: &str, value: impl Into<String>) -> Fact {
    Fact {
        big: true,
        ..fact(id, label, value)
    }
}

fn table(t: Tr, id: &str, caption: &str, headers: &[&str], numeric: &[usize]) -> Table {
    Table {
        id: id.into(),
        caption: caption.into(),
        headers: headers.iter().map(|h| t.t(h).to_string()).collect(),
        numeric: (0..headers.len()).map(|i| numeric.contains(&i)).collect(),
        rows: Vec::new(),
        empty: t.t("common.none").to_string(),
    }
}

fn or_dash(s: Option<&str>) -> String {
    s.filter(|s| !s.is_empty()).unwrap_or("—").to_string()
}

fn enrolment_facts(t: Tr, e: Option<&EnrolmentView>) -> Vec<Fact> {
    match e {
        None => vec![fact(
            "enrolment",
            t.t("f.enrolment"),
            t.t("common.not_enrolled"),
        )],
        Some(e) => vec![
            fact(
                "enrolment",
                t.t("f.enrolment"),
                t.pick(&e.status_label, &e.status_label_en),
            ),
            fact(
                "scheme",
                t.t("f.scheme"),
                t.pick(&e.scheme_label, &e.scheme_label_en),
            ),
            fact("start", t.t("f.start_date"), e.start_date.clone()),
        ],
    }
}

fn benefits_table(t: Tr, id: &str, caption: &str, list: &[BenefitView]) -> Table {
    let mut tb = table(
        t,
        id,
        caption,
        &[
            "h.benefit",
            "h.status",
            "h.from",
            "h.to",
            "h.monthly",
            "h.lump_sum",
        ],
        &[4, 5],
    );
    for b in list {
        tb.rows.push(vec![
            t.pick(&b.kind_label, &b.kind_label_en).to_string(),
            t.pick(&b.status_label, &b.status_label_en).to_string(),
            b.start_month.clone(),
            or_dash(b.end_month.as_deref()),
            yuan(b.monthly_fen),
            yuan(b.lump_sum_fen),
        ]);
    }
    tb
}

/// 个人基础信息 (+ enrolments and employment).
pub fn basic_area(t: Tr, r: &PersonRecords) -> Area {
    let b = &r.basic;
    let mut a = Area {
        facts: vec![
            fact("name", t.t("f.name"), b.name.clone()),
            fact(
                "gender",
                t.t("f.gender"),
                t.pick(&b.gender_label, &b.gender_label_en),
            ),
            fact("birth", t.t("f.birth_date"), b.birth_date.clone()),
            fact("ethnicity", t.t("f.ethnicity"), b.ethnicity.clone()),
            fact("doc", t.t("f.ssn"), b.doc_number_masked.clone()),
            fact("phone", t.t("f.phone"), b.phone_masked.clone()),
            fact(
                "region",
                t.t("f.region"),
                format!("{}({})", b.region_name, b.region_code),
            ),
            fact("address", t.t("f.address"), b.address.clone()),
            fact(
                "life",
                t.t("f.life_status"),
                t.pick(&b.life_status_label, &b.life_status_label_en),
            ),
        ],
        ..Default::default()
    };
    let mut en = table(
        t,
        "enrolments",
        t.t("c.enrolments"),
        &["h.insurance", "h.scheme", "h.status", "h.start", "h.end"],
        &[],
    );
    for e in &r.enrolments {
        en.rows.push(vec![
            t.pick(&e.insurance_label, &e.insurance_label_en)
                .to_string(),
            t.pick(&e.scheme_label, &e.scheme_label_en).to_string(),
            t.pick(&e.status_label, &e.status_label_en).to_string(),
            e.start_date.clone(),
            or_dash(e.end_date.as_deref()),
        ]);
    }
    let mut emp = table(
        t,
        "employment",
        t.t("c.employment"),
        &[
            "h.employer",
            "h.credit_code",
            "h.position",
            "h.start",
            "h.end",
        ],
        &[],
    );
    for e in &r.employment {
        emp.rows.push(vec![
            e.employer_name.clone(),
            e.credit_code.clone(),
            or_dash(Some(&e.position)),
            e.start_date.clone(),
            e.end_date
                .clone()
                .unwrap_or_else(|| t.t("common.current").to_string()),
        ]);
    }
    a.tables = vec![en, emp];
    a
}

/// 养老保险.
pub fn pension_area(t: Tr, r: &PersonRecords) -> Area {
    let p = &r.pension;
    let mut facts = enrolment_facts(t, p.enrolment.as_ref());
    facts.push(big(
        "months",
        t.t("f.pension_months"),
        format!("{} {}", p.contribution_months, t.t("common.months")),
    ));
    facts.push(fact(
        "last",
        t.t("f.last_month"),
        or_dash(p.last_contribution_month.as_deref()),
    ));
    facts.push(big(
        "account",
        t.t("f.pension_account"),
        yuan(p.personal_account_fen),
    ));
    if let Some(m) = p.monthly_pension_fen {
        facts.push(big("monthly", t.t("f.monthly_pension"), yuan(m)));
    }
    Area {
        intro: Some(t.t("intro.pension").to_string()),
        facts,
        tables: vec![benefits_table(
            t,
            "pension-benefits",
            t.t("c.pension_benefits"),
            &p.benefits,
        )],
    }
}

/// 医疗保险: balance, recent transactions, settlements.
pub fn medical_area(t: Tr, r: &PersonRecords) -> Area {
    let m = &r.medical;
    let mut facts = enrolment_facts(t, m.enrolment.as_ref());
    facts.insert(
        0,
        fact(
            "type",
            t.t("f.medical_type"),
            t.pick(&m.insurance_type_label, &m.insurance_type_label_en),
        ),
    );
    facts.push(big(
        "balance",
        t.t("f.balance"),
        m.balance_fen
            .map(yuan)
            .unwrap_or_else(|| t.t("common.no_account").to_string()),
    ));
    if m.reserved_fen > 0 {
        facts.push(fact("reserved", t.t("f.reserved"), yuan(m.reserved_fen)));
    }
    let mut tx = table(
        t,
        "transactions",
        t.t("c.transactions"),
        &["h.time", "h.item", "h.amount"],
        &[2],
    );
    for e in &m.transactions {
        let amount = if e.amount_fen > 0 {
            format!("+{}", yuan(e.amount_fen))
        } else {
            yuan(e.amount_fen)
        };
        tx.rows.push(vec![
            local_time(&e.at),
            t.pick(&e.label, &e.label_en).to_string(),
            amount,
        ]);
    }
    let mut st = table(
        t,
        "settlements",
        t.t("c.settlements"),
        &[
            "h.time",
            "h.institution",
            "h.total",
            "h.pooling",
            "h.personal_account",
            "h.cash",
            "h.status",
        ],
        &[2, 3, 4, 5],
    );
    for s in &m.settlements {
        let opt = |v: Option<i64>| v.map(yuan).unwrap_or_else(|| "—".into());
        st.rows.push(vec![
            local_time(&s.at),
            or_dash(Some(&s.institution_name)),
            opt(s.total_fen),
            opt(s.pooling_fen),
            yuan(s.personal_fen),
            opt(s.cash_fen),
            if s.status == "reversed" {
                t.t("common.reversed")
            } else {
                t.t("common.settled")
            }
            .to_string(),
        ]);
    }
    Area {
        intro: Some(t.t("intro.medical").to_string()),
        facts,
        tables: vec![tx, st],
    }
}

/// 失业保险.
pub fn unemployment_area(t: Tr, r: &PersonRecords) -> Area {
    let u = &r.unemployment;
    let mut facts = enrolment_facts(t, u.enrolment.as_ref());
    facts.push(big(
        "continuous",
        t.t("f.continuous_months"),
        format!(
            "{} {}",
            u.continuous_contribution_months,
            t.t("common.months")
        ),
    ));
    match &u.registration {
        Some(reg) => {
            facts.push(fact(
                "registered",
                t.t("f.registered_on"),
                reg.registered_on.clone(),
            ));
            if let Some(n) = reg.months_total {
                facts.push(fact(
                    "benefit_months",
                    t.t("f.benefit_months"),
                    format!("{n} {}", t.t("common.months")),
                ));
            }
        }
        None => facts.push(fact(
            "registered",
            t.t("f.registered_on"),
            t.t("common.not_registered"),
        )),
    }
    Area {
        intro: None,
        facts,
        tables: vec![benefits_table(
            t,
            "unemployment-benefits",
            t.t("c.unemployment_benefits"),
            &u.benefits,
        )],
    }
}

/// 工伤保险.
pub fn injury_area(t: Tr, r: &PersonRecords) -> Area {
    let w = &r.work_injury;
    let mut facts = enrolment_facts(t, w.enrolment.as_ref());
    facts.push(fact(
        "grade",
        t.t("f.disability_grade"),
        w.disability_grade
            .map(|g| {
                t.pick(&format!("{g} 级"), &format!("grade {g}"))
                    .to_string()
            })
            .unwrap_or_else(|| "—".into()),
    ));
    let mut cases = table(
        t,
        "cases",
        t.t("c.injury_cases"),
        &[
            "h.kind",
            "h.occurred",
            "h.recognised",
            "h.grade",
            "h.employer",
            "h.description",
        ],
        &[],
    );
    for c in &w.cases {
        cases.rows.push(vec![
            t.pick(&c.kind_label, &c.kind_label_en).to_string(),
            c.occurred_on.clone(),
            or_dash(c.recognised_on.as_deref()),
            c.disability_grade
                .map(|g| g.to_string())
                .unwrap_or_else(|| "—".into()),
            or_dash(c.employer_name.as_deref()),
            c.description.clone(),
        ]);
    }
    Area {
        intro: None,
        facts,
        tables: vec![
            cases,
            benefits_table(t, "injury-benefits", t.t("c.injury_benefits"), &w.benefits),
        ],
    }
}

/// 生育保险.
pub fn maternity_area(t: Tr, r: &PersonRecords) -> Area {
    let m = &r.maternity;
    Area {
        intro: None,
        facts: enrolment_facts(t, m.enrolment.as_ref()),
        tables: vec![benefits_table(
            t,
            "maternity-benefits",
            t.t("c.maternity_benefits"),
            &m.benefits,
        )],
    }
}

/// 低保和优抚.
pub fn assistance_area(t: Tr, r: &PersonRecords) -> Area {
    let a = &r.assistance;
    Area {
        intro: Some(t.t("intro.assistance").to_string()),
        facts: Vec::new(),
        tables: vec![
            benefits_table(
                t,
                "minimum-living",
                t.t("c.minimum_living"),
                &a.minimum_living,
            ),
            benefits_table(t, "special-care", t.t("c.special_care"), &a.special_care),
        ],
    }
}

/// 生命与健康数据.
pub fn health_area(t: Tr, r: &PersonRecords) -> Area {
    let mut tb = table(
        t,
        "health",
        t.t("c.health"),
        &["h.category", "h.item", "h.result", "h.date", "h.source"],
        &[],
    );
    for h in &r.health {
        tb.rows.push(vec![
            t.pick(&h.category_label, &h.category_label_en).to_string(),
            h.item.clone(),
            h.value.clone(),
            h.recorded_on.clone(),
            h.source.clone(),
        ]);
    }
    Area {
        intro: Some(t.t("intro.health").to_string()),
        facts: Vec::new(),
        tables: vec![tb],
    }
}

/// 缴费记录 of one year or all.
pub fn contributions_area(t: Tr, h: &ContributionHistory) -> Area {
    let facts = vec![
        big(
            "months",
            t.t("f.months_shown"),
            format!("{} {}", h.months.len(), t.t("common.months")),
        ),
        fact("personal", t.t("f.personal_total"), yuan(h.personal_fen)),
        fact("employer", t.t("f.employer_total"), yuan(h.employer_fen)),
    ];
    let mut tb = table(
        t,
        "contributions",
        t.t("c.contributions"),
        &[
            "h.month",
            "h.employer",
            "h.base",
            "h.pension_personal",
            "h.medical_personal",
            "h.unemployment_personal",
            "h.personal",
            "h.employer_part",
        ],
        &[2, 3, 4, 5, 6, 7],
    );
    // Newest first on the page.
    for m in h.months.iter().rev() {
        tb.rows.push(vec![
            m.month.clone(),
            m.employer_name
                .clone()
                .unwrap_or_else(|| t.t("common.self_paid").to_string()),
            yuan(m.base_fen),
            yuan(m.pension_personal_fen),
            yuan(m.medical_personal_fen),
            yuan(m.unemployment_personal_fen),
            yuan(m.personal_fen),
            yuan(m.employer_fen),
        ]);
    }
    Area {
        intro: None,
        facts,
        tables: vec![tb],
    }
}

/// An option of a `<select>`.
#[derive(Debug, Clone)]
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// The generic records page.
#[derive(Template)]
#[template(path = "portal/records.html")]
pub struct RecordsPage {
    pub c: Chrome,
    pub heading: String,
    pub area: Area,
    /// The contributions page's year filter (empty elsewhere).
    pub years: Vec<Choice>,
    pub error: Option<ErrorView>,
}

/// The public landing page with the login form.
#[derive(Template)]
#[template(path = "portal/home.html")]
pub struct HomePage {
    pub c: Chrome,
    pub id_number: String,
    pub login_csrf: String,
    pub expired: bool,
    pub logged_out: bool,
    pub error: Option<ErrorView>,
}

/// The query-password change.
#[derive(Template)]
#[template(path = "portal/password.html")]
pub struct PasswordPage {
    pub c: Chrome,
    pub forced: bool,
    pub done: bool,
    pub error: Option<ErrorView>,
}

/// One card with its timeline.
#[derive(Debug, Clone)]
pub struct CardBox {
    pub title: String,
    pub facts: Vec<Fact>,
    pub timeline: Table,
    pub live: bool,
}

/// The card page.
#[derive(Template)]
#[template(path = "portal/card.html")]
pub struct CardPage {
    pub c: Chrome,
    pub cards: Vec<CardBox>,
    /// The card a loss can be reported for (number), if any.
    pub loss_card: Option<String>,
    pub done: Option<String>,
    pub error: Option<ErrorView>,
}

/// The certificate page.
#[derive(Template)]
#[template(path = "portal/certificate.html")]
pub struct CertificatePage {
    pub c: Chrome,
    /// The code just issued.
    pub code: Option<String>,
    pub error: Option<ErrorView>,
}

/// The public certificate check.
#[derive(Template)]
#[template(path = "portal/verify.html")]
pub struct VerifyPage {
    pub c: Chrome,
    pub code: String,
    pub result: Option<Vec<Fact>>,
    pub valid: bool,
    pub error: Option<ErrorView>,
}

/// One topic of the guide.
#[derive(Debug, Clone)]
pub struct GuideTopic {
    pub key: String,
    pub title: String,
    pub steps: Vec<String>,
}

/// The public service guide.
#[derive(Template)]
#[template(path = "portal/guide.html")]
pub struct GuidePage {
    pub c: Chrome,
    pub regions: Vec<Choice>,
    pub region_name: String,
    pub hotline: String,
    pub local_hotline: String,
    pub topics: Vec<GuideTopic>,
    pub error: Option<ErrorView>,
}

/// The public agency directory.
#[derive(Template)]
#[template(path = "portal/agencies.html")]
pub struct AgenciesPage {
    pub c: Chrome,
    pub regions: Vec<Choice>,
    pub q: String,
    pub table: Table,
    pub error: Option<ErrorView>,
}

/// The public hotlines.
#[derive(Template)]
#[template(path = "portal/hotlines.html")]
pub struct HotlinesPage {
    pub c: Chrome,
    pub table: Table,
}

/// The electronic card's QR code.
#[derive(Template)]
#[template(path = "portal/ecard.html")]
pub struct EcardPage {
    pub c: Chrome,
    pub svg: Option<String>,
    pub card_no_masked: String,
    pub expires_local: String,
    pub ttl_secs: i64,
    pub error: Option<ErrorView>,
}

/// A table builder for handlers.
pub fn new_table(t: Tr, id: &str, caption: &str, headers: &[&str], numeric: &[usize]) -> Table {
    table(t, id, caption, headers, numeric)
}

/// A fact builder for handlers.
pub fn new_fact(id: &str, label: &str, value: impl Into<String>) -> Fact {
    fact(id, label, value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_and_time() {
        assert_eq!(yuan(123456), "¥1,234.56");
        assert_eq!(local_time("2026-11-21T06:05:00.000Z"), "2026-11-21 14:05");
        assert_eq!(local_time("2026-11"), "2026-11");
    }
}
