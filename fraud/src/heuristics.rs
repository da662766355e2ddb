//! The fraud heuristics: pure functions from one access attempt and what is known about
//! its guest (and its device) to a score, a risk band and the reasons behind it.
//!
//! Nothing here does I/O, so every rule is tested with plain values. Weights, thresholds
//! and band edges live in [`ScoringSettings`], never as literals in the rules.

use chrono::{DateTime, Duration, Utc};
use std::net::IpAddr;
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

/// Weights, thresholds and band edges of the heuristics.
///
/// The defaults are in [`ScoringSettings::default`]; `settings.rs` overrides them from
/// the environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScoringSettings {
    /// The device differs from the guest's trusted device.
    pub fingerprint_mismatch_weight: u32,
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
    /// Many opens of the link within [`Self::repeated_access_window`].
    pub repeated_access_weight: u32,
    /// How many accesses (this one included) within the window count as repeated.
    pub repeated_access_threshold: u32,
    /// The window of [`Self::repeated_access_threshold`].
    pub repeated_access_window: Duration,
    /// One device opened the links of several different guests.
    pub shared_device_weight: u32,
    /// How many *other* guests a device must have opened to count as shared.
    pub shared_device_threshold: u32,
    /// A device other than the trusted one after the guest responded.
    pub new_device_after_rsvp_weight: u32,
    /// Lowest score of the medium band.
    pub medium_from: u32,
    /// Lowest score of the high band.
    pub high_from: u32,
    /// Lowest score of the block band.
    pub block_from: u32,
    /// Lowest score that flags an access for the host's attention.
    pub flag_from: u32,
    /// How many access times are kept per guest.
    pub recent_access_limit: usize,
    /// How many guests are remembered per device.
    pub device_guest_limit: usize,
}

