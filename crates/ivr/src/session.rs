//! Calls held between requests of the HTTP session API (`/api/v1/ivr/`): another IVR platform
//! owns the telephony and asks this engine what to play after each key.
//!
//! A call is known by an unguessable token and only to the platform that started it. A call
//! idle for longer than the session timeout is closed (outcome `timeout`) at the next request
//! of anyone; a platform that forgot its call cannot hold a session open.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use sscard_service::{App, ErrorKind, ServiceError};

use crate::engine::{Action, Call, Collect, Event, Services};
use crate::limit::RateLimiter;
use crate::prompts::{Lang, Segment, segments};

/// Idle time after which a session is closed.
pub const DEFAULT_SESSION_TIMEOUT: Duration = Duration::from_secs(120);
/// Most keys in one request.
pub const MAX_KEYS_PER_REQUEST: usize = 64;

/// A prompt to play, as text and as the sound files and sayings of the PBX prompt set.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PromptOut {
    pub id: String,
    pub text: String,
    pub segments: Vec<Segment>,
}

/// What the platform must do after a request.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Turn {
    pub call_id: String,
    /// The prompts to play, in order.
    pub prompts: Vec<PromptOut>,
    /// `collect` (wait for keys, see `collect`), `transfer` (put the caller through to an
    /// agent), `hangup`, or `none` (keys buffered: an entry is not complete yet).
    pub action: String,
    pub collect: Option<Collect>,
    /// Whether the call is over.
    pub ended: bool,
}

struct Session {
    call: Call,
    owner: i64,
    last: Instant,
}

/// The calls of the HTTP session API.
pub struct Hub {
    sessions: Mutex<HashMap<String, Arc<Mutex<Session>>>>,
    limiter: Arc<RateLimiter>,
    timeout: Duration,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl Default for Hub {
    fn default() -> Self {
        Hub::new(Arc::new(RateLimiter::default()), DEFAULT_SESSION_TIMEOUT)
    }
}

/// `IVR_CALL_NOT_FOUND`.
pub fn call_not_found() -> ServiceError {
    ServiceError::not_found(
        "IVR_CALL_NOT_FOUND",
        "通话不存在或已结束(超时)",
        "No such call, or it has ended (timed out)",
    )
}

fn keys_format() -> ServiceError {
    ServiceError::new(
        ErrorKind::BadRequest,
        "IVR_KEYS_FORMAT",
        format!("按键只能是 0-9、* 和 #,每次最多 {MAX_KEYS_PER_REQUEST} 个"),
        format!("Keys are 0-9, * and #, at most {MAX_KEYS_PER_REQUEST} per request"),
    )
}

fn turn(token: &str, call: &Call, actions: Vec<Action>) -> Turn {
    let lang = call.lang();
    let mut prompts = Vec::new();
    let mut action = "none".to_string();
    let mut collect = None;
    for a in actions {
        match a {
            Action::Play(ps) => prompts.extend(ps.iter().map(|p| PromptOut {
                id: p.id.to_string(),
                text: p.text(lang),
                segments: segments(p),
            })),
            Action::Collect(c) => {
                action = "collect".into();
                collect = Some(c);
            }
            Action::Transfer => action = "transfer".into(),
            Action::Hangup => action = "hangup".into(),
        }
    }
    Turn {
        call_id: token.to_string(),
        prompts,
        action,
        collect,
        ended: call.is_over(),
    }
}

impl Hub {
    /// A hub with its own rate limiter and session timeout.
    pub fn new(limiter: Arc<RateLimiter>, timeout: Duration) -> Hub {
        Hub {
            sessions: Mutex::new(HashMap::new()),
            limiter,
            timeout,
        }
    }

    fn services(&self, app: &App) -> Services {
        Services {
            app: app.clone(),
            limiter: self.limiter.clone(),
        }
    }

    /// Closes the sessions idle for longer than the timeout.
    pub fn sweep(&self, app: &App) {
        let expired: Vec<Arc<Mutex<Session>>> = {
            let mut map = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let mut gone = Vec::new();
            map.retain(|_, s| {
                let idle = s
                    .try_lock()
                    .map(|s| now.duration_since(s.last) > self.timeout)
                    .unwrap_or(false);
                if idle {
                    gone.push(s.clone());
                }
                !idle
            });
            gone
        };
        let svc = self.services(app);
        for s in expired {
            let mut s = s.lock().unwrap_or_else(|e| e.into_inner());
            s.call.expire(&svc);
        }
    }

    /// Answers a new call for platform `owner`.
    pub fn start(
        &self,
        app: &App,
        owner: i64,
        caller: &str,
        lang: Lang,
    ) -> Result<Turn, ServiceError> {
        self.sweep(app);
        let svc = self.services(app);
        let (call, actions) = Call::start(&svc, caller, lang)?;
        let token = format!("c{}", hex::encode(rand::random::<[u8; 16]>()));
        let t = turn(&token, &call, actions);
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                token,
                Arc::new(Mutex::new(Session {
                    call,
                    owner,
                    last: Instant::now(),
                })),
            );
        Ok(t)
    }

    fn with_call<T>(
        &self,
        app: &App,
        owner: i64,
        token: &str,
        f: impl FnOnce(&Services, &mut Call) -> T,
    ) -> Result<T, ServiceError> {
        self.sweep(app);
        let s = self
            .sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(token)
            .cloned()
            .ok_or_else(call_not_found)?;
        let mut s = s.lock().unwrap_or_else(|e| e.into_inner());
        if s.owner != owner || s.call.is_over() {
            return Err(call_not_found());
        }
        s.last = Instant::now();
        let out = f(&self.services(app), &mut s.call);
        let over = s.call.is_over();
        drop(s);
        if over {
            self.sessions
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(token);
        }
        Ok(out)
    }

    /// Keys pressed (`0-9*#`, one or more) or, with `timeout`, the wait ran out.
    pub fn keys(
        &self,
        app: &App,
        owner: i64,
        token: &str,
        keys: &str,
        timeout: bool,
    ) -> Result<Turn, ServiceError> {
        if keys.len() > MAX_KEYS_PER_REQUEST
            || !keys.chars().all(|c| matches!(c, '0'..='9' | '*' | '#'))
            || (keys.is_empty() && !timeout)
        {
            return Err(keys_format());
        }
        self.with_call(app, owner, token, |svc, call| {
            let mut actions = Vec::new();
            for k in keys.chars() {
                actions.extend(call.key(svc, k));
                if call.is_over() {
                    break;
                }
            }
            if timeout && !call.is_over() {
                actions.extend(call.timeout(svc));
            }
            // When the keys completed several entries, only the last step's collect counts.
            let last_collect = actions
                .iter()
                .rposition(|a| matches!(a, Action::Collect(_)));
            let actions: Vec<Action> = actions
                .into_iter()
                .enumerate()
                .filter(|(i, a)| !matches!(a, Action::Collect(_)) || Some(*i) == last_collect)
                .map(|(_, a)| a)
                .collect();
            turn(token, call, actions)
        })
    }

    /// The caller hung up.
    pub fn hangup(&self, app: &App, owner: i64, token: &str) -> Result<Turn, ServiceError> {
        self.with_call(app, owner, token, |svc, call| {
            let actions = call.handle(svc, Event::Hangup);
            turn(token, call, actions)
        })
    }

    /// Calls in progress.
    pub fn len(&self) -> usize {
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    /// Whether no call is in progress.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
