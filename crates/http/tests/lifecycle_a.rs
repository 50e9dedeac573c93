//! The card's first half of life through the real router: apply, roster, batch and the bank's
//! files, collection, PIN at the counter, loss and lifting it, person search and detail; with
//! the refusals' codes and statuses.

mod common;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine as _;
use chrono::{NaiveDate, TimeZone, Utc};
use common::{Reply, send};
use serde_json::json;
use sscard_domain::clock::FixedClock;
use sscard_domain::ids::IdNumber;
use sscard_service::cards::photo::sample_png;
use sscard_service::demo::{self, DemoOptions, DemoSamples};
use sscard_service::{App, AppConfig};

fn demo_app() -> (tempfile::TempDir, App, DemoSamples) {
    let (dir, url) = sscard_testkit::sqlite_url();
    let app = App::open(&AppConfig {
        db_url: url,
        pin_key: Some(sscard_service::secrets::PinKey::new(vec![5; 32]).unwrap()),
        ..Default::default()
    })
    .unwrap()
    .with_clock(Arc::new(FixedClock(
        Utc.with_ymd_and_hms(2026, 11, 21, 2, 0, 0).unwrap(),
    )));
    let s = demo::generate(
        &app,
        &DemoOptions {
            persons: 80,
            seed: 2,
            as_of: NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
        },
        &|_, _| {},
    )
    .unwrap();
    (dir, app, s)
}

