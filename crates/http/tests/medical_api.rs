//! The institution API (`/api/v1/medical/…`) through the real router, on SQLite (where 2207 is
//! handed to the group commit from the request's task and awaited) and on PostgreSQL (where its
//! common case is handed to the settlement writer and awaited, the rest runs on a blocking
//! thread): signing, sign-in, settlement and its idempotency, refusals with
//! their codes, reversal, reconciliation, and concurrent settlements.

mod common;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{Demo, Reply, SignedCall, send};
use serde_json::{Value, json};
use sscard_service::demo::{DemoSamples, SampleInstitution, SettleCardholder};

static NONCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A nonce never used before, and always of a legal length (8..=64) even when the process id is
/// small, as it is in a fresh CI container.
fn fresh_nonce() -> String {
    format!(
        "n-{:07}-{:06}",
        std::process::id(),
        NONCE.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    )
}

/// A signed call of `inst`: the envelope around `input`.
struct Call<'a> {
    inst: &'a SampleInstitution,
    infno: &'a str,
    body: String,
    nonce: String,
    ts: i64,
    /// Sign another body than the one sent.
    tamper: bool,
}

impl<'a> Call<'a> {
    fn new(
        inst: &'a SampleInstitution,
        infno: &'a str,
        msgid: &str,
        sign_no: &str,
        input: Value,
    ) -> Self {
        let body = json!({"infno": infno, "msgid": msgid, "opter": "op01", "sign_no": sign_no,
                          "input": input})
        .to_string();
        Call {
            inst,
            infno,
            body,
            nonce: fresh_nonce(),
            ts: chrono::Utc::now().timestamp(),
            tamper: false,
        }
    }

    fn request(&self) -> Request<Body> {
        let path = format!("/api/v1/medical/{}", self.infno);
        SignedCall {
            key_id: &self.inst.key_id,
            secret: &self.inst.secret,
            method: "POST",
            path: &path,
            timestamp: self.ts,
            nonce: &self.nonce,
            body: &self.body,
            tamper: self.tamper,
        }
        .request()
    }

    async fn send(&self, r: &Router) -> Reply {
        send(r, self.request()).await
    }
}

fn expect(reply: &Reply, status: StatusCode, code: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(reply.error_code(), code, "{}", reply.body);
}

fn ok(reply: &Reply) -> Value {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let v = reply.json();
    assert_eq!(v["infcode"], 0, "{v}");
    v["output"].clone()
}

fn bill(c: &SettleCardholder, fen: [i64; 3]) -> Value {
    json!({"mdtrt_cert_type": "03", "mdtrt_cert_no": c.card_no, "card_sn": c.card_sn,
           "pin": c.pin, "acct_used_flag": true,
           "items": [{"code": "A001", "name": "诊查费", "class": "a", "amount_fen": fen[0]},
                     {"code": "B001", "name": "阿莫西林胶囊", "class": "b", "amount_fen": fen[1]},
                     {"code": "C001", "name": "自费材料", "class": "c", "amount_fen": fen[2]}]})
}

async fn sign_in(r: &Router, inst: &SampleInstitution) -> String {
    let out = ok(&Call::new(inst, "9001", &fresh_nonce(), "", json!({}))
        .send(r)
        .await);
    out["sign_no"].as_str().unwrap().to_string()
}

