//! The fraud heuristics: pure functions from one access attempt and what is known about
//! its guest, its device and its origin to a score, a risk band and the reasons behind
//! it; and the pure bookkeeping of what an access teaches (`remember_*`, `forget_*`).
//!
//! Trust is earned, not first come. Opening the link never makes a device trusted; a
//! low-risk RSVP or a host's approval does. Until then every device that opens the link
//! is a *candidate*, and a device arriving while another candidate exists is a
//! `device_conflict` (Review): an impostor who opens first cannot lock the real guest
//! out. Once a device is trusted, another one is a `fingerprint_mismatch` and a browser
//! that sends no fingerprint at all is `fingerprint_withheld`, weighted at least as high.
//!
//! | reason | fires when | weight |
//! |---|---|---|
//! | `fingerprint_mismatch` | a device other than the trusted one | fixed |
//! | `fingerprint_withheld` | no fingerprint although a device is trusted | fixed |
//! | `new_device_after_rsvp` | either of the two above after the guest answered | fixed |
//! | `device_conflict` | no trusted device, and 2+ candidate devices | grows per device |
//! | `ip_changed_same_network` / `new_network` | an address other than the trusted one | fixed |
//! | `missing_fingerprint`, `javascript_disabled`, `missing_user_agent` | the signal is absent | fixed |
//! | `automation_user_agent` | the user agent names a script, headless browser or bot | fixed |
//! | `automation_signals` | the page saw traits of automation | grows per trait |
//! | `repeated_access` | many opens of the link within a window | grows per open |
//! | `shared_device` | one device opened several guests' links | grows per guest |
//! | `rotating_fingerprints` | one browser on one network, many guests, a new fingerprint each | grows per guest |
//!
//! The weights add up, clamped to 100. The event's [`Sensitivity`] picks the band
//! edges; the score never depends on it. Nothing here does I/O, so every rule is tested
//! with plain values. Weights, thresholds and band edges live in [`ScoringSettings`],
//! never as literals in the rules.

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest as _, Sha256};
use std::{collections::BTreeSet, fmt::Write as _, net::IpAddr};
use uuid::Uuid;

/// Fragments of user agents sent by scripts, headless browsers and crawlers (lower case).
const AUTOMATION_USER_AGENT_MARKERS: &[&str] = &[
    "headlesschrome",
    "phantomjs",
    "selenium",
    "puppeteer",
    "playwright",
    "curl/",
    "wget/",
    "python-requests",
    "python-urllib",
    "aiohttp",
    "httpx",
    "go-http-client",
    "okhttp",
    "java/",
    "libwww-perl",
    "scrapy",
    "node-fetch",
    "axios/",
    "bot/",
    "bot;",
    "crawler",
    "spider",
    "+http",
];

/// A weight that grows with how far a count is past its threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Curve {
    /// The weight at the threshold.
    pub base: u32,
    /// Added for each count past the threshold.
    pub step: u32,
    /// The most the weight grows to (never below `base`).
    pub max: u32,
}

impl Curve {
    /// The weight `extra` counts past the threshold: `base + step × extra`, capped.
    pub fn weight(&self, extra: usize) -> u32 {
        let extra = u32::try_from(extra).unwrap_or(u32::MAX);
        self.base
            .saturating_add(self.step.saturating_mul(extra))
            .min(self.max.max(self.base))
    }
}

/// The band edges of one sensitivity preset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BandEdges {
    /// Lowest score of the medium band.
    pub medium_from: u32,
    /// Lowest score of the high band.
    pub high_from: u32,
    /// Lowest score of the block band.
    pub block_from: u32,
    /// Lowest score that flags an access for the host's attention.
    pub flag_from: u32,
}

impl BandEdges {
    /// The band of a score.
    pub fn band(&self, score: u32) -> RiskBand {
        if score >= self.block_from {
            RiskBand::Block
        } else if score >= self.high_from {
            RiskBand::High
        } else if score >= self.medium_from {
            RiskBand::Medium
        } else {
            RiskBand::Low
        }
    }

    /// Whether a score is flagged for the host's attention.
    pub fn flags(&self, score: u32) -> bool {
        score >= self.flag_from
    }
}

/// Weights, thresholds, curves, band edges and memory limits of the heuristics.
///
/// The defaults are in [`ScoringSettings::default`]; `settings.rs` overrides them from
/// the environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScoringSettings {
    /// The device differs from the guest's trusted device.
    pub fingerprint_mismatch_weight: u32,
    /// No fingerprint although the guest has a trusted device.
    pub fingerprint_withheld_weight: u32,
    /// A device other than the trusted one (or none) after the guest responded.
    pub new_device_after_rsvp_weight: u32,
    /// No trusted device and several candidate devices: the base is for two devices.
    pub device_conflict: Curve,
    /// Another address in the same network (/24 IPv4, /48 IPv6) as the trusted one.
    pub same_network_ip_weight: u32,
    /// An address in a network the guest was never trusted from.
    pub new_network_weight: u32,
    /// The page reported no device fingerprint.
    pub missing_fingerprint_weight: u32,
    /// JavaScript did not run in the page.
    pub javascript_disabled_weight: u32,
    /// No user agent at all.
    pub missing_user_agent_weight: u32,
    /// The user agent names a script, headless browser or crawler.
    pub automation_user_agent_weight: u32,
    /// Traits of automation seen by the page: the base is for one trait.
    pub automation_signals: Curve,
    /// The least weight of `automation_signals` when the traits include `webdriver` or
    /// `headless`, which a person's browser never reports.
    pub automation_driver_weight: u32,
    /// Many opens of the link: the base is at the threshold.
    pub repeated_access: Curve,
    /// How many accesses (this one included) within the window count as repeated.
    pub repeated_access_threshold: u32,
    /// The window of [`Self::repeated_access_threshold`].
    pub repeated_access_window: Duration,
    /// One device opened several guests' links: the base is at the threshold.
    pub shared_device: Curve,
    /// How many *other* guests a device must have opened to count as shared.
    pub shared_device_threshold: u32,
    /// One browser on one network with a new fingerprint per guest: the base is at the
    /// threshold.
    pub rotating_fingerprints: Curve,
    /// How many guests (this one included), each with its own fingerprint, one origin
    /// must have opened within the window.
    pub rotating_fingerprints_threshold: u32,
    /// The window of [`Self::rotating_fingerprints_threshold`].
    pub rotating_fingerprints_window: Duration,
    /// Band edges of the `relaxed` preset.
    pub relaxed: BandEdges,
    /// Band edges of the `standard` preset (and of events without one).
    pub standard: BandEdges,
    /// Band edges of the `strict` preset.
    pub strict: BandEdges,
    /// How many access times are kept per guest.
    pub recent_access_limit: usize,
    /// How many guests are remembered per device.
    pub device_guest_limit: usize,
    /// How many candidate devices (and origins) are remembered per guest.
    pub guest_device_limit: usize,
    /// How many guest–device pairs are remembered per origin.
    pub origin_entry_limit: usize,
}

