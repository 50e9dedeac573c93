//! The administrator's use cases on both backends: staff accounts, agencies, institutions and
//! banks with API key rotation (grace period, clock moved past it), region policies with their
//! effective-from dates, the working-day calendar, and the statistics' access and content.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use sscard_domain::clock::Clock;
use sscard_domain::ids::RegionCode;
use sscard_service::admin::agencies::AgencyInput;
use sscard_service::admin::institutions::InstitutionInput;
use sscard_service::admin::staff::StaffInput;
use sscard_service::admin::{
    agencies, banks, calendar, institutions, policies, staff as admin_staff,
};
use sscard_service::audit::{Actor, Channel};
use sscard_service::demo::{self, DemoOptions};
use sscard_service::secrets::PinKey;
use sscard_service::signing::{self, SignedRequest};
use sscard_service::{App, AppConfig, ServiceError, reference, staff, stats};
use sscard_store::repo::medical;

/// A clock the test moves.
struct TestClock(Mutex<DateTime<Utc>>);

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

impl TestClock {
    fn advance(&self, d: Duration) {
        *self.0.lock().unwrap() += d;
    }
}

fn actor(username: &str, role: &str) -> Actor {
    Actor {
        username: username.into(),
        role: role.into(),
        agency: String::new(),
        channel: Channel::Counter,
    }
}

fn code<T: std::fmt::Debug>(r: Result<T, ServiceError>) -> &'static str {
    r.expect_err("must be refused").code
}

fn setup(url: &str) -> (App, Arc<TestClock>, demo::DemoSamples) {
    let base = App::open(&AppConfig {
        db_url: url.to_string(),
        pin_key: Some(PinKey::new(vec![7; 32]).unwrap()),
        ..Default::default()
    })
    .unwrap();
    // 10:00 in Beijing on 21 November 2026.
    let clock = Arc::new(TestClock(Mutex::new(
        Utc.with_ymd_and_hms(2026, 11, 21, 2, 0, 0).unwrap(),
    )));
    let app = base.with_clock(clock.clone());
    let samples = demo::generate(
        &app,
        &DemoOptions {
            persons: 150,
            seed: 5,
            as_of: app.today(),
        },
        &|_, _| {},
    )
    .unwrap();
    (app, clock, samples)
}

static NONCE: AtomicU32 = AtomicU32::new(0);

/// A signed POST with the given secret, at the app's current time.
fn signed<'a>(
    app: &App,
    key_id: &'a str,
    secret: &str,
    stash: &'a mut (String, String, String),
) -> SignedRequest<'a> {
    stash.0 = app.now().timestamp().to_string();
    stash.1 = format!("nonce{:08}x", NONCE.fetch_add(1, Ordering::SeqCst));
    stash.2 = signing::sign(secret, "POST", "/api/v1/test", &stash.0, &stash.1, b"{}");
    SignedRequest {
        key_id,
        timestamp: &stash.0,
        nonce: &stash.1,
        signature: &stash.2,
        method: "POST",
        path: "/api/v1/test",
        body: b"{}",
    }
}

fn institution_accepts(app: &App, key_id: &str, secret: &str) -> Result<(), ServiceError> {
    let mut stash = Default::default();
    let req = signed(app, key_id, secret, &mut stash);
    signing::verify(app, &req, |tx, k| {
        Ok(medical::institution_by_key(tx, k)?.map(|i| (i.secret, ())))
    })
}

fn bank_accepts(app: &App, key_id: &str, secret: &str) -> Result<(), ServiceError> {
    let mut stash = Default::default();
    let req = signed(app, key_id, secret, &mut stash);
    sscard_service::bank::authenticate(app, &req).map(|_| ())
}

fn audit_rows(app: &App) -> i64 {
    app.stats().unwrap().audit_rows
}

