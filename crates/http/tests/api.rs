//! The JSON API: reference data, validation, error shapes.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::{app, get, post_json, send};
use sscard_domain::ids::CreditCode;

#[tokio::test]
async fn regions_list_the_four_seed_cities_with_policies() {
    let (_dir, app) = app();
    let r = sscard_http::router(app);
    let reply = get(&r, "/api/v1/regions").await;
    assert_eq!(reply.status, StatusCode::OK);
    let v = reply.json();
    let regions = v.as_array().unwrap();
    let mut codes: Vec<&str> = regions
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    codes.sort();
    assert_eq!(codes, ["130100", "210200", "500000", "511000"]);
    let nj = regions.iter().find(|r| r["code"] == "511000").unwrap();
    assert_eq!(nj["name"], "内江市");
    assert_eq!(nj["full_name"], "四川省内江市");
    assert!(nj["policy"]["initial_pin"].is_string());
    assert!(nj["policy"]["pin_lock_threshold"].is_number());
}

#[tokio::test]
async fn one_region_or_a_coded_error() {
    let (_dir, app) = app();
    let r = sscard_http::router(app);
    let ok = get(&r, "/api/v1/regions/511000").await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.json()["full_name"], "四川省内江市");
    assert!(ok.json()["policy"].is_object());

    let short = get(&r, "/api/v1/regions/51100").await;
    assert_eq!(short.status, StatusCode::BAD_REQUEST);
    assert_eq!(short.error_code(), "REGION_CODE_LENGTH");
    let letters = get(&r, "/api/v1/regions/51a000").await;
    assert_eq!(letters.status, StatusCode::BAD_REQUEST);
    assert_eq!(letters.error_code(), "REGION_CODE_CHAR");
    let unknown = get(&r, "/api/v1/regions/999999").await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert_eq!(unknown.error_code(), "REGION_CODE_UNKNOWN");

    // A real district, but not a pooling region of this system.
    let not_served = get(&r, "/api/v1/regions/511011").await;
    assert_eq!(not_served.status, StatusCode::NOT_FOUND);
    assert_eq!(not_served.error_code(), "REGION_NOT_SERVED");
    assert!(
        not_served.json()["message"]
            .as_str()
            .unwrap()
            .contains("东兴区")
    );
}

#[tokio::test]
async fn agencies_filter_by_region() {
    let (_dir, app) = app();
    let r = sscard_http::router(app);
    let all = get(&r, "/api/v1/agencies").await;
    assert_eq!(all.status, StatusCode::OK);
    let all = all.json();
    assert!(all.as_array().unwrap().len() >= 13, "{all}");

    let nj = get(&r, "/api/v1/agencies?region=511000").await.json();
    let nj = nj.as_array().unwrap();
    assert_eq!(nj.len(), 10);
    assert!(
        nj.iter()
            .all(|a| a["region_code"].as_str().unwrap().starts_with("5110"))
    );
    let card = nj.iter().find(|a| a["code"] == "NJ-CARD").unwrap();
    assert_eq!(card["name"], "内江市社会保障卡管理中心");
    assert_eq!(card["phone"], "0832-2286791");
    assert_eq!(card["kind"], "card_centre");
    assert_eq!(card["region_name"], "内江市");

    let district = get(&r, "/api/v1/agencies?region=511011").await.json();
    assert_eq!(district.as_array().unwrap().len(), 1);
    let cq = get(&r, "/api/v1/agencies?region=500000").await.json();
    assert_eq!(cq[0]["code"], "CQ-CARD");
    // An empty filter means no filter.
    assert_eq!(get(&r, "/api/v1/agencies?region=").await.json(), all);

    let bad = get(&r, "/api/v1/agencies?region=abc").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.error_code(), "REGION_CODE_LENGTH");
    let dup = get(&r, "/api/v1/agencies?region=511000&region=500000").await;
    assert_eq!(dup.status, StatusCode::BAD_REQUEST);
    assert_eq!(dup.error_code(), "BAD_REQUEST");
}

#[tokio::test]
async fn divisions_name_codes() {
    let (_dir, app) = app();
    let r = sscard_http::router(app);
    let d = get(&r, "/api/v1/divisions/511011").await;
    assert_eq!(d.status, StatusCode::OK);
    let d = d.json();
    assert_eq!(d["name"], "东兴区");
    assert_eq!(d["full_name"], "四川省内江市东兴区");
    assert_eq!(d["children"].as_array().unwrap().len(), 0);
    let city = get(&r, "/api/v1/divisions/511000").await.json();
    assert!(
        city["children"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["code"] == "511011")
    );

    let unknown = get(&r, "/api/v1/divisions/999999").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.error_code(), "REGION_CODE_UNKNOWN");
    let bad = get(&r, "/api/v1/divisions/12").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.error_code(), "REGION_CODE_LENGTH");
}