impl Default for ScoringSettings {
    fn default() -> Self {
        Self {
            fingerprint_mismatch_weight: 45,
            fingerprint_withheld_weight: 45,
            new_device_after_rsvp_weight: 30,
            device_conflict: Curve {
                base: 35,
                step: 10,
                max: 70,
            },
            same_network_ip_weight: 5,
            new_network_weight: 25,
            missing_fingerprint_weight: 15,
            javascript_disabled_weight: 25,
            missing_user_agent_weight: 40,
            automation_user_agent_weight: 60,
            automation_signals: Curve {
                base: 45,
                step: 15,
                max: 90,
            },
            automation_driver_weight: 60,
            repeated_access: Curve {
                base: 35,
                step: 3,
                max: 70,
            },
            repeated_access_threshold: 5,
            repeated_access_window: Duration::minutes(10),
            shared_device: Curve {
                base: 40,
                step: 10,
                max: 80,
            },
            shared_device_threshold: 2,
            rotating_fingerprints: Curve {
                base: 25,
                step: 12,
                max: 85,
            },
            rotating_fingerprints_threshold: 3,
            rotating_fingerprints_window: Duration::minutes(30),
            relaxed: BandEdges {
                medium_from: 40,
                high_from: 70,
                block_from: 95,
                flag_from: 70,
            },
            standard: BandEdges {
                medium_from: 30,
                high_from: 60,
                block_from: 85,
                flag_from: 60,
            },
            strict: BandEdges {
                medium_from: 20,
                high_from: 45,
                block_from: 70,
                flag_from: 45,
            },
            recent_access_limit: 50,
            device_guest_limit: 50,
            guest_device_limit: 20,
            origin_entry_limit: 100,
        }
    }
}

impl ScoringSettings {
    /// The band edges of a sensitivity preset.
    pub fn edges(&self, sensitivity: Sensitivity) -> &BandEdges {
        match sensitivity {
            Sensitivity::Relaxed => &self.relaxed,
            Sensitivity::Standard => &self.standard,
            Sensitivity::Strict => &self.strict,
        }
    }
}

/// How risky an access is, by score band.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum RiskBand {
    Low,
    Medium,
    High,
    Block,
}

impl RiskBand {
    /// The band's stable name in events: `low`, `medium`, `high` or `block`.
    pub fn code(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Block => "block",
        }
    }
}

/// How readily an event's accesses are judged risky: which band edges apply.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Sensitivity {
    Relaxed,
    #[default]
    Standard,
    Strict,
}

/// A device: the web server's keyed hash (HMAC-SHA256) of its browser fingerprint,
/// exactly 64 lowercase hex digits. The engine never sees nor hashes a raw fingerprint.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct DeviceKey(String);

/// A device key that is not 64 lowercase hex digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a device key is 64 lowercase hex digits")]
pub struct InvalidDeviceKey;

impl DeviceKey {
    /// Accepts exactly 64 lowercase hex digits, nothing else (no trimming).
    pub fn parse(text: &str) -> Result<Self, InvalidDeviceKey> {
        let hex = |byte: u8| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte);
        if text.len() == 64 && text.bytes().all(hex) {
            Ok(Self(text.to_owned()))
        } else {
            Err(InvalidDeviceKey)
        }
    }

    /// The keyed hash, in hex.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A trait of automation the page observed, from a fixed vocabulary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum AutomationTrait {
    /// `navigator.webdriver` was set: the browser is remote-controlled.
    Webdriver,
    /// The browser identified itself as headless.
    Headless,
    NoPlugins,
    NoLanguages,
    ZeroWindow,
    ScreenZero,
    /// The browser's time zone contradicts its clock.
    TimezoneMismatch,
}

impl AutomationTrait {
    const ALL: [Self; 7] = [
        Self::Webdriver,
        Self::Headless,
        Self::NoPlugins,
        Self::NoLanguages,
        Self::ZeroWindow,
        Self::ScreenZero,
        Self::TimezoneMismatch,
    ];

    /// The trait of a vocabulary word; `None` for a word outside the vocabulary.
    pub fn parse(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.code() == word)
    }

    /// The trait's word in the contract.
    pub fn code(self) -> &'static str {
        match self {
            Self::Webdriver => "webdriver",
            Self::Headless => "headless",
            Self::NoPlugins => "no_plugins",
            Self::NoLanguages => "no_languages",
            Self::ZeroWindow => "zero_window",
            Self::ScreenZero => "screen_zero",
            Self::TimezoneMismatch => "timezone_mismatch",
        }
    }

    /// Whether only an automated browser reports this trait.
    pub fn is_driver(self) -> bool {
        matches!(self, Self::Webdriver | Self::Headless)
    }

    /// The known traits among the page's words, each once, in a fixed order.
    pub fn from_words<'a>(words: impl IntoIterator<Item = &'a str>) -> Vec<Self> {
        let known: BTreeSet<Self> = words.into_iter().filter_map(Self::parse).collect();
        known.into_iter().collect()
    }
}

/// One access to a guest's invitation (a page opening or an RSVP), as scored.
#[derive(Clone, Debug)]
pub struct AccessAttempt {
    /// The access log entry this attempt is, when the caller has one; recording the
    /// same entry twice has one effect.
    pub access_id: Option<Uuid>,
    pub event_id: Uuid,
    pub guest_id: Uuid,
    pub accessed_at: DateTime<Utc>,
    pub ip: Option<IpAddr>,
    pub user_agent: String,
    /// The device, when the page reported a fingerprint.
    pub device: Option<DeviceKey>,
    pub javascript_ran: bool,
    /// Traits of automation the page observed (known ones, each once).
    pub automation: Vec<AutomationTrait>,
    pub is_rsvp: bool,
    /// The event's preset: which band edges apply.
    pub sensitivity: Sensitivity,
    /// When the event starts (how long what is learned is kept).
    pub event_starts_at: Option<DateTime<Utc>>,
}