fn staff_scenario(app: &App, samples: &demo::DemoSamples) {
    let admin = actor("admin", "admin");
    let clerk = actor("clerk1", "clerk");
    assert_eq!(code(admin_staff::list(app, &clerk)), "FORBIDDEN");
    assert_eq!(
        code(admin_staff::list(app, &actor("auditor1", "auditor"))),
        "FORBIDDEN"
    );
    let list = admin_staff::list(app, &admin).unwrap();
    assert!(
        list.iter()
            .any(|s| s.username == "clerk1" && s.role == "clerk")
    );

    let input = |u: &str, role: &str, agency: Option<&str>| StaffInput {
        username: u.into(),
        display_name: "新经办员".into(),
        role: role.into(),
        agency_code: agency.map(str::to_string),
    };
    let before = audit_rows(app);
    let tmp =
        admin_staff::create(app, &admin, &input("hireling", "clerk", Some("NJ-SZQ"))).unwrap();
    assert_eq!(audit_rows(app), before + 1, "creation is audited");
    let login = staff::login(app, "hireling", &tmp.password, Channel::Counter).unwrap();
    assert!(login.session.must_change_password);
    assert_eq!(login.session.agency, "NJ-SZQ");
    assert_eq!(
        code(admin_staff::create(
            app,
            &admin,
            &input("hireling", "clerk", None)
        )),
        "STAFF_USERNAME_TAKEN"
    );
    assert_eq!(
        code(admin_staff::create(
            app,
            &admin,
            &input("X y", "clerk", None)
        )),
        "STAFF_USERNAME_INVALID"
    );
    assert_eq!(
        code(admin_staff::create(
            app,
            &admin,
            &input("boss", "boss", None)
        )),
        "STAFF_ROLE_INVALID"
    );
    assert_eq!(
        code(admin_staff::create(
            app,
            &admin,
            &input("nowhere", "clerk", Some("NOPE"))
        )),
        "AGENCY_NOT_FOUND"
    );
    let mut blank = input("blank", "clerk", None);
    blank.display_name = "  ".into();
    assert_eq!(
        code(admin_staff::create(app, &admin, &blank)),
        "STAFF_NAME_REQUIRED"
    );
    assert_eq!(
        code(admin_staff::create(
            app,
            &clerk,
            &input("sneaky", "admin", None)
        )),
        "FORBIDDEN"
    );

    // Change the role; unknown accounts.
    let v = admin_staff::update(
        app,
        &admin,
        &input("hireling", "supervisor", Some("NJ-SZQ")),
    )
    .unwrap();
    assert_eq!(v.role, "supervisor");
    assert_eq!(
        code(admin_staff::update(
            app,
            &admin,
            &input("ghost", "clerk", None)
        )),
        "STAFF_NOT_FOUND"
    );

    // Disable: sessions end, logins are refused; enable again.
    admin_staff::set_disabled(app, &admin, "hireling", true).unwrap();
    assert!(staff::session(app, &login.token).is_err());
    assert_eq!(
        code(staff::login(
            app,
            "hireling",
            &tmp.password,
            Channel::Counter
        )),
        "STAFF_DISABLED"
    );
    admin_staff::set_disabled(app, &admin, "hireling", false).unwrap();
    staff::login(app, "hireling", &tmp.password, Channel::Counter).unwrap();

    // Lock by failures, then the reset password unlocks and must be changed.
    for _ in 0..staff::LOCK_AFTER_FAILURES {
        let _ = staff::login(app, "hireling", "wrong-password-1", Channel::Counter);
    }
    assert_eq!(
        code(staff::login(
            app,
            "hireling",
            &tmp.password,
            Channel::Counter
        )),
        "STAFF_LOCKED"
    );
    let reset = admin_staff::reset_password(app, &admin, "hireling").unwrap();
    assert_ne!(reset.password, tmp.password);
    assert_eq!(
        code(staff::login(
            app,
            "hireling",
            &tmp.password,
            Channel::Counter
        )),
        "LOGIN_FAILED"
    );
    let s = staff::login(app, "hireling", &reset.password, Channel::Counter).unwrap();
    assert!(s.session.must_change_password);
    assert_eq!(
        code(admin_staff::reset_password(app, &admin, "ghost")),
        "STAFF_NOT_FOUND"
    );

    // Forcing a password change reaches live sessions.
    let clerk_pw = &samples
        .staff
        .iter()
        .find(|s| s.username == "clerk1")
        .unwrap()
        .password;
    let c = staff::login(app, "clerk1", clerk_pw, Channel::Counter).unwrap();
    assert!(!c.session.must_change_password);
    admin_staff::force_password_change(app, &admin, "clerk1").unwrap();
    assert!(staff::session(app, &c.token).unwrap().must_change_password);

    // Administrators: not oneself, never the last one.
    assert_eq!(
        code(admin_staff::set_disabled(app, &admin, "admin", true)),
        "STAFF_SELF"
    );
    let mut demote = input("admin", "clerk", None);
    demote.display_name = "系统管理员".into();
    assert_eq!(
        code(admin_staff::update(app, &admin, &demote)),
        "STAFF_SELF"
    );
    admin_staff::create(app, &admin, &input("admin2", "admin", None)).unwrap();
    admin_staff::set_disabled(app, &admin, "admin2", true).unwrap();
    let operator = actor("ops", "admin");
    assert_eq!(
        code(admin_staff::set_disabled(app, &operator, "admin", true)),
        "LAST_ADMIN"
    );
    assert_eq!(
        code(admin_staff::update(app, &operator, &demote)),
        "LAST_ADMIN"
    );
}

