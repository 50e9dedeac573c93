//! Self-service: a demo person's records in every area, consistent with the store; portal
//! login with the query password (forced first change, lockout); certificates of insurance
//! and their public verification; the service guide. Every scenario on SQLite and PostgreSQL.

use chrono::NaiveDate;
use sscard_service::audit::{Actor, Channel};
use sscard_service::demo::{self, DemoOptions, SampleCardholder};
use sscard_service::secrets::PinKey;
use std::sync::Arc;

use chrono::Duration;
use sscard_domain::clock::FixedClock;
use sscard_service::selfservice::{auth, cardholder_actor, certificate, guide, records};
use sscard_service::{App, AppConfig};
use sscard_store::Store;

struct Env {
    app: App,
    holders: Vec<SampleCardholder>,
    store: Store,
}

fn setup(url: &str) -> Env {
    let app = App::open(&AppConfig {
        db_url: url.to_string(),
        pin_key: Some(PinKey::new(vec![1; 32]).unwrap()),
        ..Default::default()
    })
    .unwrap();
    let s = demo::generate(
        &app,
        &DemoOptions {
            persons: 600,
            seed: 11,
            as_of: NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
        },
        &|_, _| {},
    )
    .unwrap();
    Env {
        app,
        holders: s.cardholders,
        store: Store::open(url).unwrap(),
    }
}

fn staff(role: &str) -> Actor {
    Actor {
        username: format!("{role}1"),
        role: role.into(),
        agency: String::new(),
        channel: Channel::Counter,
    }
}

fn person_id(env: &Env, id_number: &str) -> i64 {
    env.store
        .read(|tx| {
            tx.query_one(
                "SELECT id FROM persons WHERE doc_number = $1",
                sscard_store::params![id_number],
                "person",
            )?
            .i64(0)
        })
        .unwrap()
}

fn scalar(env: &Env, sql: &str, pid: i64) -> i64 {
    env.store
        .read(|tx| tx.query_i64(sql, sscard_store::params![pid]))
        .unwrap()
}

