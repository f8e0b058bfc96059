//! Which address a request came from. A direct client is the TCP peer. Behind a reverse proxy
//! (how a service with TLS is deployed) every peer is the proxy, so the client is read from
//! `X-Forwarded-For`, but only when the peer is a proxy this service was told to trust
//! (`--trusted-proxies`): from anyone else the header is ignored, or a client could name any
//! address it likes and walk around the login throttle.

use std::net::IpAddr;

use axum::http::HeaderMap;

/// The proxies whose `X-Forwarded-For` is believed: addresses or networks (`10.0.0.0/8`).
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<ipnet::IpNet>);

impl TrustedProxies {
    pub fn new(networks: Vec<ipnet::IpNet>) -> Self {
        Self(networks)
    }

    fn trusts(&self, address: IpAddr) -> bool {
        // An IPv4 peer may show as an IPv4-mapped IPv6 address on a dual-stack socket.
        let address = canonical(address);
        self.0.iter().any(|network| network.contains(&address))
    }

    /// The client of a request from `peer` with these headers: the peer itself unless it is a
    /// trusted proxy; then the nearest address in `X-Forwarded-For` (read from the right) that is
    /// not a trusted proxy. A header that does not parse names no client: the peer stands.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.trusts(peer) {
            return canonical(peer);
        }
        let mut hops: Vec<&str> = Vec::new();
        for value in headers.get_all("x-forwarded-for") {
            let Ok(text) = value.to_str() else {
                return canonical(peer);
            };
            hops.extend(text.split(',').map(str::trim));
        }
        let mut client = canonical(peer);
        for hop in hops.iter().rev() {
            let Ok(address) = hop.parse::<IpAddr>() else {
                return client;
            };
            client = canonical(address);
            if !self.trusts(client) {
                break;
            }
        }
        client
    }
}

/// `::ffff:10.0.0.1` as `10.0.0.1`.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", value.parse().unwrap());
        }
        headers
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let proxies = TrustedProxies::new(vec!["10.0.0.0/8".parse().unwrap()]);
        let spoofed = headers(&["1.2.3.4"]);
        assert_eq!(proxies.client(ip("192.0.2.7"), &spoofed), ip("192.0.2.7"));
        assert_eq!(
            TrustedProxies::default().client(ip("10.0.0.1"), &spoofed),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn behind_trusted_proxies_the_nearest_untrusted_hop_is_the_client() {
        let proxies = TrustedProxies::new(vec![
            "10.0.0.0/8".parse().unwrap(),
            "192.0.2.1/32".parse().unwrap(),
        ]);
        // A client may prepend anything; only what trusted proxies appended counts.
        let chain = headers(&["6.6.6.6, 198.51.100.9", "10.1.1.1"]);
        assert_eq!(proxies.client(ip("192.0.2.1"), &chain), ip("198.51.100.9"));
        assert_eq!(
            proxies.client(ip("::ffff:10.0.0.2"), &headers(&["203.0.113.5"])),
            ip("203.0.113.5")
        );
        // No header, or one that does not parse: the proxy itself.
        assert_eq!(
            proxies.client(ip("10.0.0.2"), &HeaderMap::new()),
            ip("10.0.0.2")
        );
        assert_eq!(
            proxies.client(ip("10.0.0.2"), &headers(&["unknown"])),
            ip("10.0.0.2")
        );
    }
}
