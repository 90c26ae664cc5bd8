//! Which address a request came from. Behind proxies, X-Forwarded-For is a
//! list the client starts and each proxy extends on the right, so only the
//! entries added by our own proxies can be believed: the client is the
//! right-most entry that is not one of them. The left-most entry is whatever
//! the client chose to write, and trusting it would let anyone dodge the
//! sign-in throttle and forge audit addresses.

use std::net::IpAddr;

/// An address block, e.g. `10.0.0.0/8`, `::1/128` or a single address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    net: IpAddr,
    prefix: u8,
}

impl Block {
    pub fn parse(s: &str) -> Option<Self> {
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().ok()?)),
            None => (s.trim(), None),
        };
        let net: IpAddr = addr.parse().ok()?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Self { net, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = unmap(ip);
        match (self.net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => same_prefix(&n.octets(), &a.octets(), self.prefix),
            (IpAddr::V6(n), IpAddr::V6(a)) => same_prefix(&n.octets(), &a.octets(), self.prefix),
            _ => false,
        }
    }
}

/// `::ffff:10.0.0.1` is the IPv4 address it carries (dual-stack sockets show it so).
fn unmap(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

fn same_prefix(a: &[u8], b: &[u8], bits: u8) -> bool {
    let (whole, rest) = ((bits / 8) as usize, bits % 8);
    if a[..whole] != b[..whole] {
        return false;
    }
    rest == 0 || (a[whole] ^ b[whole]) >> (8 - rest) == 0
}

/// The configured proxies; entries that do not parse are reported at start.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(Vec<Block>);

impl TrustedProxies {
    pub fn parse(list: &[String]) -> anyhow::Result<Self> {
        list.iter()
            .map(|s| {
                Block::parse(s).ok_or_else(|| anyhow::anyhow!("trusted_proxies: `{s}` is not an address or CIDR block"))
            })
            .collect::<anyhow::Result<Vec<_>>>()
            .map(Self)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|b| b.contains(ip))
    }

    /// The client address: the peer itself unless the peer is a trusted proxy,
    /// then X-Forwarded-For walked from the right past trusted hops.
    pub fn client(&self, peer: IpAddr, forwarded_for: Option<&str>) -> IpAddr {
        let peer = unmap(peer);
        if !self.trusts(peer) {
            return peer;
        }
        let mut client = peer;
        let hops = forwarded_for.unwrap_or("").split(',').map(str::trim).filter(|h| !h.is_empty());
        for hop in hops.rev() {
            // A proxy writes a bare address; anything else was written by the client.
            let Some(ip) = parse_hop(hop) else { break };
            client = unmap(ip);
            if !self.trusts(client) {
                break;
            }
        }
        client
    }
}

/// `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1` or `[2001:db8::1]:443`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse().ok().or_else(|| hop.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client() {
        let t = TrustedProxies::parse(&["127.0.0.0/8".into(), "10.1.0.0/16".into(), "::1".into()]).unwrap();
        // A client writing its own header cannot choose its address.
        assert_eq!(t.client(ip("127.0.0.1"), Some("6.6.6.6, 203.0.113.9")), ip("203.0.113.9"));
        // Two trusted proxies in a row are walked past.
        assert_eq!(t.client(ip("127.0.0.1"), Some("6.6.6.6, 198.51.100.4, 10.1.2.3")), ip("198.51.100.4"));
        // An untrusted peer's header is ignored entirely.
        assert_eq!(t.client(ip("192.0.2.1"), Some("10.1.2.3")), ip("192.0.2.1"));
        assert_eq!(t.client(ip("::ffff:127.0.0.1"), Some("192.0.2.7:5000")), ip("192.0.2.7"));
        // Garbage stops the walk at the last believable hop.
        assert_eq!(t.client(ip("127.0.0.1"), Some("x, 10.1.9.9")), ip("10.1.9.9"));
        assert_eq!(t.client(ip("::1"), None), ip("::1"));
        assert!(TrustedProxies::parse(&["10.0.0.0/33".into()]).is_err());
        assert!(Block::parse("10.0.0.0/8").unwrap().contains(ip("10.255.0.1")));
        assert!(!Block::parse("10.0.0.0/9").unwrap().contains(ip("10.128.0.1")));
    }
}
