//! The administrator's console at `/console/admin/…` (admin role; the service refuses every
//! other role with `FORBIDDEN`, shown as a 403 page): staff accounts, agencies, designated
//! institutions and banks (API keys issued and rotated; a new secret is shown once), region
//! policies with their history, the working-day calendar. Templates are in
//! `templates/admin/`; their labels come from [`LABELS`] (zh-CN and English), in the same way
//! as the counter console's catalogue.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{Datelike, NaiveDate};
use sscard_service::ServiceError;
use sscard_service::access::STAFF_ROLES;
use sscard_service::admin::agencies::{self, AgencyInput, AgencyView};
use sscard_service::admin::banks::{self, BankView};
use sscard_service::admin::calendar::{self, CalendarDay};
use sscard_service::admin::institutions::{self, InstitutionInput, InstitutionView};
use sscard_service::admin::policies::{self, PolicyVersion};
use sscard_service::admin::staff::{self as admin_staff, StaffInput, StaffView};
use sscard_service::admin::{IssuedKey, MAX_KEY_GRACE_HOURS};

use super::pages::{region_name, regions};
use super::views::{Chrome, ErrorView, local_time, role_label};
use super::{Fields, Msg, Params, Staff, error_page, render};
use crate::AppState;
use crate::api::blocking;

/// The admin pages' labels in the page's language.
#[derive(Debug, Clone, Copy)]
pub struct L(pub Msg);

impl L {
    /// The label `key` (`?` when missing: a test forbids that).
    pub fn l(&self, key: &str) -> &'static str {
        crate::i18n::text(LABELS, self.0.en, key, "admin")
    }
}