impl Default for ScoringSettings {
    fn default() -> Self {
        Self {
            fingerprint_mismatch_weight: 45,
            same_network_ip_weight: 5,
            new_network_weight: 25,
            missing_fingerprint_weight: 15,
            javascript_disabled_weight: 25,
            missing_user_agent_weight: 40,
            automation_user_agent_weight: 50,
            repeated_access_weight: 35,
            repeated_access_threshold: 5,
            repeated_access_window: Duration::minutes(10),
            shared_device_weight: 40,
            shared_device_threshold: 2,
            new_device_after_rsvp_weight: 30,
            medium_from: 30,
            high_from: 60,
            block_from: 85,
            flag_from: 60,
            recent_access_limit: 50,
            device_guest_limit: 50,
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

/// A device, known only by the keyed hash of its browser fingerprint.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct DeviceKey(String);

impl DeviceKey {
    /// Wraps an already keyed hash (hex).
    pub fn from_keyed_hash(hex: String) -> Self {
        Self(hex)
    }

    /// The keyed hash, in hex.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One access to a guest's invitation (a page opening or an RSVP), as scored.
#[derive(Clone, Debug)]
pub struct AccessAttempt {
    /// The access log entry this attempt is, when the caller has one; recording the
    /// same entry twice in a baseline has one effect.
    pub access_id: Option<Uuid>,
    pub guest_id: Uuid,
    pub accessed_at: DateTime<Utc>,
    pub ip: Option<IpAddr>,
    pub user_agent: String,
    /// The device, when the page reported a fingerprint.
    pub device: Option<DeviceKey>,
    pub javascript_ran: bool,
    pub is_rsvp: bool,
}

/// What the engine remembers of a guest across accesses and engine instances.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GuestBaseline {
    /// The first trusted device (confirmed by a low-risk RSVP).
    pub trusted_device: Option<DeviceKey>,
    /// The address the guest was trusted from.
    pub trusted_ip: Option<IpAddr>,
    /// Whether the guest has responded.
    pub responded: bool,
    /// Times of the most recent accesses, oldest first (bounded).
    pub recent_accesses: Vec<DateTime<Utc>>,
    /// Access log ids of the most recent recorded accesses, oldest first (bounded like
    /// [`Self::recent_accesses`]), so a redelivered access is recorded once.
    #[serde(default)]
    pub recent_access_ids: Vec<Uuid>,
}

/// The guests whose links one device opened (bounded, most recent last).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeviceGuests {
    pub guests: Vec<Uuid>,
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
    /// 0 (no risk) to 100.
    pub score: u32,
    pub band: RiskBand,
    pub flagged: bool,
    pub reasons: Vec<Reason>,
}

impl ScoringSettings {
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
}

/// Scores an access against the guest's baseline and the device's other guests.
pub fn assess(
    attempt: &AccessAttempt,
    baseline: &GuestBaseline,
    device_guests: &DeviceGuests,
    settings: &ScoringSettings,
) -> Assessment {
    let mut reasons = Vec::new();
    let mut fire = |code: &'static str, weight: u32, sentence: String| {
        reasons.push(Reason {
            code,
            sentence,
            weight,
        })
    };

    let new_device = match (&attempt.device, &baseline.trusted_device) {
        (Some(device), Some(trusted)) => device != trusted,
        _ => false,
    };
    if new_device {
        fire(
            "fingerprint_mismatch",
            settings.fingerprint_mismatch_weight,
            "The link was opened on a different device than the guest's usual one.".into(),
        );
        if baseline.responded {
            fire(
                "new_device_after_rsvp",
                settings.new_device_after_rsvp_weight,
                "A new device opened the link after the guest had already responded.".into(),
            );
        }
    }

    if let (Some(ip), Some(trusted_ip)) = (attempt.ip, baseline.trusted_ip) {
        let (ip, trusted_ip) = (ip.to_canonical(), trusted_ip.to_canonical());
        if ip != trusted_ip {
            if same_network(ip, trusted_ip) {
                fire(
                    "ip_changed_same_network",
                    settings.same_network_ip_weight,
                    "The address changed within the guest's usual network.".into(),
                );
            } else {
                fire(
                    "new_network",
                    settings.new_network_weight,
                    "The link was opened from a network the guest never used before.".into(),
                );
            }
        }
    }

    if attempt.device.is_none() {
        fire(
            "missing_fingerprint",
            settings.missing_fingerprint_weight,
            "The browser reported no device fingerprint.".into(),
        );
    }
    if !attempt.javascript_ran {
        fire(
            "javascript_disabled",
            settings.javascript_disabled_weight,
            "JavaScript did not run in the page, as with scripts and scrapers.".into(),
        );
    }
    let user_agent = attempt.user_agent.trim();
    if user_agent.is_empty() {
        fire(
            "missing_user_agent",
            settings.missing_user_agent_weight,
            "The request carried no user agent.".into(),
        );
    } else if is_automation(user_agent) {
        fire(
            "automation_user_agent",
            settings.automation_user_agent_weight,
            "The user agent is a script, headless browser or crawler.".into(),
        );
    }

    let window_start = attempt.accessed_at - settings.repeated_access_window;
    let recent = baseline
        .recent_accesses
        .iter()
        .filter(|at| **at > window_start && **at <= attempt.accessed_at)
        .count()
        + 1;
    if recent >= settings.repeated_access_threshold as usize {
        fire(
            "repeated_access",
            settings.repeated_access_weight,
            format!(
                "The link was opened {recent} times within {} minutes.",
                settings.repeated_access_window.num_minutes()
            ),
        );
    }

    let other_guests = device_guests
        .guests
        .iter()
        .filter(|guest| **guest != attempt.guest_id)
        .count();
    if attempt.device.is_some() && other_guests >= settings.shared_device_threshold as usize {
        fire(
            "shared_device",
            settings.shared_device_weight,
            format!("This device also opened the invitations of {other_guests} other guests."),
        );
    }

    let score = reasons
        .iter()
        .map(|reason| reason.weight)
        .sum::<u32>()
        .min(100);
    Assessment {
        score,
        band: settings.band(score),
        flagged: score >= settings.flag_from,
        reasons,
    }
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

/// Records an access in a guest's baseline: its time (bounded), and, when the access is
/// low risk, the trusted device and network (set by the first one, confirmed by an RSVP).
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
        let excess = baseline
            .recent_access_ids
            .len()
            .saturating_sub(settings.recent_access_limit);
        baseline.recent_access_ids.drain(..excess);
    }
    let position = baseline
        .recent_accesses
        .partition_point(|at| *at <= attempt.accessed_at);
    baseline
        .recent_accesses
        .insert(position, attempt.accessed_at);
    let excess = baseline
        .recent_accesses
        .len()
        .saturating_sub(settings.recent_access_limit);
    baseline.recent_accesses.drain(..excess);

