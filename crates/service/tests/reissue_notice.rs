//! A reissued card, once produced, tells its holder "reissue ready" (not "card ready").

use chrono::NaiveDate;
use sscard_service::audit::{Actor, Channel};
use sscard_service::cards::batches::{self, NewBatch};
use sscard_service::cards::reissue;
use sscard_service::demo::{self, DemoOptions};
use sscard_service::secrets::PinKey;
use sscard_service::{App, AppConfig};
use sscard_store::{Store, StoreError, params};

fn scenario(url: &str) {
    let app = App::open(&AppConfig {
        db_url: url.to_string(),
        pin_key: Some(PinKey::new(vec![4; 32]).unwrap()),
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
    let lost = s
        .cardholders
        .iter()
        .find(|c| c.card_status == "active" && c.card_kind == "regular")
        .unwrap();
    let clerk = Actor {
        username: "clerk1".into(),
        role: "clerk".into(),
        agency: "NJ-CARD".into(),
        channel: Channel::Counter,
    };
    sscard_service::cards::loss::report(
        &app,
        &clerk,
        lost.card_no.as_deref().unwrap(),
        &sscard_service::cards::loss::LossRequest {
            kind: sscard_service::cards::loss::LossKind::Written,
            pin: None,
            presented_doc_number: Some(lost.id_number.clone()),
        },
    )
    .unwrap();
    reissue::reissue(
        &app,
        &clerk,
        &reissue::ReissueRequest {
            card_no: lost.card_no.clone().unwrap(),
            presented_doc_number: lost.id_number.clone(),
        },
    )
    .unwrap();
    let b = batches::create(
        &app,
        &clerk,
        &NewBatch {
            region_code: lost.region_code.clone(),
            card_refs: None,
            bank_code: None,
        },
    )
    .unwrap();
    let file = batches::bank_file(&app, &clerk, &b.batch_no).unwrap();
    let mut lines = file.content.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = header.iter().position(|h| *h == "doc_number").unwrap();
    let mut csv = String::from("doc_number,bank_account\n");
    for (k, l) in lines.enumerate() {
        csv.push_str(&format!(
            "{},62220000{:010}\n",
            l.split(',').nth(col).unwrap(),
            k + 1
        ));
    }
    let report = batches::bank_return(&app, &clerk, &b.batch_no, csv.as_bytes()).unwrap();
    assert_eq!(report.error_rows, 0);
    let kinds: Vec<String> = Store::open(url)
        .unwrap()
        .read(|tx| {
            tx.query(
                "SELECT n.kind FROM notices n JOIN persons p ON p.id = n.person_id
                 WHERE p.doc_number = $1 ORDER BY n.id",
                params![lost.id_number.as_str()],
            )?
            .iter()
            .map(|r| r.text(0))
            .collect::<Result<Vec<_>, StoreError>>()
        })
        .unwrap();
    assert_eq!(
        kinds.last().map(String::as_str),
        Some("reissue_ready"),
        "{kinds:?}"
    );
    assert!(!kinds.iter().any(|k| k == "card_ready"), "{kinds:?}");
    // While the new card is being made, a temporary card is refused when the document presented
    // is not the person's own (the console names the person, the holder presents the ID).
    let wrong = sscard_service::cards::temporary::issue(
        &app,
        &clerk,
        &sscard_service::cards::temporary::TemporaryCardRequest {
            doc_number: lost.id_number.clone(),
            presented_doc_number: Some("11010519491231002X".into()),
            reason: "住院治疗".into(),
            proof_ref: "ZY-9".into(),
        },
    );
    assert_eq!(wrong.unwrap_err().code, "ID_MISMATCH");
}

#[test]
fn reissue_ready_on_sqlite() {
    let (_d, url) = sscard_testkit::sqlite_url();
    scenario(&url);
}

#[test]
fn reissue_ready_on_postgres() {
    let Some(url) = sscard_testkit::postgres_url() else {
        return;
    };
    scenario(&url);
}