/// `(key, zh-CN, en)`, sorted by key (a test checks the order and that every key used in the
/// templates exists).
pub const LABELS: &[(&str, &str, &str)] = &[
    ("agency.active", "状态", "Status"),
    ("agency.address", "地址", "Address"),
    ("agency.close", "撤销", "Close"),
    ("agency.closed", "已撤销", "Closed"),
    ("agency.code", "机构编号", "Code"),
    ("agency.create", "新增经办机构", "Add an agency"),
    ("agency.kind", "类型", "Kind"),
    ("agency.name", "名称", "Name"),
    ("agency.open", "正常", "Open"),
    ("agency.phone", "电话", "Phone"),
    ("agency.region", "所在区划代码", "Division code"),
    ("agency.reopen", "恢复", "Reopen"),
    ("agency.staff", "人员数", "Staff"),
    ("agency.title", "经办机构", "Agencies"),
    ("agkind.bureau", "行政/经办局", "Bureau"),
    ("agkind.card_centre", "社保卡管理中心", "Card centre"),
    ("agkind.counter", "服务网点", "Counter"),
    ("agkind.service_centre", "社保卡服务中心", "Service centre"),
    ("bank.code", "银行编号", "Code"),
    ("bank.create", "新增合作银行", "Add a bank"),
    ("bank.hotline", "客服电话", "Hotline"),
    ("bank.name", "银行名称", "Name"),
    ("bank.title", "合作银行", "Cooperating banks"),
    ("cal.add", "设置日期", "Set a day"),
    ("cal.day", "日期", "Day"),
    (
        "cal.empty",
        "本年度没有节假日或调休设置。",
        "No holidays or adjusted working days this year.",
    ),
    (
        "cal.hint",
        "周末默认休息、工作日默认上班;这里只记录例外:法定节假日和调休上班的周末。",
        "Weekends are rest days and weekdays working days by default; this lists the exceptions: public holidays and weekend days worked.",
    ),
    ("cal.holiday", "法定节假日(休息)", "Public holiday (rest)"),
    ("cal.kind", "类型", "Kind"),
    ("cal.name", "名称", "Name"),
    ("cal.remove", "删除", "Remove"),
    ("cal.title", "工作日历", "Working-day calendar"),
    ("cal.weekday", "星期", "Weekday"),
    ("cal.workday", "调休上班", "Working day (调休)"),
    ("cal.year", "年份", "Year"),
    ("common.actions", "操作", "Actions"),
    ("common.done", "已保存。", "Saved."),
    ("common.edit", "修改", "Edit"),
    ("common.filter", "查看", "Show"),
    ("common.save", "保存", "Save"),
    (
        "home.agencies_hint",
        "新增、修改、撤销经办机构",
        "Add, edit and close agencies",
    ),
    (
        "home.banks_hint",
        "合作银行与接口密钥",
        "Banks and their API keys",
    ),
    (
        "home.calendar_hint",
        "法定节假日与调休",
        "Public holidays and adjusted days",
    ),
    (
        "home.institutions_hint",
        "定点医药机构与接口密钥",
        "Designated institutions and their API keys",
    ),
    (
        "home.policies_hint",
        "各统筹区政策参数及生效日期",
        "Each region's policy and its effective dates",
    ),
    (
        "home.staff_hint",
        "账号、角色、停用、重置密码",
        "Accounts, roles, disabling, password resets",
    ),
    (
        "home.stats_hint",
        "业务量、结算、密码锁定、12333 来电",
        "Activity, settlements, PIN locks, 12333 calls",
    ),
    ("home.title", "系统管理", "Administration"),
    ("inst.active", "状态", "Status"),
    ("inst.address", "地址", "Address"),
    ("inst.code", "机构编码(12 位)", "Code (12 characters)"),
    (
        "inst.create",
        "新增定点医药机构",
        "Designate an institution",
    ),
    (
        "inst.grace",
        "旧密钥宽限期(小时)",
        "Grace for the old key (hours)",
    ),
    ("inst.key_id", "密钥编号", "Key id"),
    ("inst.kind", "类型", "Kind"),
    (
        "inst.level",
        "医院等级(药店填 0)",
        "Level (0 for pharmacies)",
    ),
    ("inst.name", "名称", "Name"),
    ("inst.phone", "电话", "Phone"),
    ("inst.prev_until", "旧密钥有效至", "Old key valid until"),
    ("inst.region", "统筹区", "Region"),
    ("inst.rotate", "更换接口密钥", "Rotate the API key"),
    ("inst.suspended", "已暂停", "Suspended"),
    ("inst.title", "定点医药机构", "Designated institutions"),
    ("instkind.hospital", "医院", "Hospital"),
    ("instkind.pharmacy", "药店", "Pharmacy"),
    (
        "issued.key_hint",
        "请立即把密钥安全地交给对方;本页关闭后无法再次查看。",
        "Hand the secret over safely now: it cannot be shown again once this page is closed.",
    ),
    (
        "issued.password_hint",
        "请当面告知本人;首次登录后必须修改。本页关闭后无法再次查看。",
        "Tell the member in person; it must be changed at first login. It cannot be shown again once this page is closed.",
    ),
    ("issued.secret", "密钥", "Secret"),
    ("issued.temp_password", "临时密码", "Temporary password"),
    ("issued.title", "只显示一次", "Shown once"),
    ("nav.admin", "系统管理", "Administration"),
    ("pol.created", "录入", "Entered"),
    ("pol.current", "当前生效", "In force"),
    ("pol.effective_from", "生效日期", "Effective from"),
    ("pol.future", "待生效", "Scheduled"),
    ("pol.history", "政策版本历史", "Policy history"),
    ("pol.json", "政策参数(JSON)", "Policy settings (JSON)"),
    ("pol.new", "新增政策版本", "New policy version"),
    (
        "pol.new_hint",
        "生效日期不能早于今天;已生效的版本不能修改。未列出的参数取默认值。",
        "The effective date cannot be before today; a version in force cannot be changed. Settings left out take the defaults.",
    ),
    ("pol.old", "历史版本", "Past"),
    ("pol.region", "统筹区", "Region"),
    ("pol.settings", "参数", "Settings"),
    ("pol.status", "状态", "Status"),
    ("pol.title", "地区政策", "Region policies"),
    ("staff.agency", "经办机构编号", "Agency code"),
    ("staff.create", "新增人员账号", "Add a staff account"),
    ("staff.disable", "停用", "Disable"),
    ("staff.disabled", "已停用", "Disabled"),
    ("staff.display_name", "姓名", "Name"),
    ("staff.enable", "启用", "Enable"),
    ("staff.force", "强制修改密码", "Force a password change"),
    ("staff.locked", "已锁定", "Locked"),
    ("staff.must_change", "待改密", "Must change password"),
    ("staff.normal", "正常", "Active"),
    ("staff.reset", "重置密码", "Reset the password"),
    ("staff.role", "角色", "Role"),
    ("staff.status", "状态", "Status"),
    ("staff.title", "人员与角色", "Staff and roles"),
    ("staff.username", "用户名", "Username"),
    (
        "stats.chart_cards",
        "社保卡业务量(按月)",
        "Card activity per month",
    ),
    (
        "stats.chart_ivr",
        "12333 来电(按菜单,近 30 天)",
        "12333 calls by menu (30 days)",
    ),
    (
        "stats.chart_pin_locks",
        "密码锁定(按日)",
        "PIN locks per day",
    ),
    (
        "stats.chart_settlements",
        "医疗结算金额(元,按日)",
        "Settled amount per day (yuan)",
    ),
    ("stats.empty", "暂无数据", "No data"),
    ("stats.export", "导出", "Export"),
    ("stats.region_all", "全部统筹区", "All regions"),
    ("stats.title", "统计分析", "Statistics"),
];

