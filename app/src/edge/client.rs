//! Who the client of a request is. Behind a TLS reverse proxy the TCP peer is the
//! proxy, so the client's address comes from the proxy's `X-Forwarded-For` (or
//! `Forwarded`) header — but only when the peer is one of the trusted proxies
//! (`GUESTGUARD_TRUSTED_PROXIES`); anyone else could write any address there.
//!
//! | peer                  | header                        | client                         |
//! |-----------------------|-------------------------------|--------------------------------|
//! | not trusted           | anything                      | the peer                       |
//! | trusted               | none                          | the peer                       |
//! | trusted               | `X-Forwarded-For: a, b, c`    | right-most of c, b, a that is not a trusted proxy |
//! | trusted               | only `Forwarded: for=a, for=b`| the same rule over its `for=` values |
//! | trusted, all trusted  | `X-Forwarded-For: p1, p2`     | the left-most (p1)             |
//! | trusted               | a hop that is not an address  | the trusted hop to its right   |
//!
//! The result is resolved once per request by [`resolve`] (a middleware) and read by
//! everything that needs it — rate limits, the access log, fraud scoring — through
//! [`ClientIp`].

use axum::{
    extract::{ConnectInfo, FromRequestParts, Request, State},
    http::{request::Parts, HeaderMap},
    middleware::Next,
    response::Response,
};
use ipnet::IpNet;
use std::{
    convert::Infallible,
    net::{IpAddr, SocketAddr},
    sync::Arc,
};

/// The networks whose connections are reverse proxies we trust to name the client.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Arc<Vec<IpNet>>);

impl TrustedProxies {
    /// Parses a list of addresses or CIDR blocks separated by commas or spaces
    /// (`10.0.0.0/8, 127.0.0.1, ::1`).
    pub fn parse(list: &str) -> Result<Self, String> {
        let nets = list
            .split([',', ' ', '\t', '\n'])
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| {
                item.parse::<IpNet>()
                    .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("{item:?} is not an IP address or CIDR block"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self(Arc::new(nets)))
    }

    /// Whether no proxy is trusted (the server faces clients directly).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` is one of the trusted proxies.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client behind a connection from `peer` carrying `headers` (see the module
    /// table).
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.contains(peer) {
            return peer;
        }
        let hops = forwarded_for(headers);
        let mut client = peer;
        // Walk from the proxy nearest to us towards the client.
        for hop in hops.iter().rev() {
            match hop {
                Some(ip) => {
                    client = ip.to_canonical();
                    if !self.contains(client) {
                        return client;
                    }
                }
                None => return client,
            }
        }
        client
    }
}

/// The hops of `X-Forwarded-For` (all its lines, in order), or else of `Forwarded`'s
/// `for=` parameters; `None` for a hop that is not an address (`unknown`, obfuscated).
fn forwarded_for(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let lines = |name: &str| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .filter(|hop| !hop.is_empty())
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let xff = lines("x-forwarded-for");
    if !xff.is_empty() {
        return xff.iter().map(|hop| parse_hop(hop)).collect();
    }
    lines("forwarded")
        .iter()
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (name, value) = pair.split_once('=')?;
                name.trim()
                    .eq_ignore_ascii_case("for")
                    .then(|| parse_hop(value.trim().trim_matches('"')))
            })
        })
        .collect()
}

/// An address as proxies write it: `1.2.3.4`, `1.2.3.4:5678`, `[2001:db8::1]:443`,
/// `2001:db8::1`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(address) = hop.parse::<SocketAddr>() {
        return Some(address.ip());
    }
    hop.strip_prefix('[')
        .and_then(|rest| rest.split_once(']'))
        .and_then(|(ip, _)| ip.parse().ok())
}

/// The client's address, when the connection has one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(Self::of(parts))
    }
}

