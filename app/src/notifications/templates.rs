//! What notifications say. Guests' emails are written in the event's language (English,
//! French, Spanish or German) with the event's time in its own time zone; hosts' emails
//! are in English. Every email has a plain-text and an HTML part with the same content;
//! every value put into HTML is escaped.
//!
//! A guest's email never mentions a score, band, reason or review: the confirmation of
//! an answer held for the host's review reads exactly like any other.

use super::mail::Email;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// The languages guests' emails are written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Language {
    En,
    Fr,
    Es,
    De,
}

impl Language {
    pub const ALL: [Self; 4] = [Self::En, Self::Fr, Self::Es, Self::De];

    /// The code stored on the event (`en`, `fr`, `es`, `de`).
    pub fn code(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Fr => "fr",
            Self::Es => "es",
            Self::De => "de",
        }
    }

    /// The language of a stored code; English for anything else.
    pub fn from_code(code: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|language| language.code() == code)
            .unwrap_or(Self::En)
    }

    fn locale(self) -> chrono::Locale {
        match self {
            Self::En => chrono::Locale::en_GB,
            Self::Fr => chrono::Locale::fr_FR,
            Self::Es => chrono::Locale::es_ES,
            Self::De => chrono::Locale::de_DE,
        }
    }

    fn words(self) -> &'static Words {
        match self {
            Self::En => &EN,
            Self::Fr => &FR,
            Self::Es => &ES,
            Self::De => &DE,
        }
    }
}

/// Every sentence of a guest's email, in one language. `{event}`, `{host}`, `{guest}`,
/// `{when}`, `{deadline}` are filled in.
struct Words {
    date_format: &'static str,
    hello: &'static str,
    invite_subject: &'static str,
    invite_intro: &'static str,
    when: &'static str,
    where_: &'static str,
    answer_by: &'static str,
    answer_now: &'static str,
    button: &'static str,
    personal: &'static str,
    reminder_subject: &'static str,
    reminder_intro: &'static str,
    reminder_why: &'static str,
    unsubscribe: &'static str,
    confirm_subject: &'static str,
    confirm_intro: &'static str,
    attending: &'static str,
    declined: &'static str,
    maybe: &'static str,
    plus_ones: &'static str,
    change_until: &'static str,
    change: &'static str,
    change_button: &'static str,
}

const EN: Words = Words {
    date_format: "%A %-d %B %Y, %H:%M",
    hello: "Hello {guest},",
    invite_subject: "You're invited: {event}",
    invite_intro: "{host} invites you to {event}.",
    when: "When",
    where_: "Where",
    answer_by: "Please answer by {deadline}:",
    answer_now: "Please let us know whether you can come:",
    button: "Answer the invitation",
    personal: "This link is yours alone: please do not forward it.",
    reminder_subject: "Reminder: will you come to {event}?",
    reminder_intro: "We have not had your answer to {host}'s invitation to {event} yet.",
    reminder_why: "You receive this reminder because you were invited to {event}.",
    unsubscribe: "No more reminders",
    confirm_subject: "We received your answer: {event}",
    confirm_intro: "Thank you, {guest}. We received your answer to {event}:",
    attending: "I will come",
    declined: "I cannot come",
    maybe: "Maybe",
    plus_ones: "with {n} more",
    change_until: "You can change your answer with your personal link until {deadline}:",
    change: "You can change your answer with your personal link:",
    change_button: "See or change my answer",
};

const FR: Words = Words {
    date_format: "%A %-d %B %Y à %H:%M",
    hello: "Bonjour {guest},",
    invite_subject: "Vous êtes invité·e : {event}",
    invite_intro: "{host} vous invite à {event}.",
    when: "Quand",
    where_: "Où",
    answer_by: "Merci de répondre avant le {deadline} :",
    answer_now: "Dites-nous si vous pourrez venir :",
    button: "Répondre à l'invitation",
    personal: "Ce lien est personnel : merci de ne pas le transférer.",
    reminder_subject: "Rappel : viendrez-vous à {event} ?",
    reminder_intro:
        "Nous n'avons pas encore reçu votre réponse à l'invitation de {host} à {event}.",
    reminder_why: "Vous recevez ce rappel parce que vous êtes invité·e à {event}.",
    unsubscribe: "Ne plus recevoir de rappels",
    confirm_subject: "Nous avons bien reçu votre réponse : {event}",
    confirm_intro: "Merci, {guest}. Nous avons bien reçu votre réponse à {event} :",
    attending: "Je viendrai",
    declined: "Je ne pourrai pas venir",
    maybe: "Peut-être",
    plus_ones: "avec {n} personne(s) de plus",
    change_until:
        "Vous pouvez modifier votre réponse avec votre lien personnel jusqu'au {deadline} :",
    change: "Vous pouvez modifier votre réponse avec votre lien personnel :",
    change_button: "Voir ou modifier ma réponse",
};

