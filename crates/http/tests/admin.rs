//! The administrator's console and the statistics dashboard through the real router: role
//! checks, CSRF, one-time secrets, refusals shown inline with their codes, policies and the
//! calendar, the dashboard's SVG charts and the CSV / XLSX exports (opened with calamine).

mod common;

use std::io::Cursor;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use calamine::{Data, Reader, Xlsx};
use common::forms::{Page, form_body};
use common::{Demo, password};
use sscard_service::App;
use sscard_service::demo::DemoSamples;
use tower::ServiceExt;

fn demo_app() -> (tempfile::TempDir, App, DemoSamples) {
    Demo {
        persons: 300,
        seed: 8,
        pin_key: Some(9),
        as_of: None,
    }
    .open()
}

/// The admin pages' own reading of a page.
trait AdminPage {
    /// The text of the element with `id` (up to the next `<`).
    fn id_text(&self, id: &str) -> String;
}

impl AdminPage for Page {
    fn id_text(&self, id: &str) -> String {
        let marker = format!("id=\"{id}\">");
        let i = self
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("no #{id} in {}", self.body));
        let rest = &self.body[i + marker.len()..];
        rest[..rest.find('<').unwrap()].to_string()
    }
}

/// One user agent: the router and a session cookie (no other cookie).
struct Agent {
    r: Router,
    cookie: String,
    csrf: String,
}

impl Agent {
    async fn send(&mut self, req: Request<Body>) -> Page {
        let page = Page::read(self.r.clone().oneshot(req).await.unwrap()).await;
        for c in &page.set_cookies {
            let kv = c.split(';').next().unwrap();
            if kv.starts_with("sscard_session=") {
                self.cookie = kv.to_string();
            }
        }
        page
    }

    async fn get(&mut self, path: &str) -> Page {
        let req = Request::builder()
            .uri(path)
            .header(header::COOKIE, &self.cookie)
            .body(Body::empty())
            .unwrap();
        self.send(req).await
    }

    async fn post_raw(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let req = Request::builder()
            .method("POST")
            .uri(path)
            .header(header::COOKIE, &self.cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form_body(fields)))
            .unwrap();
        self.send(req).await
    }

    /// A form post with this session's CSRF token.
    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self.csrf.clone();
        let mut all = vec![("csrf_token", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &all).await
    }

    async fn login(app: &App, user: &str, pass: &str) -> Agent {
        let mut a = Agent {
            r: sscard_http::router(app.clone()),
            cookie: String::new(),
            csrf: String::new(),
        };
        let p = a
            .post_raw("/console/login", &[("username", user), ("password", pass)])
            .await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
        a.csrf = a.get("/console/").await.csrf();
        a
    }
}

