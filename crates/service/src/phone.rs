//! The 12333 phone channel's use cases (seed 000): what a caller can look up by keypad, and the
//! call log. The menu itself lives in the `sscard-ivr` crate; it calls these functions, and the
//! existing PIN ([`crate::cards::pin`]) and loss ([`crate::cards::loss`]) use cases, so the
//! phone follows exactly the rules of every other channel.
//!
//! - **Personal account** (3-1): the caller keys the ID number ([`card_of_id`]), then the card's
//!   PIN ([`login`], checked on the card's shared wrong-try counter by
//!   [`pin::verify`](crate::cards::pin::verify)); only the [`PhoneAuth`] that a correct PIN
//!   yields opens [`medical_balance`], [`unemployment_continuous_months`] and
//!   [`monthly_pension`].
//! - **Work-injury / work-death benefits** (3-2, 3-3): by social security number (= the citizen
//!   ID number) alone, as the seed describes. An unknown number and a number without such
//!   benefits get the same empty answer, so the line cannot tell who is insured.
//! - **Employer medical contributions** (3-4): by employer number (单位社保号), the latest month.
//! - **PIN change** (5-1): the card is found by the last 8 characters of its number
//!   ([`cards_by_suffix`]; the letter X is keyed as `*`); when several live cards share those
//!   characters, the caller's ID number picks the card ([`holder_id_matches`]).
//! - **Loss** (5-2): [`loss_precheck`] tells at once whether self-service is possible (the PIN
//!   must be enabled), before the caller keys the PIN.
//! - **Call log**: one `ivr_calls` row per call ([`start_call`], [`end_call`]) with the deepest
//!   menu reached (`3-1-1`) and the outcome; callers are stored only as a keyed hash of their
//!   number ([`caller_hash`]).
//! - **IVR platforms**: the HTTP session API is for registered platforms that sign their
//!   requests ([`register_platform`], [`authenticate_platform`]).
//!
//! Refusals: `PHONE_NO_CARD`, `PERSON_NOT_FOUND`, the ID number's codes (`ID_*`),
//! `CARD_SUFFIX_FORMAT`, `EMPLOYER_NO_FORMAT`, `EMPLOYER_NOT_FOUND`, those of
//! [`pin::verify`](crate::cards::pin::verify) and [`loss::report`](crate::cards::loss::report),
//! `IVR_PLATFORM_CODE`, `IVR_PLATFORM_EXISTS`, `SIGNATURE_INVALID`, `FORBIDDEN`.

use serde::Serialize;
use sscard_domain::Money;
use sscard_domain::card::CardStatus;
use sscard_domain::ids::{DocumentType, IdNumber};
use sscard_store::repo::{cards as card_repo, ivr as repo, ledger as ledger_repo, persons, ts};

use crate::App;
use crate::access::{self, ADMIN, CARDHOLDER, SYSTEM};
use crate::audit::{self, Actor, Change, Channel};
use crate::cards::loss::{self, LossKind, LossRequest};
use crate::cards::pin;
use crate::error::{ErrorKind, ServiceError};
use crate::signing::{self, SignedRequest};

/// A keyed hash of a caller's number (32 hex characters): the call log and the rate limiter
/// never hold the number itself. Calls without caller ID hash the word `anonymous`.
pub fn caller_hash(app: &App, number: &str) -> String {
    let number = number.trim();
    let input = if number.is_empty() {
        "anonymous".to_string()
    } else {
        format!("ivr-caller\0{number}")
    };
    // The PIN key's MAC with a fixed, purpose-specific salt: deterministic, and worthless to
    // anyone holding only the database.
    let sealed = app.pin_key().seal_pin(&input, *b"sscard-ivr-call!");
    let mac = sealed.rsplit('$').next().unwrap_or_default();
    mac.chars().take(32).collect()
}

/// The actor of a phone self-service call: a cardholder on the IVR channel, named by the
/// caller's hash (never the number, never an ID number).
pub fn caller_actor(caller_hash: &str) -> Actor {
    Actor {
        username: format!("12333:{}", &caller_hash[..caller_hash.len().min(12)]),
        role: CARDHOLDER.into(),
        agency: String::new(),
        channel: Channel::Ivr,
    }
}

/// Opens the call log row of a new call; returns the call id.
pub fn start_call(app: &App, caller_hash: &str) -> Result<i64, ServiceError> {
    let now = ts(app.now());
    Ok(app
        .store()
        .write(|tx| repo::insert_call(tx, &now, caller_hash))?)
}