impl AccessAttempt {
    /// The origin of the access (one browser on one network, in its event), when the
    /// access has both a device and an address.
    pub fn origin(&self) -> Option<OriginId> {
        match (&self.device, self.ip) {
            (Some(_), Some(ip)) => Some(OriginId::of(self.event_id, ip, &self.user_agent)),
            _ => None,
        }
    }
}

/// A device that opened a guest's link, not (yet) confirmed as the guest's.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CandidateDevice {
    pub device: DeviceKey,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// Page openings from this device (RSVPs not counted).
    pub openings: u32,
    /// The address of its latest access, when known.
    pub last_ip: Option<IpAddr>,
}

/// What the engine remembers of a guest across accesses and engine instances.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct GuestBaseline {
    /// The device confirmed as the guest's, by a low-risk RSVP or a host's approval.
    pub trusted_device: Option<DeviceKey>,
    /// The address the guest was trusted from.
    pub trusted_ip: Option<IpAddr>,
    /// Whether the guest has responded.
    pub responded: bool,
    /// Times of the most recent accesses, oldest first (bounded).
    pub recent_accesses: Vec<DateTime<Utc>>,
    /// Access log ids of the most recent recorded accesses, oldest first (bounded like
    /// [`Self::recent_accesses`]), so a redelivered access is recorded once.
    pub recent_access_ids: Vec<Uuid>,
    /// Every device that opened the link, most recently seen last (bounded).
    pub candidates: Vec<CandidateDevice>,
    /// The origins the guest's accesses were indexed under, latest last (bounded), so
    /// forgetting the guest can remove it from each.
    pub origins: Vec<OriginId>,
}

impl GuestBaseline {
    /// Every device the guest is known by: the trusted one and the candidates.
    pub fn devices(&self) -> BTreeSet<&DeviceKey> {
        self.candidates
            .iter()
            .map(|candidate| &candidate.device)
            .chain(&self.trusted_device)
            .collect()
    }
}

/// The guests whose links one device opened (bounded, most recent last).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeviceGuests {
    pub guests: Vec<Uuid>,
}

/// One browser on one network in one event: the event, and a SHA-256 of the client
/// network (the exact IPv4 address, the IPv6 /64) and the exact user agent.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct OriginId(String);

impl OriginId {
    /// The origin of an access from `ip` with `user_agent` to an event's link.
    pub fn of(event_id: Uuid, ip: IpAddr, user_agent: &str) -> Self {
        let mut hash = Sha256::new();
        hash.update(client_network(ip).as_bytes());
        hash.update(b"\n");
        hash.update(user_agent.as_bytes());
        let mut id = format!("{event_id}.");
        for byte in hash.finalize() {
            let _ = write!(id, "{byte:02x}");
        }
        Self(id)
    }

    /// `<event id>.<hex hash>`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The client network an origin is keyed by: an IPv4 address exactly, an IPv6 /64.
pub fn client_network(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

/// A guest's link opened from an origin with a device, last at `last_seen`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OriginEntry {
    pub guest_id: Uuid,
    pub device: DeviceKey,
    pub last_seen: DateTime<Utc>,
}

/// The guests and devices seen from one origin (one entry per guest and device,
/// bounded, most recent last).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OriginAccesses {
    pub entries: Vec<OriginEntry>,
}

/// Everything the heuristics are told besides the access itself.
#[derive(Clone, Copy, Debug)]
pub struct Known<'a> {
    pub guest: &'a GuestBaseline,
    /// The guests the access's device opened (empty without a device).
    pub device_guests: &'a DeviceGuests,
    /// What the access's origin opened (empty without a device or address).
    pub origin: &'a OriginAccesses,
}

/// One heuristic that fired.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reason {
    /// Stable code, e.g. `fingerprint_mismatch`.
    pub code: &'static str,
    /// A sentence a host can read.
    pub sentence: String,
    pub weight: u32,
}

/// The outcome of scoring one access.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assessment {
    /// 0 (no risk) to 100, whatever the sensitivity.
    pub score: u32,
    /// The band under the access's sensitivity.
    pub band: RiskBand,
    pub flagged: bool,
    pub reasons: Vec<Reason>,
}

/// Scores an access against what is known of its guest, device and origin.
pub fn assess(
    attempt: &AccessAttempt,
    known: &Known<'_>,
    settings: &ScoringSettings,
) -> Assessment {
    let reasons: Vec<Reason> = device_reasons(attempt, known.guest, settings)
        .into_iter()
        .chain(network_reasons(attempt, known.guest, settings))
        .chain(browser_reasons(attempt, settings))
        .chain(burst_reasons(attempt, known.guest, settings))
        .chain(shared_device_reasons(
            attempt,
            known.device_guests,
            settings,
        ))
        .chain(rotating_fingerprint_reasons(
            attempt,
            known.origin,
            settings,
        ))
        .collect();
    let score = reasons
        .iter()
        .map(|reason| reason.weight)
        .sum::<u32>()
        .min(100);
    let edges = settings.edges(attempt.sensitivity);
    Assessment {
        score,
        band: edges.band(score),
        flagged: edges.flags(score),
        reasons,
    }
}

fn reason(code: &'static str, weight: u32, sentence: impl Into<String>) -> Reason {
    Reason {
        code,
        sentence: sentence.into(),
        weight,
    }
}

/// Trust: a mismatch or a withheld fingerprint against the trusted device; without one,
/// a conflict between candidates.
fn device_reasons(
    attempt: &AccessAttempt,
    baseline: &GuestBaseline,
    settings: &ScoringSettings,
) -> Vec<Reason> {
    let mut reasons = Vec::new();
    match (&baseline.trusted_device, &attempt.device) {
        (Some(trusted), Some(device)) if device == trusted => {}
        (Some(_), device) => {
            reasons.push(match device {
                Some(_) => reason(
                    "fingerprint_mismatch",
                    settings.fingerprint_mismatch_weight,
                    "The link was opened on a different device than the guest's confirmed one.",
                ),
                None => reason(
                    "fingerprint_withheld",
                    settings.fingerprint_withheld_weight,
                    "The browser sent no fingerprint although the guest has a known device.",
                ),
            });
            if baseline.responded {
                reasons.push(reason(
                    "new_device_after_rsvp",
                    settings.new_device_after_rsvp_weight,
                    "A device other than the guest's confirmed one opened the link after the \
                     guest had responded.",
                ));
            }
        }
        (None, Some(device)) => {
            let mut devices: BTreeSet<&DeviceKey> = baseline
                .candidates
                .iter()
                .map(|candidate| &candidate.device)
                .collect();
            devices.insert(device);
            let count = devices.len();
            if count >= 2 {
                reasons.push(reason(
                    "device_conflict",
                    settings.device_conflict.weight(count - 2),
                    format!(
                        "The link was opened on {count} different devices and none is \
                         confirmed as the guest's."
                    ),
                ));
            }
        }
        (None, None) => {}
    }
    reasons
}

