//! The first half of the card's life, on both backends: apply (individual and roster),
//! production batches and the bank's files, collection and activation, loss and lifting it, the
//! daily job, and the staff's person search and detail. Every refusal is checked by its code.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use sscard_domain::clock::FixedClock;
use sscard_domain::ids::{DocumentType, IdNumber};
use sscard_service::audit::{Actor, Channel};
use sscard_service::cards::apply::{self, Application};
use sscard_service::cards::batches::{self, NewBatch};
use sscard_service::cards::collect::{self, Collection, Proxy};
use sscard_service::cards::loss::{self, LiftRequest, LossKind, LossRequest};
use sscard_service::cards::photo::{sample_jpeg, sample_png};
use sscard_service::cards::pin::{self, PinChange};
use sscard_service::cards::roster::{self, RosterFormat, RosterImport};
use sscard_service::cards::{death, jobs, temporary};
use sscard_service::demo::{self, DemoOptions, SampleCardholder};
use sscard_service::notices::{self, SmsGateway};
use sscard_service::persons;
use sscard_service::secrets::PinKey;
use sscard_service::{App, AppConfig, ServiceError};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 2, 0, 0).unwrap()
}

fn at(app: &App, t: DateTime<Utc>) -> App {
    app.with_clock(Arc::new(FixedClock(t)))
}

fn setup(url: &str) -> (App, Vec<SampleCardholder>) {
    let base = App::open(&AppConfig {
        db_url: url.to_string(),
        pin_key: Some(PinKey::new(vec![7; 32]).unwrap()),
        ..Default::default()
    })
    .unwrap();
    let app = at(&base, t0());
    let s = demo::generate(
        &app,
        &DemoOptions {
            persons: 300,
            seed: 5,
            as_of: NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
        },
        &|_, _| {},
    )
    .unwrap();
    (app, s.cardholders)
}

fn staff(role: &str, agency: &str) -> Actor {
    let channel = if role == "phone_agent" {
        Channel::Ivr
    } else {
        Channel::Counter
    };
    Actor {
        username: format!("{role}-{agency}"),
        role: role.into(),
        agency: agency.into(),
        channel,
    }
}

fn holder(channel: Channel) -> Actor {
    Actor {
        username: "holder".into(),
        role: "cardholder".into(),
        agency: String::new(),
        channel,
    }
}

/// A valid citizen ID number of a Neijiang (东兴区) person born on `birth`, sequence `seq`.
fn id_number(birth: &str, seq: u32) -> String {
    let first17 = format!("511011{birth}{seq:03}");
    let c = IdNumber::check_char(first17.as_bytes()) as char;
    format!("{first17}{c}")
}

fn code<T: std::fmt::Debug>(r: Result<T, ServiceError>) -> &'static str {
    r.unwrap_err().code
}

fn application(id: &str, name: &str) -> Application {
    Application {
        doc_type: None,
        doc_number: id.into(),
        name: name.into(),
        phone: "13800000001".into(),
        photo: Some(sample_png(358, 441)),
        ..Default::default()
    }
}

#[derive(Default)]
struct Capture(Mutex<Vec<String>>);

impl SmsGateway for Capture {
    fn send(&self, _phone: &str, text: &str) -> Result<(), String> {
        self.0.lock().unwrap().push(text.to_string());
        Ok(())
    }
}

fn sent(app: &App) -> Vec<String> {
    let g = Capture::default();
    notices::deliver_due(app, &g, 10_000).unwrap();
    g.0.into_inner().unwrap()
}

/// Applies, batches and produces one card for a new person; returns (id number, card number).
fn produced_card(app: &App, clerk: &Actor, id: &str, name: &str) -> String {
    let a = apply::apply(app, clerk, &application(id, name)).unwrap();
    let b = batches::create(
        app,
        clerk,
        &NewBatch {
            region_code: "511000".into(),
            card_refs: Some(vec![a.card_ref]),
            bank_code: None,
        },
    )
    .unwrap();
    let csv = format!("doc_number,bank_account\n{id},6217000011112222333\n");
    let r = batches::bank_return(app, clerk, &b.batch_no, csv.as_bytes()).unwrap();
    assert_eq!(r.produced, 1, "{r:?}");
    r.rows[0].card_no.clone().unwrap()
}

fn status_of(app: &App, id: &str) -> String {
    let d = persons::detail(
        app,
        &staff("auditor", "NJ-CARD"),
        DocumentType::CitizenId,
        id,
    )
    .unwrap();
    d.cards[0].card.status.clone()
}

