//! The payout endpoints through the real router: a withdrawal with an approved slip, its
//! retry and a conflicting reuse of its id, a migration out of the whole balance, the list of
//! a person's payouts — each with its refusals and their statuses.

mod common;

use axum::Router;
use axum::http::StatusCode;
use chrono::NaiveDate;
use common::{
    Demo, api_get as get, api_login as login, api_post as post, api_req as req, expect, password,
    send,
};
use serde_json::{Value, json};
use sscard_service::App;
use sscard_service::demo::{DemoSamples, SampleCardholder};

fn demo_app() -> (tempfile::TempDir, App, DemoSamples) {
    Demo {
        persons: 200,
        seed: 29,
        pin_key: Some(7),
        as_of: Some(NaiveDate::from_ymd_opt(2026, 11, 21).unwrap()),
    }
    .open()
}

/// Living cardholders with a medical balance above 1 000 yuan.
fn with_balance(s: &DemoSamples) -> Vec<SampleCardholder> {
    let mut out: Vec<SampleCardholder> = s
        .cardholders
        .iter()
        .filter(|c| c.life_status == "normal" && c.medical_balance_fen > 100_000)
        .cloned()
        .collect();
    out.dedup_by(|a, b| a.id_number == b.id_number);
    out
}

/// The person_ref of a document number, from the staff search.
async fn person_ref(r: &Router, token: &str, doc: &str) -> i64 {
    let reply = get(r, &format!("/api/v1/persons?q={doc}"), token).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.json()[0]["person_ref"].as_i64().unwrap()
}