fn agency_scenario(app: &App) {
    let admin = actor("admin", "admin");
    let input = |code: &str, region: &str, kind: &str| AgencyInput {
        code: code.into(),
        region_code: region.into(),
        name: "东兴区社保卡服务网点".into(),
        kind: kind.into(),
        phone: "0832-2250000".into(),
        address: "东兴区汉安大道1号".into(),
    };
    let a = agencies::create(app, &admin, &input("nj-dx2", "511011", "counter")).unwrap();
    assert_eq!(a.code, "NJ-DX2");
    assert!(a.active);
    assert_eq!(
        code(agencies::create(
            app,
            &admin,
            &input("NJ-DX2", "511011", "counter")
        )),
        "AGENCY_CODE_TAKEN"
    );
    assert_eq!(
        code(agencies::create(
            app,
            &admin,
            &input("x", "511011", "counter")
        )),
        "AGENCY_CODE_INVALID"
    );
    assert_eq!(
        code(agencies::create(
            app,
            &admin,
            &input("NJ-DX3", "511011", "shop")
        )),
        "AGENCY_INVALID"
    );
    assert!(agencies::create(app, &admin, &input("NJ-DX3", "991011", "counter")).is_err());
    assert_eq!(
        code(agencies::create(
            app,
            &actor("clerk1", "clerk"),
            &input("NJ-DX4", "511011", "counter")
        )),
        "FORBIDDEN"
    );
    let mut change = input("NJ-DX2", "511011", "service_centre");
    change.phone = "0832-2259999".into();
    let a = agencies::update(app, &admin, &change).unwrap();
    assert_eq!(
        (a.kind.as_str(), a.phone.as_str()),
        ("service_centre", "0832-2259999")
    );
    assert_eq!(
        code(agencies::update(
            app,
            &admin,
            &input("NJ-NONE", "511011", "counter")
        )),
        "AGENCY_NOT_FOUND"
    );
    let public = |app: &App| -> Vec<String> {
        let region = RegionCode::parse("511000").unwrap();
        sscard_service::reference::agencies(app, Some(&region))
            .unwrap()
            .into_iter()
            .map(|a| a.code)
            .collect()
    };
    assert!(public(app).contains(&"NJ-DX2".to_string()));
    let a = agencies::set_active(app, &admin, "NJ-DX2", false).unwrap();
    assert!(!a.active);
    // A closed agency leaves the public directory (portal, kiosk, API) at once.
    assert!(!public(app).contains(&"NJ-DX2".to_string()));
    let staff_there = StaffInput {
        username: "dxclerk".into(),
        display_name: "东兴经办员".into(),
        role: "clerk".into(),
        agency_code: Some("NJ-DX2".into()),
    };
    assert_eq!(
        code(admin_staff::create(app, &admin, &staff_there)),
        "AGENCY_CLOSED"
    );
    agencies::set_active(app, &admin, "NJ-DX2", true).unwrap();
    assert!(public(app).contains(&"NJ-DX2".to_string()));
    admin_staff::create(app, &admin, &staff_there).unwrap();
    let all = agencies::list(app, &admin).unwrap();
    assert_eq!(all.iter().find(|a| a.code == "NJ-DX2").unwrap().staff, 1);
}