fn apply_rules(app: &App, holders: &[SampleCardholder]) {
    let clerk = staff("clerk", "NJ-CARD");
    let id = id_number("19900307", 123);
    // Refusals before anything is written.
    let mut bad = application(&id, "张测试");
    bad.doc_number = format!("{}0", &id[..17]);
    if bad.doc_number == id {
        bad.doc_number = format!("{}1", &id[..17]);
    }
    assert_eq!(code(apply::apply(app, &clerk, &bad)), "ID_CHECK_CHAR");
    let mut gif = application(&id, "张测试");
    gif.photo = Some(b"GIF89a\x01\x00".to_vec());
    assert_eq!(code(apply::apply(app, &clerk, &gif)), "PHOTO_FORMAT");
    let mut small = application(&id, "张测试");
    small.photo = Some(sample_jpeg(300, 400));
    assert_eq!(code(apply::apply(app, &clerk, &small)), "PHOTO_SIZE");
    let mut none = application(&id, "张测试");
    none.photo = None;
    assert_eq!(code(apply::apply(app, &clerk, &none)), "PHOTO_MISSING");
    let mut noname = application(&id, "");
    noname.name = " ".into();
    assert_eq!(code(apply::apply(app, &clerk, &noname)), "NAME_REQUIRED");
    let mut phone = application(&id, "张测试");
    phone.phone = "12345".into();
    assert_eq!(code(apply::apply(app, &clerk, &phone)), "PHONE_INVALID");
    let mut beijing = application(&id, "张测试");
    beijing.region_code = Some("110000".into());
    assert_eq!(
        code(apply::apply(app, &clerk, &beijing)),
        "REGION_NOT_SERVED"
    );
    assert_eq!(
        code(apply::apply(
            app,
            &staff("clerk", ""),
            &application(&id, "张测试")
        )),
        "REGION_REQUIRED"
    );
    assert_eq!(
        code(apply::apply(
            app,
            &staff("auditor", "NJ-CARD"),
            &application(&id, "张测试")
        )),
        "FORBIDDEN"
    );
    assert_eq!(
        code(apply::apply(
            app,
            &staff("phone_agent", "NJ-CARD"),
            &application(&id, "张测试")
        )),
        "FORBIDDEN"
    );
    // Success: a new person, first card free, the agency's region.
    let ok = apply::apply(app, &clerk, &application(&id, "张测试")).unwrap();
    assert!(ok.person_created);
    assert_eq!(ok.card.status, "applied");
    assert_eq!(ok.card.region_code, "511000");
    assert_eq!(ok.fee_fen, 0);
    assert_eq!(ok.receipt_no, None);
    assert!(!ok.doc_number_masked.contains(&id[4..14]));
    // A second live card, a wrong name, life status.
    assert_eq!(
        code(apply::apply(app, &clerk, &application(&id, "张测试"))),
        "CARD_LIVE_EXISTS"
    );
    assert_eq!(
        code(apply::apply(app, &clerk, &application(&id, "李别人"))),
        "NAME_MISMATCH"
    );
    let active = holders
        .iter()
        .find(|h| h.card_status == "active" && h.life_status == "normal")
        .unwrap();
    let mut again = application(&active.id_number, "");
    again.photo = None;
    let e = apply::apply(app, &clerk, &again).unwrap_err();
    assert!(
        matches!(e.code, "CARD_LIVE_EXISTS" | "PHOTO_MISSING"),
        "{e:?}"
    );
    again.photo = Some(sample_png(358, 441));
    assert_eq!(code(apply::apply(app, &clerk, &again)), "CARD_LIVE_EXISTS");
    let dead = holders
        .iter()
        .find(|h| h.life_status == "deceased")
        .expect("a deceased sample");
    assert_eq!(
        code(apply::apply(app, &clerk, &application(&dead.id_number, ""))),
        "PERSON_DECEASED"
    );
    // The photo is on file; the detail shows it and the apply event.
    let d = persons::detail(
        app,
        &staff("auditor", "NJ-CARD"),
        DocumentType::CitizenId,
        &id,
    )
    .unwrap();
    assert_eq!(d.photo.as_ref().unwrap().width, 358);
    assert_eq!(d.cards[0].timeline[0].event, "apply");
    assert_eq!(d.cards[0].card_ref, ok.card_ref);
    // A passport holder needs gender and birth date.
    let mut pp = application("CHN:E12345678", "WANG Test");
    pp.doc_type = Some(DocumentType::Passport);
    assert_eq!(code(apply::apply(app, &clerk, &pp)), "GENDER_REQUIRED");
    pp.gender = Some(sscard_domain::person::Gender::Female);
    assert_eq!(code(apply::apply(app, &clerk, &pp)), "BIRTH_DATE_REQUIRED");
    pp.birth_date = NaiveDate::from_ymd_opt(1980, 1, 2);
    let p = apply::apply(app, &clerk, &pp).unwrap();
    assert_eq!(p.doc_type, "passport");
    // Uploading a photo for a known person.
    assert_eq!(
        code(apply::upload_photo(
            app,
            &clerk,
            DocumentType::CitizenId,
            &id,
            b"nope"
        )),
        "PHOTO_FORMAT"
    );
    assert_eq!(
        code(apply::upload_photo(
            app,
            &clerk,
            DocumentType::CitizenId,
            &id_number("19900307", 125),
            &sample_png(358, 441)
        )),
        "PERSON_NOT_FOUND"
    );
    apply::upload_photo(
        app,
        &clerk,
        DocumentType::CitizenId,
        &id,
        &sample_jpeg(358, 441),
    )
    .unwrap();
}