/// The address against the trusted one.
fn network_reasons(
    attempt: &AccessAttempt,
    baseline: &GuestBaseline,
    settings: &ScoringSettings,
) -> Option<Reason> {
    let (ip, trusted_ip) = (
        attempt.ip?.to_canonical(),
        baseline.trusted_ip?.to_canonical(),
    );
    if ip == trusted_ip {
        None
    } else if same_network(ip, trusted_ip) {
        Some(reason(
            "ip_changed_same_network",
            settings.same_network_ip_weight,
            "The address changed within the guest's usual network.",
        ))
    } else {
        Some(reason(
            "new_network",
            settings.new_network_weight,
            "The link was opened from a network the guest never used before.",
        ))
    }
}

/// What the browser itself shows: missing signals, automation.
fn browser_reasons(attempt: &AccessAttempt, settings: &ScoringSettings) -> Vec<Reason> {
    let mut reasons = Vec::new();
    if attempt.device.is_none() {
        reasons.push(reason(
            "missing_fingerprint",
            settings.missing_fingerprint_weight,
            "The browser reported no device fingerprint.",
        ));
    }
    if !attempt.javascript_ran {
        reasons.push(reason(
            "javascript_disabled",
            settings.javascript_disabled_weight,
            "JavaScript did not run in the page, as with scripts and scrapers.",
        ));
    }
    let user_agent = attempt.user_agent.trim();
    if user_agent.is_empty() {
        reasons.push(reason(
            "missing_user_agent",
            settings.missing_user_agent_weight,
            "The request carried no user agent.",
        ));
    } else if is_automation(user_agent) {
        reasons.push(reason(
            "automation_user_agent",
            settings.automation_user_agent_weight,
            "The user agent is a script, headless browser or crawler.",
        ));
    }
    if !attempt.automation.is_empty() {
        let count = attempt.automation.len();
        let mut weight = settings.automation_signals.weight(count - 1);
        if attempt.automation.iter().any(|t| t.is_driver()) {
            weight = weight.max(settings.automation_driver_weight);
        }
        let words: Vec<&str> = attempt.automation.iter().map(|t| t.code()).collect();
        reasons.push(reason(
            "automation_signals",
            weight,
            format!(
                "The browser showed signs of automation ({}).",
                words.join(", ")
            ),
        ));
    }
    reasons
}

/// Many opens of the guest's link in a short time.
fn burst_reasons(
    attempt: &AccessAttempt,
    baseline: &GuestBaseline,
    settings: &ScoringSettings,
) -> Option<Reason> {
    let window_start = attempt.accessed_at - settings.repeated_access_window;
    let recent = baseline
        .recent_accesses
        .iter()
        .filter(|at| **at > window_start && **at <= attempt.accessed_at)
        .count()
        + 1;
    let threshold = settings.repeated_access_threshold as usize;
    (recent >= threshold).then(|| {
        reason(
            "repeated_access",
            settings.repeated_access.weight(recent - threshold),
            format!(
                "The link was opened {recent} times within {} minutes.",
                settings.repeated_access_window.num_minutes()
            ),
        )
    })
}

/// One device opening several guests' links.
fn shared_device_reasons(
    attempt: &AccessAttempt,
    device_guests: &DeviceGuests,
    settings: &ScoringSettings,
) -> Option<Reason> {
    attempt.device.as_ref()?;
    let others = device_guests
        .guests
        .iter()
        .filter(|guest| **guest != attempt.guest_id)
        .count();
    let threshold = settings.shared_device_threshold as usize;
    (others >= threshold).then(|| {
        reason(
            "shared_device",
            settings.shared_device.weight(others - threshold),
            format!("This device also opened the invitations of {others} other guests."),
        )
    })
}

/// One browser on one network opening many guests' links, a new fingerprint each time.
fn rotating_fingerprint_reasons(
    attempt: &AccessAttempt,
    origin: &OriginAccesses,
    settings: &ScoringSettings,
) -> Option<Reason> {
    let device = attempt.device.as_ref()?;
    attempt.ip?;
    let window = settings.rotating_fingerprints_window;
    let window_start = attempt.accessed_at - window;
    let recent = origin
        .entries
        .iter()
        .filter(|entry| entry.last_seen > window_start && entry.last_seen <= attempt.accessed_at);
    let guests: BTreeSet<Uuid> = recent
        .clone()
        .map(|entry| entry.guest_id)
        .chain([attempt.guest_id])
        .collect();
    let devices: BTreeSet<&DeviceKey> = recent.map(|entry| &entry.device).chain([device]).collect();
    // Guests that each came with a fingerprint of their own.
    let count = guests.len().min(devices.len());
    let threshold = settings.rotating_fingerprints_threshold as usize;
    (count >= threshold).then(|| {
        reason(
            "rotating_fingerprints",
            settings.rotating_fingerprints.weight(count - threshold),
            format!(
                "One browser on one network opened the invitations of {count} guests within \
                 {} minutes, each time with a different fingerprint.",
                window.num_minutes()
            ),
        )
    })
}

/// Whether two addresses share a network: the same /24 (IPv4) or /48 (IPv6).
pub fn same_network(a: IpAddr, b: IpAddr) -> bool {
    match (a.to_canonical(), b.to_canonical()) {
        (IpAddr::V4(a), IpAddr::V4(b)) => a.octets()[..3] == b.octets()[..3],
        (IpAddr::V6(a), IpAddr::V6(b)) => a.segments()[..3] == b.segments()[..3],
        _ => false,
    }
}

/// Whether a user agent names a script, headless browser or crawler.
pub fn is_automation(user_agent: &str) -> bool {
    let lower = user_agent.to_ascii_lowercase();
    AUTOMATION_USER_AGENT_MARKERS
        .iter()
        .any(|marker| lower.contains(marker))
}

/// Keeps the last `limit` items of a list.
fn keep_last<T>(items: &mut Vec<T>, limit: usize) {
    let excess = items.len().saturating_sub(limit);
    items.drain(..excess);
}

