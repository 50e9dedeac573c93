//! End to end through the running HTTP server (a real TCP listener, a real HTTP client): every
//! card operation's refusals answer with their stable code, the HTTP status of their kind and
//! messages in both languages — never a stack trace.

use chrono::NaiveDate;
use serde_json::{Value, json};
use sscard_service::demo::{self, DemoOptions, SampleCardholder};
use sscard_service::{App, AppConfig};

struct Server {
    base: String,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
    samples: demo::DemoSamples,
}

async fn start() -> Server {
    let (dir, url) = sscard_testkit::sqlite_url();
    let (app, samples) = tokio::task::spawn_blocking(move || {
        let app = App::open(&AppConfig {
            db_url: url,
            pin_key: Some(sscard_service::secrets::PinKey::new(vec![6; 32]).unwrap()),
            ..Default::default()
        })
        .unwrap();
        let s = demo::generate(
            &app,
            &DemoOptions {
                persons: 400,
                seed: 21,
                as_of: NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
            },
            &|_, _| {},
        )
        .unwrap();
        (app, s)
    })
    .await
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(sscard_http::serve(app, listener, std::future::pending()));
    Server {
        base: format!("http://{addr}"),
        client: reqwest::Client::new(),
        _dir: dir,
        samples,
    }
}

impl Server {
    async fn login(&self, username: &str) -> String {
        let pw = &self
            .samples
            .staff
            .iter()
            .find(|s| s.username == username)
            .unwrap()
            .password;
        let r: Value = self
            .client
            .post(format!("{}/api/v1/auth/login", self.base))
            .json(&json!({"username": username, "password": pw}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        r["token"].as_str().unwrap().to_string()
    }

    async fn call(
        &self,
        token: Option<&str>,
        method: &str,
        path: &str,
        body: Value,
    ) -> (u16, Value) {
        let url = format!("{}{}", self.base, path);
        let mut req = match method {
            "GET" => self.client.get(url),
            _ => self.client.post(url).json(&body),
        };
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    fn holder(&self, pred: impl Fn(&SampleCardholder) -> bool) -> SampleCardholder {
        self.samples
            .cardholders
            .iter()
            .find(|c| pred(c))
            .cloned()
            .expect("a sample holder")
    }
}

/// (what, token, method, path, body, expected status, expected code).
type Case<'a> = (
    &'a str,
    Option<&'a str>,
    &'a str,
    String,
    Value,
    u16,
    &'a str,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_refuses_with_its_code() {
    let s = start().await;
    let clerk = s.login("clerk1").await;
    let auditor = s.login("auditor1").await;
    let active =
        s.holder(|c| c.card_status == "active" && c.pin_changed && c.card_kind == "regular");
    let initial =
        s.holder(|c| c.card_status == "active" && !c.pin_changed && c.card_kind == "regular");
    let rich = s.holder(|c| {
        c.card_status == "active" && c.card_kind == "regular" && c.medical_balance_fen > 0
    });
    let awaiting = s.holder(|c| c.card_status == "awaiting_collection");
    let reissuing = s.holder(|c| c.card_status == "reissuing");
    let cancelled = s.holder(|c| c.card_status == "cancelled");
    let locked = s.holder(|c| c.card_status == "pin_locked");
    let no = |c: &SampleCardholder| c.card_no.clone().unwrap();
    let wrong_pin = if active.pin == "000000" {
        "000001"
    } else {
        "000000"
    };

    let cases: Vec<Case<'_>> = vec![
        // (what, token, method, path, body, status, code)
        (
            "no session",
            None,
            "POST",
            "/api/v1/cards/applications".into(),
            json!({}),
            401,
            "LOGIN_REQUIRED",
        ),
        (
            "auditor is read-only",
            Some(&auditor),
            "POST",
            "/api/v1/cards/applications".into(),
            json!({"doc_number": "11010519491231002X", "name": "张三"}),
            403,
            "FORBIDDEN",
        ),
        (
            "apply: bad ID number",
            Some(&clerk),
            "POST",
            "/api/v1/cards/applications".into(),
            json!({"doc_number": "110105194912310021", "name": "张三"}),
            400,
            "ID_CHECK_CHAR",
        ),
        (
            "apply: holds a live card",
            Some(&clerk),
            "POST",
            "/api/v1/cards/applications".into(),
            json!({"doc_number": active.id_number, "name": active.name}),
            409,
            "CARD_LIVE_EXISTS",
        ),
        (
            "collect: wrong ID",
            Some(&clerk),
            "POST",
            format!("/api/v1/cards/{}/collect", no(&awaiting)),
            json!({"presented_doc_number": "11010519491231002X"}),
            400,
            "ID_MISMATCH",
        ),
        (
            "collect: already active",
            Some(&clerk),
            "POST",
            format!("/api/v1/cards/{}/collect", no(&active)),
            json!({"presented_doc_number": active.id_number}),
            409,
            "CARD_STATE",
        ),
        (
            "loss: dead card",
            Some(&clerk),
            "POST",
            format!("/api/v1/cards/{}/loss", no(&cancelled)),
            json!({"kind": "written", "presented_doc_number": cancelled.id_number}),
            409,
            "CARD_DEAD",
        ),
        (
            "lift: not lost",
            Some(&clerk),
            "POST",
            format!("/api/v1/cards/{}/loss/lift", no(&active)),
            json!({"presented_doc_number": active.id_number, "presented_card_no": no(&active)}),
            409,
            "CARD_STATE",
        ),
        (
            "lift: after a reissue",
            Some(&clerk),
            "POST",
            format!("/api/v1/cards/{}/loss/lift", no(&reissuing)),
            json!({"presented_doc_number": reissuing.id_number, "presented_card_no": no(&reissuing)}),
            409,
            "LOSS_LIFT_AFTER_REISSUE",
        ),
        (
            "pin: wrong",
            Some(&clerk),
            "POST",
            format!("/api/v1/cards/{}/pin/verify", no(&active)),
            json!({"pin": wrong_pin}),
            401,
            "PIN_WRONG",
        ),
        (
            "pin: locked",
            Some(&clerk),
            "POST",
            format!("/api/v1/cards/{}/pin/verify", no(&locked)),
            json!({"pin": locked.pin}),
            423,
            "PIN_LOCKED",
        ),
        (
            "pin: format",
            Some(&clerk),
            "POST",
            format!("/api/v1/cards/{}/pin/verify", no(&active)),
            json!({"pin": "12ab"}),
            400,
            "PIN_FORMAT",
        ),
        (
            "pin: unknown card",
            Some(&clerk),
            "POST",
            "/api/v1/cards/Z99999999/pin/verify".into(),
            json!({"pin": "123456"}),
            404,
            "CARD_NOT_FOUND",
        ),
        (
            "pin: weak new PIN",
            Some(&clerk),
            "POST",
            format!("/api/v1/cards/{}/pin/change", no(&initial)),
            json!({"old_pin": initial.pin, "new_pin": "111111", "holder_doc_number": initial.id_number}),
            400,
            "PIN_WEAK_REPEATED",
        ),
        (
            "pin reset: wrong ID",
            Some(&clerk),
            "POST",
            format!("/api/v1/cards/{}/pin/reset", no(&locked)),
            json!({"presented_doc_number": "11010519491231002X"}),
            400,
            "ID_MISMATCH",
        ),
        (
            "reissue: no written loss",
            Some(&clerk),
            "POST",
            format!("/api/v1/cards/{}/reissue", no(&active)),
            json!({"presented_doc_number": active.id_number}),
            409,
            "REISSUE_NEEDS_WRITTEN_LOSS",
        ),
        (
            "temporary card: no reason",
            Some(&clerk),
            "POST",
            "/api/v1/temporary-cards".into(),
            json!({"doc_number": awaiting.id_number, "reason": "", "proof_ref": "ZY-1"}),
            400,
            "EMERGENCY_REASON_REQUIRED",
        ),
        (
            "replace: quality fault without approval",
            Some(&clerk),
            "POST",
            format!("/api/v1/cards/{}/replace", no(&active)),
            json!({"presented_doc_number": active.id_number, "quality_fault": true, "damage": "芯片损坏"}),
            400,
            "APPROVAL_REQUIRED",
        ),
        (
            "cancel: account not settled",
            Some(&clerk),
            "POST",
            format!("/api/v1/cards/{}/cancel", no(&rich)),
            json!({"reason": "transfer_out", "presented_doc_number": rich.id_number, "card_returned": true}),
            409,
            "CANCEL_ACCOUNT_NOT_SETTLED",
        ),
        (
            "death: no certificate",
            Some(&clerk),
            "POST",
            "/api/v1/deaths".into(),
            json!({"doc_number": active.id_number, "died_on": "2026-11-01", "death_certificate_no": ""}),
            400,
            "DEATH_CERTIFICATE_REQUIRED",
        ),
        (
            "heir claim: holder alive",
            Some(&clerk),
            "POST",
            "/api/v1/heir-claims".into(),
            json!({"deceased_doc_number": active.id_number, "heir_name": "李四", "heir_doc_number": "11010519491231002X",
                   "relationship": "child", "death_certificate_no": "SW-1"}),
            409,
            "PERSON_NOT_DECEASED",
        ),
        (
            "payout: unknown claim",
            Some(&clerk),
            "POST",
            "/api/v1/heir-claims/999999/payout".into(),
            json!({"supervisor_username": "super1", "supervisor_password": "x"}),
            404,
            "HEIR_CLAIM_NOT_FOUND",
        ),
        (
            "batch: unknown",
            Some(&clerk),
            "GET",
            "/api/v1/batches/B0-NOPE".into(),
            json!(null),
            404,
            "BATCH_NOT_FOUND",
        ),
        (
            "person search: empty",
            Some(&clerk),
            "GET",
            "/api/v1/persons?q=".into(),
            json!(null),
            400,
            "QUERY_EMPTY",
        ),
    ];
    let mut failures = Vec::new();
    for (what, token, method, path, body, status, code) in cases {
        let (got_status, got) = s.call(token, method, &path, body).await;
        let got_code = got["code"].as_str().unwrap_or("");
        let both_languages = got["message"].as_str().is_some_and(|m| !m.is_empty())
            && got["message_en"].as_str().is_some_and(|m| !m.is_empty());
        if got_status != status || got_code != code || !both_languages {
            failures.push(format!(
                "{what}: expected {status} {code}, got {got_status} {got}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