/// Closes a call's log row: `menu` is the deepest menu reached (`3-1-1`), `outcome` how the
/// call ended (`hangup`, `transfer`, `timeout`, `invalid`, `no_input`,
/// `rate_limited`, `error`). A call already closed is left as it is.
pub fn end_call(app: &App, call_id: i64, menu: &str, outcome: &str) -> Result<(), ServiceError> {
    let now = ts(app.now());
    app.store()
        .write(|tx| repo::finish_call(tx, call_id, &now, menu, outcome))?;
    Ok(())
}

/// A call log row.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CallRecord {
    pub id: i64,
    pub started_at: String,
    pub ended_at: Option<String>,
    pub caller_hash: String,
    pub menu: String,
    pub outcome: String,
}

/// A call's log row (monitoring and tests).
pub fn call_record(app: &App, call_id: i64) -> Result<Option<CallRecord>, ServiceError> {
    Ok(app
        .store()
        .read(|tx| repo::call_by_id(tx, call_id))?
        .map(|r| CallRecord {
            id: r.id,
            started_at: r.started_at,
            ended_at: r.ended_at,
            caller_hash: r.caller_hash,
            menu: r.menu,
            outcome: r.outcome,
        }))
}

/// `PHONE_NO_CARD`.
fn no_card() -> ServiceError {
    ServiceError::not_found(
        "PHONE_NO_CARD",
        "未查询到该身份证号码名下可用的社会保障卡",
        "No usable social security card was found for this ID number",
    )
}

fn parse_id(app: &App, id_number: &str) -> Result<IdNumber, ServiceError> {
    IdNumber::parse(id_number, app.today()).map_err(|e| ServiceError::invalid(&e))
}

/// The card a caller identified by ID number speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneCard {
    pub card_no: String,
    pub status: CardStatus,
    /// Whether the PIN was changed from the initial one (enabled).
    pub pin_changed: bool,
    pub pin_locked: bool,
    person_id: i64,
}

/// The card of the holder of `id_number`: the live regular card once it has a number (from
/// collection on), else a live temporary card. Errors: the ID number's codes,
/// `PERSON_NOT_FOUND`, `PHONE_NO_CARD`.
pub fn card_of_id(app: &App, id_number: &str) -> Result<PhoneCard, ServiceError> {
    let id = parse_id(app, id_number)?;
    app.store().read(|tx| {
        let person =
            persons::person_by_document(tx, DocumentType::CitizenId.as_str(), id.as_str())?
                .ok_or_else(crate::persons::person_not_found)?;
        let usable = |c: &card_repo::CardRow| {
            c.card_no.is_some()
                && !matches!(
                    c.status,
                    CardStatus::Applied | CardStatus::InProduction | CardStatus::AwaitingCollection
                )
        };
        let card = match card_repo::live_card_of(tx, person.id)? {
            Some(c) if usable(&c) => Some(c),
            _ => card_repo::live_temporary_card_of(tx, person.id)?.filter(|c| usable(c)),
        };
        let card = card.ok_or_else(no_card)?;
        Ok(PhoneCard {
            card_no: card.card_no.clone().unwrap_or_default(),
            status: card.status,
            pin_changed: card.pin_changed,
            pin_locked: card.pin_locked,
            person_id: person.id,
        })
    })
}

/// Proof that the caller keyed the right PIN for a card; only [`login`] makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneAuth {
    person_id: i64,
    card_no: String,
}

impl PhoneAuth {
    /// The card the caller proved.
    pub fn card_no(&self) -> &str {
        &self.card_no
    }
}

/// Checks the card's PIN on the shared wrong-try counter and opens the personal queries.
/// Errors: those of [`pin::verify`] (`PIN_WRONG`, `PIN_LOCKED`, `PIN_FORMAT`, `CARD_DEAD`…).
pub fn login(
    app: &App,
    actor: &Actor,
    card: &PhoneCard,
    pin_entered: &str,
) -> Result<PhoneAuth, ServiceError> {
    access::require(actor, &[CARDHOLDER])?;
    pin::verify(app, actor, &card.card_no, pin_entered)?;
    Ok(PhoneAuth {
        person_id: card.person_id,
        card_no: card.card_no.clone(),
    })
}

/// Where a card's PIN stands, to tell the caller.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PinState {
    /// Wrong tries left before the PIN locks.
    pub tries_left: u32,
    pub locked: bool,
    /// Where to ask: the card region's own hotline.
    pub hotline: String,
}