const ES: Words = Words {
    date_format: "%A %-d de %B de %Y, %H:%M",
    hello: "Hola, {guest}:",
    invite_subject: "Estás invitado/a: {event}",
    invite_intro: "{host} te invita a {event}.",
    when: "Cuándo",
    where_: "Dónde",
    answer_by: "Responde antes del {deadline}:",
    answer_now: "Dinos si podrás venir:",
    button: "Responder a la invitación",
    personal: "Este enlace es solo tuyo: no lo reenvíes.",
    reminder_subject: "Recordatorio: ¿vendrás a {event}?",
    reminder_intro: "Aún no hemos recibido tu respuesta a la invitación de {host} a {event}.",
    reminder_why: "Recibes este recordatorio porque estás invitado/a a {event}.",
    unsubscribe: "No recibir más recordatorios",
    confirm_subject: "Hemos recibido tu respuesta: {event}",
    confirm_intro: "Gracias, {guest}. Hemos recibido tu respuesta a {event}:",
    attending: "Iré",
    declined: "No podré ir",
    maybe: "Quizás",
    plus_ones: "con {n} persona(s) más",
    change_until: "Puedes cambiar tu respuesta con tu enlace personal hasta el {deadline}:",
    change: "Puedes cambiar tu respuesta con tu enlace personal:",
    change_button: "Ver o cambiar mi respuesta",
};

const DE: Words = Words {
    date_format: "%A, %-d. %B %Y, %H:%M Uhr",
    hello: "Hallo {guest},",
    invite_subject: "Einladung: {event}",
    invite_intro: "{host} lädt Sie zu {event} ein.",
    when: "Wann",
    where_: "Wo",
    answer_by: "Bitte antworten Sie bis {deadline}:",
    answer_now: "Bitte sagen Sie uns, ob Sie kommen können:",
    button: "Auf die Einladung antworten",
    personal: "Dieser Link gilt nur für Sie: Bitte leiten Sie ihn nicht weiter.",
    reminder_subject: "Erinnerung: Kommen Sie zu {event}?",
    reminder_intro:
        "Wir haben Ihre Antwort auf die Einladung von {host} zu {event} noch nicht erhalten.",
    reminder_why: "Sie erhalten diese Erinnerung, weil Sie zu {event} eingeladen sind.",
    unsubscribe: "Keine Erinnerungen mehr",
    confirm_subject: "Ihre Antwort ist angekommen: {event}",
    confirm_intro: "Danke, {guest}. Ihre Antwort zu {event} ist angekommen:",
    attending: "Ich komme",
    declined: "Ich kann nicht kommen",
    maybe: "Vielleicht",
    plus_ones: "mit {n} weiteren Personen",
    change_until: "Sie können Ihre Antwort bis {deadline} über Ihren persönlichen Link ändern:",
    change: "Sie können Ihre Antwort über Ihren persönlichen Link ändern:",
    change_button: "Antwort ansehen oder ändern",
};

/// What an email says about the event.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct EventFacts {
    pub id: uuid::Uuid,
    pub name: String,
    pub starts_at: DateTime<Utc>,
    pub time_zone: String,
    pub venue: String,
    pub description: String,
    pub rsvp_deadline: Option<DateTime<Utc>>,
    pub language: String,
    pub host_name: String,
    pub host_email: String,
}

impl EventFacts {
    fn language(&self) -> Language {
        Language::from_code(&self.language)
    }

    /// A moment in the event's time zone, in `language`, with the zone's name.
    fn local(&self, at: DateTime<Utc>, language: Language) -> String {
        match self.time_zone.parse::<Tz>() {
            Ok(zone) => format!(
                "{} ({})",
                at.with_timezone(&zone)
                    .format_localized(language.words().date_format, language.locale()),
                self.time_zone
            ),
            Err(_) => format!(
                "{} (UTC)",
                at.format_localized(language.words().date_format, language.locale())
            ),
        }
    }
}