/// Records an access in a guest's baseline: its time (bounded), its device as a
/// candidate, its origin; and, for a low-risk RSVP, the trusted device and network.
/// Page openings never make a device trusted.
///
/// An access whose id the baseline already holds changes nothing, so a redelivered
/// access is recorded once.
pub fn remember_access(
    baseline: &mut GuestBaseline,
    attempt: &AccessAttempt,
    band: RiskBand,
    settings: &ScoringSettings,
) {
    if let Some(access_id) = attempt.access_id {
        if baseline.recent_access_ids.contains(&access_id) {
            return;
        }
        baseline.recent_access_ids.push(access_id);
        keep_last(
            &mut baseline.recent_access_ids,
            settings.recent_access_limit,
        );
    }
    let position = baseline
        .recent_accesses
        .partition_point(|at| *at <= attempt.accessed_at);
    baseline
        .recent_accesses
        .insert(position, attempt.accessed_at);
    keep_last(&mut baseline.recent_accesses, settings.recent_access_limit);

    if let Some(device) = &attempt.device {
        remember_candidate(baseline, device, attempt, settings.guest_device_limit);
    }
    if let Some(origin) = attempt.origin() {
        baseline.origins.retain(|known| *known != origin);
        baseline.origins.push(origin);
        keep_last(&mut baseline.origins, settings.guest_device_limit);
    }
    if attempt.is_rsvp && band == RiskBand::Low {
        if let Some(device) = &attempt.device {
            baseline.trusted_device = Some(device.clone());
        }
        if let Some(ip) = attempt.ip {
            baseline.trusted_ip = Some(ip.to_canonical());
        }
    }
    if attempt.is_rsvp && band < RiskBand::Block {
        baseline.responded = true;
    }
}

/// Adds or refreshes a candidate device, keeping the `limit` most recently seen.
fn remember_candidate(
    baseline: &mut GuestBaseline,
    device: &DeviceKey,
    attempt: &AccessAttempt,
    limit: usize,
) {
    let at = attempt.accessed_at;
    let opening = u32::from(!attempt.is_rsvp);
    match baseline
        .candidates
        .iter()
        .position(|candidate| candidate.device == *device)
    {
        Some(index) => {
            let mut candidate = baseline.candidates.remove(index);
            candidate.first_seen = candidate.first_seen.min(at);
            if at >= candidate.last_seen {
                candidate.last_seen = at;
                candidate.last_ip = attempt.ip.map(|ip| ip.to_canonical()).or(candidate.last_ip);
            }
            candidate.openings = candidate.openings.saturating_add(opening);
            baseline.candidates.push(candidate);
        }
        None => baseline.candidates.push(CandidateDevice {
            device: device.clone(),
            first_seen: at,
            last_seen: at,
            openings: opening,
            last_ip: attempt.ip.map(|ip| ip.to_canonical()),
        }),
    }
    baseline
        .candidates
        .sort_by_key(|candidate| candidate.last_seen);
    keep_last(&mut baseline.candidates, limit);
}

/// A host approved a device as the guest's: it becomes the trusted device, and `ip`
/// (or else the device's last address as a candidate) the trusted network. The other
/// candidates stay.
pub fn approve_device(baseline: &mut GuestBaseline, device: &DeviceKey, ip: Option<IpAddr>) {
    let last_ip = baseline
        .candidates
        .iter()
        .find(|candidate| candidate.device == *device)
        .and_then(|candidate| candidate.last_ip);
    if let Some(ip) = ip.or(last_ip) {
        baseline.trusted_ip = Some(ip.to_canonical());
    }
    baseline.trusted_device = Some(device.clone());
}

/// Records that a device opened a guest's link (bounded, most recent last).
pub fn remember_device_guest(devices: &mut DeviceGuests, guest_id: Uuid, limit: usize) {
    devices.guests.retain(|guest| *guest != guest_id);
    devices.guests.push(guest_id);
    keep_last(&mut devices.guests, limit);
}

/// Removes a guest from a device's guests.
pub fn forget_device_guest(devices: &mut DeviceGuests, guest_id: Uuid) {
    devices.guests.retain(|guest| *guest != guest_id);
}

/// Records that an origin opened a guest's link with a device (one entry per guest and
/// device, its latest time; bounded, most recent last). Recording the same access twice
/// has one effect.
pub fn remember_origin_access(origin: &mut OriginAccesses, attempt: &AccessAttempt, limit: usize) {
    let Some(device) = &attempt.device else {
        return;
    };
    let mut last_seen = attempt.accessed_at;
    origin.entries.retain(|entry| {
        let same = entry.guest_id == attempt.guest_id && entry.device == *device;
        if same {
            last_seen = last_seen.max(entry.last_seen);
        }
        !same
    });
    origin.entries.push(OriginEntry {
        guest_id: attempt.guest_id,
        device: device.clone(),
        last_seen,
    });
    origin.entries.sort_by_key(|entry| entry.last_seen);
    keep_last(&mut origin.entries, limit);
}

/// Removes a guest from an origin's entries.
pub fn forget_origin_guest(origin: &mut OriginAccesses, guest_id: Uuid) {
    origin.entries.retain(|entry| entry.guest_id != guest_id);
}

#[cfg(test)]
mod tests {
    use super::*;