/// One-time secret or password to show.
pub struct Issued {
    pub title: String,
    pub key_id: Option<String>,
    pub secret: String,
    pub hint: &'static str,
}

/// The result of a form post, shown above the page.
#[derive(Default)]
pub struct Outcome {
    pub done: bool,
    pub issued: Option<Issued>,
    pub error: Option<ErrorView>,
    pub status: Option<StatusCode>,
}

impl Outcome {
    fn failed(m: Msg, e: &ServiceError) -> Outcome {
        Outcome {
            error: Some(ErrorView::of(m, e)),
            status: Some(crate::error::status_of(e.kind)),
            ..Default::default()
        }
    }

    fn done() -> Outcome {
        Outcome {
            done: true,
            ..Default::default()
        }
    }

    fn key(a: L, title: &str, k: IssuedKey) -> Outcome {
        Outcome {
            done: true,
            issued: Some(Issued {
                title: title.to_string(),
                key_id: Some(k.key_id),
                secret: k.secret,
                hint: a.l("issued.key_hint"),
            }),
            ..Default::default()
        }
    }
}

fn outcome<T>(m: Msg, r: Result<T, crate::error::ApiError>) -> Outcome {
    match r {
        Ok(_) => Outcome::done(),
        Err(e) => Outcome::failed(m, &e.0),
    }
}

// ---------------------------------------------------------------- home

#[derive(Template)]
#[template(path = "admin/home.html")]
struct HomePage {
    c: Chrome,
    a: L,
}

/// `GET /console/admin`: the administrator's sections.
pub async fn home(staff: Staff) -> Response {
    let a = L(staff.m);
    if staff.session.role != sscard_service::access::ADMIN {
        return error_page(
            staff.m,
            Some(&staff),
            &sscard_service::access::require(&staff.actor(), &[sscard_service::access::ADMIN])
                .expect_err("not an admin"),
        );
    }
    let page = HomePage {
        c: staff.chrome(a.l("home.title"), "admin", "/console/admin"),
        a,
    };
    render(StatusCode::OK, &page)
}

// ---------------------------------------------------------------- staff

/// A staff row as shown.
pub struct StaffRow {
    pub v: StaffView,
    pub role_label: String,
    pub status: &'static str,
}

#[derive(Template)]
#[template(path = "admin/staff.html")]
struct StaffPage {
    c: Chrome,
    a: L,
    o: Outcome,
    rows: Vec<StaffRow>,
    roles: Vec<(String, String)>,
}

async fn staff_render(s: &AppState, staff: &Staff, o: Outcome) -> Response {
    let (m, a, actor) = (staff.m, L(staff.m), staff.actor());
    let list = match blocking(&s.app, move |app| admin_staff::list(app, &actor)).await {
        Ok(v) => v,
        Err(e) => return error_page(m, Some(staff), &e.0),
    };
    let rows = list
        .into_iter()
        .map(|v| StaffRow {
            role_label: role_label(m, &v.role),
            status: if v.disabled {
                a.l("staff.disabled")
            } else if v.locked_until.is_some() {
                a.l("staff.locked")
            } else if v.must_change_password {
                a.l("staff.must_change")
            } else {
                a.l("staff.normal")
            },
            v,
        })
        .collect();
    let page = StaffPage {
        c: staff.chrome(a.l("staff.title"), "admin", "/console/admin/staff"),
        a,
        roles: STAFF_ROLES
            .iter()
            .map(|r| (r.to_string(), role_label(m, r)))
            .collect(),
        rows,
        o,
    };
    let status = page.o.status.unwrap_or(StatusCode::OK);
    render(status, &page)
}

