//! Browser signals of an opening, collected by the hydrated guest page (wasm only) and
//! reported once to `POST /api/v1/access/{token}/signals`. A page that never hydrates
//! reports nothing, and that absence is itself a signal for the fraud checks.

use super::BrowserSignals;
use js_sys::wasm_bindgen::JsValue;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Collects the signals of this browser and reports them for the access attempt
/// `access_log_id` of the link `token`. Failures are only noted in the console: the
/// guest's page works the same without them.
pub async fn report(token: String, access_log_id: Uuid) {
    let signals = collect(access_log_id);
    let url = format!("/api/v1/access/{token}/signals");
    let sent = match gloo_net::http::Request::post(&url).json(&signals) {
        Ok(request) => request.send().await.map(|response| response.status()),
        Err(error) => Err(error),
    };
    match sent {
        Ok(204) => {}
        Ok(status) => leptos::logging::warn!("browser signals were refused ({status})"),
        Err(error) => leptos::logging::warn!("browser signals could not be sent: {error}"),
    }
}

/// The stable properties of this browser, their hash, and signs of automation.
pub fn collect(access_log_id: Uuid) -> BrowserSignals {
    let properties = Properties::read();
    BrowserSignals {
        access_log_id,
        fingerprint_hash: Some(properties.fingerprint()),
        time_zone: properties.time_zone.clone(),
        screen: properties.screen_size(),
        automation: automation_signs(&properties),
    }
}

/// Signs that a program, not a person, drives this browser (the vocabulary of
/// `fraud::devices::AUTOMATION_TRAITS`).
fn automation_signs(properties: &Properties) -> Vec<String> {
    let Some(window) = web_sys::window() else {
        return Vec::new();
    };
    let navigator = window.navigator();
    let get =
        |target: &JsValue, name: &str| js_sys::Reflect::get(target, &JsValue::from_str(name)).ok();
    let mut signs = Vec::new();
    if get(&navigator, "webdriver").and_then(|v| v.as_bool()) == Some(true) {
        signs.push("webdriver");
    }
    if properties.user_agent.contains("HeadlessChrome") {
        signs.push("headless");
    }
    // Desktop browsers all list their PDF viewer; phones list nothing.
    let mobile = ["Mobile", "Android", "iPhone", "iPad"]
        .iter()
        .any(|marker| properties.user_agent.contains(marker));
    let plugins = get(&navigator, "plugins")
        .and_then(|plugins| get(&plugins, "length"))
        .and_then(|length| length.as_f64());
    if !mobile && plugins == Some(0.0) {
        signs.push("no_plugins");
    }
    if properties.languages.is_empty() {
        signs.push("no_languages");
    }
    if window.outer_width().ok().and_then(|w| w.as_f64()) == Some(0.0)
        || window.outer_height().ok().and_then(|h| h.as_f64()) == Some(0.0)
    {
        signs.push("zero_window");
    }
    if properties
        .screen
        .is_some_and(|(width, height, _)| width == 0 || height == 0)
    {
        signs.push("screen_zero");
    }
    if time_zone_contradicts_clock(properties.time_zone.as_deref()) {
        signs.push("timezone_mismatch");
    }
    signs.into_iter().map(str::to_owned).collect()
}

/// Whether the reported time zone's current offset differs from the offset the clock
/// keeps (a time zone faked without the clock, or the other way round).
fn time_zone_contradicts_clock(time_zone: Option<&str>) -> bool {
    let Some(time_zone) = time_zone else {
        return false;
    };
    let clock_offset = -js_sys::Date::new_0().get_timezone_offset();
    let options = js_sys::Object::new();
    let set = |name: &str, value: &str| {
        js_sys::Reflect::set(
            &options,
            &JsValue::from_str(name),
            &JsValue::from_str(value),
        )
    };
    if set("timeZone", time_zone).is_err() || set("timeZoneName", "longOffset").is_err() {
        return false;
    }
    let format = js_sys::Intl::DateTimeFormat::new(&js_sys::Array::of1(&"en-US".into()), &options);
    let parts = format.format_to_parts(&js_sys::Date::new_0());
    let name = parts.iter().find_map(|part| {
        let kind = js_sys::Reflect::get(&part, &"type".into())
            .ok()?
            .as_string()?;
        (kind == "timeZoneName")
            .then(|| {
                js_sys::Reflect::get(&part, &"value".into())
                    .ok()?
                    .as_string()
            })
            .flatten()
    });
    match name.as_deref().and_then(offset_minutes) {
        Some(zone_offset) => (zone_offset - clock_offset).abs() > 0.5,
        None => false,
    }
}