fn production_rules(app: &App, holders: &[SampleCardholder]) {
    let clerk = staff("clerk", "NJ-CARD");
    let id = id_number("19850101", 211);
    let a = apply::apply(app, &clerk, &application(&id, "王制卡")).unwrap();
    assert_eq!(
        code(batches::create(
            app,
            &staff("auditor", "NJ-CARD"),
            &NewBatch {
                region_code: "511000".into(),
                card_refs: Some(vec![a.card_ref]),
                bank_code: None
            }
        )),
        "FORBIDDEN"
    );
    assert_eq!(
        code(batches::create(
            app,
            &clerk,
            &NewBatch {
                region_code: "511000".into(),
                card_refs: Some(vec![a.card_ref]),
                bank_code: Some("NOPE".into())
            }
        )),
        "BANK_NOT_FOUND"
    );
    assert_eq!(
        code(batches::create(
            app,
            &clerk,
            &NewBatch {
                region_code: "500000".into(),
                card_refs: Some(vec![a.card_ref]),
                bank_code: None
            }
        )),
        "BATCH_CARD_INVALID"
    );
    let b = batches::create(
        app,
        &clerk,
        &NewBatch {
            region_code: "511000".into(),
            card_refs: Some(vec![a.card_ref]),
            bank_code: Some("ICBC".into()),
        },
    )
    .unwrap();
    assert_eq!(
        (b.cards, b.in_production, b.status.as_str()),
        (1, 1, "open")
    );
    assert!(
        b.batch_no.starts_with("B511000-20261121-"),
        "{}",
        b.batch_no
    );
    assert_eq!(status_of(app, &id), "in_production");
    // The same card again: no longer applied.
    assert_eq!(
        code(batches::create(
            app,
            &clerk,
            &NewBatch {
                region_code: "511000".into(),
                card_refs: Some(vec![a.card_ref]),
                bank_code: None
            }
        )),
        "BATCH_CARD_INVALID"
    );
    // Every applied card of a region, then nothing is left.
    let all = batches::create(
        app,
        &clerk,
        &NewBatch {
            region_code: "511000".into(),
            card_refs: None,
            bank_code: None,
        },
    );
    if let Ok(all) = &all {
        assert!(all.cards >= 1);
    } else {
        assert_eq!(all.unwrap_err().code, "BATCH_EMPTY");
    }
    assert_eq!(
        code(batches::create(
            app,
            &clerk,
            &NewBatch {
                region_code: "511000".into(),
                card_refs: None,
                bank_code: None
            }
        )),
        "BATCH_EMPTY"
    );
    // The bank's file: full document numbers for the bank.
    assert_eq!(
        code(batches::bank_file(app, &clerk, "B-NONE")),
        "BATCH_NOT_FOUND"
    );
    let f = batches::bank_file(app, &clerk, &b.batch_no).unwrap();
    assert_eq!(f.rows, 1);
    assert!(
        f.content
            .starts_with("batch_no,seq,name,doc_type,doc_number")
    );
    assert!(f.content.contains(&id));
    assert_eq!(
        batches::get(app, &clerk, &b.batch_no).unwrap().status,
        "sent_to_bank"
    );
    // The return file: a header is needed, bad rows are reported, good rows produced.
    assert_eq!(
        code(batches::bank_return(
            app,
            &clerk,
            &b.batch_no,
            b"a,b\n1,2\n"
        )),
        "RETURN_FILE_HEADER"
    );
    assert_eq!(
        code(batches::bank_return(
            app,
            &clerk,
            "B-NONE",
            b"doc_number,bank_account\n"
        )),
        "BATCH_NOT_FOUND"
    );
    let other = &holders
        .iter()
        .find(|h| h.card_status == "active")
        .unwrap()
        .id_number;
    let csv = format!(
        "doc_number,bank_account\n{id},6217000011112222333\n{id}\n{other},6217000011112222444\n{id},12AB\n{id},6217000011112222333\n"
    );
    let r = batches::bank_return(app, &clerk, &b.batch_no, csv.as_bytes()).unwrap();
    let codes: Vec<Option<&str>> = r.rows.iter().map(|r| r.code.as_deref()).collect();
    assert_eq!(
        codes,
        vec![
            None,
            Some("ROW_MALFORMED"),
            Some("NOT_IN_BATCH"),
            Some("ACCOUNT_INVALID"),
            Some("DUPLICATE_ROW")
        ]
    );
    assert_eq!((r.produced, r.error_rows), (1, 4));
    assert_eq!(r.batch_status, "produced");
    let no = r.rows[0].card_no.clone().unwrap();
    assert!(no.starts_with('N'));
    // Numbers continue after the demo's highest N number.
    let max_demo = holders
        .iter()
        .filter_map(|h| h.card_no.as_deref())
        .filter(|n| n.starts_with('N'))
        .map(|n| n[1..8].parse::<u64>().unwrap())
        .max()
        .unwrap();
    assert!(no[1..8].parse::<u64>().unwrap() > max_demo);
    let d = persons::detail(app, &clerk, DocumentType::CitizenId, &id).unwrap();
    let card = &d.cards[0].card;
    assert_eq!(card.status, "awaiting_collection");
    assert_eq!(card.notice_date.as_deref(), Some("2026-11-21"));
    assert_eq!(card.bank_status, "opened");
    assert!(
        card.card_id
            .as_deref()
            .unwrap()
            .starts_with("511000D156000005")
    );
    let events: Vec<&str> = d.cards[0]
        .timeline
        .iter()
        .map(|e| e.event.as_str())
        .collect();
    assert_eq!(events, ["apply", "batch", "produced"]);
    // Returned again: already produced.
    let again = batches::bank_return(
        app,
        &clerk,
        &b.batch_no,
        format!("doc_number,bank_account\n{id},6217000011112222333\n").as_bytes(),
    )
    .unwrap();
    assert_eq!(again.rows[0].code.as_deref(), Some("ALREADY_PRODUCED"));
    // The holder is told.
    let texts = sent(app);
    assert!(
        texts.iter().any(|t| t.contains(&no[5..])),
        "no card-ready notice for {no}: {texts:?}"
    );
}