fn records_scenario(env: &Env) {
    let app = &env.app;
    // Every sample cardholder's records: non-empty and consistent with the store.
    let mut seen_balance = false;
    for h in &env.holders {
        let pid = person_id(env, &h.id_number);
        let me = cardholder_actor(pid, Channel::Web);
        let r = records::person_records(app, &me, pid).unwrap();
        assert_eq!(r.basic.name, h.name);
        assert!(r.basic.doc_number_masked.contains('*'));
        assert!(!r.basic.doc_number_masked.contains(&h.id_number[4..14]));
        assert!(!r.cards.is_empty(), "{} has cards", h.name);
        assert!(r.cards.iter().all(|c| !c.timeline.is_empty()));
        assert!(!r.enrolments.is_empty());
        assert!(
            r.health.len() >= 2,
            "life and health data is never empty: {:?}",
            r.health
        );
        assert!(r.health.iter().any(|x| x.category == "blood_type"));
        // The medical balance is the ledger account's, which is the sum of its transfers.
        let ledger = env
            .store
            .read(|tx| {
                tx.query_opt(
                    "SELECT balance_fen FROM accounts WHERE person_id = $1 AND kind = 'medical_personal'",
                    sscard_store::params![pid],
                )
            })
            .unwrap()
            .map(|row| row.i64(0).unwrap());
        assert_eq!(r.medical.balance_fen, ledger);
        if let Some(b) = ledger {
            seen_balance = true;
            assert_eq!(b, h.medical_balance_fen);
            let from_entries = scalar(
                env,
                "SELECT CAST(COALESCE(sum(CASE WHEN t.credit_account = a.id THEN t.amount_fen
                        ELSE -t.amount_fen END), 0) AS BIGINT)
                 FROM accounts a JOIN transfers t ON t.credit_account = a.id OR t.debit_account = a.id
                 WHERE a.person_id = $1 AND a.kind = 'medical_personal' AND t.status = 'posted'
                   AND t.expires_at IS NULL",
                pid,
            );
            assert_eq!(b, from_entries);
            assert!(!r.medical.transactions.is_empty());
        }
        // Contributions by year add up to the store's rows.
        let months: i64 = r.contributions_by_year.iter().map(|y| y.months).sum();
        assert_eq!(
            months,
            scalar(
                env,
                "SELECT count(*) FROM contributions WHERE person_id = $1",
                pid
            )
        );
        let personal: i64 = r.contributions_by_year.iter().map(|y| y.personal_fen).sum();
        assert_eq!(
            personal,
            scalar(
                env,
                "SELECT CAST(COALESCE(sum(pension_personal_fen + medical_personal_fen
                     + unemployment_personal_fen), 0) AS BIGINT)
                 FROM contributions WHERE person_id = $1",
                pid
            )
        );
        assert_eq!(
            r.pension.personal_account_fen,
            scalar(
                env,
                "SELECT CAST(COALESCE(sum(pension_personal_fen), 0) AS BIGINT)
                 FROM contributions WHERE person_id = $1",
                pid
            )
        );
        // The year filter.
        let all = records::contributions(app, &me, pid, None).unwrap();
        assert_eq!(all.months.len() as i64, months);
        if let Some(y) = all.years.first() {
            let one = records::contributions(app, &me, pid, Some(*y)).unwrap();
            assert!(!one.months.is_empty());
            assert!(
                one.months
                    .iter()
                    .all(|m| m.month.starts_with(&y.to_string()))
            );
            assert_eq!(
                one.personal_fen,
                one.months.iter().map(|m| m.personal_fen).sum::<i64>()
            );
        }
    }
    assert!(seen_balance, "some sample has a medical personal account");

    // Across the population: every area is backed by real rows somewhere.
    let pick = |sql: &str| -> i64 {
        env.store
            .read(|tx| tx.query_i64(sql, &[]))
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    };
    let clerk = staff("clerk");
    let retiree =
        pick("SELECT min(person_id) FROM benefits WHERE kind = 'pension' AND status = 'active'");
    let r = records::person_records(app, &clerk, retiree).unwrap();
    assert!(r.pension.retired);
    assert!(r.pension.monthly_pension_fen.unwrap() > 0);
    assert!(r.pension.contribution_months >= 180);
    let worker = pick("SELECT min(person_id) FROM employment");
    let r = records::person_records(app, &clerk, worker).unwrap();
    assert!(!r.employment.is_empty() && r.employment[0].current);
    assert!(r.unemployment.continuous_contribution_months > 0);
    assert!(r.pension.contribution_months > 0);
    assert!(r.work_injury.enrolment.is_some() && r.maternity.enrolment.is_some());
    assert!(
        r.contributions_by_year
            .iter()
            .all(|y| y.employer_fen > y.personal_fen)
    );
    let settled = pick(
        "SELECT min(a.person_id) FROM accounts a JOIN transfers t ON t.debit_account = a.id
         WHERE a.kind = 'medical_personal' AND t.kind = 'settlement'",
    );
    let r = records::person_records(app, &clerk, settled).unwrap();
    assert!(!r.medical.settlements.is_empty());
    assert!(r.medical.settlements.iter().all(|s| s.personal_fen > 0));
    assert!(
        r.medical
            .transactions
            .iter()
            .any(|t| t.amount_fen < 0 && t.kind == "settlement")
    );
    for (kind, check) in [
        ("unemployment", 0),
        ("minimum_living", 1),
        ("special_care", 2),
        ("maternity", 3),
    ] {
        let Ok(pid) = env.store.read(|tx| {
            tx.query_i64(
                "SELECT min(person_id) FROM benefits WHERE kind = $1",
                sscard_store::params![kind],
            )
        }) else {
            continue;
        };
        let r = records::person_records(app, &clerk, pid).unwrap();
        match check {
            0 => {
                assert!(r.unemployment.registration.is_some());
                assert!(r.unemployment.continuous_contribution_months >= 12);
            }
            1 => assert!(!r.assistance.minimum_living.is_empty()),
            2 => assert!(!r.assistance.special_care.is_empty()),
            _ => assert!(r.maternity.benefits[0].lump_sum_fen > 0),
        }
    }
    if let Ok(pid) = env.store.read(|tx| {
        tx.query_i64(
            "SELECT min(person_id) FROM injury_cases WHERE kind = 'injury'",
            &[],
        )
    }) {
        let r = records::person_records(app, &clerk, pid).unwrap();
        assert!(r.work_injury.disability_grade.is_some());
        assert!(!r.work_injury.benefits.is_empty());
    }

    // Refusals.
    let me = cardholder_actor(retiree, Channel::Web);
    assert_eq!(
        records::person_records(app, &me, worker).unwrap_err().code,
        "RECORD_NOT_YOURS"
    );
    assert_eq!(
        records::contributions(app, &me, worker, None)
            .unwrap_err()
            .code,
        "RECORD_NOT_YOURS"
    );
    assert_eq!(
        records::person_records(app, &staff("admin"), worker)
            .unwrap_err()
            .code,
        "FORBIDDEN"
    );
    assert_eq!(
        records::person_records(app, &clerk, 99_999_999)
            .unwrap_err()
            .code,
        "PERSON_NOT_FOUND"
    );
    assert_eq!(
        records::contributions(app, &me, retiree, Some(1800))
            .unwrap_err()
            .code,
        "YEAR_INVALID"
    );
}