/// Replaces `{name}` placeholders.
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    values
        .iter()
        .fold(template.to_owned(), |text, (name, value)| {
            text.replace(&format!("{{{name}}}"), value)
        })
}

/// Escapes text for HTML.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Builds the text and HTML parts side by side.
struct Body {
    text: String,
    html: String,
}

impl Body {
    fn new() -> Self {
        Self {
            text: String::new(),
            html: String::new(),
        }
    }

    fn paragraph(&mut self, line: &str) -> &mut Self {
        self.text.push_str(line);
        self.text.push_str("\n\n");
        self.html.push_str(&format!(
            "<p style=\"margin:0 0 16px\">{}</p>\n",
            escape(line).replace('\n', "<br>")
        ));
        self
    }

    fn facts(&mut self, rows: &[(&str, &str)]) -> &mut Self {
        self.html.push_str(
            "<table role=\"presentation\" style=\"margin:0 0 16px;border-collapse:collapse\">\n",
        );
        for (label, value) in rows {
            self.text.push_str(&format!("{label}: {value}\n"));
            self.html.push_str(&format!(
                "<tr><th scope=\"row\" style=\"text-align:left;padding:2px 12px 2px 0;color:#4b5563;font-weight:600\">{}</th><td style=\"padding:2px 0\">{}</td></tr>\n",
                escape(label),
                escape(value)
            ));
        }
        self.text.push('\n');
        self.html.push_str("</table>\n");
        self
    }

    /// A sentence followed by a link (a button in HTML).
    fn link(&mut self, lead: &str, label: &str, url: &str) -> &mut Self {
        self.text.push_str(&format!("{lead}\n{url}\n\n"));
        self.html.push_str(&format!(
            "<p style=\"margin:0 0 8px\">{}</p>\n<p style=\"margin:0 0 16px\"><a href=\"{}\" style=\"display:inline-block;background:#15803d;color:#ffffff;padding:10px 18px;border-radius:6px;text-decoration:none;font-weight:600\">{}</a></p>\n<p style=\"margin:0 0 16px;font-size:12px;color:#4b5563;word-break:break-all\">{}</p>\n",
            escape(lead),
            escape(url),
            escape(label),
            escape(url)
        ));
        self
    }

    fn small(&mut self, line: &str) -> &mut Self {
        self.text.push_str(line);
        self.text.push_str("\n\n");
        self.html.push_str(&format!(
            "<p style=\"margin:0 0 12px;font-size:12px;color:#4b5563\">{}</p>\n",
            escape(line)
        ));
        self
    }

    fn finish(&self, to_name: Option<&str>, to: &str, subject: String, lang: &str) -> Email {
        Email {
            to_name: to_name.map(str::to_owned),
            to: to.to_owned(),
            html: format!(
                "<!DOCTYPE html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\"><title>{}</title></head>\n<body style=\"margin:0;padding:24px;background:#f3f4f6;font-family:system-ui,-apple-system,Segoe UI,sans-serif;color:#111827;line-height:1.5\">\n<div style=\"max-width:560px;margin:0 auto;background:#ffffff;border-radius:8px;padding:24px\">\n{}</div>\n</body></html>\n",
                escape(&subject),
                self.html
            ),
            subject,
            text: self.text.trim_end().to_owned() + "\n",
            list_unsubscribe: None,
        }
    }
}

/// The guest a message is for.
#[derive(Clone, Debug)]
pub struct Recipient<'a> {
    pub name: &'a str,
    pub email: &'a str,
}

fn event_facts_rows(event: &EventFacts, language: Language) -> Vec<(String, String)> {
    let words = language.words();
    vec![
        (
            words.when.to_owned(),
            event.local(event.starts_at, language),
        ),
        (words.where_.to_owned(), event.venue.clone()),
    ]
}

fn add_facts(body: &mut Body, event: &EventFacts, language: Language) {
    let rows = event_facts_rows(event, language);
    let rows: Vec<(&str, &str)> = rows
        .iter()
        .map(|(label, value)| (label.as_str(), value.as_str()))
        .collect();
    body.facts(&rows);
}