fn collection_rules(app: &App) {
    let clerk = staff("clerk", "NJ-CARD");
    let district = staff("clerk", "NJ-SZQ");
    let id = id_number("19790505", 301);
    let no = produced_card(app, &clerk, &id, "赵领卡");
    let by_holder = Collection {
        presented_doc_number: id.clone(),
        proxy: None,
    };
    assert_eq!(
        code(collect::collect(
            app,
            &staff("phone_agent", "NJ-CARD"),
            &no,
            &by_holder
        )),
        "FORBIDDEN"
    );
    assert_eq!(
        code(collect::collect(
            app,
            &clerk,
            &no,
            &Collection {
                presented_doc_number: "11010519491231002X".into(),
                proxy: None
            }
        )),
        "ID_MISMATCH"
    );
    let mut proxied = Collection {
        presented_doc_number: id.clone(),
        proxy: Some(Proxy {
            name: "赵代领".into(),
            doc_type: None,
            doc_number: "11010519491231002X".into(),
            authorisation_ref: String::new(),
        }),
    };
    assert_eq!(
        code(collect::collect(app, &clerk, &no, &proxied)),
        "PROXY_INCOMPLETE"
    );
    proxied.proxy.as_mut().unwrap().authorisation_ref = "WT-2026-001".into();
    proxied.proxy.as_mut().unwrap().doc_number = "110105194912310021".into();
    assert_eq!(
        code(collect::collect(app, &clerk, &no, &proxied)),
        "ID_CHECK_CHAR"
    );
    proxied.proxy.as_mut().unwrap().doc_number = "11010519491231002X".into();
    assert_eq!(
        code(collect::collect(app, &clerk, "Z9999999X", &by_holder)),
        "CARD_NOT_FOUND"
    );
    // Collected by a proxy at a district counter within the window: activated at once.
    let v = collect::collect(app, &district, &no, &proxied).unwrap();
    assert_eq!(v.status, "active");
    assert_eq!(
        code(collect::collect(app, &clerk, &no, &by_holder)),
        "CARD_STATE"
    );
    let d = persons::detail(app, &clerk, DocumentType::CitizenId, &id).unwrap();
    let tl = &d.cards[0].timeline;
    let events: Vec<&str> = tl.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(
        events,
        ["apply", "batch", "produced", "collect", "activate"]
    );
    assert_eq!(tl[3].detail["by"], "proxy");
    assert_eq!(tl[3].detail["authorisation_ref"], "WT-2026-001");
    assert_eq!(tl[3].detail["proxy_doc_number"], "1101**********002X");

    // An uncollected card: reminder 14 days before the window ends, then the card centre.
    let id2 = id_number("19790505", 303);
    let no2 = produced_card(app, &clerk, &id2, "钱未领");
    let before_end = at(app, t0() + Duration::days(175));
    let r = jobs::run_daily(&before_end).unwrap();
    assert!(r.window_notices >= 1, "{r:?}");
    let d = persons::detail(&before_end, &clerk, DocumentType::CitizenId, &id2).unwrap();
    assert!(
        d.cards[0]
            .timeline
            .iter()
            .any(|e| e.event == "collection_window_notice")
    );
    let r2 = jobs::run_daily(&before_end).unwrap();
    assert!(!r2.changed_anything(), "second run changed things: {r2:?}");
    let after_end = at(app, t0() + Duration::days(200));
    let r = jobs::run_daily(&after_end).unwrap();
    assert!(r.moved_to_card_centre >= 1, "{r:?}");
    assert!(!jobs::run_daily(&after_end).unwrap().changed_anything());
    let v = persons::detail(&after_end, &clerk, DocumentType::CitizenId, &id2).unwrap();
    assert!(v.cards[0].card.at_card_centre);
    let by_holder2 = Collection {
        presented_doc_number: id2.clone(),
        proxy: None,
    };
    assert_eq!(
        code(collect::collect(&after_end, &district, &no2, &by_holder2)),
        "COLLECT_AT_CARD_CENTRE"
    );
    let v = collect::collect(&after_end, &clerk, &no2, &by_holder2).unwrap();
    assert_eq!(v.status, "active");
}