fn institution_scenario(app: &App, clock: &TestClock) {
    let admin = actor("admin", "admin");
    let input = |code: &str, region: &str| InstitutionInput {
        code: code.into(),
        name: "内江市第三人民医院".into(),
        kind: "hospital".into(),
        level: 2,
        region_code: region.into(),
        address: "内江市市中区新江路1号".into(),
        phone: "0832-2000000".into(),
        active: true,
    };
    let (inst, key) = institutions::create(app, &admin, &input("H51100000099", "511000")).unwrap();
    assert_eq!(inst.key_id, "INST-H51100000099");
    assert_eq!(key.secret.len(), 64);
    institution_accepts(app, &key.key_id, &key.secret).unwrap();
    assert_eq!(
        code(institutions::create(
            app,
            &admin,
            &input("H51100000099", "511000")
        )),
        "INSTITUTION_CODE_TAKEN"
    );
    assert_eq!(
        code(institutions::create(app, &admin, &input("H5110", "511000"))),
        "INSTITUTION_CODE_INVALID"
    );
    assert_eq!(
        code(institutions::create(
            app,
            &admin,
            &input("H11000000001", "110000")
        )),
        "REGION_NOT_SERVED"
    );
    let mut bad_level = input("H51100000098", "511000");
    bad_level.level = 7;
    assert_eq!(
        code(institutions::create(app, &admin, &bad_level)),
        "INSTITUTION_INVALID"
    );
    assert_eq!(
        code(institutions::rotate_key(app, &admin, "H00000000000", 24)),
        "INSTITUTION_NOT_FOUND"
    );
    assert_eq!(
        code(institutions::rotate_key(
            app,
            &admin,
            "H51100000099",
            10_000
        )),
        "KEY_GRACE_INVALID"
    );
    assert_eq!(
        code(institutions::rotate_key(
            app,
            &actor("auditor1", "auditor"),
            "H51100000099",
            24
        )),
        "FORBIDDEN"
    );

    // Rotation: the old secret works during the grace period, not after it.
    let new = institutions::rotate_key(app, &admin, "H51100000099", 24).unwrap();
    assert_ne!(new.secret, key.secret);
    assert_eq!(new.key_id, key.key_id);
    institution_accepts(app, &key.key_id, &new.secret).unwrap();
    institution_accepts(app, &key.key_id, &key.secret).unwrap();
    clock.advance(Duration::hours(23));
    institution_accepts(app, &key.key_id, &key.secret).unwrap();
    clock.advance(Duration::hours(2));
    assert_eq!(
        code(institution_accepts(app, &key.key_id, &key.secret)),
        "SIGNATURE_INVALID"
    );
    institution_accepts(app, &key.key_id, &new.secret).unwrap();
    assert_eq!(
        code(institution_accepts(
            app,
            &key.key_id,
            "0".repeat(64).as_str()
        )),
        "SIGNATURE_INVALID"
    );

    // Suspend and edit.
    let mut change = input("H51100000099", "511000");
    change.active = false;
    change.level = 3;
    let v = institutions::update(app, &admin, &change).unwrap();
    assert!(!v.active && v.level == 3);
    assert_eq!(
        code(institutions::update(
            app,
            &admin,
            &input("H51100000097", "511000")
        )),
        "INSTITUTION_NOT_FOUND"
    );
}

fn bank_scenario(app: &App) {
    let admin = actor("admin", "admin");
    let (bank, key) = banks::create(app, &admin, "cmb", "招商银行", "95555").unwrap();
    assert_eq!(
        (bank.code.as_str(), bank.key_id.as_str()),
        ("CMB", "BANK-CMB")
    );
    bank_accepts(app, &key.key_id, &key.secret).unwrap();
    assert_eq!(
        code(banks::create(app, &admin, "CMB", "招商银行", "95555")),
        "BANK_CODE_TAKEN"
    );
    assert_eq!(
        code(banks::create(app, &admin, "C1", "x", "95555")),
        "BANK_CODE_INVALID"
    );
    assert_eq!(
        code(banks::create(app, &admin, "CITIC", "", "95558")),
        "BANK_INVALID"
    );
    let b = banks::update(app, &admin, "CMB", "招商银行股份有限公司", "95555").unwrap();
    assert_eq!(b.name, "招商银行股份有限公司");
    assert_eq!(
        code(banks::update(app, &admin, "NONE", "x", "1")),
        "BANK_NOT_FOUND"
    );
    // No grace: the old secret is refused at once.
    let new = banks::rotate_key(app, &admin, "CMB", 0).unwrap();
    assert_eq!(
        code(bank_accepts(app, "BANK-CMB", &key.secret)),
        "SIGNATURE_INVALID"
    );
    bank_accepts(app, "BANK-CMB", &new.secret).unwrap();
    assert_eq!(
        code(banks::rotate_key(app, &admin, "NONE", 1)),
        "BANK_NOT_FOUND"
    );
    assert!(
        banks::list(app, &admin)
            .unwrap()
            .iter()
            .any(|b| b.code == "CMB")
    );
}

