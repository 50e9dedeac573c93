//! View models shared by the console's templates: the page frame ([`Chrome`]), errors and
//! notices.

use askama::Template;
use sscard_service::ServiceError;
use sscard_service::access;

use super::{Can, Msg, Staff};

/// The logged-in member as the page frame shows them.
#[derive(Debug, Clone)]
pub struct UserView {
    pub display_name: String,
    pub username: String,
    pub role: String,
    pub role_label: String,
    pub agency: String,
    pub csrf: String,
    pub can: Can,
    pub must_change_password: bool,
}

/// The page frame: language, title, navigation, the member, the language switch.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub m: Msg,
    pub lang: &'static str,
    pub title: String,
    /// Which navigation entry is current (`home`, `search`, `batches`, `roster`).
    pub nav: &'static str,
    pub user: Option<UserView>,
    /// The same page in the other language.
    pub switch_href: String,
}

impl Chrome {
    /// The frame of a page at `path` (without a query string).
    pub fn new(m: Msg, staff: Option<&Staff>, title: &str, nav: &'static str, path: &str) -> Self {
        let user = staff.map(|s| UserView {
            display_name: s.session.display_name.clone(),
            username: s.session.username.clone(),
            role: s.session.role.clone(),
            role_label: role_label(m, &s.session.role),
            agency: s.session.agency.clone(),
            csrf: s.session.csrf_token.clone(),
            can: s.can(),
            must_change_password: s.session.must_change_password,
        });
        let sep = if path.contains('?') { '&' } else { '?' };
        Chrome {
            m,
            lang: if m.en { "en" } else { "zh-CN" },
            title: title.to_string(),
            nav,
            user,
            switch_href: format!("{path}{sep}lang={}", if m.en { "zh" } else { "en" }),
        }
    }

    /// The CSRF token for forms (empty without a session).
    pub fn csrf(&self) -> &str {
        self.user.as_ref().map(|u| u.csrf.as_str()).unwrap_or("")
    }

    /// What the member may do (nothing without a session).
    pub fn can(&self) -> Can {
        self.user.as_ref().map(|u| u.can).unwrap_or_default()
    }

    /// Whether the navigation entry `name` is the current page.
    pub fn is_nav(&self, name: &str) -> bool {
        self.nav == name
    }
}

/// The label of a staff role in the page's language.
pub fn role_label(m: Msg, role: &str) -> String {
    if m.en {
        match role {
            access::CLERK => "Counter clerk",
            access::SUPERVISOR => "Supervisor",
            access::PHONE_AGENT => "12333 agent",
            access::ADMIN => "Administrator",
            access::AUDITOR => "Auditor (read-only)",
            other => other,
        }
        .to_string()
    } else {
        access::role_label_zh(role).to_string()
    }
}

/// A service error as shown in a page: code and the message in the page's language.
#[derive(Debug, Clone)]
pub struct ErrorView {
    pub code: String,
    pub message: String,
}

impl ErrorView {
    pub fn of(m: Msg, e: &ServiceError) -> Self {
        ErrorView {
            code: e.code.to_string(),
            message: if m.en {
                e.message_en.clone()
            } else {
                e.message.clone()
            },
        }
    }
}

/// A whole-page error.
#[derive(Template)]
#[template(path = "console/error.html")]
pub struct ErrorPage {
    pub c: Chrome,
    pub error: ErrorView,
}

/// Formats fen as yuan with two decimals (`12345` → `123.45`).
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let a = fen.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

/// An RFC 3339 UTC instant shown in Beijing time (`2026-11-21 14:05`); other text unchanged.
pub fn local_time(s: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(s) {
        Ok(t) => sscard_domain::clock::to_shanghai(t.with_timezone(&chrono::Utc))
            .format("%Y-%m-%d %H:%M")
            .to_string(),
        Err(_) => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_and_time() {
        assert_eq!(yuan(12345), "123.45");
        assert_eq!(yuan(-5), "-0.05");
        assert_eq!(yuan(0), "0.00");
        assert_eq!(local_time("2026-11-21T06:05:00Z"), "2026-11-21 14:05");
        assert_eq!(local_time("2026-11-21"), "2026-11-21");
    }
}
