//! View models of the kiosk's templates: the page frame ([`Chrome`]), errors, and the seven
//! query categories built from the self-service records ([`sections`]).

use askama::Template;
use sscard_domain::Money;
use sscard_domain::clock::to_shanghai;
use sscard_service::ServiceError;
use sscard_service::selfservice::records::{BenefitView, EnrolmentView, PersonRecords};

use super::{KMsg, Visit};

/// The seven query categories of seed 000, in the kiosk's order: (slug, catalogue key).
pub const CATEGORIES: [(&str, &str); 7] = [
    ("card", "cat.card"),
    ("public", "cat.public"),
    ("employment", "cat.employment"),
    ("insurance", "cat.insurance"),
    ("medical", "cat.medical"),
    ("assistance", "cat.assistance"),
    ("health", "cat.health"),
];

/// The page frame: language, title, the session's idle timer and exit forms.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub k: KMsg,
    pub lang: &'static str,
    pub title: String,
    /// The same page in the other language.
    pub switch_href: String,
    /// Idle seconds before the session ends (0: no session, no timer).
    pub idle: u32,
    pub csrf: String,
    pub has_session: bool,
    pub ready: bool,
    /// The holder's name (after the PIN) or its masked form (before).
    pub holder: String,
}

impl Chrome {
    /// The frame of a page at `path` (without a query string).
    pub fn new(k: KMsg, visit: Option<&Visit>, title: &str, path: &str) -> Chrome {
        let (idle, csrf, ready, holder) = match visit {
            Some(v) => (
                v.s.idle_timeout_secs,
                v.s.csrf_token.clone(),
                v.s.ready,
                if v.s.ready {
                    v.s.holder_name.clone()
                } else {
                    v.s.holder_name_masked.clone()
                },
            ),
            None => (0, String::new(), false, String::new()),
        };
        Chrome {
            k,
            lang: if k.en { "en" } else { "zh-CN" },
            title: title.to_string(),
            switch_href: format!("{path}?lang={}", if k.en { "zh" } else { "en" }),
            idle,
            csrf,
            has_session: visit.is_some(),
            ready,
            holder,
        }
    }
}

/// An error as shown: code and message in the page's language.
#[derive(Debug, Clone)]
pub struct ErrorView {
    pub code: String,
    pub message: String,
}

impl ErrorView {
    pub fn of(k: KMsg, e: &ServiceError) -> ErrorView {
        ErrorView {
            code: e.code.to_string(),
            message: k.pick(&e.message, &e.message_en).to_string(),
        }
    }
}

/// A whole-page error.
#[derive(Template)]
#[template(path = "kiosk/error.html")]
pub struct ErrorPage {
    pub c: Chrome,
    pub error: ErrorView,
}

/// `¥1,234.56`.
pub fn yuan(fen: i64) -> String {
    Money::from_fen(fen).format_yuan()
}