/// An invitation with the guest's personal link.
pub fn invitation(event: &EventFacts, guest: &Recipient<'_>, link: &str) -> Email {
    let language = event.language();
    let words = language.words();
    let values = [
        ("guest", guest.name),
        ("event", event.name.as_str()),
        ("host", event.host_name.as_str()),
    ];
    let mut body = Body::new();
    body.paragraph(&fill(words.hello, &values))
        .paragraph(&fill(words.invite_intro, &values));
    add_facts(&mut body, event, language);
    if !event.description.trim().is_empty() {
        body.paragraph(event.description.trim());
    }
    let lead = match event.rsvp_deadline {
        Some(deadline) => fill(
            words.answer_by,
            &[("deadline", &event.local(deadline, language))],
        ),
        None => words.answer_now.to_owned(),
    };
    body.link(&lead, words.button, link).small(words.personal);
    body.finish(
        Some(guest.name),
        guest.email,
        fill(words.invite_subject, &values),
        language.code(),
    )
}

/// A reminder to a guest who has not answered, with a one-click unsubscribe.
pub fn reminder(event: &EventFacts, guest: &Recipient<'_>, link: &str, unsubscribe: &str) -> Email {
    let language = event.language();
    let words = language.words();
    let values = [
        ("guest", guest.name),
        ("event", event.name.as_str()),
        ("host", event.host_name.as_str()),
    ];
    let mut body = Body::new();
    body.paragraph(&fill(words.hello, &values))
        .paragraph(&fill(words.reminder_intro, &values));
    add_facts(&mut body, event, language);
    let lead = match event.rsvp_deadline {
        Some(deadline) => fill(
            words.answer_by,
            &[("deadline", &event.local(deadline, language))],
        ),
        None => words.answer_now.to_owned(),
    };
    body.link(&lead, words.button, link)
        .small(words.personal)
        .small(&fill(words.reminder_why, &values));
    body.text
        .push_str(&format!("{}: {unsubscribe}\n\n", words.unsubscribe));
    body.html.push_str(&format!(
        "<p style=\"margin:0;font-size:12px\"><a href=\"{}\" style=\"color:#4b5563\">{}</a></p>\n",
        escape(unsubscribe),
        escape(words.unsubscribe)
    ));
    let mut email = body.finish(
        Some(guest.name),
        guest.email,
        fill(words.reminder_subject, &values),
        language.code(),
    );
    email.list_unsubscribe = Some(unsubscribe.to_owned());
    email
}

/// The guest's answer in their language (`attending`, `declined`, `maybe`).
fn answer_words(language: Language, response: &str, plus_ones: i32) -> String {
    let words = language.words();
    let answer = match response {
        "attending" => words.attending,
        "declined" => words.declined,
        _ => words.maybe,
    };
    if response == "attending" && plus_ones > 0 {
        format!(
            "{answer} ({})",
            fill(words.plus_ones, &[("n", &plus_ones.to_string())])
        )
    } else {
        answer.to_owned()
    }
}

/// The receipt of a guest's answer (also of one held for review: it reads the same).
pub fn confirmation(
    event: &EventFacts,
    guest: &Recipient<'_>,
    response: &str,
    plus_ones: i32,
    link: Option<&str>,
) -> Email {
    let language = event.language();
    let words = language.words();
    let values = [
        ("guest", guest.name),
        ("event", event.name.as_str()),
        ("host", event.host_name.as_str()),
    ];
    let mut body = Body::new();
    body.paragraph(&fill(words.confirm_intro, &values))
        .paragraph(&answer_words(language, response, plus_ones));
    add_facts(&mut body, event, language);
    if let Some(link) = link {
        let lead = match event.rsvp_deadline {
            Some(deadline) => fill(
                words.change_until,
                &[("deadline", &event.local(deadline, language))],
            ),
            None => words.change.to_owned(),
        };
        body.link(&lead, words.change_button, link)
            .small(words.personal);
    }
    body.finish(
        Some(guest.name),
        guest.email,
        fill(words.confirm_subject, &values),
        language.code(),
    )
}

/// An invitation by text message.
pub fn invitation_sms(event: &EventFacts, link: &str) -> String {
    let language = event.language();
    let words = language.words();
    let values = [
        ("event", event.name.as_str()),
        ("host", event.host_name.as_str()),
    ];
    format!(
        "{} {}: {}. {link}",
        fill(words.invite_intro, &values),
        words.when,
        event.local(event.starts_at, language)
    )
}

