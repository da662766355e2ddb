//! Delivering one webhook request: the stored body, signed now with every valid
//! secret, POSTed through the SSRF-guarded client. A 2xx answer is a delivery; anything
//! else (or no answer) is retried by the worker.

use super::{signature, ssrf, store::Row};
use crate::notifications::mail::SendError;
use chrono::Utc;
use secrecy::SecretString;
use std::time::Duration;
use uuid::Uuid;

/// Sends webhook requests.
#[derive(Clone)]
pub struct Deliverer {
    http: reqwest::Client,
    key: SecretString,
    allow_private: bool,
    production: bool,
}

impl Deliverer {
    pub fn new(
        key: SecretString,
        allow_private: bool,
        production: bool,
        timeout: Duration,
    ) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(std::sync::Arc::new(ssrf::GuardedResolver { allow_private }))
            .user_agent("GuestGuard-Webhooks/1")
            .build()
            .map_err(|e| format!("webhook client: {e}"))?;
        Ok(Self {
            http,
            key,
            allow_private,
            production,
        })
    }

    /// The secrets that sign a delivery to `webhook` now: the current one, and the
    /// previous one while its overlap lasts.
    pub fn secrets(&self, webhook: &Row) -> Vec<String> {
        let mut secrets = vec![signature::secret(
            &self.key,
            webhook.id,
            webhook.secret_version,
        )];
        if webhook
            .previous_valid_until
            .is_some_and(|until| until > Utc::now())
            && webhook.secret_version > 1
        {
            secrets.push(signature::secret(
                &self.key,
                webhook.id,
                webhook.secret_version - 1,
            ));
        }
        secrets
    }

    /// POSTs `body` (delivery `id` of `event_type`) to the webhook's URL; `Ok` with the
    /// receiver's status on a 2xx answer.
    pub async fn deliver(
        &self,
        webhook: &Row,
        id: Uuid,
        event_type: &str,
        body: &[u8],
    ) -> Result<u16, SendError> {
        // Literal addresses never reach the resolver: check them (and the form) here.
        let url = ssrf::check(&webhook.url, true, self.production)
            .await
            .map_err(|refusal| SendError::Permanent {
                error: refusal.to_string(),
                code: None,
            })?;
        if !self.allow_private {
            if let Some(ip) = match url.host() {
                Some(url::Host::Ipv4(ip)) => Some(std::net::IpAddr::V4(ip)),
                Some(url::Host::Ipv6(ip)) => Some(std::net::IpAddr::V6(ip)),
                _ => None,
            } {
                if !ssrf::is_public(ip) {
                    return Err(SendError::Permanent {
                        error: ssrf::Refusal::Private(ip).to_string(),
                        code: None,
                    });
                }
            }
        }
        let header = signature::header(&self.secrets(webhook), Utc::now().timestamp(), body);
        let response = self
            .http
            .post(url)
            .header("Content-Type", "application/json")
            .header(signature::HEADER, header)
            .header("GuestGuard-Event", event_type)
            .header("GuestGuard-Delivery", id.to_string())
            .body(body.to_vec())
            .send()
            .await
            .map_err(|e| SendError::Transient {
                error: describe(&e),
                code: None,
            })?;
        let status = response.status();
        if status.is_success() {
            Ok(status.as_u16())
        } else {
            let detail: String = response
                .text()
                .await
                .unwrap_or_default()
                .chars()
                .take(200)
                .collect();
            Err(SendError::Transient {
                error: format!("the receiver answered {status}: {detail}"),
                code: Some(i32::from(status.as_u16())),
            })
        }
    }
}

/// A request error with its causes.
fn describe(error: &reqwest::Error) -> String {
    let mut text = if error.is_timeout() {
        "the receiver did not answer in time".to_owned()
    } else if error.is_connect() {
        "the receiver could not be reached".to_owned()
    } else {
        "the request failed".to_owned()
    };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