async fn the_institution_api(r: Router, s: &DemoSamples) {
    let inst = &s.institutions[0];
    let holder = &s.settle_cardholders[0];

    // Settling before signing in today.
    let early = Call::new(
        inst,
        "2207",
        "m-early",
        "NOSIGN",
        bill(holder, [3000, 2000, 500]),
    );
    expect(
        &early.send(&r).await,
        StatusCode::UNAUTHORIZED,
        "SIGN_NO_INVALID",
    );
    let sign_no = sign_in(&r, inst).await;
    assert_eq!(
        sign_in(&r, inst).await,
        sign_no,
        "the same sign number all day"
    );

    // Who is it, and what is in the account.
    let info = ok(&Call::new(
        inst,
        "1101",
        "m-info-1",
        &sign_no,
        json!({"mdtrt_cert_type": "03", "mdtrt_cert_no": holder.card_no, "card_sn": holder.card_sn}),
    )
    .send(&r)
    .await);
    let balance = info["balc_fen"].as_i64().unwrap();
    assert!(
        info["certno_masked"].as_str().unwrap().contains('*'),
        "{info}"
    );

    // A settlement; its parts add up to the bill.
    let settle = Call::new(
        inst,
        "2207",
        "m-settle-1",
        &sign_no,
        bill(holder, [3000, 2000, 500]),
    );
    let first = ok(&settle.send(&r).await);
    assert_eq!(first["medfee_sumamt_fen"], 5500);
    let parts: i64 = ["fund_pay_fen", "acct_pay_fen", "psn_cash_pay_fen"]
        .iter()
        .map(|k| first[*k].as_i64().unwrap())
        .sum();
    assert_eq!(parts, 5500, "fund + account + cash = total: {first}");
    assert_eq!(first["replayed"], false);
    let acct = first["acct_pay_fen"].as_i64().unwrap();
    assert_eq!(first["balc_fen"].as_i64().unwrap(), balance - acct);

    // The same message again (a retry, with a new nonce) answers the first result.
    let again = Call::new(
        inst,
        "2207",
        "m-settle-1",
        &sign_no,
        bill(holder, [3000, 2000, 500]),
    );
    let replay = ok(&again.send(&r).await);
    assert_eq!(replay["replayed"], true);
    assert_eq!(replay["setl_id"], first["setl_id"]);
    // The same message id for another bill is a conflict.
    let other = Call::new(
        inst,
        "2207",
        "m-settle-1",
        &sign_no,
        bill(holder, [3000, 2000, 900]),
    );
    expect(
        &other.send(&r).await,
        StatusCode::CONFLICT,
        "MSGID_CONFLICT",
    );

    // Signing.
    expect(
        &settle.send(&r).await,
        StatusCode::UNAUTHORIZED,
        "NONCE_REUSED",
    );
    let mut bad = Call::new(
        inst,
        "2207",
        "m-bad-sig",
        &sign_no,
        bill(holder, [100, 0, 0]),
    );
    bad.tamper = true;
    expect(
        &bad.send(&r).await,
        StatusCode::UNAUTHORIZED,
        "SIGNATURE_INVALID",
    );
    let mut stale = Call::new(inst, "2207", "m-stale", &sign_no, bill(holder, [100, 0, 0]));
    stale.ts -= 3600;
    expect(
        &stale.send(&r).await,
        StatusCode::UNAUTHORIZED,
        "TIMESTAMP_STALE",
    );
    let mut wrong_infno = Call::new(inst, "2207", "m-infno", &sign_no, bill(holder, [100, 0, 0]));
    wrong_infno.body = wrong_infno
        .body
        .replace("\"infno\":\"2207\"", "\"infno\":\"2206\"");
    assert_eq!(wrong_infno.send(&r).await.status, StatusCode::BAD_REQUEST);

    // Refusals of the card.
    let mut unknown = bill(holder, [100, 0, 0]);
    unknown["mdtrt_cert_no"] = json!("X00000000");
    let unknown = Call::new(inst, "2207", "m-unknown", &sign_no, unknown);
    expect(
        &unknown.send(&r).await,
        StatusCode::NOT_FOUND,
        "CARD_NOT_FOUND",
    );
    let mut wrong_sn = bill(holder, [100, 0, 0]);
    wrong_sn["card_sn"] = json!("000000000000000000000000000000ff");
    let wrong_sn = Call::new(inst, "2207", "m-sn", &sign_no, wrong_sn);
    expect(
        &wrong_sn.send(&r).await,
        StatusCode::NOT_FOUND,
        "CARD_NOT_FOUND",
    );
    let empty = Call::new(
        inst,
        "2207",
        "m-empty",
        &sign_no,
        json!({"mdtrt_cert_type": "03", "mdtrt_cert_no": holder.card_no, "card_sn": holder.card_sn,
               "acct_used_flag": true, "items": []}),
    );
    assert_eq!(empty.send(&r).await.status, StatusCode::BAD_REQUEST);

    // Many terminals at once: every settlement is answered once, with its own id.
    let mut calls = Vec::new();
    for (k, h) in s.settle_cardholders.iter().cycle().take(48).enumerate() {
        calls.push(Call::new(
            inst,
            "2207",
            &format!("m-many-{k}"),
            &sign_no,
            bill(h, [1000, 800, 100]),
        ));
    }
    let mut running = tokio::task::JoinSet::new();
    for c in &calls {
        let (r, req) = (r.clone(), c.request());
        running.spawn(async move { send(&r, req).await });
    }
    let mut ids: Vec<i64> = running
        .join_all()
        .await
        .iter()
        .map(|rep| ok(rep)["setl_id"].as_i64().unwrap())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 48);

    // Reversal, then reconciliation of the day.
    let rev = ok(&Call::new(
        inst,
        "2208",
        "m-rev-1",
        &sign_no,
        json!({"omsgid": "m-settle-1"}),
    )
    .send(&r)
    .await);
    assert_eq!(rev["status"], "reversed");
    assert_eq!(rev["acct_refund_fen"].as_i64().unwrap(), acct);
    let day = chrono::Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
        .format("%Y-%m-%d")
        .to_string();
    let totals = ok(&Call::new(
        inst,
        "3201",
        "m-3201",
        &sign_no,
        json!({"stmt_day": day, "setl_cnt": 48, "medfee_sumamt_fen": 48 * 1900, "fund_pay_fen": 0,
               "acct_pay_fen": 0, "psn_cash_pay_fen": 0}),
    )
    .send(&r)
    .await);
    assert_eq!(totals["ours"]["setl_cnt"], 48, "{totals}");
    assert_eq!(totals["ours"]["medfee_sumamt_fen"], 48 * 1900, "{totals}");
}

#[tokio::test]
async fn institution_api_on_sqlite() {
    let (_d, app, s) = Demo {
        persons: 300,
        seed: 21,
        pin_key: Some(4),
        as_of: None,
    }
    .open();
    the_institution_api(sscard_http::router(app), &s).await;
}

#[test]
fn institution_api_on_postgres() {
    let Some(url) = sscard_testkit::postgres_url() else {
        return;
    };
    // The PostgreSQL client blocks: set up outside the runtime, as `sscard serve` does.
    let app = common::app_on(&url, Some(4));
    let s = Demo {
        persons: 300,
        seed: 21,
        pin_key: Some(4),
        as_of: None,
    }
    .generate(&app);
    let router = sscard_http::router(app);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(the_institution_api(router.clone(), &s));
    drop(rt);
    // The last handle on the pool goes outside the runtime too.
    drop(router);
}