#[tokio::test]
async fn the_admin_console_manages_staff_keys_policies_and_the_calendar() {
    let (_dir, app, s) = demo_app();
    let mut admin = Agent::login(&app, "admin", &password(&s, "admin")).await;
    let mut clerk = Agent::login(&app, "clerk1", &password(&s, "clerk1")).await;

    // Roles: the navigation and the pages.
    let home = admin.get("/console/").await;
    assert!(home.has("id=\"nav-admin\"") && home.has("id=\"nav-stats\""));
    let home = clerk.get("/console/").await;
    assert!(!home.has("id=\"nav-admin\"") && !home.has("id=\"nav-stats\""));
    for path in [
        "/console/admin",
        "/console/admin/staff",
        "/console/admin/agencies",
        "/console/admin/institutions",
        "/console/admin/banks",
        "/console/admin/policies",
        "/console/admin/calendar",
        "/console/stats",
    ] {
        let p = clerk.get(path).await;
        assert_eq!(p.status, StatusCode::FORBIDDEN, "{path}");
        assert!(p.has("FORBIDDEN"), "{path}");
        let p = admin.get(path).await;
        assert_eq!(p.status, StatusCode::OK, "{path}: {}", p.body);
    }
    let p = clerk.post("/console/admin/staff/clerk2/disable", &[]).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);

    // CSRF.
    let p = admin
        .post_raw(
            "/console/admin/staff",
            &[("username", "x1"), ("display_name", "x"), ("role", "clerk")],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(p.has("CSRF_INVALID"));

    // A new account: its one-time password works, and forces a change.
    let p = admin
        .post(
            "/console/admin/staff",
            &[
                ("username", "zhangsan"),
                ("display_name", "张三"),
                ("role", "clerk"),
                ("agency_code", "NJ-DXQ"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    let temp = p.id_text("issued-secret");
    assert_eq!(temp.len(), 12);
    assert!(p.has("data-username=\"zhangsan\""));
    let mut zs = Agent {
        r: sscard_http::router(app.clone()),
        cookie: String::new(),
        csrf: String::new(),
    };
    let p = zs
        .post_raw(
            "/console/login",
            &[("username", "zhangsan"), ("password", &temp)],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(zs.get("/console/").await.status, StatusCode::SEE_OTHER);
    // Refusals inline, with their codes and status.
    let p = admin
        .post(
            "/console/admin/staff",
            &[
                ("username", "Bad Name"),
                ("display_name", "x"),
                ("role", "clerk"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    assert!(p.has("STAFF_USERNAME_INVALID") && p.has("id=\"form-error\""));
    let p = admin.post("/console/admin/staff/admin/disable", &[]).await;
    assert_eq!(p.status, StatusCode::CONFLICT);
    assert!(p.has("STAFF_SELF"));
    let p = admin
        .post("/console/admin/staff/zhangsan/disable", &[])
        .await;
    assert!(p.has("id=\"done\""), "{}", p.body);
    let p = admin.post("/console/admin/staff/zhangsan/reset", &[]).await;
    assert_ne!(p.id_text("issued-secret"), temp);
    let p = admin
        .post("/console/admin/staff/zhangsan/frobnicate", &[])
        .await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);

    // Agencies.
    let p = admin
        .post(
            "/console/admin/agencies",
            &[
                ("code", "NJ-TEST"),
                ("region_code", "511011"),
                ("name", "测试网点"),
                ("kind", "counter"),
                ("phone", "0832-1234567"),
                ("address", "东兴区测试路1号"),
            ],
        )
        .await;
    assert!(p.has("data-code=\"NJ-TEST\""), "{}", p.body);
    let p = admin
        .post("/console/admin/agencies/NJ-TEST/close", &[])
        .await;
    assert!(p.has("id=\"done\""));

    // Institutions: the secret is shown once; rotation with a grace period.
    let p = admin
        .post(
            "/console/admin/institutions",
            &[
                ("code", "H51100000077"),
                ("name", "内江测试医院"),
                ("kind", "hospital"),
                ("level", "2"),
                ("region_code", "511000"),
                ("address", "内江市测试路2号"),
                ("phone", "0832-7654321"),
            ],
        )
        .await;
    assert_eq!(p.id_text("issued-key-id"), "INST-H51100000077");
    let first = p.id_text("issued-secret");
    assert_eq!(first.len(), 64);
    let again = admin.get("/console/admin/institutions").await;
    assert!(!again.has(&first), "the secret is never shown again");
    let p = admin
        .post(
            "/console/admin/institutions/H51100000077/rotate",
            &[("grace_hours", "1000")],
        )
        .await;
    assert!(p.has("KEY_GRACE_INVALID"));
    let p = admin
        .post(
            "/console/admin/institutions/H51100000077/rotate",
            &[("grace_hours", "24")],
        )
        .await;
    assert_ne!(p.id_text("issued-secret"), first);
    let p = admin
        .post(
            "/console/admin/banks",
            &[("code", "CMB"), ("name", "招商银行"), ("hotline", "95555")],
        )
        .await;
    assert_eq!(p.id_text("issued-key-id"), "BANK-CMB");

    // Policies: JSON checked, the draft kept on errors, a future version listed.
    let p = admin.get("/console/admin/policies?region=511000").await;
    assert!(p.has("pin_lock_threshold"));
    let tomorrow = (app.today() + chrono::Duration::days(1)).to_string();
    let p = admin
        .post(
            "/console/admin/policies",
            &[
                ("region", "511000"),
                ("effective_from", &tomorrow),
                ("policy_json", "{\"pin_lock_threshold\": 3, \"bogus\": 1}"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    assert!(p.has("POLICY_JSON_INVALID") && p.has("bogus"));
    let p = admin
        .post(
            "/console/admin/policies",
            &[
                ("region", "511000"),
                ("effective_from", &tomorrow),
                ("policy_json", "{\"pin_lock_threshold\": 0}"),
            ],
        )
        .await;
    assert!(p.has("POLICY_INVALID"));
    let p = admin
        .post(
            "/console/admin/policies",
            &[
                ("region", "511000"),
                ("effective_from", "2020-01-01"),
                ("policy_json", "{\"pin_lock_threshold\": 3}"),
            ],
        )
        .await;
    assert!(p.has("POLICY_BACKDATED"));
    let p = admin
        .post(
            "/console/admin/policies",
            &[
                ("region", "511000"),
                ("effective_from", &tomorrow),
                ("policy_json", "{\"pin_lock_threshold\": 3}"),
            ],
        )
        .await;
    assert!(p.has("id=\"done\""), "{}", p.body);
    assert!(p.has(&format!("data-effective-from=\"{tomorrow}\"")));

    // Calendar.
    let p = admin
        .post(
            "/console/admin/calendar",
            &[("day", "2027-01-01"), ("kind", "holiday"), ("name", "元旦")],
        )
        .await;
    assert!(p.has("data-day=\"2027-01-01\""), "{}", p.body);
    let p = admin
        .post(
            "/console/admin/calendar",
            &[("day", "2027-01-06"), ("kind", "workday"), ("name", "x")],
        )
        .await;
    assert!(p.has("CALENDAR_WORKDAY_NOT_WEEKEND"));
    let p = admin
        .post("/console/admin/calendar/2027-01-01/remove", &[])
        .await;
    assert!(p.has("id=\"done\"") && !p.has("data-day=\"2027-01-01\""));

    // English.
    let p = admin.get("/console/admin?lang=en").await;
    assert!(p.has("Administration") && p.has("Staff and roles"));
}

#[tokio::test]
async fn the_dashboard_draws_svg_charts_and_exports_every_table() {
    let (_dir, app, s) = demo_app();
    let mut auditor = Agent::login(&app, "auditor1", &password(&s, "auditor1")).await;
    for (menu, outcome) in [("3-1-1", "completed"), ("5-2", "transfer")] {
        let id = sscard_service::phone::start_call(&app, "h").unwrap();
        sscard_service::phone::end_call(&app, id, menu, outcome).unwrap();
    }
    let p = auditor.get("/console/stats").await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    for id in [
        "chart-cards",
        "chart-settlements",
        "chart-pin-locks",
        "chart-ivr",
    ] {
        assert!(p.has(&format!("id=\"{id}\"><svg")), "{id}");
    }
    assert!(!p.has("<script"), "no script on the dashboard");
    assert!(p.has("申领") && p.has("医疗结算金额"));
    let nj = auditor.get("/console/stats?region=511000").await;
    assert!(nj.has("export/cards.csv?region=511000"));

    // CSV: the header, then rows; XLSX opens with the same rows.
    let csv = auditor.get("/console/stats/export/cards.csv").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.content_type.starts_with("text/csv"));
    assert!(csv.disposition.contains("sscard-cards.csv"));
    let text = csv.body.trim_start_matches('\u{feff}');
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "month,region_code,applied,issued,collected,lost,reissued,cancelled"
    );
    let csv_rows = lines.count();
    assert!(csv_rows > 0);
    let xlsx = auditor.get("/console/stats/export/cards.xlsx").await;
    assert!(xlsx.content_type.contains("spreadsheetml"));
    let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(xlsx.bytes.clone())).unwrap();
    let sheet = wb.worksheet_range("cards").unwrap();
    assert_eq!(sheet.get((0, 0)), Some(&Data::String("月份".into())));
    assert_eq!(sheet.height(), csv_rows + 1);
    assert!(matches!(sheet.get((1, 2)), Some(Data::Float(_))));
    for t in ["settlements", "pin_locks", "ivr"] {
        let c = auditor.get(&format!("/console/stats/export/{t}.csv")).await;
        assert_eq!(c.status, StatusCode::OK, "{t}");
        let x = auditor
            .get(&format!("/console/stats/export/{t}.xlsx?lang=en"))
            .await;
        let mut wb: Xlsx<_> = Xlsx::new(Cursor::new(x.bytes)).unwrap();
        assert!(wb.worksheet_range(t).is_ok(), "{t}");
    }
    let ivr = auditor.get("/console/stats/export/ivr.csv").await;
    assert!(
        ivr.body
            .contains("3-1-1,医疗卡余额,Medical account balance,completed,1")
    );
    assert_eq!(
        auditor.get("/console/stats/export/cards.pdf").await.status,
        StatusCode::NOT_FOUND
    );
    let p = auditor.get("/console/stats/export/nope.csv").await;
    assert!(p.has("STATS_TABLE_UNKNOWN"));
    // An auditor reads statistics but does not administer.
    assert_eq!(
        auditor.get("/console/admin/staff").await.status,
        StatusCode::FORBIDDEN
    );
}