fn staff_input(f: &Fields, username: &str) -> StaffInput {
    StaffInput {
        username: username.to_string(),
        display_name: f.get("display_name").to_string(),
        role: f.get("role").to_string(),
        agency_code: f.opt("agency_code").map(str::to_string),
    }
}

/// `GET /console/admin/staff`.
pub async fn staff_page(State(s): State<AppState>, staff: Staff) -> Response {
    staff_render(&s, &staff, Outcome::default()).await
}

/// `POST /console/admin/staff`: creates an account and shows its one-time password.
pub async fn staff_create(State(s): State<AppState>, staff: Staff, f: Fields) -> Response {
    if let Some(r) = staff.csrf_refusal(&f) {
        return r;
    }
    let (m, a, actor) = (staff.m, L(staff.m), staff.actor());
    let input = staff_input(&f, f.get("username"));
    let o = match blocking(&s.app, move |app| admin_staff::create(app, &actor, &input)).await {
        Ok(t) => Outcome {
            done: true,
            issued: Some(Issued {
                title: t.username,
                key_id: None,
                secret: t.password,
                hint: a.l("issued.password_hint"),
            }),
            ..Default::default()
        },
        Err(e) => Outcome::failed(m, &e.0),
    };
    staff_render(&s, &staff, o).await
}

/// `POST /console/admin/staff/{username}/{action}`: `update`, `disable`, `enable`, `reset`,
/// `force`.
pub async fn staff_action(
    State(s): State<AppState>,
    staff: Staff,
    Path((username, action)): Path<(String, String)>,
    f: Fields,
) -> Response {
    if let Some(r) = staff.csrf_refusal(&f) {
        return r;
    }
    let (m, a, actor) = (staff.m, L(staff.m), staff.actor());
    let o = match action.as_str() {
        "update" => {
            let input = staff_input(&f, &username);
            outcome(
                m,
                blocking(&s.app, move |app| admin_staff::update(app, &actor, &input)).await,
            )
        }
        "disable" | "enable" => {
            let off = action == "disable";
            outcome(
                m,
                blocking(&s.app, move |app| {
                    admin_staff::set_disabled(app, &actor, &username, off)
                })
                .await,
            )
        }
        "force" => outcome(
            m,
            blocking(&s.app, move |app| {
                admin_staff::force_password_change(app, &actor, &username)
            })
            .await,
        ),
        "reset" => {
            match blocking(&s.app, move |app| {
                admin_staff::reset_password(app, &actor, &username)
            })
            .await
            {
                Ok(t) => Outcome {
                    done: true,
                    issued: Some(Issued {
                        title: t.username,
                        key_id: None,
                        secret: t.password,
                        hint: a.l("issued.password_hint"),
                    }),
                    ..Default::default()
                },
                Err(e) => Outcome::failed(m, &e.0),
            }
        }
        _ => return unknown_action(&staff),
    };
    staff_render(&s, &staff, o).await
}

fn unknown_action(staff: &Staff) -> Response {
    error_page(
        staff.m,
        Some(staff),
        &ServiceError::not_found("ACTION_UNKNOWN", "没有这项操作", "No such action"),
    )
}

// ---------------------------------------------------------------- agencies

/// An agency row as shown.
pub struct AgencyRow {
    pub v: AgencyView,
    pub kind_label: &'static str,
    pub region: String,
}

#[derive(Template)]
#[template(path = "admin/agencies.html")]
struct AgenciesPage {
    c: Chrome,
    a: L,
    o: Outcome,
    rows: Vec<AgencyRow>,
    kinds: Vec<(&'static str, &'static str)>,
}

async fn agencies_render(s: &AppState, staff: &Staff, o: Outcome) -> Response {
    let (m, a, actor) = (staff.m, L(staff.m), staff.actor());
    let list = match blocking(&s.app, move |app| agencies::list(app, &actor)).await {
        Ok(v) => v,
        Err(e) => return error_page(m, Some(staff), &e.0),
    };
    let kind_label = |k: &str| match k {
        "card_centre" => a.l("agkind.card_centre"),
        "service_centre" => a.l("agkind.service_centre"),
        "bureau" => a.l("agkind.bureau"),
        _ => a.l("agkind.counter"),
    };
    let page = AgenciesPage {
        c: staff.chrome(a.l("agency.title"), "admin", "/console/admin/agencies"),
        a,
        kinds: agencies::KINDS
            .iter()
            .map(|k| (*k, kind_label(k)))
            .collect(),
        rows: list
            .into_iter()
            .map(|v| AgencyRow {
                kind_label: kind_label(&v.kind),
                region: region_name(&v.region_code),
                v,
            })
            .collect(),
        o,
    };
    let status = page.o.status.unwrap_or(StatusCode::OK);
    render(status, &page)
}