/// A reminder by text message.
pub fn reminder_sms(event: &EventFacts, link: &str) -> String {
    let language = event.language();
    let words = language.words();
    let values = [
        ("event", event.name.as_str()),
        ("host", event.host_name.as_str()),
    ];
    format!("{} {link}", fill(words.reminder_subject, &values))
}

/// A receipt by text message.
pub fn confirmation_sms(event: &EventFacts, response: &str, plus_ones: i32) -> String {
    let language = event.language();
    let words = language.words();
    let values = [("event", event.name.as_str()), ("guest", "")];
    format!(
        "{} {}",
        fill(words.confirm_subject, &values),
        answer_words(language, response, plus_ones)
    )
}

// ---- To hosts (English) ----

/// What a host is told about a guest's fraud check.
#[derive(Clone, Debug, Default)]
pub struct Check {
    pub score: Option<u32>,
    pub risk: Option<String>,
    pub reasons: Vec<String>,
}

impl Check {
    fn label(&self) -> String {
        match (
            self.score,
            self.risk.as_deref().and_then(crate::fraud::RiskBand::parse),
        ) {
            (Some(score), Some(band)) => format!("{} (score {score} of 100)", band.label()),
            _ => "Unscored (the fraud check was unavailable)".to_owned(),
        }
    }

    fn reasons(&self) -> Vec<String> {
        self.reasons
            .iter()
            .map(|code| format!("{code}: {}", crate::fraud::explain_reason(code)))
            .collect()
    }
}

fn host_answer(response: &str, plus_ones: i32) -> String {
    match response {
        "attending" if plus_ones > 0 => format!("attending with {plus_ones} more"),
        "attending" => "attending".to_owned(),
        "declined" => "not attending".to_owned(),
        _ => "maybe".to_owned(),
    }
}

/// To the host: a guest answered.
pub fn host_rsvp(
    event: &EventFacts,
    guest_name: &str,
    response: &str,
    plus_ones: i32,
    check: &Check,
    dashboard: &str,
) -> Email {
    let answer = host_answer(response, plus_ones);
    let mut body = Body::new();
    body.paragraph(&format!("{guest_name} answered: {answer}."))
        .facts(&[("Event", &event.name), ("Fraud check", &check.label())]);
    for reason in check.reasons() {
        body.small(&reason);
    }
    body.link(
        "See the guest list and every answer:",
        "Open the event",
        dashboard,
    )
    .small("You get these emails for every answer; turn them off under Settings → Notifications.");
    body.finish(
        Some(&event.host_name),
        &event.host_email,
        format!("{guest_name}: {answer} — {}", event.name),
        "en",
    )
}

/// To the host: an answer waits for their review.
pub fn host_held(event: &EventFacts, guest_name: &str, reason: &str, dashboard: &str) -> Email {
    let mut body = Body::new();
    body.paragraph(&format!(
        "{guest_name}'s answer to {} does not count until you accept or reject it.",
        event.name
    ))
    .paragraph(crate::fraud::policy::held::describe(reason));
    body.link(
        "Review it on the event page (Held for review):",
        "Review the answer",
        dashboard,
    );
    body.finish(
        Some(&event.host_name),
        &event.host_email,
        format!("Held for your review: {guest_name} — {}", event.name),
        "en",
    )
}