    const PHONE_UA: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148";

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(1_790_000_000, 0).expect("time") + Duration::minutes(minute)
    }

    /// A valid device key named after a word, as the web server's hash would be.
    fn key(name: &str) -> DeviceKey {
        let digest = Sha256::digest(name.as_bytes());
        let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
        DeviceKey::parse(&hex).expect("64 hex digits")
    }

    fn attempt(device_name: &str, ip: &str) -> AccessAttempt {
        AccessAttempt {
            access_id: None,
            event_id: Uuid::from_u128(7),
            guest_id: Uuid::from_u128(1),
            accessed_at: at(0),
            ip: Some(ip.parse().expect("ip")),
            user_agent: PHONE_UA.into(),
            device: Some(key(device_name)),
            javascript_ran: true,
            automation: Vec::new(),
            is_rsvp: false,
            sensitivity: Sensitivity::Standard,
            event_starts_at: None,
        }
    }

    fn trusting(device_name: &str, ip: &str) -> GuestBaseline {
        GuestBaseline {
            trusted_device: Some(key(device_name)),
            trusted_ip: Some(ip.parse().expect("ip")),
            ..Default::default()
        }
    }

    fn codes(assessment: &Assessment) -> Vec<&'static str> {
        assessment.reasons.iter().map(|r| r.code).collect()
    }

    fn run(attempt: &AccessAttempt, baseline: &GuestBaseline) -> Assessment {
        run_with(
            attempt,
            baseline,
            &DeviceGuests::default(),
            &OriginAccesses::default(),
        )
    }

    fn run_with(
        attempt: &AccessAttempt,
        guest: &GuestBaseline,
        device_guests: &DeviceGuests,
        origin: &OriginAccesses,
    ) -> Assessment {
        let known = Known {
            guest,
            device_guests,
            origin,
        };
        assess(attempt, &known, &ScoringSettings::default())
    }

    #[test]
    fn device_keys_are_exactly_64_lowercase_hex_digits() {
        assert!(DeviceKey::parse(&"a1".repeat(32)).is_ok());
        for bad in [
            "raw-fingerprint".to_owned(),
            "A1".repeat(32),
            "a1".repeat(31),
            format!(" {}", "a1".repeat(32)),
            "g1".repeat(32),
            String::new(),
        ] {
            assert_eq!(DeviceKey::parse(&bad), Err(InvalidDeviceKey), "{bad:?}");
        }
    }

    #[test]
    fn the_trusted_device_on_the_trusted_address_scores_zero() {
        let result = run(
            &attempt("phone", "203.0.113.7"),
            &trusting("phone", "203.0.113.7"),
        );
        assert_eq!((result.score, result.band), (0, RiskBand::Low));
        assert!(result.reasons.is_empty());
    }

    #[test]
    fn a_first_access_has_nothing_to_differ_from() {
        let result = run(&attempt("phone", "203.0.113.7"), &GuestBaseline::default());
        assert_eq!(result.score, 0);
    }

    #[test]
    fn another_device_than_the_trusted_one_is_a_fingerprint_mismatch() {
        let result = run(
            &attempt("laptop", "203.0.113.7"),
            &trusting("phone", "203.0.113.7"),
        );
        assert_eq!(codes(&result), ["fingerprint_mismatch"]);
        assert_eq!((result.score, result.band), (45, RiskBand::Medium));
    }

    #[test]
    fn withholding_the_fingerprint_scores_at_least_as_high_as_a_mismatch() {
        for responded in [false, true] {
            let mut known = trusting("phone", "203.0.113.7");
            known.responded = responded;
            let mismatch = run(&attempt("laptop", "203.0.113.7"), &known);
            let mut withheld = attempt("phone", "203.0.113.7");
            withheld.device = None;
            let withheld = run(&withheld, &known);
            assert!(withheld
                .reasons
                .iter()
                .any(|r| r.code == "fingerprint_withheld"));
            assert!(withheld
                .reasons
                .iter()
                .any(|r| r.code == "missing_fingerprint"));
            assert!(withheld.score >= mismatch.score, "{withheld:?}");
            assert!(withheld.score >= 60 && withheld.flagged);
        }
    }

    #[test]
    fn a_second_candidate_without_a_trusted_device_is_a_conflict_that_grows() {
        let mut known = GuestBaseline::default();
        let settings = ScoringSettings::default();
        remember_access(
            &mut known,
            &attempt("first", "203.0.113.7"),
            RiskBand::Low,
            &settings,
        );
        let same = run(&attempt("first", "203.0.113.7"), &known);
        assert!(same.reasons.is_empty(), "{same:?}");
        let second = run(&attempt("second", "198.51.100.1"), &known);
        assert_eq!(codes(&second), ["device_conflict"]);
        assert_eq!((second.score, second.band), (35, RiskBand::Medium));
        assert!(!second.flagged);
        remember_access(
            &mut known,
            &attempt("second", "198.51.100.1"),
            RiskBand::Medium,
            &settings,
        );
        let third = run(&attempt("third", "198.51.100.1"), &known);
        assert_eq!(third.score, 45);
        assert!(third.reasons[0].sentence.contains("3 different devices"));
    }

    #[test]
    fn the_same_ipv4_network_counts_less_than_a_new_one() {
        let near = run(
            &attempt("phone", "203.0.113.99"),
            &trusting("phone", "203.0.113.7"),
        );
        let far = run(
            &attempt("phone", "198.51.100.7"),
            &trusting("phone", "203.0.113.7"),
        );
        assert_eq!(codes(&near), ["ip_changed_same_network"]);
        assert_eq!(codes(&far), ["new_network"]);
        assert!(near.score < far.score);
    }

    #[test]
    fn ipv6_networks_are_compared_by_their_48_bit_prefix() {
        let near = run(
            &attempt("phone", "2001:db8:1:2::5"),
            &trusting("phone", "2001:db8:1:9::1"),
        );
        let far = run(
            &attempt("phone", "2001:db8:2::5"),
            &trusting("phone", "2001:db8:1::1"),
        );
        assert_eq!(codes(&near), ["ip_changed_same_network"]);
        assert_eq!(codes(&far), ["new_network"]);
    }

    #[test]
    fn an_ipv4_mapped_address_is_the_same_address() {
        let result = run(
            &attempt("phone", "::ffff:203.0.113.7"),
            &trusting("phone", "203.0.113.7"),
        );
        assert!(result.reasons.is_empty());
    }

    #[test]
    fn a_scraper_without_javascript_and_with_a_bot_agent_is_blocked() {
        let mut scraper = attempt("", "198.51.100.1");
        scraper.device = None;
        scraper.javascript_ran = false;
        scraper.user_agent = "python-requests/2.31".into();
        let result = run(&scraper, &GuestBaseline::default());
        assert_eq!(
            codes(&result),
            [
                "missing_fingerprint",
                "javascript_disabled",
                "automation_user_agent"
            ]
        );
        assert_eq!(result.band, RiskBand::Block);
    }

    #[test]
    fn an_empty_user_agent_is_reported() {
        let mut bare = attempt("phone", "203.0.113.7");
        bare.user_agent = "  ".into();
        assert_eq!(
            codes(&run(&bare, &GuestBaseline::default())),
            ["missing_user_agent"]
        );
    }

    #[test]
    fn automation_agents_are_recognised_and_browsers_are_not() {
        for agent in [
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 HeadlessChrome/120.0",
            "curl/8.5.0",
            "Googlebot/2.1 (+http://www.google.com/bot.html)",
            "Go-http-client/1.1",
        ] {
            assert!(is_automation(agent), "{agent}");
        }
        assert!(!is_automation(PHONE_UA));
        assert!(!is_automation(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36"
        ));
    }

    #[test]
    fn automation_traits_weigh_more_the_more_there_are_and_unknown_words_are_ignored() {
        let traits = AutomationTrait::from_words(["no_plugins", "telepathy", "no_plugins"]);
        assert_eq!(traits, [AutomationTrait::NoPlugins]);
        let with = |words: &[&str]| {
            let mut access = attempt("phone", "203.0.113.7");
            access.automation = AutomationTrait::from_words(words.iter().copied());
            run(&access, &GuestBaseline::default()).score
        };
        assert_eq!(with(&["no_plugins"]), 45);
        assert_eq!(with(&["no_plugins", "zero_window"]), 60);
        assert_eq!(with(&["no_plugins", "zero_window", "screen_zero"]), 75);
        assert_eq!(with(&["webdriver"]), 60, "a driver alone is flagged");
        assert_eq!(
            with(&[
                "webdriver",
                "headless",
                "no_plugins",
                "no_languages",
                "zero_window"
            ]),
            90,
            "capped"
        );
    }

    #[test]
    fn repeated_access_starts_at_the_fifth_open_and_grows_with_the_rate() {
        let mut history = trusting("phone", "203.0.113.7");
        history.recent_accesses = vec![at(-30), at(-4), at(-3), at(-2)];
        let fourth = run(&attempt("phone", "203.0.113.7"), &history);
        assert!(fourth.reasons.is_empty());
        history.recent_accesses.push(at(-1));
        let fifth = run(&attempt("phone", "203.0.113.7"), &history);
        assert_eq!(codes(&fifth), ["repeated_access"]);
        assert_eq!((fifth.score, fifth.band), (35, RiskBand::Medium));
        history.recent_accesses.extend([at(-1), at(-1)]);
        assert_eq!(run(&attempt("phone", "203.0.113.7"), &history).score, 41);
        history.recent_accesses = vec![at(0); 29];
        let thirtieth = run(&attempt("phone", "203.0.113.7"), &history);
        assert_eq!((thirtieth.score, thirtieth.flagged), (70, true));
    }

    #[test]
    fn a_shared_device_starts_at_two_other_guests_and_grows_per_guest() {
        let guests = |n: u128| DeviceGuests {
            guests: (2..2 + n).map(Uuid::from_u128).collect(),
        };
        let score = |others: u128| {
            run_with(
                &attempt("laptop", "203.0.113.7"),
                &GuestBaseline::default(),
                &guests(others),
                &OriginAccesses::default(),
            )
        };
        assert!(score(1).reasons.is_empty(), "a couple shares a laptop");
        assert_eq!(codes(&score(2)), ["shared_device"]);
        assert_eq!(score(2).score, 40);
        assert_eq!(score(5).score, 70);
        assert!(score(5).flagged);
    }

    #[test]
    fn one_origin_rotating_fingerprints_across_guests_is_caught_but_a_shared_laptop_is_not() {
        let settings = ScoringSettings::default();
        let visit = |guest: u128, device: &str, minute: i64| {
            let mut access = attempt(device, "203.0.113.7");
            access.guest_id = Uuid::from_u128(guest);
            access.accessed_at = at(minute);
            access
        };
        let mut origin = OriginAccesses::default();
        for guest in 1..=5 {
            let access = visit(guest, &format!("rotated-{guest}"), guest as i64);
            remember_origin_access(&mut origin, &access, settings.origin_entry_limit);
            remember_origin_access(&mut origin, &access, settings.origin_entry_limit);
        }
        assert_eq!(origin.entries.len(), 5, "recording twice has one effect");
        let none = DeviceGuests::default();
        let sixth = run_with(
            &visit(6, "rotated-6", 6),
            &GuestBaseline::default(),
            &none,
            &origin,
        );
        assert_eq!(codes(&sixth), ["rotating_fingerprints"]);
        assert_eq!((sixth.score, sixth.flagged), (61, true));
        let much_later = run_with(
            &visit(6, "rotated-6", 90),
            &GuestBaseline::default(),
            &none,
            &origin,
        );
        assert!(much_later.reasons.is_empty(), "outside the window");

        let mut laptop = OriginAccesses::default();
        remember_origin_access(&mut laptop, &visit(1, "laptop", 0), 100);
        remember_origin_access(&mut laptop, &visit(2, "laptop", 1), 100);
        let third = run_with(
            &visit(3, "laptop", 2),
            &GuestBaseline::default(),
            &none,
            &laptop,
        );
        assert!(third.reasons.is_empty(), "one device, not a rotation");
    }

    #[test]
    fn origins_are_one_ipv4_address_or_one_ipv6_64_and_one_exact_user_agent() {
        let event = Uuid::from_u128(7);
        let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
        assert_ne!(
            OriginId::of(event, ip("203.0.113.7"), PHONE_UA),
            OriginId::of(event, ip("203.0.113.8"), PHONE_UA)
        );
        assert_eq!(
            OriginId::of(event, ip("2001:db8:1:2::5"), PHONE_UA),
            OriginId::of(event, ip("2001:db8:1:2:ffff::9"), PHONE_UA)
        );
        assert_ne!(
            OriginId::of(event, ip("203.0.113.7"), PHONE_UA),
            OriginId::of(event, ip("203.0.113.7"), "Mozilla/5.0 (X11)")
        );
        assert_ne!(
            OriginId::of(event, ip("203.0.113.7"), PHONE_UA),
            OriginId::of(Uuid::from_u128(8), ip("203.0.113.7"), PHONE_UA)
        );
    }

    #[test]
    fn a_new_device_after_the_rsvp_adds_to_the_mismatch() {
        let mut responded = trusting("phone", "203.0.113.7");
        responded.responded = true;
        let result = run(&attempt("laptop", "203.0.113.7"), &responded);
        assert_eq!(
            codes(&result),
            ["fingerprint_mismatch", "new_device_after_rsvp"]
        );
        assert_eq!(result.band, RiskBand::High);
        assert!(result.flagged);
    }

    #[test]
    fn the_score_is_clamped_to_one_hundred() {
        let mut responded = trusting("phone", "203.0.113.7");
        responded.responded = true;
        responded.recent_accesses = vec![at(-1); 10];
        let mut worst = attempt("laptop", "198.51.100.1");
        worst.javascript_ran = false;
        worst.user_agent = "curl/8".into();
        let result = run(&worst, &responded);
        assert_eq!((result.score, result.band), (100, RiskBand::Block));
    }

    #[test]
    fn band_edges_follow_the_settings() {
        let edges = ScoringSettings::default().standard;
        assert_eq!(edges.band(29), RiskBand::Low);
        assert_eq!(edges.band(30), RiskBand::Medium);
        assert_eq!(edges.band(59), RiskBand::Medium);
        assert_eq!(edges.band(60), RiskBand::High);
        assert_eq!(edges.band(84), RiskBand::High);
        assert_eq!(edges.band(85), RiskBand::Block);
    }

    #[test]
    fn the_sensitivity_changes_the_band_and_never_the_score() {
        let known = trusting("phone", "203.0.113.7");
        let mut access = attempt("laptop", "203.0.113.7");
        let mut outcomes = Vec::new();
        for sensitivity in [
            Sensitivity::Relaxed,
            Sensitivity::Standard,
            Sensitivity::Strict,
        ] {
            access.sensitivity = sensitivity;
            let result = run(&access, &known);
            outcomes.push((result.score, result.band, result.flagged));
        }
        assert_eq!(
            outcomes,
            [
                (45, RiskBand::Medium, false),
                (45, RiskBand::Medium, false),
                (45, RiskBand::High, true)
            ]
        );
    }

    #[test]
    fn an_opening_never_sets_trust_and_a_low_risk_rsvp_does() {
        let settings = ScoringSettings::default();
        let mut known = GuestBaseline::default();
        remember_access(
            &mut known,
            &attempt("phone", "203.0.113.7"),
            RiskBand::Low,
            &settings,
        );
        assert_eq!(known.trusted_device, None);
        assert_eq!(known.trusted_ip, None);
        assert_eq!(known.candidates.len(), 1);
        assert_eq!(known.candidates[0].openings, 1);

        let mut risky = attempt("phone", "203.0.113.7");
        risky.is_rsvp = true;
        remember_access(&mut known, &risky, RiskBand::Medium, &settings);
        assert_eq!(known.trusted_device, None, "a medium RSVP confirms nothing");
        assert!(known.responded);

        let mut calm = attempt("phone", "203.0.113.99");
        calm.is_rsvp = true;
        remember_access(&mut known, &calm, RiskBand::Low, &settings);
        assert_eq!(known.trusted_device, Some(key("phone")));
        assert_eq!(known.trusted_ip, Some("203.0.113.99".parse().expect("ip")));
        assert_eq!(known.candidates[0].openings, 1, "RSVPs are not openings");
    }

    #[test]
    fn approving_a_device_trusts_it_and_its_last_address_and_keeps_the_other_candidates() {
        let settings = ScoringSettings::default();
        let mut known = GuestBaseline::default();
        remember_access(
            &mut known,
            &attempt("impostor", "192.0.2.1"),
            RiskBand::Low,
            &settings,
        );
        remember_access(
            &mut known,
            &attempt("phone", "203.0.113.7"),
            RiskBand::Medium,
            &settings,
        );
        approve_device(&mut known, &key("phone"), None);
        assert_eq!(known.trusted_device, Some(key("phone")));
        assert_eq!(known.trusted_ip, Some("203.0.113.7".parse().expect("ip")));
        assert_eq!(known.candidates.len(), 2);
        approve_device(
            &mut known,
            &key("phone"),
            Some("203.0.113.50".parse().expect("ip")),
        );
        assert_eq!(known.trusted_ip, Some("203.0.113.50".parse().expect("ip")));
        assert_eq!(known.devices().len(), 2);
    }

    #[test]
    fn remembered_accesses_candidates_and_device_guests_are_bounded() {
        let settings = ScoringSettings {
            recent_access_limit: 3,
            guest_device_limit: 2,
            ..ScoringSettings::default()
        };
        let mut history = GuestBaseline::default();
        for minute in 0..5 {
            let mut access = attempt(&format!("device-{minute}"), "203.0.113.7");
            access.accessed_at = at(minute);
            remember_access(&mut history, &access, RiskBand::Low, &settings);
        }
        assert_eq!(history.recent_accesses, [at(2), at(3), at(4)]);
        let kept: Vec<DeviceKey> = history
            .candidates
            .iter()
            .map(|c| c.device.clone())
            .collect();
        assert_eq!(kept, [key("device-3"), key("device-4")]);

        let mut devices = DeviceGuests::default();
        for guest in [1, 2, 3, 2] {
            remember_device_guest(&mut devices, Uuid::from_u128(guest), 2);
        }
        assert_eq!(devices.guests, [Uuid::from_u128(3), Uuid::from_u128(2)]);
        forget_device_guest(&mut devices, Uuid::from_u128(3));
        assert_eq!(devices.guests, [Uuid::from_u128(2)]);
    }

    #[test]
    fn recording_the_same_access_twice_has_one_effect() {
        let settings = ScoringSettings::default();
        let mut history = GuestBaseline::default();
        let mut access = attempt("phone", "203.0.113.7");
        access.access_id = Some(Uuid::from_u128(42));
        remember_access(&mut history, &access, RiskBand::Low, &settings);
        let once = history.clone();
        remember_access(&mut history, &access, RiskBand::Low, &settings);
        assert_eq!(history, once);
        assert_eq!(history.recent_accesses, [at(0)]);
        assert_eq!(history.recent_access_ids, [Uuid::from_u128(42)]);
        assert_eq!(history.candidates[0].openings, 1);

        let mut anonymous = attempt("phone", "203.0.113.7");
        anonymous.access_id = None;
        remember_access(&mut history, &anonymous, RiskBand::Low, &settings);
        remember_access(&mut history, &anonymous, RiskBand::Low, &settings);
        assert_eq!(history.recent_accesses.len(), 3);
    }

    #[test]
    fn remembered_access_ids_are_bounded() {
        let settings = ScoringSettings {
            recent_access_limit: 2,
            ..ScoringSettings::default()
        };
        let mut history = GuestBaseline::default();
        for id in 1..=4 {
            let mut access = attempt("phone", "203.0.113.7");
            access.access_id = Some(Uuid::from_u128(id));
            remember_access(&mut history, &access, RiskBand::Low, &settings);
        }
        assert_eq!(
            history.recent_access_ids,
            [Uuid::from_u128(3), Uuid::from_u128(4)]
        );
    }

    #[test]
    fn a_baseline_stored_before_candidates_existed_still_reads() {
        let old: GuestBaseline = serde_json::from_str(
            r#"{"trusted_device":null,"trusted_ip":null,"responded":false,"recent_accesses":[]}"#,
        )
        .expect("old baseline");
        assert!(old.recent_access_ids.is_empty());
        assert!(old.candidates.is_empty() && old.origins.is_empty());
    }
}