fn agency_input(f: &Fields, code: &str) -> AgencyInput {
    AgencyInput {
        code: code.to_string(),
        region_code: f.get("region_code").to_string(),
        name: f.get("name").to_string(),
        kind: f.get("kind").to_string(),
        phone: f.get("phone").to_string(),
        address: f.get("address").to_string(),
    }
}

/// `GET /console/admin/agencies`.
pub async fn agencies_page(State(s): State<AppState>, staff: Staff) -> Response {
    agencies_render(&s, &staff, Outcome::default()).await
}

/// `POST /console/admin/agencies`: adds an agency.
pub async fn agency_create(State(s): State<AppState>, staff: Staff, f: Fields) -> Response {
    if let Some(r) = staff.csrf_refusal(&f) {
        return r;
    }
    let (m, actor) = (staff.m, staff.actor());
    let input = agency_input(&f, f.get("code"));
    let o = outcome(
        m,
        blocking(&s.app, move |app| agencies::create(app, &actor, &input)).await,
    );
    agencies_render(&s, &staff, o).await
}

/// `POST /console/admin/agencies/{code}/{action}`: `update`, `close`, `reopen`.
pub async fn agency_action(
    State(s): State<AppState>,
    staff: Staff,
    Path((code, action)): Path<(String, String)>,
    f: Fields,
) -> Response {
    if let Some(r) = staff.csrf_refusal(&f) {
        return r;
    }
    let (m, actor) = (staff.m, staff.actor());
    let o = match action.as_str() {
        "update" => {
            let input = agency_input(&f, &code);
            outcome(
                m,
                blocking(&s.app, move |app| agencies::update(app, &actor, &input)).await,
            )
        }
        "close" | "reopen" => {
            let open = action == "reopen";
            outcome(
                m,
                blocking(&s.app, move |app| {
                    agencies::set_active(app, &actor, &code, open)
                })
                .await,
            )
        }
        _ => return unknown_action(&staff),
    };
    agencies_render(&s, &staff, o).await
}

// ---------------------------------------------------------------- institutions

/// An institution row as shown.
pub struct InstitutionRow {
    pub v: InstitutionView,
    pub kind_label: &'static str,
    pub region: String,
    pub prev_until: String,
}

#[derive(Template)]
#[template(path = "admin/institutions.html")]
struct InstitutionsPage {
    c: Chrome,
    a: L,
    o: Outcome,
    rows: Vec<InstitutionRow>,
    regions: Vec<(String, String)>,
    max_grace: i64,
}

async fn institutions_render(s: &AppState, staff: &Staff, o: Outcome) -> Response {
    let (m, a, actor) = (staff.m, L(staff.m), staff.actor());
    let list = match blocking(&s.app, move |app| institutions::list(app, &actor)).await {
        Ok(v) => v,
        Err(e) => return error_page(m, Some(staff), &e.0),
    };
    let page = InstitutionsPage {
        c: staff.chrome(a.l("inst.title"), "admin", "/console/admin/institutions"),
        a,
        regions: regions(s)
            .await
            .into_iter()
            .map(|(code, _)| (code.clone(), region_name(&code)))
            .collect(),
        rows: list
            .into_iter()
            .map(|v| InstitutionRow {
                kind_label: if v.kind == "hospital" {
                    a.l("instkind.hospital")
                } else {
                    a.l("instkind.pharmacy")
                },
                region: region_name(&v.region_code),
                prev_until: v
                    .previous_key_valid_until
                    .as_deref()
                    .map(local_time)
                    .unwrap_or_default(),
                v,
            })
            .collect(),
        max_grace: MAX_KEY_GRACE_HOURS,
        o,
    };
    let status = page.o.status.unwrap_or(StatusCode::OK);
    render(status, &page)
}