    let low_risk = band == RiskBand::Low;
    if low_risk && (baseline.trusted_device.is_none() || attempt.is_rsvp) {
        if let Some(device) = &attempt.device {
            baseline.trusted_device = Some(device.clone());
        }
    }
    if low_risk && (baseline.trusted_ip.is_none() || attempt.is_rsvp) {
        if let Some(ip) = attempt.ip {
            baseline.trusted_ip = Some(ip.to_canonical());
        }
    }
    if attempt.is_rsvp && band < RiskBand::Block {
        baseline.responded = true;
    }
}

/// Records that a device opened a guest's link (bounded, most recent last).
pub fn remember_device_guest(devices: &mut DeviceGuests, guest_id: Uuid, limit: usize) {
    devices.guests.retain(|guest| *guest != guest_id);
    devices.guests.push(guest_id);
    let excess = devices.guests.len().saturating_sub(limit);
    devices.guests.drain(..excess);
}

#[cfg(test)]
mod tests {
    use super::*;

    const PHONE_UA: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148";

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(1_790_000_000, 0).expect("time") + Duration::minutes(minute)
    }

    fn device(name: &str) -> Option<DeviceKey> {
        Some(DeviceKey::from_keyed_hash(name.into()))
    }

    fn attempt(device_name: &str, ip: &str) -> AccessAttempt {
        AccessAttempt {
            access_id: None,
            guest_id: Uuid::from_u128(1),
            accessed_at: at(0),
            ip: Some(ip.parse().expect("ip")),
            user_agent: PHONE_UA.into(),
            device: device(device_name),
            javascript_ran: true,
            is_rsvp: false,
        }
    }

    fn baseline(device_name: &str, ip: &str) -> GuestBaseline {
        GuestBaseline {
            trusted_device: device(device_name),
            trusted_ip: Some(ip.parse().expect("ip")),
            ..Default::default()
        }
    }

    fn codes(assessment: &Assessment) -> Vec<&'static str> {
        assessment.reasons.iter().map(|r| r.code).collect()
    }

    fn run(attempt: &AccessAttempt, baseline: &GuestBaseline) -> Assessment {
        assess(
            attempt,
            baseline,
            &DeviceGuests::default(),
            &ScoringSettings::default(),
        )
    }

    #[test]
    fn the_trusted_device_on_the_trusted_address_scores_zero() {
        let result = run(
            &attempt("phone", "203.0.113.7"),
            &baseline("phone", "203.0.113.7"),
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
    fn another_device_is_a_fingerprint_mismatch() {
        let result = run(
            &attempt("laptop", "203.0.113.7"),
            &baseline("phone", "203.0.113.7"),
        );
        assert_eq!(codes(&result), ["fingerprint_mismatch"]);
        assert_eq!(result.score, 45);
        assert_eq!(result.band, RiskBand::Medium);
    }

    #[test]
    fn the_same_ipv4_network_counts_less_than_a_new_one() {
        let near = run(
            &attempt("phone", "203.0.113.99"),
            &baseline("phone", "203.0.113.7"),
        );
        let far = run(
            &attempt("phone", "198.51.100.7"),
            &baseline("phone", "203.0.113.7"),
        );
        assert_eq!(codes(&near), ["ip_changed_same_network"]);
        assert_eq!(codes(&far), ["new_network"]);
        assert!(near.score < far.score);
    }

    #[test]
    fn ipv6_networks_are_compared_by_their_48_bit_prefix() {
        let near = run(
            &attempt("phone", "2001:db8:1:2::5"),
            &baseline("phone", "2001:db8:1:9::1"),
        );
        let far = run(
            &attempt("phone", "2001:db8:2::5"),
            &baseline("phone", "2001:db8:1::1"),
        );
        assert_eq!(codes(&near), ["ip_changed_same_network"]);
        assert_eq!(codes(&far), ["new_network"]);
    }

    #[test]
    fn an_ipv4_mapped_address_is_the_same_address() {
        let result = run(
            &attempt("phone", "::ffff:203.0.113.7"),
            &baseline("phone", "203.0.113.7"),
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
    fn the_fifth_open_within_ten_minutes_is_repeated_access() {
        let mut history = baseline("phone", "203.0.113.7");
        history.recent_accesses = vec![at(-30), at(-4), at(-3), at(-2)];
        let fourth = run(&attempt("phone", "203.0.113.7"), &history);
        assert!(fourth.reasons.is_empty());
        history.recent_accesses.push(at(-1));
        let fifth = run(&attempt("phone", "203.0.113.7"), &history);
        assert_eq!(codes(&fifth), ["repeated_access"]);
        assert_eq!(fifth.band, RiskBand::Medium);
    }

    #[test]
    fn a_device_that_opened_two_other_guests_links_is_shared() {
        let settings = ScoringSettings::default();
        let one_other = DeviceGuests {
            guests: vec![Uuid::from_u128(1), Uuid::from_u128(2)],
        };
        let two_others = DeviceGuests {
            guests: vec![Uuid::from_u128(2), Uuid::from_u128(3)],
        };
        let access = attempt("laptop", "203.0.113.7");
        assert!(
            assess(&access, &GuestBaseline::default(), &one_other, &settings)
                .reasons
                .is_empty()
        );
        assert_eq!(
            codes(&assess(
                &access,
                &GuestBaseline::default(),
                &two_others,
                &settings
            )),
            ["shared_device"]
        );
    }

    #[test]
    fn a_new_device_after_the_rsvp_adds_to_the_mismatch() {
        let mut responded = baseline("phone", "203.0.113.7");
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
        let mut responded = baseline("phone", "203.0.113.7");
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
        let settings = ScoringSettings::default();
        assert_eq!(settings.band(29), RiskBand::Low);
        assert_eq!(settings.band(30), RiskBand::Medium);
        assert_eq!(settings.band(59), RiskBand::Medium);
        assert_eq!(settings.band(60), RiskBand::High);
        assert_eq!(settings.band(84), RiskBand::High);
        assert_eq!(settings.band(85), RiskBand::Block);
        let strict = ScoringSettings {
            medium_from: 10,
            ..settings
        };
        assert_eq!(strict.band(10), RiskBand::Medium);
    }

    #[test]
    fn only_a_low_risk_access_sets_the_trusted_device() {
        let settings = ScoringSettings::default();
        let mut fresh = GuestBaseline::default();
        let access = attempt("phone", "203.0.113.7");
        let risky = Assessment {
            score: 70,
            band: RiskBand::High,
            flagged: true,
            reasons: vec![],
        };
        remember_access(&mut fresh, &access, risky.band, &settings);
        assert_eq!(fresh.trusted_device, None);
        assert_eq!(fresh.recent_accesses, [at(0)]);
        let calm = run(&access, &fresh);
        remember_access(&mut fresh, &access, calm.band, &settings);
        assert_eq!(fresh.trusted_device, device("phone"));
    }

    #[test]
    fn a_low_risk_rsvp_confirms_the_device_and_marks_the_guest_responded() {
        let settings = ScoringSettings::default();
        let mut known = baseline("phone", "203.0.113.7");
        let mut rsvp = attempt("phone", "203.0.113.99");
        rsvp.is_rsvp = true;
        let calm = run(&rsvp, &known);
        remember_access(&mut known, &rsvp, calm.band, &settings);
        assert!(known.responded);
        assert_eq!(known.trusted_ip, Some("203.0.113.99".parse().expect("ip")));
    }

    #[test]
    fn remembered_accesses_and_device_guests_are_bounded() {
        let settings = ScoringSettings {
            recent_access_limit: 3,
            ..ScoringSettings::default()
        };
        let mut history = GuestBaseline::default();
        let calm = run(&attempt("phone", "203.0.113.7"), &history);
        for minute in 0..5 {
            let mut access = attempt("phone", "203.0.113.7");
            access.accessed_at = at(minute);
            remember_access(&mut history, &access, calm.band, &settings);
        }
        assert_eq!(history.recent_accesses, [at(2), at(3), at(4)]);

        let mut devices = DeviceGuests::default();
        for guest in [1, 2, 3, 2] {
            remember_device_guest(&mut devices, Uuid::from_u128(guest), 2);
        }
        assert_eq!(devices.guests, [Uuid::from_u128(3), Uuid::from_u128(2)]);
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
    fn a_baseline_stored_before_access_ids_existed_still_reads() {
        let old: GuestBaseline = serde_json::from_str(
            r#"{"trusted_device":null,"trusted_ip":null,"responded":false,"recent_accesses":[]}"#,
        )
        .expect("old baseline");
        assert!(old.recent_access_ids.is_empty());
    }
}