fn later(app: &App, d: Duration) -> App {
    app.with_clock(Arc::new(FixedClock(app.now() + d)))
}

fn threshold(region: &str) -> usize {
    sscard_domain::policy::RegionPolicy::for_region(region).web_lock_threshold as usize
}

fn auth_scenario(env: &Env) {
    let app = &env.app;
    let fresh: Vec<&SampleCardholder> = env
        .holders
        .iter()
        .filter(|h| !h.query_password_changed && h.life_status == "normal")
        .collect();
    assert!(fresh.len() >= 2);
    let h = fresh[0];
    // The initial password follows the region's rule.
    let expected = match h.region_code.as_str() {
        "500000" => h.id_number[12..].to_string(),
        "511000" => "111111".to_string(),
        _ => "123456".to_string(),
    };
    assert_eq!(h.query_password, expected);
    let t = threshold(&h.region_code);
    let e = auth::login(app, &h.id_number, "wrong-1").unwrap_err();
    assert_eq!(e.code, "LOGIN_FAILED");
    assert!(e.message.contains(&format!("{}", t - 1)), "{}", e.message);
    assert!(e.message_en.contains(&format!("{} tries left", t - 1)));
    // An unknown ID number answers like a wrong password.
    assert_eq!(
        auth::login(app, "11010519491231002X", "123456")
            .unwrap_err()
            .code,
        "LOGIN_FAILED"
    );
    // First login: the change is forced.
    let ok = auth::login(app, &h.id_number.to_lowercase(), &h.query_password).unwrap();
    assert!(ok.session.must_change_password);
    let s = auth::session(app, &ok.token).unwrap();
    assert!(s.must_change_password);
    assert_eq!(s.csrf_token, ok.session.csrf_token);
    let me = s.actor();
    let pid = s.person_id;
    for (new, code) in [
        ("abc", "QUERY_PASSWORD_WEAK"),
        ("12345678", "QUERY_PASSWORD_WEAK"),
        (h.query_password.as_str(), "QUERY_PASSWORD_REUSED"),
    ] {
        assert_eq!(
            auth::change_query_password(app, &me, pid, &h.query_password, new, Some(&ok.token))
                .unwrap_err()
                .code,
            code
        );
    }
    // Someone else cannot change it; a wrong current password counts.
    let other = cardholder_actor(pid + 1, sscard_service::audit::Channel::Web);
    assert_eq!(
        auth::change_query_password(app, &other, pid, &h.query_password, "New2026pw", None)
            .unwrap_err()
            .code,
        "RECORD_NOT_YOURS"
    );
    assert_eq!(
        auth::change_query_password(app, &me, pid, "nope", "New2026pw", None)
            .unwrap_err()
            .code,
        "LOGIN_FAILED"
    );
    // A second session ends when the password changes; the current one stays.
    let second = auth::login(app, &h.id_number, &h.query_password).unwrap();
    auth::change_query_password(
        app,
        &me,
        pid,
        &h.query_password,
        "New2026pw",
        Some(&ok.token),
    )
    .unwrap();
    assert!(!auth::session(app, &ok.token).unwrap().must_change_password);
    assert_eq!(
        auth::session(app, &second.token).unwrap_err().code,
        "SESSION_EXPIRED"
    );
    assert_eq!(
        auth::login(app, &h.id_number, &h.query_password)
            .unwrap_err()
            .code,
        "LOGIN_FAILED"
    );
    let again = auth::login(app, &h.id_number, "New2026pw").unwrap();
    assert!(!again.session.must_change_password);
    // Logout and timeouts.
    auth::logout(app, &again.token).unwrap();
    assert_eq!(
        auth::session(app, &again.token).unwrap_err().code,
        "SESSION_EXPIRED"
    );
    assert_eq!(
        auth::session(
            &later(app, Duration::minutes(auth::IDLE_MINUTES + 1)),
            &ok.token
        )
        .unwrap_err()
        .code,
        "SESSION_EXPIRED"
    );
    let audits = env
        .store
        .read(|tx| {
            tx.query_i64(
                "SELECT count(*) FROM audit_log WHERE actor = $1 AND action LIKE 'portal.%'",
                sscard_store::params![format!("person:{pid}")],
            )
        })
        .unwrap();
    assert!(audits >= 6, "{audits}");

    // Lockout: the tries count down, then the account locks, even for the right password,
    // until midnight.
    let h = fresh[1];
    let t = threshold(&h.region_code);
    for k in 1..t {
        let e = auth::login(app, &h.id_number, "bad-pass-1").unwrap_err();
        assert_eq!(e.code, "LOGIN_FAILED");
        assert!(e.message_en.contains(&format!("{} tries left", t - k)));
    }
    assert_eq!(
        auth::login(app, &h.id_number, "bad-pass-1")
            .unwrap_err()
            .code,
        "QUERY_LOCKED"
    );
    assert_eq!(
        auth::login(app, &h.id_number, &h.query_password)
            .unwrap_err()
            .code,
        "QUERY_LOCKED"
    );
    let tomorrow = later(app, Duration::hours(24));
    let ok = auth::login(&tomorrow, &h.id_number, &h.query_password).unwrap();
    assert!(ok.session.must_change_password);
    // Or the counter resets it at once, after the ID check.
    for _ in 0..t {
        let _ = auth::login(app, &h.id_number, "bad-pass-1");
    }
    assert_eq!(
        auth::login(app, &h.id_number, &h.query_password)
            .unwrap_err()
            .code,
        "QUERY_LOCKED"
    );
    let pid = person_id(env, &h.id_number);
    let me = cardholder_actor(pid, Channel::Web);
    assert_eq!(
        auth::reset_query_password(app, &me, pid, &h.id_number)
            .unwrap_err()
            .code,
        "FORBIDDEN"
    );
    assert_eq!(
        auth::reset_query_password(app, &staff("clerk"), pid, "11010519491231002X")
            .unwrap_err()
            .code,
        "ID_MISMATCH"
    );
    auth::reset_query_password(app, &staff("clerk"), pid, &h.id_number).unwrap();
    assert_eq!(
        auth::session(app, &ok.token).unwrap_err().code,
        "SESSION_EXPIRED",
        "the reset ends the portal sessions"
    );
    assert!(
        auth::login(app, &h.id_number, &h.query_password)
            .unwrap()
            .session
            .must_change_password
    );

    // A changed password: no forced change. A deceased holder: closed.
    let changed = env
        .holders
        .iter()
        .find(|h| h.query_password_changed)
        .unwrap();
    assert!(
        !auth::login(app, &changed.id_number, &changed.query_password)
            .unwrap()
            .session
            .must_change_password
    );
    if let Some(d) = env.holders.iter().find(|h| h.life_status == "deceased") {
        assert_eq!(
            auth::login(app, &d.id_number, &d.query_password)
                .unwrap_err()
                .code,
            "ACCOUNT_CLOSED"
        );
    }
}