fn institution_input(f: &Fields, code: &str) -> InstitutionInput {
    InstitutionInput {
        code: code.to_string(),
        name: f.get("name").to_string(),
        kind: f.get("kind").to_string(),
        level: f.get("level").parse().unwrap_or(-1),
        region_code: f.get("region_code").to_string(),
        address: f.get("address").to_string(),
        phone: f.get("phone").to_string(),
        active: f.get("active") != "0",
    }
}

fn grace(f: &Fields) -> i64 {
    f.get("grace_hours").parse().unwrap_or(-1)
}

/// `GET /console/admin/institutions`.
pub async fn institutions_page(State(s): State<AppState>, staff: Staff) -> Response {
    institutions_render(&s, &staff, Outcome::default()).await
}

/// `POST /console/admin/institutions`: designates an institution and shows its API secret.
pub async fn institution_create(State(s): State<AppState>, staff: Staff, f: Fields) -> Response {
    if let Some(r) = staff.csrf_refusal(&f) {
        return r;
    }
    let (m, a, actor) = (staff.m, L(staff.m), staff.actor());
    let input = institution_input(&f, f.get("code"));
    let o = match blocking(&s.app, move |app| institutions::create(app, &actor, &input)).await {
        Ok((v, k)) => Outcome::key(a, &v.name, k),
        Err(e) => Outcome::failed(m, &e.0),
    };
    institutions_render(&s, &staff, o).await
}

/// `POST /console/admin/institutions/{code}/{action}`: `update`, `rotate`.
pub async fn institution_action(
    State(s): State<AppState>,
    staff: Staff,
    Path((code, action)): Path<(String, String)>,
    f: Fields,
) -> Response {
    if let Some(r) = staff.csrf_refusal(&f) {
        return r;
    }
    let (m, a, actor) = (staff.m, L(staff.m), staff.actor());
    let o = match action.as_str() {
        "update" => {
            let input = institution_input(&f, &code);
            outcome(
                m,
                blocking(&s.app, move |app| institutions::update(app, &actor, &input)).await,
            )
        }
        "rotate" => {
            let hours = grace(&f);
            let c = code.clone();
            match blocking(&s.app, move |app| {
                institutions::rotate_key(app, &actor, &c, hours)
            })
            .await
            {
                Ok(k) => Outcome::key(a, &code, k),
                Err(e) => Outcome::failed(m, &e.0),
            }
        }
        _ => return unknown_action(&staff),
    };
    institutions_render(&s, &staff, o).await
}

// ---------------------------------------------------------------- banks

/// A bank row as shown.
pub struct BankRow {
    pub v: BankView,
    pub prev_until: String,
}

#[derive(Template)]
#[template(path = "admin/banks.html")]
struct BanksPage {
    c: Chrome,
    a: L,
    o: Outcome,
    rows: Vec<BankRow>,
    max_grace: i64,
}

async fn banks_render(s: &AppState, staff: &Staff, o: Outcome) -> Response {
    let (m, a, actor) = (staff.m, L(staff.m), staff.actor());
    let list = match blocking(&s.app, move |app| banks::list(app, &actor)).await {
        Ok(v) => v,
        Err(e) => return error_page(m, Some(staff), &e.0),
    };
    let page = BanksPage {
        c: staff.chrome(a.l("bank.title"), "admin", "/console/admin/banks"),
        a,
        rows: list
            .into_iter()
            .map(|v| BankRow {
                prev_until: v
                    .previous_key_valid_until
                    .as_deref()
                    .map(local_time)
                    .unwrap_or_default(),
                v,
            })
            .collect(),
        max_grace: MAX_KEY_GRACE_HOURS,
        o,
    };
    let status = page.o.status.unwrap_or(StatusCode::OK);
    render(status, &page)
}

/// `GET /console/admin/banks`.
pub async fn banks_page(State(s): State<AppState>, staff: Staff) -> Response {
    banks_render(&s, &staff, Outcome::default()).await
}