fn loss_rules(app: &App, holders: &[SampleCardholder]) {
    let clerk = staff("clerk", "NJ-CARD");
    let agent = staff("phone_agent", "NJ-CARD");
    let id = id_number("19680808", 401);
    let no = produced_card(app, &clerk, &id, "孙挂失");
    let temp_pin = |pin: Option<&str>| LossRequest {
        kind: LossKind::Temporary,
        pin: pin.map(str::to_string),
        presented_doc_number: None,
    };
    // Not collected yet: no loss report.
    let with_id = |kind| LossRequest {
        kind,
        pin: None,
        presented_doc_number: Some(id.clone()),
    };
    assert_eq!(
        code(loss::report(
            app,
            &clerk,
            &no,
            &with_id(LossKind::Temporary)
        )),
        "CARD_STATE"
    );
    collect::collect(
        app,
        &clerk,
        &no,
        &Collection {
            presented_doc_number: id.clone(),
            proxy: None,
        },
    )
    .unwrap();
    // Self-service needs an enabled PIN.
    for ch in [Channel::Ivr, Channel::Kiosk, Channel::Web] {
        assert_eq!(
            code(loss::report(
                app,
                &holder(ch),
                &no,
                &temp_pin(Some("123456"))
            )),
            "PIN_NOT_ENABLED_USE_AGENT"
        );
    }
    pin::change(
        app,
        &clerk,
        &no,
        &PinChange {
            old_pin: "123456".into(),
            new_pin: "135792".into(),
            holder_doc_number: None,
        },
    )
    .unwrap();
    let kiosk = holder(Channel::Kiosk);
    assert_eq!(
        code(loss::report(app, &kiosk, &no, &temp_pin(None))),
        "PIN_REQUIRED"
    );
    assert_eq!(
        code(loss::report(app, &kiosk, &no, &temp_pin(Some("000000")))),
        "PIN_WRONG"
    );
    assert_eq!(
        code(loss::report(app, &kiosk, &no, &temp_pin(Some("12")))),
        "PIN_FORMAT"
    );
    let r = loss::report(app, &kiosk, &no, &temp_pin(Some("135792"))).unwrap();
    assert_eq!(r.card.status, "temporary_loss");
    assert_eq!(r.expires_at.as_deref(), Some("2026-11-28T02:00:00.000Z"));
    assert_eq!(
        r.card.pin_failed, 0,
        "a success resets the wrong-try counter"
    );
    // Already lost.
    assert_eq!(
        code(loss::report(app, &kiosk, &no, &temp_pin(Some("135792")))),
        "CARD_LOST"
    );
    // Written: counter only, with ID; converts the temporary report.
    assert_eq!(
        code(loss::report(app, &agent, &no, &with_id(LossKind::Written))),
        "FORBIDDEN"
    );
    let mut kiosk_counter = kiosk.clone();
    kiosk_counter.role = "clerk".into();
    assert_eq!(
        code(loss::report(
            app,
            &kiosk_counter,
            &no,
            &with_id(LossKind::Written)
        )),
        "LOSS_COUNTER_ONLY"
    );
    let noid = LossRequest {
        kind: LossKind::Written,
        pin: None,
        presented_doc_number: None,
    };
    assert_eq!(code(loss::report(app, &clerk, &no, &noid)), "ID_REQUIRED");
    let wrong = LossRequest {
        kind: LossKind::Written,
        pin: None,
        presented_doc_number: Some("11010519491231002X".into()),
    };
    assert_eq!(code(loss::report(app, &clerk, &no, &wrong)), "ID_MISMATCH");
    let w = loss::report(app, &clerk, &no, &with_id(LossKind::Written)).unwrap();
    assert_eq!(w.card.status, "written_loss");
    let d = persons::detail(app, &clerk, DocumentType::CitizenId, &id).unwrap();
    let reports: Vec<(&str, &str)> = d.cards[0]
        .loss_reports
        .iter()
        .map(|r| (r.kind.as_str(), r.status.as_str()))
        .collect();
    assert_eq!(reports, [("temporary", "converted"), ("written", "active")]);
    // Lift: counter only, ID and the card.
    let lift = |card: &str, doc: &str| LiftRequest {
        presented_doc_number: doc.into(),
        presented_card_no: card.into(),
    };
    assert_eq!(
        code(loss::lift(app, &agent, &no, &lift(&no, &id))),
        "FORBIDDEN"
    );
    assert_eq!(
        code(loss::lift(app, &kiosk_counter, &no, &lift(&no, &id))),
        "LOSS_COUNTER_ONLY"
    );
    assert_eq!(
        code(loss::lift(app, &clerk, &no, &lift("N00000000", &id))),
        "CARD_MISMATCH"
    );
    assert_eq!(
        code(loss::lift(
            app,
            &clerk,
            &no,
            &lift(&no, "11010519491231002X")
        )),
        "ID_MISMATCH"
    );
    assert_eq!(
        loss::lift(app, &clerk, &no, &lift(&no, &id))
            .unwrap()
            .status,
        "active"
    );
    assert_eq!(
        code(loss::lift(app, &clerk, &no, &lift(&no, &id))),
        "CARD_STATE"
    );
    // The phone agent takes a temporary loss after the ID check; it lapses after 7 days.
    let agent_req = |doc: Option<&str>| LossRequest {
        kind: LossKind::Temporary,
        pin: None,
        presented_doc_number: doc.map(str::to_string),
    };
    assert_eq!(
        code(loss::report(app, &agent, &no, &agent_req(None))),
        "ID_REQUIRED"
    );
    assert_eq!(
        code(loss::report(
            app,
            &staff("auditor", "NJ-CARD"),
            &no,
            &agent_req(Some(&id))
        )),
        "FORBIDDEN"
    );
    let r = loss::report(app, &agent, &no, &agent_req(Some(&id))).unwrap();
    assert_eq!(r.card.status, "temporary_loss");
    let later = at(app, t0() + Duration::days(6));
    jobs::run_daily(&later).unwrap();
    assert_eq!(status_of(&later, &id), "temporary_loss");
    let later = at(app, t0() + Duration::days(8));
    let rep = jobs::run_daily(&later).unwrap();
    assert!(rep.lapsed_losses >= 1);
    assert_eq!(status_of(&later, &id), "active");
    let d = persons::detail(&later, &clerk, DocumentType::CitizenId, &id).unwrap();
    assert_eq!(d.cards[0].loss_reports.last().unwrap().status, "lapsed");
    assert!(sent(&later).iter().any(|t| t.contains("挂失")));
    // After a reissue the old card can never be unlocked.
    let re = holders
        .iter()
        .find(|h| h.card_status == "reissuing")
        .unwrap();
    let old = re.card_no.clone().unwrap();
    assert_eq!(
        code(loss::lift(app, &clerk, &old, &lift(&old, &re.id_number))),
        "LOSS_LIFT_AFTER_REISSUE"
    );
}

