//! Text messages through a provider. [`SmsProvider`] is what the worker needs; the
//! one implementation speaks Twilio's Messages API (`POST
//! /2010-04-01/Accounts/{sid}/Messages.json`, basic auth, form body), which several
//! providers offer too.

use super::{mail::SendError, settings::SmsSettings};
use secrecy::ExposeSecret;
use std::time::Duration;

/// Sends one text message; `Ok` carries the provider's message id.
pub trait SmsProvider: Send + Sync {
    fn send(
        &self,
        to: &str,
        body: &str,
    ) -> impl std::future::Future<Output = Result<Accepted, SendError>> + Send;
}

/// What the provider said when it accepted a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    pub message_id: Option<String>,
    pub status: i32,
}

/// A Twilio-compatible HTTP API.
#[derive(Clone)]
pub struct TwilioCompatible {
    http: reqwest::Client,
    settings: SmsSettings,
}

impl TwilioCompatible {
    pub fn new(settings: SmsSettings, timeout: Duration) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("GuestGuard-Notifications/1")
            .build()
            .map_err(|e| format!("SMS client: {e}"))?;
        Ok(Self { http, settings })
    }
}

#[derive(serde::Deserialize)]
struct Created {
    sid: Option<String>,
}

impl SmsProvider for TwilioCompatible {
    async fn send(&self, to: &str, body: &str) -> Result<Accepted, SendError> {
        let url = format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            self.settings.api_url, self.settings.account_sid
        );
        let response = self
            .http
            .post(url)
            .basic_auth(
                &self.settings.account_sid,
                Some(self.settings.auth_token.expose_secret()),
            )
            .form(&[("To", to), ("From", &self.settings.from), ("Body", body)])
            .send()
            .await
            .map_err(|e| SendError::Transient {
                error: format!("the SMS provider could not be reached: {e}"),
                code: None,
            })?;
        let status = response.status();
        let code = Some(i32::from(status.as_u16()));
        if status.is_success() {
            let created: Option<Created> = response.json().await.ok();
            return Ok(Accepted {
                message_id: created.and_then(|created| created.sid),
                status: i32::from(status.as_u16()),
            });
        }
        let detail: String = response
            .text()
            .await
            .unwrap_or_default()
            .chars()
            .take(300)
            .collect();
        let error = format!("the SMS provider answered {status}: {detail}");
        if status.is_client_error() && status.as_u16() != 429 && status.as_u16() != 408 {
            Err(SendError::Permanent { error, code })
        } else {
            Err(SendError::Transient { error, code })
        }
    }
}