/// `POST /console/admin/banks`: adds a bank and shows its API secret.
pub async fn bank_create(State(s): State<AppState>, staff: Staff, f: Fields) -> Response {
    if let Some(r) = staff.csrf_refusal(&f) {
        return r;
    }
    let (m, a, actor) = (staff.m, L(staff.m), staff.actor());
    let (code, name, hotline) = (
        f.get("code").to_string(),
        f.get("name").to_string(),
        f.get("hotline").to_string(),
    );
    let o = match blocking(&s.app, move |app| {
        banks::create(app, &actor, &code, &name, &hotline)
    })
    .await
    {
        Ok((v, k)) => Outcome::key(a, &v.name, k),
        Err(e) => Outcome::failed(m, &e.0),
    };
    banks_render(&s, &staff, o).await
}

/// `POST /console/admin/banks/{code}/{action}`: `update`, `rotate`.
pub async fn bank_action(
    State(s): State<AppState>,
    staff: Staff,
    Path((code, action)): Path<(String, String)>,
    f: Fields,
) -> Response {
    if let Some(r) = staff.csrf_refusal(&f) {
        return r;
    }
    let (m, a, actor) = (staff.m, L(staff.m), staff.actor());
    let o = match action.as_str() {
        "update" => {
            let (name, hotline) = (f.get("name").to_string(), f.get("hotline").to_string());
            outcome(
                m,
                blocking(&s.app, move |app| {
                    banks::update(app, &actor, &code, &name, &hotline)
                })
                .await,
            )
        }
        "rotate" => {
            let hours = grace(&f);
            let c = code.clone();
            match blocking(&s.app, move |app| banks::rotate_key(app, &actor, &c, hours)).await {
                Ok(k) => Outcome::key(a, &code, k),
                Err(e) => Outcome::failed(m, &e.0),
            }
        }
        _ => return unknown_action(&staff),
    };
    banks_render(&s, &staff, o).await
}

// ---------------------------------------------------------------- policies

/// A policy version as shown.
pub struct PolicyRow {
    pub v: PolicyVersion,
    pub json: String,
    pub created: String,
}

#[derive(Template)]
#[template(path = "admin/policies.html")]
struct PoliciesPage {
    c: Chrome,
    a: L,
    o: Outcome,
    regions: Vec<(String, String)>,
    region: String,
    rows: Vec<PolicyRow>,
    draft: String,
    draft_date: String,
}

async fn policies_render(
    s: &AppState,
    staff: &Staff,
    region: String,
    o: Outcome,
    draft: Option<(String, String)>,
) -> Response {
    let (m, a, actor) = (staff.m, L(staff.m), staff.actor());
    let all = regions(s).await;
    let region = if region.is_empty() {
        all.iter()
            .find(|r| r.0 == "511000")
            .or(all.first())
            .map(|r| r.0.clone())
            .unwrap_or_default()
    } else {
        region
    };
    let r = region.clone();
    let list = match blocking(&s.app, move |app| policies::history(app, &actor, &r)).await {
        Ok(v) => v,
        Err(e) => return error_page(m, Some(staff), &e.0),
    };
    let tomorrow = s
        .app
        .today()
        .succ_opt()
        .unwrap_or(s.app.today())
        .to_string();
    let (draft_date, draft) = draft.unwrap_or_else(|| {
        (
            tomorrow,
            list.iter()
                .find(|v| v.in_force)
                .and_then(|v| serde_json::to_string_pretty(&v.policy).ok())
                .unwrap_or_default(),
        )
    });
    let page = PoliciesPage {
        c: staff.chrome(a.l("pol.title"), "admin", "/console/admin/policies"),
        a,
        regions: all
            .into_iter()
            .map(|(code, _)| (code.clone(), region_name(&code)))
            .collect(),
        rows: list
            .into_iter()
            .map(|v| PolicyRow {
                json: serde_json::to_string_pretty(&v.policy).unwrap_or_default(),
                created: local_time(&v.created_at),
                v,
            })
            .collect(),
        region,
        draft,
        draft_date,
        o,
    };
    let status = page.o.status.unwrap_or(StatusCode::OK);
    render(status, &page)
}

/// `GET /console/admin/policies?region=…`.
pub async fn policies_page(State(s): State<AppState>, staff: Staff, Params(q): Params) -> Response {
    let region = q.get("region").to_string();
    policies_render(&s, &staff, region, Outcome::default(), None).await
}