fn job_rules(app: &App, holders: &[SampleCardholder]) {
    let clerk = staff("clerk", "NJ-CARD");
    // Death recorded for a person with no medical account: cancelled after the policy days.
    let id = id_number("19500101", 501);
    let no = produced_card(app, &clerk, &id, "周故去");
    death::record_death(
        app,
        &clerk,
        &death::DeathRecord {
            doc_number: id.clone(),
            died_on: NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
            death_certificate_no: "SW-1".into(),
        },
    )
    .unwrap();
    let soon = at(app, t0() + Duration::days(10));
    jobs::run_daily(&soon).unwrap();
    assert_eq!(status_of(&soon, &id), "awaiting_collection");
    let later = at(app, t0() + Duration::days(40));
    let r = jobs::run_daily(&later).unwrap();
    assert!(r.cancelled >= 1, "{r:?}");
    let d = persons::detail(&later, &clerk, DocumentType::CitizenId, &id).unwrap();
    assert_eq!(d.cards[0].card.status, "cancelled");
    let last = d.cards[0].timeline.last().unwrap();
    assert_eq!(
        (last.event.as_str(), last.actor.as_str()),
        ("cancel", "system")
    );
    assert_eq!(last.detail["reason"], "death");
    let _ = no;
    // A deceased holder with money on the medical account: left live and reported.
    let dead = holders
        .iter()
        .find(|h| h.card_status == "holder_deceased")
        .expect("a deceased holder sample");
    let card = dead.card_no.clone().unwrap();
    let blocked = r
        .cancel_blocked
        .iter()
        .any(|b| b.card_no.as_deref() == Some(&card));
    let now_status = persons::search(&later, &clerk, &card).unwrap()[0]
        .live_card
        .as_ref()
        .map(|c| c.status.clone());
    if dead.medical_balance_fen > 0 {
        assert!(blocked, "{r:?}");
        assert_eq!(now_status.as_deref(), Some("active"));
    } else {
        assert!(!blocked);
        assert_eq!(now_status, None);
    }
    // Temporary cards expire by themselves.
    let tid = id_number("19880808", 503);
    apply::apply(app, &clerk, &application(&tid, "吴临时")).unwrap();
    let temp = temporary::issue(
        app,
        &clerk,
        &temporary::TemporaryCardRequest {
            presented_doc_number: None,
            doc_number: tid.clone(),
            reason: "住院治疗".into(),
            proof_ref: "ZY-1".into(),
        },
    )
    .unwrap();
    let temp_no = temp.card.card_no.clone();
    let far = at(app, t0() + Duration::days(120));
    let r = jobs::run_daily(&far).unwrap();
    assert!(r.expired_temporary_cards >= 1, "{r:?}");
    let d = persons::detail(&far, &clerk, DocumentType::CitizenId, &tid).unwrap();
    let t = d.cards.iter().find(|c| c.card.card_no == temp_no).unwrap();
    assert_eq!(t.card.status, "expired");
    assert_eq!(t.timeline.last().unwrap().event, "expire");
    assert!(!jobs::run_daily(&far).unwrap().changed_anything());
}

