//! Email over SMTP with `lettre`: one connection per message (no pool to go stale when
//! the server restarts), plain text or `STARTTLS` or TLS from settings, multipart
//! messages (plain text and HTML) with our own `Message-ID`.

use super::settings::{SmtpSettings, SmtpTls};
use lettre::{
    message::{
        header::{HeaderName, HeaderValue},
        Mailbox, MultiPart,
    },
    transport::smtp::{
        authentication::Credentials,
        client::{Certificate, Tls, TlsParameters},
    },
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
};
use secrecy::ExposeSecret;

/// One email, rendered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email {
    pub to_name: Option<String>,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The one-click unsubscribe address (RFC 8058), for reminders.
    pub list_unsubscribe: Option<String>,
}

/// Why an email was not accepted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth another try later: the server is unreachable, timed out or answered 4xx.
    #[error("{error}")]
    Transient { error: String, code: Option<i32> },
    /// The server refused it for good (5xx), or it cannot be built (a bad address).
    #[error("{error}")]
    Permanent { error: String, code: Option<i32> },
}

/// What the server said when it accepted a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    /// Our `Message-ID` of the message.
    pub message_id: String,
    /// The SMTP reply code (250).
    pub code: i32,
}

/// Parses `Name <address>` or a bare address.
pub fn parse_mailbox(raw: &str) -> Option<Mailbox> {
    raw.parse().ok()
}

/// Sends emails through the configured SMTP server.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// A mailer for these settings (no connection is made yet).
    pub fn new(smtp: &SmtpSettings) -> Result<Self, String> {
        let from = parse_mailbox(&smtp.from).ok_or("MAIL_FROM is not an email address")?;
        let tls_parameters = || -> Result<TlsParameters, String> {
            let mut builder = TlsParameters::builder(smtp.host.clone());
            if let Some(path) = &smtp.ca_cert {
                let pem = std::fs::read(path)
                    .map_err(|e| format!("reading SMTP_CA_CERT {}: {e}", path.display()))?;
                let certificate = Certificate::from_pem(&pem)
                    .map_err(|e| format!("SMTP_CA_CERT {}: {e}", path.display()))?;
                builder = builder.add_root_certificate(certificate);
            }
            builder.build().map_err(|e| format!("SMTP TLS: {e}"))
        };
        let tls = match smtp.tls {
            SmtpTls::None => Tls::None,
            SmtpTls::StartTls => Tls::Required(tls_parameters()?),
            SmtpTls::Tls => Tls::Wrapper(tls_parameters()?),
        };
        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp.host.clone())
                .port(smtp.port)
                .tls(tls)
                .timeout(Some(smtp.timeout));
        if let Some((user, password)) = &smtp.credentials {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                password.expose_secret().to_owned(),
            ));
        }
        Ok(Self {
            transport: builder.build(),
            from,
        })
    }

    /// The `Message-ID` of notification `id`: unique, and the same on every attempt.
    pub fn message_id(&self, id: uuid::Uuid) -> String {
        format!("<{id}@{}>", self.from.email.domain())
    }

    /// Sends `email` as the message of notification `id`.
    pub async fn send(&self, id: uuid::Uuid, email: &Email) -> Result<Accepted, SendError> {
        let permanent = |error: String| SendError::Permanent { error, code: None };
        let to: lettre::Address = email
            .to
            .parse()
            .map_err(|e| permanent(format!("the address {:?} is not valid: {e}", email.to)))?;
        let message_id = self.message_id(id);
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(email.to_name.clone(), to))
            .subject(email.subject.clone())
            .message_id(Some(message_id.clone()))
            .date_now();
        if let Some(url) = &email.list_unsubscribe {
            builder = builder
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe"),
                    format!("<{url}>"),
                ))
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                    "List-Unsubscribe=One-Click".to_owned(),
                ));
        }
        let message = builder
            .multipart(MultiPart::alternative_plain_html(
                email.text.clone(),
                email.html.clone(),
            ))
            .map_err(|e| permanent(format!("the message cannot be built: {e}")))?;
        match self.transport.send(message).await {
            Ok(response) => Ok(Accepted {
                message_id,
                code: response.code().to_string().parse().unwrap_or(250),
            }),
            Err(error) => {
                let code = error
                    .status()
                    .and_then(|code| code.to_string().parse().ok());
                let text = error_text(&error);
                if error.is_permanent() {
                    Err(SendError::Permanent { error: text, code })
                } else {
                    Err(SendError::Transient { error: text, code })
                }
            }
        }
    }
}

/// An SMTP error with its causes (lettre's own message is often just "network error").
fn error_text(error: &lettre::transport::smtp::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