/// `POST /console/admin/policies`: records a new policy version (JSON) from a date on.
pub async fn policy_set(State(s): State<AppState>, staff: Staff, f: Fields) -> Response {
    if let Some(r) = staff.csrf_refusal(&f) {
        return r;
    }
    let (m, actor) = (staff.m, staff.actor());
    let region = f.get("region").to_string();
    let (date, json) = (
        f.get("effective_from").to_string(),
        f.get("policy_json").to_string(),
    );
    let (r, d, j) = (region.clone(), date.clone(), json.clone());
    let res = blocking(&s.app, move |app| {
        let day = NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").map_err(|_| {
            ServiceError::new(
                sscard_service::ErrorKind::BadRequest,
                "POLICY_DATE_INVALID",
                "生效日期格式应为 YYYY-MM-DD",
                "The effective date must be YYYY-MM-DD",
            )
        })?;
        let p = policies::parse_json(&j)?;
        policies::set(app, &actor, &r, day, &p)
    })
    .await;
    let failed = res.is_err();
    let o = outcome(m, res);
    let draft = failed.then_some((date, json));
    policies_render(&s, &staff, region, o, draft).await
}

// ---------------------------------------------------------------- calendar

#[derive(Template)]
#[template(path = "admin/calendar.html")]
struct CalendarPage {
    c: Chrome,
    a: L,
    o: Outcome,
    year: i32,
    years: Vec<i32>,
    rows: Vec<CalendarDay>,
}

async fn calendar_render(s: &AppState, staff: &Staff, year: i32, o: Outcome) -> Response {
    let (m, a, actor) = (staff.m, L(staff.m), staff.actor());
    let list = match blocking(&s.app, move |app| calendar::year(app, &actor, year)).await {
        Ok(v) => v,
        Err(e) => return error_page(m, Some(staff), &e.0),
    };
    let this = s.app.today().year();
    let page = CalendarPage {
        c: staff.chrome(a.l("cal.title"), "admin", "/console/admin/calendar"),
        a,
        years: (this - 1..=this + 1).collect(),
        year,
        rows: list,
        o,
    };
    let status = page.o.status.unwrap_or(StatusCode::OK);
    render(status, &page)
}

fn year_of(s: &AppState, v: &str) -> i32 {
    v.parse()
        .ok()
        .filter(|y| (2000..=2100).contains(y))
        .unwrap_or_else(|| s.app.today().year())
}

/// `GET /console/admin/calendar?year=…`.
pub async fn calendar_page(State(s): State<AppState>, staff: Staff, Params(q): Params) -> Response {
    let year = year_of(&s, q.get("year"));
    calendar_render(&s, &staff, year, Outcome::default()).await
}

/// `POST /console/admin/calendar`: marks a day as a holiday or a working weekend day.
pub async fn calendar_set(State(s): State<AppState>, staff: Staff, f: Fields) -> Response {
    if let Some(r) = staff.csrf_refusal(&f) {
        return r;
    }
    let (m, actor) = (staff.m, staff.actor());
    let (day, holiday, name) = (
        f.get("day").to_string(),
        f.get("kind") != "workday",
        f.get("name").to_string(),
    );
    let year = year_of(&s, day.get(..4).unwrap_or(""));
    let o = outcome(
        m,
        blocking(&s.app, move |app| {
            calendar::set_day(app, &actor, &day, holiday, &name)
        })
        .await,
    );
    calendar_render(&s, &staff, year, o).await
}

/// `POST /console/admin/calendar/{day}/remove`.
pub async fn calendar_remove(
    State(s): State<AppState>,
    staff: Staff,
    Path(day): Path<String>,
    f: Fields,
) -> Response {
    if let Some(r) = staff.csrf_refusal(&f) {
        return r;
    }
    let (m, actor) = (staff.m, staff.actor());
    let year = year_of(&s, day.get(..4).unwrap_or(""));
    let o = outcome(
        m,
        blocking(&s.app, move |app| calendar::remove_day(app, &actor, &day)).await,
    );
    calendar_render(&s, &staff, year, o).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_sorted_and_every_used_key_exists() {
        use crate::i18n::testing::{assert_catalogue, assert_keys_exist, files, keys_called};
        assert_catalogue(LABELS);
        let used = keys_called(
            &files(&[
                "templates/admin",
                "src/console/admin.rs",
                "src/console/stats.rs",
            ]),
            "l(",
        );
        assert!(used.len() > 40, "only {} labels found", used.len());
        assert_keys_exist(LABELS, &used);
        assert_eq!(L(Msg { en: true }).l("staff.reset"), "Reset the password");
    }
}
