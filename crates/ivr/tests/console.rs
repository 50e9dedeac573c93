//! Every flow of the 12333 menu through the console adapter (keys in, text lines out), on
//! SQLite, and the balance query on PostgreSQL.

mod common;

use common::{Holder, cast, check, flows, run_console, world};
use sscard_domain::card::CardStatus;
use sscard_ivr::Services;
use sscard_service::phone;

fn all_flows(url: &str) {
    let w = world(url);
    let c = cast(&w);
    let svc = Services::new(w.app.clone());
    for flow in flows(&w, &c) {
        let heard = run_console(&svc, &flow);
        check(&w, &flow, &heard, false);
    }
    // The flows changed the world as the menu said.
    let actor = phone::caller_actor("test");
    let pin_ok = |h: &Holder, pin: &str| {
        sscard_service::cards::pin::verify(&w.app, &actor, h.card_no.as_deref().unwrap(), pin)
    };
    assert!(pin_ok(&c.initial_change, "135792").unwrap().pin_changed);
    assert!(pin_ok(&c.x_change, "246813").is_ok());
    assert!(
        pin_ok(&c.mismatch, &c.mismatch.pin).is_ok(),
        "refused new PINs leave the old one"
    );
    assert!(
        phone::pin_state(&w.app, c.lock.card_no.as_deref().unwrap())
            .unwrap()
            .locked
    );
    assert_eq!(
        phone::card_of_id(&w.app, &c.loss.id_number).unwrap().status,
        CardStatus::TemporaryLoss
    );
    assert_eq!(
        phone::card_of_id(&w.app, &c.loss_initial.id_number)
            .unwrap()
            .status,
        CardStatus::Active,
        "no self-service loss with the initial PIN"
    );
}

#[test]
fn console_flows_on_sqlite() {
    let (_dir, url) = sscard_testkit::sqlite_url();
    all_flows(&url);
}

#[test]
fn console_balance_on_postgres() {
    let Some(url) = sscard_testkit::postgres_url() else {
        return;
    };
    let w = world(&url);
    let c = cast(&w);
    let svc = Services::new(w.app.clone());
    let flow = flows(&w, &c).remove(0);
    assert!(flow.name.starts_with("medical balance"));
    let heard = run_console(&svc, &flow);
    check(&w, &flow, &heard, false);
}