fn policy_scenario(app: &App, clock: &TestClock) {
    let admin = actor("admin", "admin");
    let region = RegionCode::parse("511000").unwrap();
    let today = app.today();
    let tomorrow = today + Duration::days(1);
    let h = policies::history(app, &admin, "511000").unwrap();
    assert_eq!(h.len(), 1);
    assert!(h[0].in_force);
    let mut p = reference::policy(app, &region, today).unwrap();
    assert_eq!(p.pin_lock_threshold, 6);

    p.pin_lock_threshold = 0;
    assert_eq!(
        code(policies::set(app, &admin, "511000", tomorrow, &p)),
        "POLICY_INVALID"
    );
    p.pin_lock_threshold = 3;
    assert_eq!(
        code(policies::set(
            app,
            &admin,
            "511000",
            today - Duration::days(1),
            &p
        )),
        "POLICY_BACKDATED"
    );
    assert_eq!(
        code(policies::set(app, &admin, "110000", tomorrow, &p)),
        "REGION_NOT_SERVED"
    );
    assert_eq!(
        code(policies::set(
            app,
            &actor("supervisor1", "supervisor"),
            "511000",
            tomorrow,
            &p
        )),
        "FORBIDDEN"
    );
    assert_eq!(
        code(policies::parse_json(
            r#"{"pin_lock_threshold": 3, "nope": 1}"#
        )),
        "POLICY_JSON_INVALID"
    );
    // A future version: replaceable until it takes effect.
    p.pin_lock_threshold = 4;
    policies::set(app, &admin, "511000", tomorrow, &p).unwrap();
    p.pin_lock_threshold = 3;
    let v = policies::set(app, &admin, "511000", tomorrow, &p).unwrap();
    assert!(v.future && !v.in_force);
    assert_eq!(
        reference::policy(app, &region, today)
            .unwrap()
            .pin_lock_threshold,
        6
    );
    assert_eq!(
        reference::policy(app, &region, tomorrow)
            .unwrap()
            .pin_lock_threshold,
        3
    );
    // The next day it is in force, and history cannot be rewritten.
    clock.advance(Duration::days(1));
    assert_eq!(app.today(), tomorrow);
    assert_eq!(
        reference::policy(app, &region, app.today())
            .unwrap()
            .pin_lock_threshold,
        3
    );
    let h = policies::history(app, &admin, "511000").unwrap();
    assert_eq!(h.len(), 2);
    assert!(h[0].in_force && !h[1].in_force);
    assert_eq!(
        code(policies::set(app, &admin, "511000", tomorrow, &p)),
        "POLICY_VERSION_IN_FORCE"
    );
    // The use cases read the version in force: Neijiang's PINs now lock after 3 tries.
    assert_eq!(
        reference::list_regions(app)
            .unwrap()
            .iter()
            .find(|r| r.code == "511000")
            .unwrap()
            .policy
            .pin_lock_threshold,
        3
    );
}

fn calendar_scenario(app: &App) {
    let admin = actor("admin", "admin");
    calendar::set_day(app, &admin, "2027-01-01", true, "元旦").unwrap();
    // 2027-01-09 is a Saturday.
    calendar::set_day(app, &admin, "2027-01-09", false, "调休上班").unwrap();
    assert_eq!(
        code(calendar::set_day(
            app,
            &admin,
            "2027-01-06",
            false,
            "调休上班"
        )),
        "CALENDAR_WORKDAY_NOT_WEEKEND"
    );
    assert_eq!(
        code(calendar::set_day(app, &admin, "2027-02-30", true, "x")),
        "CALENDAR_DAY_INVALID"
    );
    assert_eq!(
        code(calendar::set_day(app, &admin, "2027-02-01", true, " ")),
        "CALENDAR_NAME_REQUIRED"
    );
    assert_eq!(
        code(calendar::set_day(
            app,
            &actor("clerk1", "clerk"),
            "2027-02-01",
            true,
            "x"
        )),
        "FORBIDDEN"
    );
    let days = calendar::year(app, &admin, 2027).unwrap();
    assert_eq!(days.len(), 2);
    assert_eq!(
        (days[1].kind.as_str(), days[1].weekday.as_str()),
        ("workday", "Sat")
    );
    calendar::remove_day(app, &admin, "2027-01-09").unwrap();
    assert_eq!(
        code(calendar::remove_day(app, &admin, "2027-01-09")),
        "CALENDAR_DAY_NOT_FOUND"
    );
    assert_eq!(calendar::year(app, &admin, 2027).unwrap().len(), 1);
    assert_eq!(calendar::year(app, &admin, 2026).unwrap().len(), 39);
}

