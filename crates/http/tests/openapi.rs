//! The OpenAPI document and the routes come from one place: every API route is documented and
//! every documented path is routed.

mod common;

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::{app, get, send};

/// Every API route, as (method, path template). A new route must be added here, and it fails
/// the test unless it is also in the document (i.e. registered through `api_router`).
const API_ROUTES: &[(&str, &str)] = &[
    ("get", "/api/v1/regions"),
    ("get", "/api/v1/regions/{code}"),
    ("get", "/api/v1/agencies"),
    ("get", "/api/v1/divisions/{code}"),
    ("post", "/api/v1/documents/validate"),
    ("post", "/api/v1/credit-codes/validate"),
    ("get", "/api/v1/openapi.json"),
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/logout"),
    ("post", "/api/v1/auth/password"),
    ("get", "/api/v1/auth/me"),
    ("post", "/api/v1/cards/applications"),
    ("post", "/api/v1/rosters"),
    ("post", "/api/v1/batches"),
    ("get", "/api/v1/batches/{batch_no}"),
    ("get", "/api/v1/batches/{batch_no}/bank-file"),
    ("post", "/api/v1/batches/{batch_no}/bank-return"),
    ("post", "/api/v1/cards/{card_no}/collect"),
    ("post", "/api/v1/cards/{card_no}/loss"),
    ("post", "/api/v1/cards/{card_no}/loss/lift"),
    ("post", "/api/v1/cards/{card_no}/pin/verify"),
    ("post", "/api/v1/cards/{card_no}/pin/change"),
    ("post", "/api/v1/cards/{card_no}/pin/reset"),
    ("post", "/api/v1/cards/{card_no}/pin/unlock"),
    ("get", "/api/v1/persons"),
    ("get", "/api/v1/persons/{doc_type}/{number}"),
    ("post", "/api/v1/cards/{card_no}/reissue"),
    ("get", "/api/v1/certificates/{cert_no}"),
    ("get", "/api/v1/certificates/{cert_no}/pdf"),
    ("post", "/api/v1/temporary-cards"),
    ("post", "/api/v1/cards/{card_no}/replace"),
    ("post", "/api/v1/cards/{card_no}/correct"),
    ("post", "/api/v1/cards/{card_no}/cancel"),
    ("post", "/api/v1/deaths"),
    ("post", "/api/v1/heir-claims"),
    ("post", "/api/v1/heir-claims/{claim_id}/payout"),
    ("get", "/api/v1/fees"),
    ("post", "/api/v1/ledger/persons/{person_ref}/payouts"),
    ("get", "/api/v1/ledger/persons/{person_ref}/payouts"),
    ("post", "/api/v1/bank/cards/{card_no}/activate"),
    ("post", "/api/v1/bank/cards/{card_no}/loss"),
    ("post", "/api/v1/bank/batches/{batch_no}/return"),
    ("post", "/api/v1/bank/cards/{card_no}/unfreeze"),
    ("post", "/api/v1/medical/9001"),
    ("post", "/api/v1/medical/1101"),
    ("post", "/api/v1/medical/2206"),
    ("post", "/api/v1/medical/2207"),
    ("post", "/api/v1/medical/2208"),
    ("post", "/api/v1/medical/2601"),
    ("post", "/api/v1/medical/3201"),
    ("post", "/api/v1/medical/3202"),
    ("post", "/api/v1/ivr/calls"),
    ("post", "/api/v1/ivr/calls/{call_id}/keys"),
    ("delete", "/api/v1/ivr/calls/{call_id}"),
];

fn documented(doc: &serde_json::Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in [
            "get", "put", "post", "delete", "patch", "head", "options", "trace",
        ] {
            if item.get(method).is_some() {
                out.insert((method.to_string(), path.clone()));
            }
        }
    }
    out
}

fn concrete(path: &str) -> String {
    path.replace("{code}", "511000")
        .replace("{batch_no}", "B511000-20260101-001")
        .replace("{card_no}", "N00000011")
        .replace("{doc_type}", "citizen_id")
        .replace("{number}", "11010519491231002X")
        .replace("{cert_no}", "LK511000000000125")
        .replace("{claim_id}", "1")
        .replace("{call_id}", "c0")
}

#[tokio::test]
async fn the_document_lists_exactly_the_api_routes() {
    let (_dir, app) = app();
    let r = sscard_http::router(app);
    let reply = get(&r, "/api/v1/openapi.json").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.content_type().starts_with("application/json"));
    let doc = reply.json();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3."),
        "{}",
        doc["openapi"]
    );
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));

    let expected: BTreeSet<(String, String)> = API_ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    let in_doc = documented(&doc);
    let missing: Vec<_> = expected.difference(&in_doc).collect();
    let extra: Vec<_> = in_doc.difference(&expected).collect();
    assert!(
        missing.is_empty(),
        "routes missing from the OpenAPI document: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "documented routes missing from API_ROUTES: {extra:?}"
    );

    // The served document is the one `openapi()` builds.
    let built = serde_json::to_value(sscard_http::openapi()).unwrap();
    assert_eq!(documented(&built), in_doc);
}

#[tokio::test]
async fn every_documented_route_is_routed() {
    let (_dir, app) = app();
    let r = sscard_http::router(app);
    let doc = serde_json::to_value(sscard_http::openapi()).unwrap();
    for (method, path) in documented(&doc) {
        let req = Request::builder()
            .method(Method::from_bytes(method.to_uppercase().as_bytes()).unwrap())
            .uri(concrete(&path))
            .header("content-type", "application/json")
            .body(Body::from("{}"))
            .unwrap();
        let reply = send(&r, req).await;
        assert_ne!(
            reply.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path} is documented but not routed"
        );
        if reply.status == StatusCode::NOT_FOUND {
            assert_ne!(
                reply.error_code(),
                "ROUTE_NOT_FOUND",
                "{method} {path} is documented but not routed"
            );
        }
    }
    // And a route that is not documented is not routed either.
    assert_eq!(
        get(&r, "/api/v1/undocumented").await.error_code(),
        "ROUTE_NOT_FOUND"
    );
}

#[tokio::test]
async fn operations_describe_their_errors_and_schemas() {
    let doc = serde_json::to_value(sscard_http::openapi()).unwrap();
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    for name in [
        "ErrorBody",
        "RegionDto",
        "AgencyDto",
        "DivisionDto",
        "ValidateDocumentRequest",
        "DocumentValidation",
        "ValidateCreditCodeRequest",
        "CreditCodeValidation",
    ] {
        assert!(schemas.contains_key(name), "schema {name} missing");
    }
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|k| k.starts_with('2')),
                "{method} {path} has no success response"
            );
            assert!(
                op["tags"].as_array().is_some_and(|t| !t.is_empty()),
                "{method} {path} has no tag"
            );
        }
    }
    let region = &doc["paths"]["/api/v1/regions/{code}"]["get"];
    assert!(region["responses"]["404"].is_object());
    assert_eq!(region["parameters"][0]["name"], "code");
    assert_eq!(region["parameters"][0]["in"], "path");
    let agencies = &doc["paths"]["/api/v1/agencies"]["get"];
    assert_eq!(agencies["parameters"][0]["name"], "region");
    assert_eq!(agencies["parameters"][0]["in"], "query");
    assert!(doc["paths"]["/api/v1/documents/validate"]["post"]["requestBody"].is_object());
}