fn certificate_scenario(env: &Env) {
    let app = &env.app;
    let worker = env
        .store
        .read(|tx| tx.query_i64("SELECT min(person_id) FROM employment", &[]))
        .unwrap();
    let me = cardholder_actor(worker, Channel::Web);
    let issued = certificate::issue_insurance_certificate(app, &me, worker).unwrap();
    assert!(issued.pdf.starts_with(b"%PDF"));
    // To look at it: SSCARD_CERT_PDF_OUT=/tmp/cert.pdf.
    if let Ok(path) = std::env::var("SSCARD_CERT_PDF_OUT") {
        std::fs::write(path, &issued.pdf).unwrap();
    }
    assert!(issued.pdf.len() > 2000);
    assert!(issued.content.months > 0);
    let check = certificate::verify_code(app, &issued.code).unwrap();
    assert!(check.valid);
    assert_eq!(check.months, issued.content.months);
    assert_eq!(check.personal_fen, issued.content.personal_fen);
    assert!(check.doc_number_masked.contains('*'));
    assert!(check.holder_name_masked.contains('*'));
    // Typed loosely: case, spaces and dashes do not matter.
    let loose = issued.code.to_lowercase().replace('-', " ");
    assert_eq!(
        certificate::verify_code(app, &loose).unwrap().code,
        issued.code
    );
    assert_eq!(
        certificate::verify_code(app, "ABCD-EFGH-JKLM")
            .unwrap_err()
            .code,
        "CERT_CODE_NOT_FOUND"
    );
    assert_eq!(
        certificate::verify_code(app, "ABC").unwrap_err().code,
        "CERT_CODE_INVALID"
    );
    // Rendered again for its holder only.
    assert!(
        certificate::certificate_pdf(app, &me, &issued.code)
            .unwrap()
            .starts_with(b"%PDF")
    );
    let stranger = cardholder_actor(worker + 1, Channel::Web);
    assert_eq!(
        certificate::certificate_pdf(app, &stranger, &issued.code)
            .unwrap_err()
            .code,
        "RECORD_NOT_YOURS"
    );
    assert_eq!(
        certificate::issue_insurance_certificate(app, &stranger, worker)
            .unwrap_err()
            .code,
        "RECORD_NOT_YOURS"
    );
    let audited = env
        .store
        .read(|tx| {
            tx.query_i64(
                "SELECT count(*) FROM audit_log WHERE action = 'insurance_certificate.issued'
                 AND entity_id = $1",
                sscard_store::params![issued.code.as_str()],
            )
        })
        .unwrap();
    assert_eq!(audited, 1);
    // A certificate whose stored content was altered no longer verifies.
    env.store
        .write(|tx| {
            tx.execute(
                "UPDATE insurance_certificates SET summary_json = replace(summary_json, '\"months\":', '\"months\":1')
                 WHERE code = $1",
                sscard_store::params![issued.code.as_str()],
            )
        })
        .unwrap();
    assert!(!certificate::verify_code(app, &issued.code).unwrap().valid);
    // The daily limit.
    for _ in 1..certificate::DAILY_LIMIT {
        certificate::issue_insurance_certificate(app, &me, worker).unwrap();
    }
    assert_eq!(
        certificate::issue_insurance_certificate(app, &me, worker)
            .unwrap_err()
            .code,
        "CERT_RATE_LIMITED"
    );
}