impl ClientIp {
    /// The client of a request, as [`resolve`] found it (server functions read it from
    /// their `Parts`); without the middleware, the TCP peer.
    pub fn of(parts: &Parts) -> Self {
        if let Some(client) = parts.extensions.get::<Self>() {
            return *client;
        }
        Self(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(address)| address.ip().to_canonical()),
        )
    }

    /// Rate-limit key of this client for one route family: the IPv4 address, or the
    /// IPv6 /64 network (one subscriber's allocation, whose addresses rotate freely).
    pub fn key(&self, route: &str) -> String {
        match self.0.map(|ip| ip.to_canonical()) {
            Some(IpAddr::V4(ip)) => format!("{route}:{ip}"),
            Some(IpAddr::V6(ip)) => {
                let s = ip.segments();
                format!("{route}:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
            None => format!("{route}:unknown"),
        }
    }
}

/// Middleware: resolves the client of every request once, with the trusted proxies of
/// the settings, and records it for [`ClientIp`].
pub async fn resolve(
    State(proxies): State<TrustedProxies>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| address.ip());
    let client = peer.map(|peer| proxies.client(peer, request.headers()));
    request.extensions_mut().insert(ClientIp(client));
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("ip")
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                axum::http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
                HeaderValue::from_str(value).expect("value"),
            );
        }
        map
    }

    fn proxies() -> TrustedProxies {
        TrustedProxies::parse("10.0.0.0/8, 127.0.0.1 ::1").expect("valid list")
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let forged = headers(&[("x-forwarded-for", "203.0.113.9")]);
        assert_eq!(
            proxies().client(ip("198.51.100.7"), &forged),
            ip("198.51.100.7")
        );
        assert_eq!(
            TrustedProxies::default().client(ip("127.0.0.1"), &forged),
            ip("127.0.0.1"),
            "nobody is trusted by default"
        );
    }

    #[test]
    fn behind_a_trusted_proxy_the_client_is_the_right_most_untrusted_hop() {
        // The client wrote a forged first hop; our proxies appended the rest.
        let chain = headers(&[("x-forwarded-for", "1.1.1.1, 203.0.113.9, 10.1.2.3")]);
        assert_eq!(proxies().client(ip("127.0.0.1"), &chain), ip("203.0.113.9"));
        let split = headers(&[
            ("x-forwarded-for", "1.1.1.1"),
            ("x-forwarded-for", "203.0.113.9"),
        ]);
        assert_eq!(proxies().client(ip("10.0.0.2"), &split), ip("203.0.113.9"));
    }

    #[test]
    fn the_forwarded_header_is_read_when_there_is_no_x_forwarded_for() {
        let forwarded = headers(&[(
            "forwarded",
            r#"for=192.0.2.60;proto=https, for="[2001:db8::17]:4711""#,
        )]);
        assert_eq!(proxies().client(ip("::1"), &forwarded), ip("2001:db8::17"));
    }

    #[test]
    fn odd_hops_stop_the_walk_at_the_last_trusted_proxy() {
        let unknown = headers(&[("x-forwarded-for", "203.0.113.9, unknown, 10.0.0.5")]);
        assert_eq!(proxies().client(ip("127.0.0.1"), &unknown), ip("10.0.0.5"));
        let only_proxies = headers(&[("x-forwarded-for", "10.0.0.4, 10.0.0.5")]);
        assert_eq!(
            proxies().client(ip("127.0.0.1"), &only_proxies),
            ip("10.0.0.4")
        );
        assert_eq!(
            proxies().client(ip("127.0.0.1"), &HeaderMap::new()),
            ip("127.0.0.1")
        );
        let with_port = headers(&[("x-forwarded-for", "203.0.113.9:51234")]);
        assert_eq!(
            proxies().client(ip("127.0.0.1"), &with_port),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn a_bad_proxy_list_is_refused() {
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
        assert!(TrustedProxies::parse("proxy.internal").is_err());
        assert!(TrustedProxies::parse("").expect("empty").is_empty());
    }

    #[test]
    fn ipv4_clients_are_limited_by_address_and_ipv6_clients_by_their_64() {
        assert_eq!(
            ClientIp(Some(ip("203.0.113.9"))).key("login"),
            "login:203.0.113.9"
        );
        assert_eq!(
            ClientIp(Some(ip("::ffff:203.0.113.9"))).key("login"),
            "login:203.0.113.9"
        );
        let a = ClientIp(Some(ip("2001:db8:1:2:aaaa::1"))).key("token");
        let b = ClientIp(Some(ip("2001:db8:1:2:bbbb::9"))).key("token");
        let c = ClientIp(Some(ip("2001:db8:1:3::1"))).key("token");
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a, "token:2001:db8:1:2::/64");
    }
}