/// Minutes east of UTC of a `GMT+05:30` / `GMT-08:00` / `GMT` name.
fn offset_minutes(name: &str) -> Option<f64> {
    let rest = name.strip_prefix("GMT")?;
    if rest.is_empty() {
        return Some(0.0);
    }
    let (sign, digits) = match rest.split_at(1) {
        ("+", digits) => (1.0, digits),
        ("-", digits) => (-1.0, digits),
        _ => return None,
    };
    let (hours, minutes) = digits.split_once(':').unwrap_or((digits, "0"));
    Some(sign * (hours.parse::<f64>().ok()? * 60.0 + minutes.parse::<f64>().ok()?))
}

/// What the browser tells about itself; every part is optional (privacy settings and
/// older browsers hide some).
#[derive(Clone, Debug, Default, PartialEq)]
struct Properties {
    user_agent: String,
    languages: Vec<String>,
    platform: String,
    screen: Option<(i32, i32, i32)>,
    time_zone: Option<String>,
    hardware_concurrency: f64,
    device_memory: Option<f64>,
}

impl Properties {
    fn read() -> Self {
        let Some(window) = web_sys::window() else {
            return Self::default();
        };
        let navigator = window.navigator();
        let screen = window.screen().ok().and_then(|screen| {
            Some((
                screen.width().ok()?,
                screen.height().ok()?,
                screen.color_depth().ok()?,
            ))
        });
        let device_memory = js_sys::Reflect::get(&navigator, &JsValue::from_str("deviceMemory"))
            .ok()
            .and_then(|value| value.as_f64());
        Self {
            user_agent: navigator.user_agent().unwrap_or_default(),
            languages: navigator
                .languages()
                .iter()
                .filter_map(|language| language.as_string())
                .collect(),
            platform: navigator.platform().unwrap_or_default(),
            screen,
            time_zone: time_zone(),
            hardware_concurrency: navigator.hardware_concurrency(),
            device_memory,
        }
    }

    /// `WIDTHxHEIGHT`.
    fn screen_size(&self) -> Option<String> {
        self.screen
            .map(|(width, height, _)| format!("{width}x{height}"))
    }

    /// SHA-256 (hex) over the properties, one `name=value` line each, in a fixed order.
    fn fingerprint(&self) -> String {
        let screen = self
            .screen
            .map(|(width, height, depth)| format!("{width}x{height}x{depth}"))
            .unwrap_or_default();
        let lines = [
            format!("user_agent={}", self.user_agent),
            format!("languages={}", self.languages.join(",")),
            format!("platform={}", self.platform),
            format!("screen={screen}"),
            format!(
                "time_zone={}",
                self.time_zone.as_deref().unwrap_or_default()
            ),
            format!("hardware_concurrency={}", self.hardware_concurrency),
            format!(
                "device_memory={}",
                self.device_memory
                    .map(|memory| memory.to_string())
                    .unwrap_or_default()
            ),
        ];
        Sha256::digest(lines.join("\n").as_bytes())
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }
}

/// The browser's IANA time zone, from `Intl.DateTimeFormat().resolvedOptions()`.
fn time_zone() -> Option<String> {
    let options = js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new())
        .resolved_options();
    js_sys::Reflect::get(&options, &JsValue::from_str("timeZone"))
        .ok()
        .and_then(|zone| zone.as_string())
        .filter(|zone| !zone.is_empty())
}