fn search_rules(app: &App, holders: &[SampleCardholder]) {
    let auditor = staff("auditor", "NJ-CARD");
    let h = holders
        .iter()
        .find(|h| h.card_status == "active" && h.card_no.is_some())
        .unwrap();
    let by_id = persons::search(app, &auditor, &h.id_number).unwrap();
    assert_eq!(by_id.len(), 1);
    assert_eq!(by_id[0].name, h.name);
    assert!(by_id[0].doc_number_masked.contains('*'));
    assert_eq!(by_id[0].live_card.as_ref().unwrap().card_no, h.card_no);
    let by_card = persons::search(app, &auditor, h.card_no.as_deref().unwrap()).unwrap();
    assert_eq!(by_card[0].person_ref, by_id[0].person_ref);
    let surname: String = h.name.chars().take(1).collect();
    let by_name = persons::search(app, &auditor, &surname).unwrap();
    assert!(by_name.iter().any(|p| p.person_ref == by_id[0].person_ref));
    assert!(
        persons::search(app, &auditor, "11010519491231002X")
            .unwrap()
            .is_empty()
    );
    assert_eq!(code(persons::search(app, &auditor, "  ")), "QUERY_EMPTY");
    assert_eq!(
        code(persons::search(app, &holder(Channel::Web), "张")),
        "FORBIDDEN"
    );
    let d = persons::detail_by_ref(app, &auditor, by_id[0].person_ref).unwrap();
    assert_eq!(d.person.doc_number, h.id_number);
    assert!(!d.cards.is_empty() && !d.cards[0].timeline.is_empty());
    assert_eq!(
        code(persons::detail(
            app,
            &auditor,
            DocumentType::CitizenId,
            "11010519491231002X"
        )),
        "PERSON_NOT_FOUND"
    );
    assert_eq!(
        code(persons::detail(
            app,
            &auditor,
            DocumentType::CitizenId,
            "110105194912310021"
        )),
        "ID_CHECK_CHAR"
    );
    assert_eq!(
        code(persons::detail_by_ref(app, &auditor, -1)),
        "PERSON_NOT_FOUND"
    );
}