#[tokio::test]
async fn payouts_through_the_api() {
    let (_d, app, s) = demo_app();
    let r = sscard_http::router(app);
    let clerk = login(&r, &s, "clerk1").await;
    let auditor = login(&r, &s, "auditor1").await;
    let agent = login(&r, &s, "agent1").await;
    let people = with_balance(&s);
    assert!(people.len() >= 2, "the demo has balances");
    let (a, b) = (&people[0], &people[1]);
    let a_ref = person_ref(&r, &clerk, &a.id_number).await;
    let b_ref = person_ref(&r, &clerk, &b.id_number).await;
    let a_path = format!("/api/v1/ledger/persons/{a_ref}/payouts");
    let b_path = format!("/api/v1/ledger/persons/{b_ref}/payouts");
    let withdrawal = json!({
        "client_id": "api-w-1",
        "kind": "withdrawal",
        "presented_doc_number": a.id_number,
        "amount_fen": 20_000,
        "slip_no": "JS-API-1",
        "note": "住院结算单审核后提取",
        "supervisor_username": "super1",
        "supervisor_password": password(&s, "super1"),
    });
    let with = |f: &dyn Fn(&mut Value)| {
        let mut v = withdrawal.clone();
        f(&mut v);
        v
    };

    // Refusals, each with its status.
    expect(
        &send(&r, req("POST", &a_path, None, Some(withdrawal.clone()))).await,
        StatusCode::UNAUTHORIZED,
        "LOGIN_REQUIRED",
    );
    expect(
        &post(&r, &a_path, &agent, withdrawal.clone()).await,
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
    );
    expect(
        &post(&r, &a_path, &auditor, withdrawal.clone()).await,
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
    );
    expect(
        &post(
            &r,
            "/api/v1/ledger/persons/abc/payouts",
            &clerk,
            withdrawal.clone(),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "BAD_REQUEST",
    );
    expect(
        &post(&r, &a_path, &clerk, json!({"kind": "withdrawal"})).await,
        StatusCode::BAD_REQUEST,
        "BAD_REQUEST",
    );
    expect(
        &post(&r, &a_path, &clerk, with(&|v| v["kind"] = json!("cash"))).await,
        StatusCode::BAD_REQUEST,
        "PAYOUT_KIND_INVALID",
    );
    expect(
        &post(&r, &a_path, &clerk, with(&|v| v["slip_no"] = json!(""))).await,
        StatusCode::BAD_REQUEST,
        "PAYOUT_SLIP_REQUIRED",
    );
    expect(
        &post(&r, &a_path, &clerk, with(&|v| v["amount_fen"] = json!(0))).await,
        StatusCode::BAD_REQUEST,
        "AMOUNT_INVALID",
    );
    expect(
        &post(
            &r,
            &a_path,
            &clerk,
            with(&|v| v["presented_doc_number"] = json!(b.id_number)),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "ID_MISMATCH",
    );
    expect(
        &post(
            &r,
            "/api/v1/ledger/persons/987654321/payouts",
            &clerk,
            withdrawal.clone(),
        )
        .await,
        StatusCode::NOT_FOUND,
        "PERSON_NOT_FOUND",
    );
    expect(
        &post(
            &r,
            &a_path,
            &clerk,
            with(&|v| v["amount_fen"] = json!(a.medical_balance_fen + 1)),
        )
        .await,
        StatusCode::CONFLICT,
        "INSUFFICIENT_BALANCE",
    );
    expect(
        &post(
            &r,
            &a_path,
            &clerk,
            with(&|v| v["supervisor_password"] = json!("wrong-password")),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "APPROVAL_FAILED",
    );
    expect(
        &post(
            &r,
            &a_path,
            &clerk,
            with(&|v| {
                v["supervisor_username"] = json!("clerk1");
                v["supervisor_password"] = json!(password(&s, "clerk1"));
            }),
        )
        .await,
        StatusCode::FORBIDDEN,
        "APPROVAL_SELF",
    );

    // The withdrawal, its retry and a reuse of its id.
    let made = post(&r, &a_path, &clerk, withdrawal.clone()).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let made = made.json();
    assert_eq!(made["amount_fen"], 20_000);
    assert_eq!(made["reason_code"], "WITHDRAWAL_SLIP");
    assert_eq!(made["approved_by"], "super1");
    assert_eq!(made["replayed"], false);
    assert_eq!(
        made["balance_after_fen"],
        a.medical_balance_fen - 20_000,
        "{made}"
    );
    let again = post(&r, &a_path, &clerk, withdrawal.clone()).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(again.json()["replayed"], true);
    assert_eq!(again.json()["transfer_id"], made["transfer_id"]);
    expect(
        &post(
            &r,
            &a_path,
            &clerk,
            with(&|v| v["amount_fen"] = json!(20_001)),
        )
        .await,
        StatusCode::CONFLICT,
        "TRANSFER_ID_CONFLICT",
    );
    expect(
        &post(
            &r,
            &a_path,
            &clerk,
            with(&|v| {
                v["client_id"] = json!("api-w-2");
                v["amount_fen"] = json!(100);
            }),
        )
        .await,
        StatusCode::CONFLICT,
        "PAYOUT_SLIP_USED",
    );

    // A migration out: the whole balance, to a region outside the person's own.
    let dest = if b.region_code == "500000" {
        "511000"
    } else {
        "500000"
    };
    let migration = json!({
        "client_id": "api-m-1",
        "kind": "migration_out",
        "presented_doc_number": b.id_number,
        "slip_no": "QY-API-1",
        "supervisor_username": "super1",
        "supervisor_password": password(&s, "super1"),
    });
    expect(
        &post(&r, &b_path, &clerk, migration.clone()).await,
        StatusCode::BAD_REQUEST,
        "PAYOUT_DESTINATION_REQUIRED",
    );
    let mut m = migration.clone();
    m["destination_region"] = json!(b.region_code);
    expect(
        &post(&r, &b_path, &clerk, m).await,
        StatusCode::BAD_REQUEST,
        "PAYOUT_DESTINATION_SAME",
    );
    let mut m = migration.clone();
    m["destination_region"] = json!(dest);
    let moved = post(&r, &b_path, &clerk, m.clone()).await;
    assert_eq!(moved.status, StatusCode::CREATED, "{}", moved.body);
    let moved = moved.json();
    assert_eq!(moved["amount_fen"], b.medical_balance_fen);
    assert_eq!(moved["balance_after_fen"], 0);
    assert_eq!(moved["destination_region"], dest);
    m["client_id"] = json!("api-m-2");
    m["slip_no"] = json!("QY-API-2");
    expect(
        &post(&r, &b_path, &clerk, m).await,
        StatusCode::CONFLICT,
        "PAYOUT_NOTHING_TO_PAY",
    );

    // The lists (any staff role).
    let list = get(&r, &a_path, &auditor).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    let list = list.json();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["transfer_id"], made["transfer_id"]);
    assert_eq!(list[0]["kind"], "withdrawal");
    let list = get(&r, &b_path, &clerk).await.json();
    assert_eq!(list[0]["kind"], "migration_out");
    assert_eq!(list[0]["amount_fen"], b.medical_balance_fen);
    expect(
        &get(&r, "/api/v1/ledger/persons/987654321/payouts", &clerk).await,
        StatusCode::NOT_FOUND,
        "PERSON_NOT_FOUND",
    );
    expect(
        &send(&r, req("GET", &a_path, None, None)).await,
        StatusCode::UNAUTHORIZED,
        "LOGIN_REQUIRED",
    );
}