fn id_number(seq: u32) -> String {
    let first17 = format!("51101119900307{seq:03}");
    let c = IdNumber::check_char(first17.as_bytes()) as char;
    format!("{first17}{c}")
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

struct Client {
    r: Router,
    token: Option<String>,
}

impl Client {
    async fn post(&self, path: &str, body: serde_json::Value) -> Reply {
        let mut b = Request::builder()
            .method("POST")
            .uri(path)
            .header("content-type", "application/json");
        if let Some(t) = &self.token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        send(&self.r, b.body(Body::from(body.to_string())).unwrap()).await
    }

    async fn get(&self, path: &str) -> Reply {
        let mut b = Request::builder().uri(path);
        if let Some(t) = &self.token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        send(&self.r, b.body(Body::empty()).unwrap()).await
    }
}

async fn login(r: &Router, s: &DemoSamples, user: &str) -> Client {
    let password = &s
        .staff
        .iter()
        .find(|x| x.username == user)
        .unwrap()
        .password;
    let anon = Client {
        r: r.clone(),
        token: None,
    };
    let reply = anon
        .post(
            "/api/v1/auth/login",
            json!({"username": user, "password": password}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    Client {
        r: r.clone(),
        token: Some(reply.json()["token"].as_str().unwrap().to_string()),
    }
}

fn expect(reply: &Reply, status: StatusCode, code: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(reply.error_code(), code);
}

#[tokio::test]
async fn apply_produce_collect_lose_and_find() {
    let (_d, app, s) = demo_app();
    let r = sscard_http::router(app);
    let clerk = login(&r, &s, "clerk1").await;
    let auditor = login(&r, &s, "auditor1").await;
    let agent = login(&r, &s, "agent1").await;
    let anon = Client {
        r: r.clone(),
        token: None,
    };
    let id = id_number(101);
    let photo = b64(&sample_png(358, 441));
    let app_body = json!({
        "doc_number": id, "name": "接口甲", "phone": "13800000002", "photo_base64": photo
    });

    // Apply.
    expect(
        &anon
            .post("/api/v1/cards/applications", app_body.clone())
            .await,
        StatusCode::UNAUTHORIZED,
        "LOGIN_REQUIRED",
    );
    expect(
        &auditor
            .post("/api/v1/cards/applications", app_body.clone())
            .await,
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
    );
    expect(
        &clerk
            .post(
                "/api/v1/cards/applications",
                json!({"doc_number": id, "name": "接口甲", "photo_base64": "%%%"}),
            )
            .await,
        StatusCode::BAD_REQUEST,
        "BAD_REQUEST",
    );
    expect(
        &clerk
            .post(
                "/api/v1/cards/applications",
                json!({"doc_number": id, "name": "接口甲", "photo_base64": b64(&sample_png(100, 100))}),
            )
            .await,
        StatusCode::BAD_REQUEST,
        "PHOTO_SIZE",
    );
    let a = clerk
        .post("/api/v1/cards/applications", app_body.clone())
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let a = a.json();
    assert_eq!(a["card"]["status"], "applied");
    assert_eq!(a["fee_fen"], 0);
    let card_ref = a["card_ref"].as_i64().unwrap();
    expect(
        &clerk.post("/api/v1/cards/applications", app_body).await,
        StatusCode::CONFLICT,
        "CARD_LIVE_EXISTS",
    );

    // Batch, bank file, bank return.
    let b = clerk
        .post(
            "/api/v1/batches",
            json!({"region_code": "511000", "card_refs": [card_ref]}),
        )
        .await;
    assert_eq!(b.status, StatusCode::CREATED, "{}", b.body);
    let batch_no = b.json()["batch_no"].as_str().unwrap().to_string();
    expect(
        &clerk
            .post(
                "/api/v1/batches",
                json!({"region_code": "511000", "card_refs": [card_ref]}),
            )
            .await,
        StatusCode::CONFLICT,
        "BATCH_CARD_INVALID",
    );
    let g = auditor.get(&format!("/api/v1/batches/{batch_no}")).await;
    assert_eq!(g.status, StatusCode::OK);
    assert_eq!(g.json()["cards"], 1);
    expect(
        &clerk.get("/api/v1/batches/B-NOPE").await,
        StatusCode::NOT_FOUND,
        "BATCH_NOT_FOUND",
    );
    expect(
        &auditor
            .get(&format!("/api/v1/batches/{batch_no}/bank-file"))
            .await,
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
    );
    let f = clerk
        .get(&format!("/api/v1/batches/{batch_no}/bank-file"))
        .await;
    assert_eq!(f.status, StatusCode::OK);
    assert!(f.content_type().starts_with("text/csv"));
    assert!(f.body.contains(&id));
    assert!(
        f.headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains(&batch_no)
    );
    let ret = clerk
        .post(
            &format!("/api/v1/batches/{batch_no}/bank-return"),
            json!({"content": format!("doc_number,bank_account\n{id},6217000099990000111\n11010519491231002X,6217000099990000222\n")}),
        )
        .await;
    assert_eq!(ret.status, StatusCode::OK, "{}", ret.body);
    let ret = ret.json();
    assert_eq!(ret["produced"], 1);
    assert_eq!(ret["rows"][1]["code"], "NOT_IN_BATCH");
    let card_no = ret["rows"][0]["card_no"].as_str().unwrap().to_string();
    expect(
        &clerk
            .post(
                &format!("/api/v1/batches/{batch_no}/bank-return"),
                json!({"content": "x,y\n"}),
            )
            .await,
        StatusCode::BAD_REQUEST,
        "RETURN_FILE_HEADER",
    );

    // Search and detail.
    let found = auditor.get(&format!("/api/v1/persons?q={id}")).await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    let found = found.json();
    assert_eq!(found[0]["name"], "接口甲");
    assert!(!found.to_string().contains(&id));
    let by_card = auditor.get(&format!("/api/v1/persons?q={card_no}")).await;
    assert_eq!(by_card.json()[0]["name"], "接口甲");
    expect(
        &auditor.get("/api/v1/persons?q=%20").await,
        StatusCode::BAD_REQUEST,
        "QUERY_EMPTY",
    );
    let d = auditor
        .get(&format!("/api/v1/persons/citizen_id/{id}"))
        .await;
    assert_eq!(d.status, StatusCode::OK, "{}", d.body);
    assert_eq!(
        d.json()["cards"][0]["card"]["status"],
        "awaiting_collection"
    );
    expect(
        &auditor
            .get("/api/v1/persons/citizen_id/11010519491231002X")
            .await,
        StatusCode::NOT_FOUND,
        "PERSON_NOT_FOUND",
    );
    expect(
        &auditor.get("/api/v1/persons/visa/123").await,
        StatusCode::BAD_REQUEST,
        "DOC_TYPE_UNKNOWN",
    );

    // Collect.
    let collect = format!("/api/v1/cards/{card_no}/collect");
    expect(
        &clerk
            .post(
                &collect,
                json!({"presented_doc_number": "11010519491231002X"}),
            )
            .await,
        StatusCode::BAD_REQUEST,
        "ID_MISMATCH",
    );
    expect(
        &clerk
            .post(
                &collect,
                json!({"presented_doc_number": id, "proxy": {"name": "代领人", "doc_number": "11010519491231002X", "authorisation_ref": ""}}),
            )
            .await,
        StatusCode::BAD_REQUEST,
        "PROXY_INCOMPLETE",
    );
    let c = clerk
        .post(&collect, json!({"presented_doc_number": id}))
        .await;
    assert_eq!(c.status, StatusCode::OK, "{}", c.body);
    assert_eq!(c.json()["status"], "active");
    expect(
        &clerk
            .post(&collect, json!({"presented_doc_number": id}))
            .await,
        StatusCode::CONFLICT,
        "CARD_STATE",
    );

    // PIN at the counter.
    let pin = |what: &str| format!("/api/v1/cards/{card_no}/pin/{what}");
    let ok = clerk.post(&pin("verify"), json!({"pin": "123456"})).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(ok.json()["pin_changed"], false);
    expect(
        &clerk.post(&pin("verify"), json!({"pin": "000000"})).await,
        StatusCode::UNAUTHORIZED,
        "PIN_WRONG",
    );
    expect(
        &clerk
            .post(
                &pin("change"),
                json!({"old_pin": "123456", "new_pin": "222222"}),
            )
            .await,
        StatusCode::BAD_REQUEST,
        "PIN_WEAK_REPEATED",
    );
    let ch = clerk
        .post(
            &pin("change"),
            json!({"old_pin": "123456", "new_pin": "135792"}),
        )
        .await;
    assert_eq!(ch.status, StatusCode::OK, "{}", ch.body);
    expect(
        &agent
            .post(&pin("reset"), json!({"presented_doc_number": id}))
            .await,
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
    );
    let rs = clerk
        .post(&pin("reset"), json!({"presented_doc_number": id}))
        .await;
    assert_eq!(rs.status, StatusCode::OK, "{}", rs.body);
    assert_eq!(rs.json()["pin_changed"], false);
    let un = clerk
        .post(&pin("unlock"), json!({"presented_doc_number": id}))
        .await;
    assert_eq!(un.status, StatusCode::NO_CONTENT, "{}", un.body);

    // Loss: the agent takes a temporary loss, written only at the counter; lift at the counter.
    let loss = format!("/api/v1/cards/{card_no}/loss");
    expect(
        &agent.post(&loss, json!({"kind": "lost"})).await,
        StatusCode::BAD_REQUEST,
        "BAD_REQUEST",
    );
    expect(
        &agent.post(&loss, json!({"kind": "temporary"})).await,
        StatusCode::BAD_REQUEST,
        "ID_REQUIRED",
    );
    let t = agent
        .post(
            &loss,
            json!({"kind": "temporary", "presented_doc_number": id}),
        )
        .await;
    assert_eq!(t.status, StatusCode::OK, "{}", t.body);
    assert_eq!(t.json()["card"]["status"], "temporary_loss");
    assert!(t.json()["expires_at"].is_string());
    expect(
        &agent
            .post(
                &loss,
                json!({"kind": "written", "presented_doc_number": id}),
            )
            .await,
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
    );
    let w = clerk
        .post(
            &loss,
            json!({"kind": "written", "presented_doc_number": id}),
        )
        .await;
    assert_eq!(w.status, StatusCode::OK, "{}", w.body);
    assert_eq!(w.json()["card"]["status"], "written_loss");
    let lift = format!("/api/v1/cards/{card_no}/loss/lift");
    expect(
        &agent
            .post(
                &lift,
                json!({"presented_doc_number": id, "presented_card_no": card_no}),
            )
            .await,
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
    );
    expect(
        &clerk
            .post(
                &lift,
                json!({"presented_doc_number": id, "presented_card_no": "N00000000"}),
            )
            .await,
        StatusCode::BAD_REQUEST,
        "CARD_MISMATCH",
    );
    let l = clerk
        .post(
            &lift,
            json!({"presented_doc_number": id, "presented_card_no": card_no}),
        )
        .await;
    assert_eq!(l.status, StatusCode::OK, "{}", l.body);
    assert_eq!(l.json()["status"], "active");
    expect(
        &clerk
            .post(
                "/api/v1/cards/Z9999999X/loss",
                json!({"kind": "temporary", "presented_doc_number": id}),
            )
            .await,
        StatusCode::NOT_FOUND,
        "CARD_NOT_FOUND",
    );
    // The whole timeline is on the person page.
    let d = auditor
        .get(&format!("/api/v1/persons/citizen_id/{id}"))
        .await
        .json();
    let events: Vec<&str> = d["cards"][0]["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    for e in [
        "apply",
        "batch",
        "produced",
        "collect",
        "activate",
        "pin_changed",
        "pin_reset",
        "report_loss_temporary",
        "report_loss_written",
        "lift_loss",
    ] {
        assert!(events.contains(&e), "{e} missing from {events:?}");
    }
}

#[tokio::test]
async fn roster_import_reports_rows() {
    let (_d, app, s) = demo_app();
    let r = sscard_http::router(app);
    let clerk = login(&r, &s, "clerk1").await;
    let good = id_number(201);
    let csv = format!("证件号码,姓名,照片文件名\n{good},花名册甲,a.png\n{good},花名册甲,a.png\n");
    let body = |valid: bool| {
        json!({
            "format": "csv",
            "file_text": csv,
            "photos": {"a.png": b64(&sample_png(358, 441))},
            "import_valid_rows": valid,
        })
    };
    let rep = clerk.post("/api/v1/rosters", body(false)).await;
    assert_eq!(rep.status, StatusCode::OK, "{}", rep.body);
    let rep = rep.json();
    assert_eq!(rep["imported"], false);
    assert_eq!(rep["rows"][1]["code"], "DUPLICATE_ROW");
    let rep = clerk.post("/api/v1/rosters", body(true)).await.json();
    assert_eq!(rep["imported"], true);
    assert_eq!(rep["cards_created"], 1);
    expect(
        &clerk
            .post("/api/v1/rosters", json!({"format": "pdf", "file_text": ""}))
            .await,
        StatusCode::BAD_REQUEST,
        "BAD_REQUEST",
    );
    expect(
        &clerk
            .post(
                "/api/v1/rosters",
                json!({"format": "xlsx", "file_base64": b64(b"not a workbook")}),
            )
            .await,
        StatusCode::BAD_REQUEST,
        "ROSTER_FORMAT",
    );
    let auditor = login(&r, &s, "auditor1").await;
    expect(
        &auditor.post("/api/v1/rosters", body(true)).await,
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
    );
}