/// An RFC 3339 instant as Beijing time `YYYY-MM-DD HH:MM` (the text itself when unparsable).
pub fn local_time(at: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(at)
        .map(|t| {
            to_shanghai(t.with_timezone(&chrono::Utc))
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_else(|_| at.to_string())
}

/// One table cell.
#[derive(Debug, Clone)]
pub struct Cell {
    pub text: String,
    /// Right-aligned figure.
    pub num: bool,
}

fn t(text: impl Into<String>) -> Cell {
    Cell {
        text: text.into(),
        num: false,
    }
}

fn n(text: impl Into<String>) -> Cell {
    Cell {
        text: text.into(),
        num: true,
    }
}

/// One block of a category page: label/value pairs and/or a table.
#[derive(Debug, Clone, Default)]
pub struct Section {
    /// `id` of the block in the page (tests find blocks by it).
    pub id: String,
    pub title: String,
    pub kv: Vec<(String, String)>,
    pub head: Vec<Cell>,
    pub rows: Vec<Vec<Cell>>,
    /// Shown when the table has no row.
    pub empty: String,
    /// A large figure (the medical account balance).
    pub figure: Option<(String, String)>,
}

impl Section {
    fn new(id: &str, title: &str) -> Section {
        Section {
            id: id.to_string(),
            title: title.to_string(),
            ..Default::default()
        }
    }

    fn kv(mut self, k: &str, v: impl Into<String>) -> Section {
        self.kv.push((k.to_string(), v.into()));
        self
    }

    /// Whether the table part is shown.
    pub fn has_table(&self) -> bool {
        !self.head.is_empty()
    }
}

fn dash(v: Option<&str>) -> String {
    v.filter(|s| !s.is_empty()).unwrap_or("—").to_string()
}

fn enrolment_text(k: KMsg, e: Option<&EnrolmentView>) -> String {
    match e {
        Some(e) => format!(
            "{} · {} · {}",
            k.pick(&e.scheme_label, &e.scheme_label_en),
            k.pick(&e.status_label, &e.status_label_en),
            e.start_date
        ),
        None => k.t("info.not_enrolled").to_string(),
    }
}

fn benefit_table(k: KMsg, id: &str, title: &str, benefits: &[BenefitView]) -> Section {
    let mut s = Section::new(id, title);
    s.head = vec![
        t(k.t("col.kind")),
        t(k.t("col.status")),
        t(k.t("col.period")),
        n(k.t("col.monthly")),
        n(k.t("col.lump_sum")),
    ];
    s.rows = benefits
        .iter()
        .map(|b| {
            vec![
                t(k.pick(&b.kind_label, &b.kind_label_en)),
                t(k.pick(&b.status_label, &b.status_label_en)),
                t(format!(
                    "{} – {}",
                    b.start_month,
                    b.end_month.as_deref().unwrap_or("")
                )),
                n(yuan(b.monthly_fen)),
                n(yuan(b.lump_sum_fen)),
            ]
        })
        .collect();
    s.empty = k.t("info.none").to_string();
    s
}

/// The blocks of category `slug`, or `None` for an unknown category.
pub fn sections(k: KMsg, slug: &str, r: &PersonRecords) -> Option<Vec<Section>> {
    let b = &r.basic;
    let out = match slug {
        // 卡基本信息: the live card, its PIN state and its timeline.
        "card" => {
            let mut out = Vec::new();
            for c in r.cards.iter().filter(|c| c.live) {
                let v = &c.card;
                let sec = Section::new("card-basic", k.t("info.card"))
                    .kv(k.t("f.card_no"), dash(v.card_no.as_deref()))
                    .kv(k.t("f.name"), b.name.clone())
                    .kv(k.t("f.social_no"), b.doc_number_masked.clone())
                    .kv(
                        k.t("f.card_status"),
                        k.pick(&v.status_label, &v.status_label_en),
                    )
                    .kv(
                        k.t("f.card_kind"),
                        k.t(if v.kind == "temporary" {
                            "card.temporary"
                        } else {
                            "card.regular"
                        }),
                    )
                    .kv(
                        k.t("f.region"),
                        format!("{}({})", b.region_name, v.region_code),
                    )
                    .kv(k.t("f.applied_at"), local_time(&v.applied_at))
                    .kv(k.t("f.expires_on"), dash(v.expires_on.as_deref()))
                    .kv(
                        k.t("f.pin"),
                        k.t(if v.pin_locked {
                            "pin.locked"
                        } else if v.pin_changed {
                            "pin.enabled"
                        } else {
                            "pin.initial"
                        }),
                    )
                    .kv(k.t("f.bank_status"), k.label("bank", &v.bank_status))
                    .kv(
                        k.t("f.bank_account"),
                        dash(v.bank_account_masked.as_deref()),
                    );
                out.push(sec);
                let mut tl = Section::new("card-timeline", k.t("info.timeline"));
                tl.head = vec![
                    t(k.t("col.time")),
                    t(k.t("col.event")),
                    t(k.t("col.status")),
                ];
                tl.rows = c
                    .timeline
                    .iter()
                    .rev()
                    .map(|e| {
                        vec![
                            t(local_time(&e.at)),
                            t(k.pick(&e.event_label, &e.event_label_en)),
                            t(k.pick(&e.to_status_label, &e.to_status_label_en)),
                        ]
                    })
                    .collect();
                tl.empty = k.t("info.none").to_string();
                out.push(tl);
            }
            if out.is_empty() {
                let mut s = Section::new("card-basic", k.t("info.card"));
                s.kv.push((k.t("f.card_status").into(), k.t("info.no_card").into()));
                out.push(s);
            }
            out
        }
        // 公共数据: the person's basic data.
        "public" => vec![
            Section::new("public-basic", k.t("info.basic"))
                .kv(k.t("f.name"), b.name.clone())
                .kv(k.t("f.gender"), k.pick(&b.gender_label, &b.gender_label_en))
                .kv(k.t("f.birth_date"), b.birth_date.clone())
                .kv(k.t("f.ethnicity"), b.ethnicity.clone())
                .kv(k.t("f.social_no"), b.doc_number_masked.clone())
                .kv(k.t("f.phone"), dash(Some(&b.phone_masked)))
                .kv(k.t("f.address"), dash(Some(&b.address)))
                .kv(
                    k.t("f.region"),
                    format!("{}({})", b.region_name, b.region_code),
                )
                .kv(
                    k.t("f.life_status"),
                    k.pick(&b.life_status_label, &b.life_status_label_en),
                ),
        ],
        // 就业与失业: employment spells, unemployment insurance and registration.
        "employment" => {
            let mut emp = Section::new("employment", k.t("info.employment"));
            emp.head = vec![
                t(k.t("col.employer")),
                t(k.t("col.position")),
                t(k.t("col.period")),
            ];
            emp.rows = r
                .employment
                .iter()
                .map(|e| {
                    vec![
                        t(e.employer_name.clone()),
                        t(dash(Some(&e.position))),
                        t(format!(
                            "{} – {}",
                            e.start_date,
                            e.end_date
                                .clone()
                                .unwrap_or_else(|| k.t("info.until_now").into())
                        )),
                    ]
                })
                .collect();
            emp.empty = k.t("info.no_employment").to_string();
            let u = &r.unemployment;
            let mut unemp = Section::new("unemployment", k.t("info.unemployment"))
                .kv(k.t("f.enrolment"), enrolment_text(k, u.enrolment.as_ref()))
                .kv(
                    k.t("f.continuous_months"),
                    format!(
                        "{} {}",
                        u.continuous_contribution_months,
                        k.t("unit.months")
                    ),
                );
            match &u.registration {
                Some(reg) => {
                    unemp = unemp.kv(k.t("f.registered_on"), reg.registered_on.clone());
                    if let Some(m) = reg.months_total {
                        unemp = unemp.kv(
                            k.t("f.benefit_months"),
                            format!("{m} {}", k.t("unit.months")),
                        );
                    }
                }
                None => unemp = unemp.kv(k.t("f.registered_on"), k.t("info.not_registered")),
            }
            let benefits = benefit_table(
                k,
                "unemployment-benefits",
                k.t("info.unemployment_benefits"),
                &u.benefits,
            );
            vec![emp, unemp, benefits]
        }
        // 社会保险: enrolments, pension, work injury, maternity, contributions by year.
        "insurance" => {
            let mut enr = Section::new("enrolments", k.t("info.enrolments"));
            enr.head = vec![
                t(k.t("col.insurance")),
                t(k.t("col.scheme")),
                t(k.t("col.status")),
                t(k.t("col.since")),
            ];
            enr.rows = r
                .enrolments
                .iter()
                .map(|e| {
                    vec![
                        t(k.pick(&e.insurance_label, &e.insurance_label_en)),
                        t(k.pick(&e.scheme_label, &e.scheme_label_en)),
                        t(k.pick(&e.status_label, &e.status_label_en)),
                        t(e.start_date.clone()),
                    ]
                })
                .collect();
            enr.empty = k.t("info.not_enrolled").to_string();
            let p = &r.pension;
            let mut pension = Section::new("pension", k.t("info.pension"))
                .kv(k.t("f.enrolment"), enrolment_text(k, p.enrolment.as_ref()))
                .kv(
                    k.t("f.contribution_months"),
                    format!("{} {}", p.contribution_months, k.t("unit.months")),
                )
                .kv(
                    k.t("f.last_month"),
                    dash(p.last_contribution_month.as_deref()),
                )
                .kv(k.t("f.pension_account"), yuan(p.personal_account_fen));
            if let Some(m) = p.monthly_pension_fen {
                pension = pension.kv(k.t("f.monthly_pension"), yuan(m));
            }
            let w = &r.work_injury;
            let mut injury = Section::new("work-injury", k.t("info.work_injury"))
                .kv(k.t("f.enrolment"), enrolment_text(k, w.enrolment.as_ref()));
            if let Some(g) = w.disability_grade {
                injury = injury.kv(k.t("f.disability_grade"), g.to_string());
            }
            injury.head = vec![
                t(k.t("col.kind")),
                t(k.t("col.occurred")),
                t(k.t("col.recognised")),
                t(k.t("col.grade")),
            ];
            injury.rows = w
                .cases
                .iter()
                .map(|c| {
                    vec![
                        t(k.pick(&c.kind_label, &c.kind_label_en)),
                        t(c.occurred_on.clone()),
                        t(dash(c.recognised_on.as_deref())),
                        t(c.disability_grade
                            .map(|g| g.to_string())
                            .unwrap_or_default()),
                    ]
                })
                .collect();
            injury.empty = k.t("info.no_injury").to_string();
            let maternity = Section::new("maternity", k.t("info.maternity")).kv(
                k.t("f.enrolment"),
                enrolment_text(k, r.maternity.enrolment.as_ref()),
            );
            let mut years = Section::new("contributions", k.t("info.contributions"));
            years.head = vec![
                t(k.t("col.year")),
                n(k.t("col.months")),
                n(k.t("col.personal")),
                n(k.t("col.employer_part")),
            ];
            years.rows = r
                .contributions_by_year
                .iter()
                .map(|y| {
                    vec![
                        t(y.year.to_string()),
                        n(y.months.to_string()),
                        n(yuan(y.personal_fen)),
                        n(yuan(y.employer_fen)),
                    ]
                })
                .collect();
            years.empty = k.t("info.no_contributions").to_string();
            let mut all_benefits: Vec<BenefitView> = p.benefits.clone();
            all_benefits.extend(w.benefits.iter().cloned());
            all_benefits.extend(r.maternity.benefits.iter().cloned());
            let benefits = benefit_table(k, "benefits", k.t("info.benefits"), &all_benefits);
            vec![enr, pension, injury, maternity, benefits, years]
        }
        // 医疗保险: insurance type, personal account balance, transactions, settlements.
        "medical" => {
            let m = &r.medical;
            let mut acc = Section::new("medical-account", k.t("info.medical"))
                .kv(
                    k.t("f.medical_type"),
                    k.pick(&m.insurance_type_label, &m.insurance_type_label_en),
                )
                .kv(k.t("f.enrolment"), enrolment_text(k, m.enrolment.as_ref()));
            acc.figure = Some((
                k.t("f.balance").to_string(),
                m.balance_fen
                    .map(yuan)
                    .unwrap_or_else(|| k.t("info.no_account").into()),
            ));
            if m.reserved_fen > 0 {
                acc = acc.kv(k.t("f.reserved"), yuan(m.reserved_fen));
            }
            let mut tx = Section::new("medical-transactions", k.t("info.transactions"));
            tx.head = vec![t(k.t("col.time")), t(k.t("col.item")), n(k.t("col.amount"))];
            tx.rows = m
                .transactions
                .iter()
                .map(|e| {
                    vec![
                        t(local_time(&e.at)),
                        t(k.pick(&e.label, &e.label_en)),
                        n(if e.amount_fen > 0 {
                            format!("+{}", yuan(e.amount_fen))
                        } else {
                            yuan(e.amount_fen)
                        }),
                    ]
                })
                .collect();
            tx.empty = k.t("info.none").to_string();
            let mut st = Section::new("medical-settlements", k.t("info.settlements"));
            st.head = vec![
                t(k.t("col.time")),
                t(k.t("col.institution")),
                n(k.t("col.total")),
                n(k.t("col.pooling")),
                n(k.t("col.personal_account")),
            ];
            let opt = |v: Option<i64>| v.map(yuan).unwrap_or_else(|| "—".into());
            st.rows = m
                .settlements
                .iter()
                .map(|s| {
                    vec![
                        t(format!(
                            "{}{}",
                            local_time(&s.at),
                            if s.status == "reversed" {
                                k.t("info.reversed")
                            } else {
                                ""
                            }
                        )),
                        t(s.institution_name.clone()),
                        n(opt(s.total_fen)),
                        n(opt(s.pooling_fen)),
                        n(yuan(s.personal_fen)),
                    ]
                })
                .collect();
            st.empty = k.t("info.none").to_string();
            vec![acc, tx, st]
        }
        // 低保和优抚.
        "assistance" => vec![
            benefit_table(
                k,
                "minimum-living",
                k.t("info.minimum_living"),
                &r.assistance.minimum_living,
            ),
            benefit_table(
                k,
                "special-care",
                k.t("info.special_care"),
                &r.assistance.special_care,
            ),
        ],
        // 生命与健康数据.
        "health" => {
            let mut h = Section::new("health", k.t("info.health"));
            h.head = vec![
                t(k.t("col.category")),
                t(k.t("col.item")),
                t(k.t("col.value")),
                t(k.t("col.date")),
                t(k.t("col.source")),
            ];
            h.rows = r
                .health
                .iter()
                .map(|x| {
                    vec![
                        t(k.pick(&x.category_label, &x.category_label_en)),
                        t(x.item.clone()),
                        t(dash(Some(&x.value))),
                        t(x.recorded_on.clone()),
                        t(dash(Some(&x.source))),
                    ]
                })
                .collect();
            h.empty = k.t("info.no_health").to_string();
            vec![h]
        }
        _ => return None,
    };
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(yuan(123_456), "¥1,234.56");
        assert_eq!(local_time("2026-11-21T02:00:00.000Z"), "2026-11-21 10:00");
        assert_eq!(local_time("x"), "x");
    }
}
