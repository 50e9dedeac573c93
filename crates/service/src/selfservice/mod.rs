//! Self-service for cardholders: the records behind the web portal and the kiosk, the portal's
//! login with the query password, certificates of insurance (参保证明) and the public service
//! guide.
//!
//! # Who is the caller
//!
//! A cardholder acting for themself is an [`Actor`] with role [`access::CARDHOLDER`] whose
//! `username` names the person: **`person:<persons.id>`** (build it with [`cardholder_actor`],
//! read it back with [`actor_person_id`]). The channel is `Web` for the portal, `Kiosk` for the
//! touchscreen, `Ivr` for the phone menu. Such an actor may only read and act on its own
//! person; any other person is refused with `RECORD_NOT_YOURS`.
//!
//! Staff may read a person's records too (a counter clerk answering a question): the roles
//! `clerk`, `supervisor`, `phone_agent` and the read-only `auditor` ([`READER_STAFF`]).
//! Everyone else gets `FORBIDDEN`.
//!
//! - [`records`]: every area of a person's records ([`records::person_records`]) and the
//!   contribution history with a year filter ([`records::contributions`]);
//! - [`auth`]: portal login with the 18-digit ID number and the query password, the forced
//!   change of the initial password, lockout, sessions with timeout;
//! - [`certificate`]: the 参保证明 PDF with its verification code, and the public check;
//! - [`guide`]: the service guide generated from the region's policy, hotlines, agencies.

pub mod auth;
pub mod certificate;
pub mod guide;
pub mod records;

use crate::access::{self, AUDITOR, CARDHOLDER, CLERK, PHONE_AGENT, SUPERVISOR};
use crate::audit::{Actor, Channel};
use crate::error::{ErrorKind, ServiceError};

/// The prefix of a cardholder actor's username: `person:<id>`.
pub const PERSON_PREFIX: &str = "person:";

/// Staff roles that may read a person's self-service records.
pub const READER_STAFF: [&str; 4] = [CLERK, SUPERVISOR, PHONE_AGENT, AUDITOR];

/// The actor of a cardholder acting for themself on a self-service channel.
pub fn cardholder_actor(person_id: i64, channel: Channel) -> Actor {
    Actor {
        username: format!("{PERSON_PREFIX}{person_id}"),
        role: CARDHOLDER.to_string(),
        agency: String::new(),
        channel,
    }
}

/// The person a cardholder actor stands for (`None` for any other actor).
pub fn actor_person_id(actor: &Actor) -> Option<i64> {
    if actor.role != CARDHOLDER {
        return None;
    }
    actor
        .username
        .strip_prefix(PERSON_PREFIX)
        .and_then(|s| s.parse().ok())
}

/// `RECORD_NOT_YOURS`: a cardholder asked for someone else's records.
pub fn not_yours() -> ServiceError {
    ServiceError::new(
        ErrorKind::Forbidden,
        "RECORD_NOT_YOURS",
        "只能查询和办理本人的业务",
        "You may only see and act on your own records",
    )
}

/// Refuses unless the actor is the cardholder `person_id` themself or reading staff.
pub fn require_reader(actor: &Actor, person_id: i64) -> Result<(), ServiceError> {
    if actor.role == CARDHOLDER {
        return match actor_person_id(actor) {
            Some(p) if p == person_id => Ok(()),
            _ => Err(not_yours()),
        };
    }
    access::require(actor, &READER_STAFF)
}

/// Refuses unless the actor is the cardholder `person_id` themself (actions that only the
/// holder may take on a self-service channel: changing the query password…).
pub fn require_self(actor: &Actor, person_id: i64) -> Result<(), ServiceError> {
    access::require(actor, &[CARDHOLDER])?;
    match actor_person_id(actor) {
        Some(p) if p == person_id => Ok(()),
        _ => Err(not_yours()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cardholder_actor_names_its_person() {
        let a = cardholder_actor(42, Channel::Web);
        assert_eq!(a.username, "person:42");
        assert_eq!(actor_person_id(&a), Some(42));
        assert!(require_reader(&a, 42).is_ok());
        assert_eq!(require_reader(&a, 43).unwrap_err().code, "RECORD_NOT_YOURS");
        let mut forged = a.clone();
        forged.role = "clerk".into();
        assert_eq!(actor_person_id(&forged), None);
        let admin = Actor {
            username: "admin1".into(),
            role: "admin".into(),
            agency: String::new(),
            channel: Channel::Counter,
        };
        assert_eq!(require_reader(&admin, 42).unwrap_err().code, "FORBIDDEN");
        let clerk = Actor {
            role: "clerk".into(),
            ..admin
        };
        assert!(require_reader(&clerk, 42).is_ok());
        assert_eq!(require_self(&clerk, 42).unwrap_err().code, "FORBIDDEN");
    }
}