fn stats_scenario(app: &App, url: &str) {
    let auditor = actor("auditor1", "auditor");
    assert_eq!(
        code(stats::dashboard(app, &actor("clerk1", "clerk"), None)),
        "FORBIDDEN"
    );
    // Activity to count: settlements (one reversed), IVR calls.
    let store = sscard_store::Store::open(url).unwrap();
    let today = app.today().to_string();
    let inst_id = store
        .read(|tx| medical::institution_by_key(tx, "INST-H51100000099"))
        .unwrap()
        .unwrap()
        .id;
    for (k, status) in ["settled", "settled", "voided"].iter().enumerate() {
        let msg = format!("H51100000099{}{k:04}", "20261122100000");
        store
            .write(|tx| {
                medical::insert_settlement(
                    tx,
                    &medical::NewSettlement {
                        msg_id: &msg,
                        institution_id: inst_id,
                        person_id: None,
                        card_id: None,
                        region_code: "511000",
                        sign_no: "",
                        operator: "",
                        request_hash: "h",
                        via: "card",
                        total_fen: 10_000,
                        self_pay_fen: 0,
                        deductible_fen: 0,
                        pooling_fen: 6_000,
                        personal_fen: 3_000,
                        cash_fen: 1_000,
                        items_json: "[]",
                        status,
                        settle_day: &today,
                        at: &sscard_store::repo::ts(app.now()),
                    },
                )
            })
            .unwrap();
    }
    for (menu, outcome) in [
        ("3-1-1", "completed"),
        ("3-1-1", "completed"),
        ("5-2", "transferred"),
    ] {
        let id = sscard_service::phone::start_call(app, "caller").unwrap();
        sscard_service::phone::end_call(app, id, menu, outcome).unwrap();
    }

    let d = stats::dashboard(app, &auditor, None).unwrap();
    assert_eq!(d.months.len(), 12);
    assert_eq!(d.days.len(), 30);
    assert_eq!(d.days.last().unwrap(), &today);
    let totals = d.card_totals();
    let applied: i64 = totals.iter().map(|(_, c)| c[0]).sum();
    let issued: i64 = totals.iter().map(|(_, c)| c[1]).sum();
    assert!(applied > 0 && issued > 0, "{totals:?}");
    let s = d
        .settlements
        .iter()
        .find(|s| s.day == today && s.region_code == "511000")
        .unwrap();
    assert_eq!(
        (s.settled, s.total_fen, s.personal_fen, s.pooling_fen),
        (2, 20_000, 6_000, 12_000)
    );
    assert_eq!(d.settlement_totals().last().unwrap().1, 20_000);
    let ivr = d.ivr_totals();
    assert_eq!(ivr[0], ("3-1-1".to_string(), 2));
    assert!(
        d.ivr
            .iter()
            .any(|c| c.menu == "5-2" && c.label_zh == "电话挂失")
    );
    // One region only: the others' activity is left out.
    let nj = stats::dashboard(app, &actor("admin", "admin"), Some("511000")).unwrap();
    assert!(nj.cards.iter().all(|c| c.region_code == "511000"));
    assert!(nj.cards.len() < d.cards.len());

    let t = stats::table(app, &auditor, "settlements", None).unwrap();
    assert_eq!(t.columns[0].0, "day");
    assert!(t.rows.iter().any(|r| r[3] == stats::Cell::Fen(20_000)));
    let t = stats::table(app, &auditor, "cards", None).unwrap();
    assert_eq!(t.columns.len(), 8);
    assert_eq!(
        code(stats::table(app, &auditor, "nope", None)),
        "STATS_TABLE_UNKNOWN"
    );
}

fn scenario(url: &str) {
    let (app, clock, samples) = setup(url);
    staff_scenario(&app, &samples);
    agency_scenario(&app);
    institution_scenario(&app, &clock);
    bank_scenario(&app);
    policy_scenario(&app, &clock);
    calendar_scenario(&app);
    stats_scenario(&app, url);
    let report = sscard_service::audit::verify(&app).unwrap();
    assert_eq!(report.first_broken, None);
    let _ = NaiveDate::from_ymd_opt(2026, 1, 1);
}

#[test]
fn admin_on_sqlite() {
    let (_dir, url) = sscard_testkit::sqlite_url();
    scenario(&url);
}

#[test]
fn admin_on_postgres() {
    let Some(url) = sscard_testkit::postgres_url() else {
        return;
    };
    scenario(&url);
}
