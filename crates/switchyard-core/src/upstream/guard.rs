//! Where the image fetch may connect: public addresses only, unless the operator allows
//! private hosts (`[upstream] allow_private_image_hosts`).
//!
//! Image URLs come from clients, so without a check a client could make the gateway
//! fetch from its own loopback, the cloud metadata service (169.254.169.254) or the
//! private network behind it. The check sits where the address is chosen, not on the URL
//! text:
//! - [`PublicResolver`] is the fetch client's DNS resolver: it resolves a name, refuses it
//!   if *any* address is not public, and hands the client exactly the addresses it vetted,
//!   so a second lookup (DNS rebinding) cannot swap in another one. It runs for every
//!   hop, redirects included.
//! - IP-literal hosts are never resolved, so [`check_url`] vets them: before the first
//!   request and, through [`redirect_policy`], on every redirect.
//!
//! When an HTTP proxy is configured for the fetch, the proxy resolves the image's host
//! name and only IP literals are checked here; the proxy's own name goes through
//! [`PublicResolver`] (name a proxy on a private network by its address).

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Redirects followed by the image fetch.
const MAX_REDIRECTS: usize = 10;

/// Whether `ip` is a public unicast address. Refused: unspecified, loopback, private
/// (RFC 1918, ULA `fc00::/7`), link-local, shared / CGNAT (`100.64.0.0/10`), multicast,
/// broadcast and reserved (`240.0.0.0/4`), "this network" (`0.0.0.0/8`), deprecated
/// site-local (`fec0::/10`), and any IPv6 form embedding a refused IPv4 address
/// (IPv4-mapped, IPv4-compatible, NAT64 `64:ff9b::/96`).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(a == 0
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || (a == 100 && (64..128).contains(&b))
        || ip.is_multicast()
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let segments = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    // IPv4-compatible (`::a.b.c.d`, deprecated) and NAT64 (`64:ff9b::a.b.c.d`).
    if segments[..6] == [0; 6] || segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [.., hi, lo] = segments;
        let v4 = Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
        if !is_public_v4(v4) {
            return false;
        }
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || (segments[0] & 0xfe00) == 0xfc00
        || (segments[0] & 0xffc0) == 0xfe80
        || (segments[0] & 0xffc0) == 0xfec0
        || ip.is_multicast())
}

/// Why the fetch refuses `url`, if it does: a scheme other than `https`, or a host given
/// as a non-public IP literal (names are vetted by [`PublicResolver`]).
pub fn check_url(url: &reqwest::Url) -> Result<(), String> {
    if url.scheme() != "https" {
        return Err("only https URLs are fetched".to_owned());
    }
    let host = url.host_str().unwrap_or_default();
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    match literal.parse::<IpAddr>() {
        Ok(ip) if !is_public(ip) => Err(refusal(host, ip)),
        Ok(_) | Err(_) => Ok(()),
    }
}

fn refusal(host: &str, ip: IpAddr) -> String {
    format!(
        "image host {host} is not a public address ({ip}); \
         set [upstream] allow_private_image_hosts = true to allow it"
    )
}

/// The fetch's redirect policy: at most [`MAX_REDIRECTS`] hops, each one an `https` URL
/// passing [`check_url`].
pub fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        if attempt.previous().len() > MAX_REDIRECTS {
            return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
        }
        match check_url(attempt.url()) {
            Ok(()) => attempt.follow(),
            Err(reason) => attempt.error(reason),
        }
    })
}

/// DNS resolver of the image fetch: the system resolver, then every address must be
/// public (see the module doc).
#[derive(Debug, Default, Clone, Copy)]
pub struct PublicResolver;

impl Resolve for PublicResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if let Some(bad) = addrs.iter().find(|a| !is_public(a.ip())) {
                return Err(refusal(&host, bad.ip()).into());
            }
            if addrs.is_empty() {
                return Err(format!("{host} resolved to no address").into());
            }
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(s: &str) -> bool {
        is_public(s.parse().unwrap())
    }

    #[test]
    fn classifies_addresses() {
        for blocked in [
            "0.0.0.0",
            "0.1.2.3",
            "127.0.0.1",
            "127.255.0.9",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.254",
            "224.0.0.1",
            "239.255.255.250",
            "255.255.255.255",
            "240.0.0.1",
            "::",
            "::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:0.0.0.0",
            "::127.0.0.1",
            "64:ff9b::10.0.0.1",
        ] {
            assert!(!public(blocked), "{blocked} must be refused");
        }
        for allowed in [
            "8.8.8.8",
            "1.1.1.1",
            "100.63.255.255",
            "100.128.0.1",
            "172.15.255.255",
            "172.32.0.1",
            "192.169.0.1",
            "223.255.255.255",
            "2606:4700::1111",
            "2001:4860:4860::8888",
            "::ffff:8.8.8.8",
            "64:ff9b::8.8.8.8",
        ] {
            assert!(public(allowed), "{allowed} must be allowed");
        }
    }

    #[test]
    fn checks_ip_literal_urls() {
        let check = |s: &str| check_url(&reqwest::Url::parse(s).unwrap());
        assert!(check("https://example.com/cat.png").is_ok());
        assert!(check("https://8.8.8.8/cat.png").is_ok());
        assert!(check("http://example.com/cat.png").is_err());
        for url in [
            "https://127.0.0.1/x.png",
            "https://[::1]:8443/x.png",
            "https://[::ffff:7f00:1]/x.png",
            "https://0x7f.1/x.png",
            "https://2130706433/x.png",
            "https://169.254.169.254/latest/meta-data",
        ] {
            let e = check(url).unwrap_err();
            assert!(e.contains("allow_private_image_hosts"), "{url}: {e}");
        }
    }

    #[tokio::test]
    async fn resolver_refuses_names_of_private_addresses() {
        let e = match PublicResolver.resolve("localhost".parse().unwrap()).await {
            Ok(_) => panic!("localhost resolved"),
            Err(e) => e.to_string(),
        };
        assert!(e.contains("not a public address"), "{e}");
    }
}
