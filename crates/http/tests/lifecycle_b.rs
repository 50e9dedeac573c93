//! The after-issue endpoints through the real router: reissue with certificate JSON and PDF,
//! fees, temporary card, replacement with a supervisor's approval, correction, cancellation,
//! death and the heirs' payout — each with its refusals.

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
        persons: 300,
        seed: 2,
        pin_key: Some(4),
        as_of: Some(NaiveDate::from_ymd_opt(2026, 11, 21).unwrap()),
    }
    .open()
}

fn usable(s: &DemoSamples) -> Vec<SampleCardholder> {
    s.cardholders
        .iter()
        .filter(|c| c.usable && c.card_kind == "regular" && c.card_status == "active")
        .cloned()
        .collect()
}

#[tokio::test]
async fn reissue_certificate_fees_and_temporary_card() {
    let (_d, app, s) = demo_app();
    let r = sscard_http::router(app);
    let clerk = login(&r, &s, "clerk1").await;
    let auditor = login(&r, &s, "auditor1").await;
    let h = usable(&s)[0].clone();
    let card = h.card_no.clone().unwrap();
    let reissue = format!("/api/v1/cards/{card}/reissue");
    let body = json!({"presented_doc_number": h.id_number});

    // No session; not yet lost in writing; the auditor may not.
    expect(
        &send(&r, req("POST", &reissue, None, Some(body.clone()))).await,
        StatusCode::UNAUTHORIZED,
        "LOGIN_REQUIRED",
    );
    expect(
        &post(&r, &reissue, &clerk, body.clone()).await,
        StatusCode::CONFLICT,
        "REISSUE_NEEDS_WRITTEN_LOSS",
    );
    let loss = post(
        &r,
        &format!("/api/v1/cards/{card}/loss"),
        &clerk,
        json!({"kind": "written", "presented_doc_number": h.id_number}),
    )
    .await;
    assert_eq!(loss.status, StatusCode::OK, "{}", loss.body);
    expect(
        &post(&r, &reissue, &auditor, body.clone()).await,
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
    );
    expect(
        &post(
            &r,
            &reissue,
            &clerk,
            json!({"presented_doc_number": "11010519491231002X"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "ID_MISMATCH",
    );
    let out = post(&r, &reissue, &clerk, body.clone()).await;
    assert_eq!(out.status, StatusCode::CREATED, "{}", out.body);
    let v = out.json();
    assert_eq!(v["old_card"]["status"], "reissuing");
    assert_eq!(v["new_card"]["status"], "applied");
    assert_eq!(v["fee"]["amount_fen"], 2000);
    let receipt = v["fee"]["receipt_no"].as_str().unwrap().to_string();
    let cert = v["certificate"]["cert_no"].as_str().unwrap().to_string();
    assert!(v["certificate"]["ready_date"].as_str().unwrap() > "2026-01-01");
    expect(
        &post(&r, &reissue, &clerk, body).await,
        StatusCode::CONFLICT,
        "CARD_DEAD",
    );

    // The certificate: JSON for any staff role, PDF to print.
    let c = get(&r, &format!("/api/v1/certificates/{cert}"), &auditor).await;
    assert_eq!(c.status, StatusCode::OK, "{}", c.body);
    assert_eq!(c.json()["voucher_valid"], true);
    let pdf = get_bytes(&r, &format!("/api/v1/certificates/{cert}/pdf"), &clerk).await;
    assert_eq!(pdf.0, StatusCode::OK);
    assert_eq!(pdf.1, "application/pdf");
    assert!(pdf.2.starts_with(b"%PDF-"));
    expect(
        &get(&r, "/api/v1/certificates/LK123", &clerk).await,
        StatusCode::BAD_REQUEST,
        "CERT_NO_INVALID",
    );
    let unknown = sscard_service::cards::certificates::cert_number("511000", 77_777_777);
    expect(
        &get(&r, &format!("/api/v1/certificates/{unknown}/pdf"), &clerk).await,
        StatusCode::NOT_FOUND,
        "CERT_NOT_FOUND",
    );

    // Fees per person.
    let f = get(
        &r,
        &format!("/api/v1/fees?doc_number={}", h.id_number),
        &auditor,
    )
    .await;
    assert_eq!(f.status, StatusCode::OK, "{}", f.body);
    assert!(
        f.json()
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["receipt_no"] == receipt.as_str())
    );
    expect(
        &get(&r, "/api/v1/fees?doc_number=11010519491231002X", &clerk).await,
        StatusCode::NOT_FOUND,
        "PERSON_NOT_FOUND",
    );

    // A temporary card while the new card is made.
    let t = json!({"doc_number": h.id_number, "reason": "住院治疗", "proof_ref": "ZY-2026-0042"});
    expect(
        &post(
            &r,
            "/api/v1/temporary-cards",
            &clerk,
            json!({"doc_number": h.id_number, "reason": "", "proof_ref": "x"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "EMERGENCY_REASON_REQUIRED",
    );
    let tc = post(&r, "/api/v1/temporary-cards", &clerk, t.clone()).await;
    assert_eq!(tc.status, StatusCode::CREATED, "{}", tc.body);
    assert_eq!(tc.json()["card"]["bank_status"], "none");
    assert_eq!(tc.json()["card"]["status"], "active");
    expect(
        &post(&r, "/api/v1/temporary-cards", &clerk, t).await,
        StatusCode::CONFLICT,
        "TEMP_CARD_EXISTS",
    );
    let other = usable(&s)[1].clone();
    expect(
        &post(
            &r,
            "/api/v1/temporary-cards",
            &clerk,
            json!({"doc_number": other.id_number, "reason": "急诊", "proof_ref": "JZ-1"}),
        )
        .await,
        StatusCode::CONFLICT,
        "TEMP_CARD_NOT_NEEDED",
    );
}

#[tokio::test]
async fn replacement_correction_cancellation_and_death() {
    let (_d, app, s) = demo_app();
    let r = sscard_http::router(app);
    let clerk = login(&r, &s, "clerk1").await;
    let holders = usable(&s);
    assert!(holders.len() >= 4, "{}", holders.len());

    // Replacement: free with a supervisor's approval.
    let a = &holders[0];
    let path = format!("/api/v1/cards/{}/replace", a.card_no.as_ref().unwrap());
    expect(
        &post(
            &r,
            &path,
            &clerk,
            json!({"presented_doc_number": a.id_number, "quality_fault": true}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "APPROVAL_REQUIRED",
    );
    expect(
        &post(
            &r,
            &path,
            &clerk,
            json!({"presented_doc_number": a.id_number, "quality_fault": true,
                   "supervisor_username": "super1", "supervisor_password": "wrong-password-1"}),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "APPROVAL_FAILED",
    );
    let ok = post(
        &r,
        &path,
        &clerk,
        json!({"presented_doc_number": a.id_number, "quality_fault": true, "damage": "芯片损坏",
               "supervisor_username": "super1", "supervisor_password": password(&s, "super1")}),
    )
    .await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.body);
    assert_eq!(ok.json()["fee"], Value::Null);
    assert_eq!(ok.json()["approved_by"], "super1");
    assert_eq!(ok.json()["old_card"]["status"], "replacing");

    // Correction: free.
    let b = &holders[1];
    let path = format!("/api/v1/cards/{}/correct", b.card_no.as_ref().unwrap());
    expect(
        &post(
            &r,
            &path,
            &clerk,
            json!({"presented_doc_number": b.id_number, "name": b.name}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "CORRECTION_EMPTY",
    );
    let ok = post(
        &r,
        &path,
        &clerk,
        json!({"presented_doc_number": b.id_number, "name": "李更正"}),
    )
    .await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.body);
    assert_eq!(ok.json()["new_card"]["status"], "applied");

    // Cancellation: refused while the medical account holds money.
    let c = holders
        .iter()
        .skip(2)
        .find(|c| c.medical_balance_fen > 0)
        .expect("a holder with a balance");
    let cancel = format!("/api/v1/cards/{}/cancel", c.card_no.as_ref().unwrap());
    expect(
        &post(
            &r,
            &cancel,
            &clerk,
            json!({"reason": "moving", "presented_doc_number": c.id_number}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "CANCEL_REASON_INVALID",
    );
    expect(
        &post(
            &r,
            &cancel,
            &clerk,
            json!({"reason": "transfer_out", "presented_doc_number": c.id_number, "card_returned": true}),
        )
        .await,
        StatusCode::CONFLICT,
        "CANCEL_ACCOUNT_NOT_SETTLED",
    );
    expect(
        &post(&r, &cancel, &clerk, json!({"reason": "death"})).await,
        StatusCode::CONFLICT,
        "PERSON_NOT_DECEASED",
    );

    // Death, the heirs' statement and the payout; then the card is cancelled.
    let death = json!({"doc_number": c.id_number, "died_on": "2026-11-01",
                       "death_certificate_no": "SW-2026-77"});
    let d = post(&r, "/api/v1/deaths", &clerk, death.clone()).await;
    assert_eq!(d.status, StatusCode::CREATED, "{}", d.body);
    expect(
        &post(&r, "/api/v1/deaths", &clerk, death).await,
        StatusCode::CONFLICT,
        "PERSON_ALREADY_DECEASED",
    );
    let claim = json!({"deceased_doc_number": c.id_number, "heir_name": "王继承",
                       "heir_doc_number": "11010519491231002X", "relationship": "spouse",
                       "death_certificate_no": "SW-2026-77"});
    expect(
        &post(
            &r,
            "/api/v1/heir-claims",
            &clerk,
            json!({"deceased_doc_number": c.id_number, "heir_name": "王继承",
                   "heir_doc_number": "11010519491231002X", "relationship": "neighbour",
                   "death_certificate_no": "SW-2026-77"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "HEIR_RELATIONSHIP_INVALID",
    );
    let st = post(&r, "/api/v1/heir-claims", &clerk, claim).await;
    assert_eq!(st.status, StatusCode::CREATED, "{}", st.body);
    let st = st.json();
    assert_eq!(st["medical_balance_fen"], c.medical_balance_fen);
    let id = st["claim_id"].as_i64().unwrap();
    let payout = format!("/api/v1/heir-claims/{id}/payout");
    expect(
        &post(
            &r,
            &payout,
            &clerk,
            json!({"supervisor_username": "clerk2", "supervisor_password": password(&s, "clerk2")}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "APPROVAL_NOT_SUPERVISOR",
    );
    let approval =
        json!({"supervisor_username": "super1", "supervisor_password": password(&s, "super1")});
    let paid = post(&r, &payout, &clerk, approval.clone()).await;
    assert_eq!(paid.status, StatusCode::OK, "{}", paid.body);
    assert_eq!(paid.json()["amount_fen"], c.medical_balance_fen);
    assert_eq!(
        paid.json()["cancelled_cards"][0],
        c.card_no.clone().unwrap()
    );
    expect(
        &post(&r, &payout, &clerk, approval).await,
        StatusCode::CONFLICT,
        "HEIR_ALREADY_PAID",
    );
    expect(
        &post(
            &r,
            "/api/v1/heir-claims/999999/payout",
            &clerk,
            json!({"supervisor_username": "super1", "supervisor_password": password(&s, "super1")}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "HEIR_CLAIM_NOT_FOUND",
    );
    expect(
        &post(&r, &cancel, &clerk, json!({"reason": "death"})).await,
        StatusCode::CONFLICT,
        "CARD_DEAD",
    );
}

/// A GET returning bytes: (status, content type, body).
async fn get_bytes(r: &Router, path: &str, token: &str) -> (StatusCode, String, Vec<u8>) {
    use tower::ServiceExt;
    let resp = r
        .clone()
        .oneshot(req("GET", path, Some(token), None))
        .await
        .unwrap();
    let status = resp.status();
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, ct, bytes.to_vec())
}