fn roster_rules(app: &App, holders: &[SampleCardholder]) {
    let clerk = staff("clerk", "NJ-CARD");
    let good = id_number("19950606", 601);
    let good2 = id_number("19950606", 603);
    let live_h = holders.iter().find(|h| h.card_status == "active").unwrap();
    let (live, live_name) = (&live_h.id_number, &live_h.name);
    let bad_id = format!(
        "{}{}",
        &good[..17],
        if good.ends_with('0') { '1' } else { '0' }
    );
    let csv = format!(
        "姓名,证件号码,性别,手机号,照片文件名\n\
         甲员工,{good},男,13900000001,a.png\n\
         乙员工,{bad_id},女,,b.png\n\
         甲员工,{good},男,,a.png\n\
         {live_name},{live},,,a.png\n\
         丁员工,{good2},,,missing.jpg\n"
    );
    let mut photos = HashMap::new();
    photos.insert("a.png".to_string(), sample_png(358, 441));
    photos.insert("b.png".to_string(), sample_png(358, 441));
    let mut req = RosterImport {
        format: RosterFormat::Csv,
        file: csv.into_bytes(),
        photos,
        region_code: Some("511000".into()),
        employer: None,
        import_valid_rows: false,
    };
    assert_eq!(
        code(roster::import(app, &staff("auditor", "NJ-CARD"), &req)),
        "FORBIDDEN"
    );
    let r = roster::import(app, &clerk, &req).unwrap();
    let codes: Vec<Option<&str>> = r.rows.iter().map(|r| r.code.as_deref()).collect();
    assert_eq!(
        codes,
        vec![
            None,
            Some("ID_CHECK_CHAR"),
            Some("DUPLICATE_ROW"),
            Some("CARD_LIVE_EXISTS"),
            Some("PHOTO_MISSING")
        ]
    );
    assert_eq!(r.rows[0].row, 2);
    assert!(!r.imported);
    assert_eq!(r.cards_created, 0);
    assert!(persons::search(app, &clerk, &good).unwrap().is_empty());
    req.import_valid_rows = true;
    let r = roster::import(app, &clerk, &req).unwrap();
    assert!(r.imported);
    assert_eq!((r.cards_created, r.persons_created), (1, 1));
    assert!(r.rows[0].card_ref.is_some());
    assert_eq!(status_of(app, &good), "applied");
    // XLSX.
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in ["证件号码", "姓名", "照片文件名"].iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    sheet.write_string(1, 0, &good2).unwrap();
    sheet.write_string(1, 1, "丁员工").unwrap();
    sheet.write_string(1, 2, "a.png").unwrap();
    let xlsx = book.save_to_buffer().unwrap();
    let x = RosterImport {
        format: RosterFormat::Xlsx,
        file: xlsx,
        employer: Some("NOPE".into()),
        import_valid_rows: false,
        ..req.clone()
    };
    assert_eq!(code(roster::import(app, &clerk, &x)), "EMPLOYER_NOT_FOUND");
    let x = RosterImport {
        employer: None,
        ..x
    };
    let r = roster::import(app, &clerk, &x).unwrap();
    assert!(r.imported, "{r:?}");
    assert_eq!(status_of(app, &good2), "applied");
    // File errors.
    let file = |format, bytes: &[u8]| RosterImport {
        format,
        file: bytes.to_vec(),
        ..req.clone()
    };
    assert_eq!(
        code(roster::import(
            app,
            &clerk,
            &file(RosterFormat::Xlsx, b"PK junk")
        )),
        "ROSTER_FORMAT"
    );
    assert_eq!(
        code(roster::import(
            app,
            &clerk,
            &file(RosterFormat::Csv, b"\xff\xfe\x00")
        )),
        "ROSTER_ENCODING"
    );
    assert_eq!(
        code(roster::import(
            app,
            &clerk,
            &file(RosterFormat::Csv, b"\n\n")
        )),
        "ROSTER_EMPTY"
    );
    assert_eq!(
        code(roster::import(
            app,
            &clerk,
            &file(RosterFormat::Csv, "姓名,证件号码\n".as_bytes())
        )),
        "ROSTER_EMPTY"
    );
    assert_eq!(
        code(roster::import(
            app,
            &clerk,
            &file(RosterFormat::Csv, "姓名,电话\n甲,1\n".as_bytes())
        )),
        "ROSTER_HEADER"
    );
}

fn scenario(url: &str) {
    let (app, holders) = setup(url);
    apply_rules(&app, &holders);
    production_rules(&app, &holders);
    collection_rules(&app);
    loss_rules(&app, &holders);
    roster_rules(&app, &holders);
    search_rules(&app, &holders);
    job_rules(&app, &holders);
    let v = sscard_service::audit::verify(&app).unwrap();
    assert!(v.first_broken.is_none(), "{v:?}");
}

#[test]
fn lifecycle_a_on_sqlite() {
    let (_d, url) = sscard_testkit::sqlite_url();
    scenario(&url);
}

#[test]
fn lifecycle_a_on_postgres() {
    let Some(url) = sscard_testkit::postgres_url() else {
        return;
    };
    scenario(&url);
}
