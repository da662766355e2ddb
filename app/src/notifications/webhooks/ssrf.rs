//! Keeps webhook deliveries off private networks (server-side request forgery): in
//! production a receiver must be `https://` on a public address. The URL is checked when
//! it is registered and again at every delivery, where the HTTP client resolves names
//! through [`GuardedResolver`] (so a name that later resolves to `10.0.0.5` or
//! `127.0.0.1` — DNS rebinding — is refused too), and follows no redirects and no
//! proxy.

use reqwest::Url;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Why a receiver URL is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the URL is not valid: {0}")]
    Invalid(String),
    #[error("only http:// and https:// receivers are supported")]
    Scheme,
    #[error("receivers must use https:// in production")]
    HttpsRequired,
    #[error("the URL must not carry a user name or password")]
    Credentials,
    #[error("receivers on private, loopback or link-local addresses ({0}) are not allowed")]
    Private(IpAddr),
    #[error("the host name {0} could not be resolved")]
    Unresolvable(String),
}

/// Whether `ip` is a public unicast address (not loopback, private, link-local,
/// shared, documentation, multicast, reserved, or such an address inside IPv6).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let segments = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (segments[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (segments[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (segments[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
                || segments[0] == 0x2001 && segments[1] == 0x0db8 // documentation
                || segments[0] == 0x0064 && segments[1] == 0xff9b // NAT64 (embeds IPv4)
                || segments[0] == 0x2002 // 6to4 (embeds IPv4)
                || v6 == Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 1)
                || (segments[..6] == [0, 0, 0, 0, 0, 0])) // IPv4-compatible
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..=127).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

/// Checks a receiver URL's form and, unless `allow_private`, every address its host
/// resolves to. `production` also requires `https://`.
pub async fn check(raw: &str, allow_private: bool, production: bool) -> Result<Url, Refusal> {
    let url = Url::parse(raw.trim()).map_err(|e| Refusal::Invalid(e.to_string()))?;
    match url.scheme() {
        "https" => {}
        "http" if production => return Err(Refusal::HttpsRequired),
        "http" => {}
        _ => return Err(Refusal::Scheme),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Refusal::Credentials);
    }
    let host = url
        .host()
        .ok_or_else(|| Refusal::Invalid("the URL has no host".into()))?;
    if allow_private {
        return Ok(url);
    }
    let port = url.port_or_known_default().unwrap_or(443);
    let addresses: Vec<IpAddr> = match host {
        url::Host::Ipv4(ip) => vec![IpAddr::V4(ip)],
        url::Host::Ipv6(ip) => vec![IpAddr::V6(ip)],
        url::Host::Domain(name) => tokio::net::lookup_host((name, port))
            .await
            .map_err(|_| Refusal::Unresolvable(name.to_owned()))?
            .map(|address| address.ip())
            .collect(),
    };
    if addresses.is_empty() {
        return Err(Refusal::Unresolvable(host.to_string()));
    }
    match addresses.into_iter().find(|ip| !is_public(*ip)) {
        Some(private) => Err(Refusal::Private(private)),
        None => Ok(url),
    }
}

/// Resolves names for the webhook client, dropping every non-public address unless
/// `allow_private`; a name with no public address fails to resolve.
#[derive(Clone, Copy, Debug)]
pub struct GuardedResolver {
    pub allow_private: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let resolved: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|address| allow_private || is_public(address.ip()))
                .collect();
            if resolved.is_empty() {
                let refused: Box<dyn std::error::Error + Send + Sync> = Box::new(
                    std::io::Error::other(format!("{host} has no public address")),
                );
                return Err(refused);
            }
            let addresses: reqwest::dns::Addrs = Box::new(resolved.into_iter());
            Ok(addresses)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_special_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.2.10",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "2002:a00:1::",
        ] {
            assert!(!is_public(ip.parse().expect(ip)), "{ip}");
        }
        for ip in ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111"] {
            assert!(is_public(ip.parse().expect(ip)), "{ip}");
        }
    }

    #[tokio::test]
    async fn receivers_are_checked_by_form_and_address() {
        assert_eq!(
            check("ftp://example.org/x", false, false).await,
            Err(Refusal::Scheme)
        );
        assert_eq!(
            check("http://93.184.215.14/x", false, true).await,
            Err(Refusal::HttpsRequired)
        );
        assert_eq!(
            check("https://u:p@93.184.215.14/x", false, false).await,
            Err(Refusal::Credentials)
        );
        assert!(matches!(
            check("http://127.0.0.1:9/hook", false, false).await,
            Err(Refusal::Private(_))
        ));
        assert!(matches!(
            check("http://localhost:9/hook", false, false).await,
            Err(Refusal::Private(_))
        ));
        assert!(matches!(
            check("https://[::ffff:169.254.169.254]/", false, false).await,
            Err(Refusal::Private(_))
        ));
        assert!(check("https://93.184.215.14/hook", false, true)
            .await
            .is_ok());
        assert!(check("http://127.0.0.1:9/hook", true, false).await.is_ok());
        assert!(matches!(
            check("not a url", true, false).await,
            Err(Refusal::Invalid(_))
        ));
    }
}