/// The PIN counter of a card and its region's hotline. Errors: `CARD_NOT_FOUND`.
pub fn pin_state(app: &App, card_no: &str) -> Result<PinState, ServiceError> {
    let today = app.today();
    app.store().read(|tx| {
        let card = card_repo::card_by_no(tx, card_no)?
            .ok_or_else(|| crate::cards::card_not_found(card_no))?;
        let policy = crate::cards::policy_of(tx, &card.region_code, today)?;
        let threshold = i64::from(policy.pin_lock_threshold);
        Ok(PinState {
            tries_left: (threshold - card.pin_failed).max(0) as u32,
            locked: card.pin_locked,
            hotline: policy.local_hotline,
        })
    })
}

/// The medical personal account balance (`None`: no such account).
pub fn medical_balance(app: &App, auth: &PhoneAuth) -> Result<Option<Money>, ServiceError> {
    Ok(app
        .store()
        .read(|tx| ledger_repo::person_balance(tx, auth.person_id, "medical_personal"))?
        .map(Money::from_fen))
}

/// Continuous unemployment insurance contribution.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ContinuousMonths {
    /// Months in the unbroken run ending at `through`.
    pub months: u32,
    /// The latest paid month, `YYYY-MM`.
    pub through: String,
}

fn month_index(m: &str) -> Option<i64> {
    let (y, mo) = m.split_once('-')?;
    Some(y.parse::<i64>().ok()? * 12 + mo.parse::<i64>().ok()? - 1)
}

/// The unbroken run of paid unemployment-insurance months ending at the latest paid month
/// (`None`: never paid).
pub fn unemployment_continuous_months(
    app: &App,
    auth: &PhoneAuth,
) -> Result<Option<ContinuousMonths>, ServiceError> {
    let months = app
        .store()
        .read(|tx| repo::unemployment_paid_months(tx, auth.person_id))?;
    Ok(continuous_run(&months))
}

/// The run of consecutive months at the head of `newest_first`.
fn continuous_run(newest_first: &[String]) -> Option<ContinuousMonths> {
    let first = newest_first.first()?;
    let mut expected = month_index(first)?;
    let mut n = 0u32;
    for m in newest_first {
        if month_index(m) != Some(expected) {
            break;
        }
        n += 1;
        expected -= 1;
    }
    Some(ContinuousMonths {
        months: n,
        through: first.clone(),
    })
}

/// The basic pension being paid monthly (`None`: no pension in payment).
pub fn monthly_pension(app: &App, auth: &PhoneAuth) -> Result<Option<Money>, ServiceError> {
    let benefits = app
        .store()
        .read(|tx| persons::benefits_of(tx, auth.person_id))?;
    Ok(benefits
        .iter()
        .rev()
        .find(|b| b.kind == "pension" && b.status == "active")
        .map(|b| Money::from_fen(b.monthly_fen)))
}

/// A work-injury benefit (工伤待遇).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct InjuryBenefit {
    /// Disability grade 1 (worst) to 10.
    pub disability_grade: Option<i64>,
    /// Monthly disability allowance (伤残津贴).
    pub monthly: Money,
    /// One-off disability grant (一次性伤残补助金).
    pub lump_sum: Money,
    /// Being paid (`false`: ended or suspended).
    pub active: bool,
}

/// A work-death benefit (工亡待遇), paid to the dependants.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DeathBenefit {
    /// One-off work-death grant (一次性工亡补助金).
    pub lump_sum: Money,
    /// Funeral grant (丧葬补助金).
    pub funeral_grant: Money,
    /// Already paid out (`false`: waiting to be claimed).
    pub paid: bool,
}

/// The benefits of `kind` of the person with this ID number; nobody and nothing look alike.
fn benefits_by_id(
    app: &App,
    id_number: &str,
    kind: &str,
) -> Result<Vec<persons::BenefitRow>, ServiceError> {
    let id = parse_id(app, id_number)?;
    Ok(app.store().read(|tx| {
        let Some(p) =
            persons::person_by_document(tx, DocumentType::CitizenId.as_str(), id.as_str())?
        else {
            return Ok(Vec::new());
        };
        let all = persons::benefits_of(tx, p.id)?;
        Ok::<_, sscard_store::StoreError>(all.into_iter().filter(|b| b.kind == kind).collect())
    })?)
}

fn detail_i64(detail_json: &str, key: &str) -> Option<i64> {
    serde_json::from_str::<serde_json::Value>(detail_json)
        .ok()?
        .get(key)?
        .as_i64()
}

