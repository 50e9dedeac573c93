//! Every flow of the 12333 menu through the FastAGI server, with the test playing Asterisk's
//! side of the protocol over TCP; barge-in; the balance query on PostgreSQL; and 200
//! simultaneous calls, none dropped.

mod common;

use std::sync::Arc;

use common::{Cast, World, cast, check, flows, one, run_agi, start_agi, world};
use sscard_ivr::Services;
use sscard_ivr::sim::{self, SampleHolder, SimOptions, Step};

/// The demo world and its cast, built on the blocking pool (the PostgreSQL client is
/// synchronous and must not run on a runtime thread).
async fn setup(url: String) -> (Arc<World>, Arc<Cast>) {
    tokio::task::spawn_blocking(move || {
        let w = world(&url);
        let c = cast(&w);
        (Arc::new(w), Arc::new(c))
    })
    .await
    .unwrap()
}

async fn run_flows(w: &Arc<World>, c: &Arc<Cast>, only_first: bool, barge_in: bool) {
    let server = start_agi(Services::new(w.app.clone())).await;
    let addr = server.addr;
    let (w2, c2) = (w.clone(), c.clone());
    let mut table = tokio::task::spawn_blocking(move || flows(&w2, &c2))
        .await
        .unwrap();
    if only_first {
        table.truncate(1);
    }
    for mut flow in table {
        if barge_in {
            // Each key interrupts the prompt it is pressed during.
            flow.expect = one(&["welcome", "medical-balance"]);
        }
        let heard = run_agi(addr, &flow, barge_in).await;
        let w2 = w.clone();
        tokio::task::spawn_blocking(move || check(&w2, &flow, &heard, true))
            .await
            .unwrap();
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agi_flows_on_sqlite() {
    let (_dir, url) = sscard_testkit::sqlite_url();
    let (w, c) = setup(url).await;
    run_flows(&w, &c, false, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agi_balance_on_postgres() {
    let Some(url) = tokio::task::spawn_blocking(sscard_testkit::postgres_url)
        .await
        .unwrap()
    else {
        return;
    };
    let (w, c) = setup(url).await;
    run_flows(&w, &c, true, false).await;
    // The synchronous PostgreSQL pool is closed off the runtime's threads.
    tokio::task::spawn_blocking(move || drop((w, c)))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_during_a_prompt_interrupt_it() {
    let (_dir, url) = sscard_testkit::sqlite_url();
    let (w, c) = setup(url).await;
    run_flows(&w, &c, true, true).await;

    // A withheld number in English, put through to an agent.
    let server = start_agi(Services::new(w.app.clone())).await;
    let t = sim::call(
        server.addr,
        &[Step::keys("0")],
        &SimOptions {
            caller: String::new(),
            lang: "en".into(),
            barge_in: false,
        },
    )
    .await
    .unwrap();
    assert_eq!(t.ended_by, "transfer");
    assert!(t.files.iter().all(|f| f.starts_with("sscard/en/")));
    assert!(t.prompt_ids().ends_with(&["transfer".to_string()]));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_simultaneous_calls_none_dropped() {
    let (_dir, url) = sscard_testkit::sqlite_url();
    let (w, c) = setup(url).await;
    let server = start_agi(Services::new(w.app.clone())).await;
    let holders: Vec<SampleHolder> = [&c.query, &c.lock, &c.mismatch, &c.loss, &c.x_change]
        .iter()
        .map(|h| SampleHolder {
            id_number: h.id_number.clone(),
            pin: h.pin.clone(),
            usable: true,
            card_status: "active".into(),
        })
        .collect();
    let report = sim::load(server.addr, 200, &holders).await;
    server.stop().await;
    assert_eq!(report.calls, 200);
    assert_eq!(report.dropped, 0, "{report}");
    assert_eq!(report.completed, 200, "{report}");
}
