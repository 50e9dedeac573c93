//! A request of the signed APIs (banks, designated institutions, 12333 platforms): the four
//! signature headers `X-Key-Id`, `X-Timestamp`, `X-Nonce`, `X-Signature`, with the method, the
//! path and the body they sign. The checks themselves are the service's
//! ([`sscard_service::signing`]); each API authenticates its own kind of caller.

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, Uri};
use sscard_service::signing::SignedRequest;

/// What a signed request carries besides its meaning.
pub(crate) struct Signed {
    key_id: String,
    timestamp: String,
    nonce: String,
    signature: String,
    method: Method,
    path: String,
    pub(crate) body: Bytes,
}

impl Signed {
    /// Reads the signature headers (trimmed; a missing one is empty, which the checks refuse).
    pub(crate) fn new(method: &Method, uri: &Uri, headers: &HeaderMap, body: Bytes) -> Signed {
        let h = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .trim()
                .to_string()
        };
        Signed {
            key_id: h("x-key-id"),
            timestamp: h("x-timestamp"),
            nonce: h("x-nonce"),
            signature: h("x-signature"),
            method: method.clone(),
            path: uri.path().to_string(),
            body,
        }
    }

    /// The request as the service's signature checks see it.
    pub(crate) fn request(&self) -> SignedRequest<'_> {
        SignedRequest {
            key_id: &self.key_id,
            timestamp: &self.timestamp,
            nonce: &self.nonce,
            signature: &self.signature,
            method: self.method.as_str(),
            path: &self.path,
            body: &self.body,
        }
    }
}
