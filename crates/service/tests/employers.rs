//! Employer registration: credit codes are checked; a failing checksum needs a supervisor.

use sscard_service::audit::{Actor, Channel};
use sscard_service::employers::{self, NewEmployer};
use sscard_service::secrets::PinKey;
use sscard_service::{App, AppConfig};

fn open(url: &str) -> App {
    App::open(&AppConfig {
        db_url: url.to_string(),
        pin_key: Some(PinKey::new(vec![5; 32]).unwrap()),
        ..Default::default()
    })
    .unwrap()
}

fn actor(role: &str) -> Actor {
    Actor {
        username: format!("{role}1"),
        role: role.into(),
        agency: "NJ-CARD".into(),
        channel: Channel::Counter,
    }
}

fn new(code: &str, override_checksum: bool) -> NewEmployer {
    NewEmployer {
        credit_code: code.into(),
        name: "内江甜城机械制造有限公司".into(),
        region_code: "511000".into(),
        address: "内江市市中区人民路1号".into(),
        override_checksum,
    }
}

fn scenario(url: &str) {
    let app = open(url);
    let e = employers::register(&app, &actor("clerk"), &new("91350100M000100Y43", false)).unwrap();
    assert_eq!(e.employer_no, "511000000001");
    assert_eq!(e.credit_code_override_by, None);
    let again = employers::register(&app, &actor("clerk"), &new("91350100M000100Y43", false));
    assert_eq!(again.unwrap_err().code, "EMPLOYER_EXISTS");
    // The same code with a wrong check character: refused, even with an override from a clerk.
    let bad = "91350100M000100Y44";
    assert_eq!(
        employers::register(&app, &actor("clerk"), &new(bad, false))
            .unwrap_err()
            .code,
        "CREDIT_CODE_CHECK_CHAR"
    );
    assert_eq!(
        employers::register(&app, &actor("clerk"), &new(bad, true))
            .unwrap_err()
            .code,
        "CREDIT_CODE_OVERRIDE_FORBIDDEN"
    );
    let ok = employers::register(&app, &actor("supervisor"), &new(bad, true)).unwrap();
    assert_eq!(ok.credit_code_override_by.as_deref(), Some("supervisor1"));
    assert_eq!(ok.employer_no, "511000000002");
    // A malformed code is refused whatever the override.
    assert_eq!(
        employers::register(&app, &actor("supervisor"), &new("91350100M000100I43", true))
            .unwrap_err()
            .code,
        "CREDIT_CODE_CHAR"
    );
    assert_eq!(
        employers::find(&app, "511000000002").unwrap().credit_code,
        bad
    );
    assert_eq!(
        employers::find(&app, "nope").unwrap_err().code,
        "EMPLOYER_NOT_FOUND"
    );
    // Both registrations are audited and the chain holds.
    let report = sscard_service::audit::verify(&app).unwrap();
    assert_eq!(report.first_broken, None);
    assert_eq!(report.rows, 3);
}

#[test]
fn employers_on_sqlite() {
    let (_d, url) = sscard_testkit::sqlite_url();
    scenario(&url);
}

#[test]
fn employers_on_postgres() {
    let Some(url) = sscard_testkit::postgres_url() else {
        return;
    };
    scenario(&url);
}