/// Work-injury benefits by social security number (= citizen ID number). Empty when the number
/// is unknown or has none. Errors: the ID number's codes.
pub fn work_injury_benefits(
    app: &App,
    id_number: &str,
) -> Result<Vec<InjuryBenefit>, ServiceError> {
    Ok(benefits_by_id(app, id_number, "work_injury")?
        .iter()
        .map(|b| InjuryBenefit {
            disability_grade: detail_i64(&b.detail_json, "disability_grade"),
            monthly: Money::from_fen(b.monthly_fen),
            lump_sum: Money::from_fen(b.lump_sum_fen),
            active: b.status == "active",
        })
        .collect())
}

/// Work-death benefits by the deceased's social security number. Empty when the number is
/// unknown or has none. Errors: the ID number's codes.
pub fn work_death_benefits(app: &App, id_number: &str) -> Result<Vec<DeathBenefit>, ServiceError> {
    Ok(benefits_by_id(app, id_number, "work_death")?
        .iter()
        .map(|b| DeathBenefit {
            lump_sum: Money::from_fen(b.lump_sum_fen),
            funeral_grant: Money::from_fen(
                detail_i64(&b.detail_json, "funeral_grant_fen").unwrap_or(0),
            ),
            paid: b.status == "ended",
        })
        .collect())
}

/// An employer's medical insurance contributions of its latest month.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct EmployerMedical {
    /// `YYYY-MM`.
    pub month: String,
    pub persons: i64,
    /// The employer's part.
    pub employer: Money,
    /// The employees' part, withheld by the employer.
    pub personal: Money,
}

/// The latest month's medical contributions of the employer with this employer number
/// (`None`: no contributions yet). Errors: `EMPLOYER_NO_FORMAT`, `EMPLOYER_NOT_FOUND`.
pub fn employer_medical(
    app: &App,
    employer_no: &str,
) -> Result<Option<EmployerMedical>, ServiceError> {
    let no = employer_no.trim();
    if no.is_empty() || no.len() > 32 || !no.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(ServiceError::new(
            ErrorKind::BadRequest,
            "EMPLOYER_NO_FORMAT",
            "单位社保号格式不正确",
            "The employer number is not well formed",
        ));
    }
    app.store().read(|tx| {
        let employer = persons::employer_by_no(tx, no)?.ok_or_else(|| {
            ServiceError::not_found(
                "EMPLOYER_NOT_FOUND",
                "未查询到该单位社保号",
                "No employer has this number",
            )
        })?;
        Ok(
            repo::employer_medical_latest(tx, employer.id)?.map(|r| EmployerMedical {
                month: r.month,
                persons: r.persons,
                employer: Money::from_fen(r.employer_fen),
                personal: Money::from_fen(r.personal_fen),
            }),
        )
    })
}

/// The live cards whose number ends with these 8 characters (the letter X keyed as `*` is
/// accepted too). Errors: `CARD_SUFFIX_FORMAT`.
pub fn cards_by_suffix(app: &App, keyed: &str) -> Result<Vec<String>, ServiceError> {
    let suffix: String = keyed
        .trim()
        .chars()
        .map(|c| {
            if c == '*' {
                'X'
            } else {
                c.to_ascii_uppercase()
            }
        })
        .collect();
    if suffix.len() != 8 || !suffix.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(ServiceError::new(
            ErrorKind::BadRequest,
            "CARD_SUFFIX_FORMAT",
            "请输入社保卡卡号的后 8 位(字母 X 用星号键代替)",
            "Key the last 8 characters of the card number (the letter X as *)",
        ));
    }
    // A card number is 9 characters: the first is one of 36, so 36 exact look-ups on the
    // unique index instead of a suffix scan.
    let candidates: Vec<String> = ('0'..='9')
        .chain('A'..='Z')
        .map(|first| format!("{first}{suffix}"))
        .collect();
    let cards = app
        .store()
        .read(|tx| repo::cards_by_numbers(tx, &candidates))?;
    Ok(cards
        .into_iter()
        .filter(|c| c.status.is_live())
        .filter_map(|c| c.card_no)
        .collect())
}

/// Whether `id_number` is the ID number of the card's holder (false for an unknown card).
/// Errors: the ID number's codes.
pub fn holder_id_matches(app: &App, card_no: &str, id_number: &str) -> Result<bool, ServiceError> {
    let id = parse_id(app, id_number)?;
    app.store().read(|tx| {
        let Some(card) = card_repo::card_by_no(tx, card_no)? else {
            return Ok(false);
        };
        let holder = persons::person_by_id(tx, card.person_id)?;
        Ok(holder.is_some_and(|p| {
            p.doc_type == DocumentType::CitizenId.as_str() && p.doc_number == id.as_str()
        }))
    })
}