#[tokio::test]
async fn documents_validate() {
    let (_dir, app) = app();
    let r = sscard_http::router(app);
    let ok = post_json(
        &r,
        "/api/v1/documents/validate",
        r#"{"doc_type":"citizen_id","number":" 11010519491231002x "}"#,
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let v = ok.json();
    assert_eq!(v["valid"], true);
    assert_eq!(v["doc_type"], "citizen_id");
    assert_eq!(v["number"], "11010519491231002X");
    assert_eq!(v["birth_date"], "1949-12-31");
    assert_eq!(v["gender"], "female");
    assert_eq!(v["warnings"], serde_json::json!([]));

    // A historical division code: valid, with a warning.
    let old = post_json(
        &r,
        "/api/v1/documents/validate",
        r#"{"doc_type":"citizen_id","number":"440524188001010014"}"#,
    )
    .await;
    assert_eq!(old.status, StatusCode::OK, "{}", old.body);
    let w = &old.json()["warnings"][0];
    assert_eq!(w["code"], "ID_DIVISION_UNKNOWN");
    assert!(w["message"].as_str().unwrap().contains("440524"));
    assert!(w["message_en"].is_string());

    let passport = post_json(
        &r,
        "/api/v1/documents/validate",
        r#"{"doc_type":"passport","number":"chn:e12345678"}"#,
    )
    .await;
    assert_eq!(passport.status, StatusCode::OK);
    assert_eq!(passport.json()["number"], "CHN:E12345678");
    assert_eq!(passport.json()["birth_date"], serde_json::Value::Null);
    assert_eq!(passport.json()["gender"], serde_json::Value::Null);

    let check = post_json(
        &r,
        "/api/v1/documents/validate",
        r#"{"doc_type":"citizen_id","number":"110105194912310021"}"#,
    )
    .await;
    assert_eq!(check.status, StatusCode::BAD_REQUEST);
    assert_eq!(check.error_code(), "ID_CHECK_CHAR");
    let kind = post_json(
        &r,
        "/api/v1/documents/validate",
        r#"{"doc_type":"library_card","number":"1"}"#,
    )
    .await;
    assert_eq!(kind.status, StatusCode::BAD_REQUEST);
    assert_eq!(kind.error_code(), "DOC_TYPE_UNKNOWN");
    let empty = post_json(
        &r,
        "/api/v1/documents/validate",
        r#"{"doc_type":"citizen_id","number":"  "}"#,
    )
    .await;
    assert_eq!(empty.error_code(), "DOC_EMPTY");
}

#[tokio::test]
async fn credit_codes_validate() {
    let (_dir, app) = app();
    let r = sscard_http::router(app);
    let good = CreditCode::from_body("91511000MA62X0001");
    let body = format!(r#"{{"code":"{}"}}"#, good.as_str().to_lowercase());
    let ok = post_json(&r, "/api/v1/credit-codes/validate", &body).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let v = ok.json();
    assert_eq!(v["valid"], true);
    assert_eq!(v["code"], good.as_str());
    assert_eq!(v["checksum_ok"], true);
    assert_eq!(v["registration_authority"], "9");
    assert_eq!(v["org_type"], "1");
    assert_eq!(v["division_code"], "511000");
    assert_eq!(v["division_name"], "四川省内江市");

    let mut wrong = good.as_str().to_string();
    let last = wrong.pop().unwrap();
    wrong.push(if last == '0' { '1' } else { '0' });
    let bad = post_json(
        &r,
        "/api/v1/credit-codes/validate",
        &format!(r#"{{"code":"{wrong}"}}"#),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.error_code(), "CREDIT_CODE_CHECK_CHAR");
    let short = post_json(&r, "/api/v1/credit-codes/validate", r#"{"code":"123"}"#).await;
    assert_eq!(short.error_code(), "CREDIT_CODE_LENGTH");
}

#[tokio::test]
async fn malformed_requests_get_the_error_json() {
    let (_dir, app) = app();
    let r = sscard_http::router(app);
    for body in [
        "{not json",
        r#"{"doc_type":"citizen_id"}"#,
        r#"{"doc_type":1,"number":"x"}"#,
        "",
    ] {
        let reply = post_json(&r, "/api/v1/documents/validate", body).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{body}: {}",
            reply.body
        );
        assert_eq!(reply.error_code(), "BAD_REQUEST");
    }
    // No content type.
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/credit-codes/validate")
        .body(Body::from(r#"{"code":"x"}"#))
        .unwrap();
    let reply = send(&r, req).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.error_code(), "BAD_REQUEST");
}

#[tokio::test]
async fn unknown_routes_and_methods() {
    let (_dir, app) = app();
    let r = sscard_http::router(app);
    let missing = get(&r, "/api/v1/persons/11010519491231002X").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.error_code(), "ROUTE_NOT_FOUND");
    // The ID number in the path is not echoed in full.
    assert!(
        !missing.body.contains("11010519491231002X"),
        "{}",
        missing.body
    );
    assert!(
        missing.body.contains("1101**********002X"),
        "{}",
        missing.body
    );
    assert_eq!(
        get(&r, "/api/v2/anything").await.error_code(),
        "ROUTE_NOT_FOUND"
    );
    assert_eq!(get(&r, "/api/v1").await.error_code(), "ROUTE_NOT_FOUND");

    let wrong_method = post_json(&r, "/api/v1/regions", "{}").await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong_method.error_code(), "METHOD_NOT_ALLOWED");
    let get_validate = get(&r, "/api/v1/documents/validate").await;
    assert_eq!(get_validate.status, StatusCode::METHOD_NOT_ALLOWED);

    // Outside the API: an HTML page.
    let page = get(&r, "/nowhere").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.content_type().starts_with("text/html"));
}

#[tokio::test]
async fn every_response_has_a_request_id() {
    let (_dir, app) = app();
    let r = sscard_http::router(app);
    let a = get(&r, "/healthz").await;
    let b = get(&r, "/api/v1/nothing").await;
    let ida = a
        .headers
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let idb = b
        .headers
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(!ida.is_empty());
    assert_ne!(ida, idb);
    // A client's id is kept.
    let req = Request::builder()
        .uri("/healthz")
        .header("x-request-id", "client-42")
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        send(&r, req).await.headers.get("x-request-id").unwrap(),
        "client-42"
    );
    // An unusable one is replaced.
    let req = Request::builder()
        .uri("/healthz")
        .header("x-request-id", "a b")
        .body(Body::empty())
        .unwrap();
    assert_ne!(
        send(&r, req).await.headers.get("x-request-id").unwrap(),
        "a b"
    );
}