/// To the host: an opening or answer scored 60 or more (`blocked`: an answer refused).
pub fn fraud_alert(
    event: &EventFacts,
    guest_name: &str,
    check: &Check,
    blocked: bool,
    dashboard: &str,
) -> Email {
    let what = if blocked {
        format!("An answer through {guest_name}'s link was refused.")
    } else {
        format!("{guest_name}'s invitation link was opened in a way that looks suspicious.")
    };
    let mut body = Body::new();
    body.paragraph(&what)
        .facts(&[("Event", &event.name), ("Fraud check", &check.label())]);
    let reasons = check.reasons();
    if !reasons.is_empty() {
        body.paragraph("Why:");
        for reason in reasons {
            body.small(&reason);
        }
    }
    body.link(
        "See the access log; you can rotate or revoke the link, approve the guest's device or reset their history:",
        "Open the event",
        dashboard,
    );
    let subject = if blocked {
        format!("Answer refused: {guest_name} — {}", event.name)
    } else {
        format!("Suspicious opening: {guest_name} — {}", event.name)
    };
    body.finish(Some(&event.host_name), &event.host_email, subject, "en")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(language: &str) -> EventFacts {
        EventFacts {
            id: uuid::Uuid::nil(),
            name: "Ada & Bob's <wedding>".into(),
            starts_at: "2026-12-12T18:00:00Z".parse().expect("time"),
            time_zone: "Europe/Paris".into(),
            venue: "Salle des fêtes".into(),
            description: "Dinner and dancing".into(),
            rsvp_deadline: Some("2026-12-01T22:59:00Z".parse().expect("time")),
            language: language.into(),
            host_name: "Ada".into(),
            host_email: "ada@example.org".into(),
        }
    }

    const GUEST: Recipient<'static> = Recipient {
        name: "Chloé",
        email: "chloe@example.org",
    };

    #[test]
    fn an_invitation_carries_the_link_and_the_local_time_in_both_parts() {
        let email = invitation(&event("en"), &GUEST, "https://g.test/i/abc");
        assert_eq!(email.subject, "You're invited: Ada & Bob's <wedding>");
        assert_eq!(email.to, "chloe@example.org");
        for part in [&email.text, &email.html] {
            assert!(part.contains("https://g.test/i/abc"), "{part}");
            // 18:00 UTC is 19:00 in Paris in December.
            assert!(
                part.contains("Saturday 12 December 2026, 19:00 (Europe/Paris)"),
                "{part}"
            );
        }
        assert!(email.html.contains("Ada &amp; Bob&#39;s &lt;wedding&gt;"));
        assert!(!email.html.contains("<wedding>"));
        assert!(email.list_unsubscribe.is_none());
    }

    #[test]
    fn guests_read_the_events_language() {
        let french = invitation(&event("fr"), &GUEST, "https://g.test/i/abc");
        assert_eq!(french.subject, "Vous êtes invité·e : Ada & Bob's <wedding>");
        assert!(
            french.text.contains("samedi 12 décembre 2026 à 19:00"),
            "{}",
            french.text
        );
        assert!(french
            .html
            .starts_with("<!DOCTYPE html>\n<html lang=\"fr\">"));
        let german = confirmation(
            &event("de"),
            &GUEST,
            "attending",
            2,
            Some("https://g.test/i/x"),
        );
        assert!(
            german.text.contains("Ich komme (mit 2 weiteren Personen)"),
            "{}",
            german.text
        );
        let spanish = reminder(
            &event("es"),
            &GUEST,
            "https://g.test/i/x",
            "https://g.test/unsubscribe/1",
        );
        assert!(spanish.subject.starts_with("Recordatorio"));
    }

    #[test]
    fn a_reminder_offers_one_click_unsubscribe() {
        let email = reminder(
            &event("en"),
            &GUEST,
            "https://g.test/i/x",
            "https://g.test/unsubscribe/1",
        );
        assert_eq!(
            email.list_unsubscribe.as_deref(),
            Some("https://g.test/unsubscribe/1")
        );
        assert!(email
            .text
            .contains("No more reminders: https://g.test/unsubscribe/1"));
    }

    #[test]
    fn a_guests_receipt_never_mentions_the_fraud_check() {
        let email = confirmation(&event("en"), &GUEST, "maybe", 0, Some("https://g.test/i/x"));
        for part in [&email.text, &email.html] {
            let lower = part.to_lowercase();
            for word in [
                "score",
                "risk",
                "fraud",
                "review",
                "held",
                "verified",
                "suspicious",
            ] {
                assert!(!lower.contains(word), "{word} in {part}");
            }
        }
    }

    #[test]
    fn a_fraud_alert_names_the_score_and_explains_the_reasons() {
        let check = Check {
            score: Some(75),
            risk: Some("high".into()),
            reasons: vec!["fingerprint_mismatch".into(), "new_network".into()],
        };
        let email = fraud_alert(
            &event("fr"),
            "Chloé",
            &check,
            false,
            "https://g.test/events/1",
        );
        assert_eq!(email.to, "ada@example.org");
        assert!(email.subject.starts_with("Suspicious opening: Chloé"));
        assert!(email.text.contains("Suspicious (score 75 of 100)"));
        assert!(email
            .text
            .contains("fingerprint_mismatch: opened from a device other than"));
        assert!(email.text.contains("https://g.test/events/1"));
    }
}