fn guide_scenario(env: &Env) {
    let app = &env.app;
    let g = guide::service_guide(app, "511000").unwrap();
    assert_eq!(g.local_hotline, "0832-12333");
    let all: String = g.sections.iter().flat_map(|s| s.steps.clone()).collect();
    assert!(all.contains("有效期 7 天"));
    let d = guide::service_guide(app, "210200").unwrap();
    let all: String = d.sections.iter().flat_map(|s| s.steps.clone()).collect();
    assert!(all.contains("有效期 10 天"));
    assert_eq!(
        guide::service_guide(app, "110000").unwrap_err().code,
        "REGION_NOT_SERVED"
    );
    assert!(guide::service_guide(app, "12").is_err());
    assert_eq!(guide::hotlines(app).unwrap().len(), 4);
    let nj = guide::agencies(app, Some("511000"), None).unwrap();
    assert!(nj.len() >= 5);
    assert!(nj.iter().all(|a| a.region_code.starts_with("5110")));
    let some = &nj[1];
    let needle: String = some.name.chars().take(3).collect();
    let found = guide::agencies(app, Some("511000"), Some(&needle)).unwrap();
    assert!(!found.is_empty() && found.len() <= nj.len());
    assert!(
        found
            .iter()
            .all(|a| a.name.contains(&needle) || a.address.contains(&needle))
    );
}

fn scenario(url: &str) {
    let env = setup(url);
    records_scenario(&env);
    auth_scenario(&env);
    certificate_scenario(&env);
    guide_scenario(&env);
}

#[test]
fn selfservice_on_sqlite() {
    let (_d, url) = sscard_testkit::sqlite_url();
    scenario(&url);
}

#[test]
fn selfservice_on_postgres() {
    let Some(url) = sscard_testkit::postgres_url() else {
        return;
    };
    scenario(&url);
}