/// Whether the holder may report this card lost by phone self-service, before asking for the
/// PIN: the loss use case's own checks with no PIN given. `Ok` when only the PIN is missing;
/// otherwise its refusal (`PIN_NOT_ENABLED_USE_AGENT`: put the caller through to an agent).
pub fn loss_precheck(app: &App, actor: &Actor, card_no: &str) -> Result<(), ServiceError> {
    let req = LossRequest {
        kind: LossKind::Temporary,
        pin: None,
        presented_doc_number: None,
    };
    match loss::report(app, actor, card_no, &req) {
        Err(e) if e.code == "PIN_REQUIRED" => Ok(()),
        Err(e) => Err(e),
        Ok(_) => Err(ServiceError::internal(
            "a self-service loss report went through without a PIN",
        )),
    }
}

/// An IVR platform's credentials, shown once at registration.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PlatformCredentials {
    pub code: String,
    pub name: String,
    pub key_id: String,
    pub secret: String,
}

/// An authenticated IVR platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IvrPlatform {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub key_id: String,
}

/// Registers an IVR platform allowed to use the HTTP session API (admin or system). The key id
/// is `IVR-<code>`; the secret is random and shown only here.
/// Errors: `FORBIDDEN`, `IVR_PLATFORM_CODE`, `IVR_PLATFORM_EXISTS`.
pub fn register_platform(
    app: &App,
    actor: &Actor,
    code: &str,
    name: &str,
) -> Result<PlatformCredentials, ServiceError> {
    access::require(actor, &[ADMIN, SYSTEM])?;
    let code = code.trim().to_ascii_uppercase();
    let name = name.trim();
    if !(2..=32).contains(&code.len())
        || !code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        || name.is_empty()
    {
        return Err(ServiceError::new(
            ErrorKind::BadRequest,
            "IVR_PLATFORM_CODE",
            "平台代码须为 2-32 位字母、数字、- 或 _,名称不能为空",
            "The platform code must be 2-32 letters, digits, - or _, and the name non-empty",
        ));
    }
    let key_id = format!("IVR-{code}");
    let secret =
        hex::encode(crate::secrets::random_salt()) + &hex::encode(crate::secrets::random_salt());
    let now = app.now();
    app.store().write(|tx| {
        match repo::insert_platform(tx, &code, name, &key_id, &secret, &ts(now)) {
            Ok(_) => {}
            Err(e) if e.is_constraint() => {
                return Err(ServiceError::new(
                    ErrorKind::Conflict,
                    "IVR_PLATFORM_EXISTS",
                    "该平台代码已登记",
                    "A platform with this code is already registered",
                ));
            }
            Err(e) => return Err(e.into()),
        }
        audit::record(
            tx,
            now,
            actor,
            Change {
                action: "ivr_platform.register",
                entity: "ivr_platform",
                entity_id: &key_id,
                before: serde_json::Value::Null,
                after: serde_json::json!({"code": code, "name": name}),
            },
        )?;
        Ok(())
    })?;
    Ok(PlatformCredentials {
        code,
        name: name.to_string(),
        key_id,
        secret,
    })
}

/// Authenticates a signed request of an IVR platform (the scheme of [`signing`]). An inactive
/// platform is refused like an unknown key. Errors: those of [`signing::verify`].
pub fn authenticate_platform(
    app: &App,
    req: &SignedRequest<'_>,
) -> Result<IvrPlatform, ServiceError> {
    signing::verify(app, req, |tx, key_id| {
        Ok(repo::platform_by_key_id(tx, key_id)?
            .filter(|p| p.active)
            .map(|p| {
                (
                    p.api_secret.clone(),
                    IvrPlatform {
                        id: p.id,
                        code: p.code,
                        name: p.name,
                        key_id: p.key_id,
                    },
                )
            }))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn months(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_continuous_run_stops_at_the_first_gap() {
        assert_eq!(continuous_run(&[]), None);
        let r = continuous_run(&months(&["2026-10", "2026-09", "2026-08", "2026-06"])).unwrap();
        assert_eq!(r.months, 3);
        assert_eq!(r.through, "2026-10");
        let r = continuous_run(&months(&["2026-01", "2025-12", "2025-11"])).unwrap();
        assert_eq!(r.months, 3, "the run crosses the year");
        let r = continuous_run(&months(&["2026-01", "2025-11"])).unwrap();
        assert_eq!(r.months, 1);
    }
}
