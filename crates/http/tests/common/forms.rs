//! A browser without a browser for the HTML channels (console, portal, kiosk, admin): requests
//! through the real router with a cookie jar, form posts, and the page that comes back.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::response::Response;
use sscard_service::App;
use tower::ServiceExt;

/// A page as the router answered it.
pub struct Page {
    pub status: StatusCode,
    /// The `Location` header ("" when none).
    pub location: String,
    /// Every `Set-Cookie` header, as sent.
    pub set_cookies: Vec<String>,
    pub content_type: String,
    pub csp: String,
    pub disposition: String,
    pub bytes: Vec<u8>,
    /// The body as text (lossy for binary bodies).
    pub body: String,
}

impl Page {
    /// Reads a response of the router.
    pub async fn read(resp: Response) -> Page {
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec();
        let h = |name| {
            headers
                .get(name)
                .map(|v: &header::HeaderValue| v.to_str().unwrap().to_string())
                .unwrap_or_default()
        };
        Page {
            status,
            location: h(header::LOCATION),
            set_cookies: headers
                .get_all(header::SET_COOKIE)
                .iter()
                .map(|v| v.to_str().unwrap().to_string())
                .collect(),
            content_type: h(header::CONTENT_TYPE),
            csp: h(header::CONTENT_SECURITY_POLICY),
            disposition: h(header::CONTENT_DISPOSITION),
            body: String::from_utf8_lossy(&bytes).into_owned(),
            bytes,
        }
    }

    /// The page's CSRF token (the hidden `csrf_token` field).
    pub fn csrf(&self) -> String {
        let i = self
            .body
            .find("name=\"csrf_token\" value=\"")
            .unwrap_or_else(|| panic!("no CSRF field in {}", self.body));
        let rest = &self.body[i + 25..];
        rest[..rest.find('"').unwrap()].to_string()
    }

    pub fn has(&self, needle: &str) -> bool {
        self.body.contains(needle)
    }
}

/// Percent-encoding of a form field.
pub fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// An `application/x-www-form-urlencoded` body.
pub fn form_body(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// One browser: the router plus its cookies (a cookie set empty is forgotten).
pub struct Browser {
    pub r: Router,
    pub cookies: Vec<(String, String)>,
}

impl Browser {
    pub fn new(app: App) -> Browser {
        Browser {
            r: sscard_http::router(app),
            cookies: Vec::new(),
        }
    }

    /// The value of the cookie `name`.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }

    pub fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Sends `req` as it is and keeps the cookies of the answer.
    pub async fn send(&mut self, req: Request<Body>) -> Page {
        let page = Page::read(self.r.clone().oneshot(req).await.unwrap()).await;
        for c in &page.set_cookies {
            let kv = c.split(';').next().unwrap();
            let (k, v) = kv.split_once('=').unwrap();
            self.cookies.retain(|(name, _)| name != k);
            if !v.is_empty() {
                self.cookies.push((k.to_string(), v.to_string()));
            }
        }
        page
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let req = Request::builder()
            .uri(path)
            .header(header::COOKIE, self.cookie_header())
            .body(Body::empty())
            .unwrap();
        self.send(req).await
    }

    /// Posts a form with `fields`.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let req = Request::builder()
            .method("POST")
            .uri(path)
            .header(header::COOKIE, self.cookie_header())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form_body(fields)))
            .unwrap();
        self.send(req).await
    }

    /// Posts a `multipart/form-data` form with `fields` and `files` (field, file name, bytes).
    pub async fn post_multipart(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &str, Vec<u8>)],
    ) -> Page {
        let boundary = "----sscardtestboundary7MA4YWxk";
        let mut body: Vec<u8> = Vec::new();
        for (k, v) in fields {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
                )
                .as_bytes(),
            );
        }
        for (k, name, bytes) in files {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let req = Request::builder()
            .method("POST")
            .uri(path)
            .header(header::COOKIE, self.cookie_header())
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(Body::from(body))
            .unwrap();
        self.send(req).await
    }
}
