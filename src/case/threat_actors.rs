//! Threat actor addresses for the case (docs/design.md §5b): from the remote
//! addresses the findings' actions name, only public ones, written as Security
//! IR's model accepts them (IPv4 dotted, IPv6 in eight upper-case groups),
//! each once with the first user agent seen, ascending, at most 200.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::text::fit_value;

/// Security IR keeps at most this many threat actor addresses per case.
pub const MAX_ADDRESSES: usize = 200;
/// Security IR's limit on a user agent, in characters.
const USER_AGENT_MAX: usize = 500;

/// One remote address a finding's action names, as the finding has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sighting {
    /// The address text (IPv4 or IPv6, any spelling).
    pub address: String,
    /// The user agent of an API call from it, when there is one.
    pub user_agent: Option<String>,
}

/// A threat actor address for the case.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ThreatActor {
    /// The address, as Security IR's pattern accepts it.
    pub address: String,
    /// The first user agent seen from it.
    pub user_agent: Option<String>,
}

/// The addresses worth naming on the case, from what the findings saw.
pub fn threat_actors(sightings: &[Sighting]) -> Vec<ThreatActor> {
    let mut by_address: BTreeMap<String, Option<String>> = BTreeMap::new();
    for s in sightings {
        let Some(address) = s.address.trim().parse::<IpAddr>().ok().filter(is_public).map(|ip| written(&ip)) else { continue };
        let agent = s.user_agent.as_deref().map(|ua| fit_value(ua, USER_AGENT_MAX)).filter(|ua| !ua.is_empty());
        let slot = by_address.entry(address).or_default();
        if slot.is_none() {
            *slot = agent;
        }
    }
    by_address.into_iter().take(MAX_ADDRESSES).map(|(address, user_agent)| ThreatActor { address, user_agent }).collect()
}

/// The actors whose address the case does not show yet, however the service
/// spells the addresses it hands back.
pub fn not_on_case(actors: &[ThreatActor], on_case: &[String]) -> Vec<ThreatActor> {
    let shown: Vec<String> = on_case.iter().map(|a| a.trim().parse::<IpAddr>().map_or_else(|_| a.clone(), |ip| written(&ip))).collect();
    actors.iter().filter(|a| !shown.contains(&a.address)).cloned().collect()
}

/// An address someone outside could have used: not private, loopback,
/// link-local, unspecified, multicast, nor another special-purpose range that
/// never routes on the internet (shared, benchmarking, reserved, site-local).
/// An IPv6 address that carries an IPv4 one (mapped, compatible, NAT64, 6to4)
/// is judged by it. The documentation ranges count as public on purpose: the
/// fixtures use them, and GuardDuty's sample findings, which do too, are
/// skipped before any call.
fn is_public(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            let special = a == 0 // "this network"
                || (a == 100 && b & 0xc0 == 64) // shared address space (carrier-grade NAT)
                || (a, b, c) == (192, 0, 0) // IETF protocol assignments
                || (a == 198 && b & 0xfe == 18) // benchmarking
                || a >= 240; // reserved, broadcast
            !(special || v4.is_private() || v4.is_loopback() || v4.is_link_local() || v4.is_multicast())
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = embedded_v4(v6) {
                return is_public(&IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            let unique_local = first & 0xfe00 == 0xfc00;
            let link_local = first & 0xffc0 == 0xfe80;
            let site_local = first & 0xffc0 == 0xfec0;
            !(v6.is_loopback() || v6.is_unspecified() || v6.is_multicast() || unique_local || link_local || site_local)
        }
    }
}

/// The IPv4 address an IPv6 one carries, if it carries one.
fn embedded_v4(v6: &Ipv6Addr) -> Option<Ipv4Addr> {
    let g = v6.segments();
    let v4 = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    match g {
        [0, 0, 0, 0, 0, 0xffff, hi, lo] => Some(v4(hi, lo)),       // mapped
        [0, 0, 0, 0, 0, 0, hi, lo] if hi != 0 => Some(v4(hi, lo)), // compatible (deprecated)
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => Some(v4(hi, lo)),    // NAT64
        [0x2002, hi, lo, ..] => Some(v4(hi, lo)),                  // 6to4
        _ => None,
    }
}

/// IPv4 dotted; IPv6 (an IPv4-mapped one as its IPv4) in the full eight-group
/// upper-case form Security IR's pattern accepts.
fn written(ip: &IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => v6.segments().iter().map(|g| format!("{g:04X}")).collect::<Vec<_>>().join(":"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(address: &str, agent: Option<&str>) -> Sighting {
        Sighting { address: address.into(), user_agent: agent.map(str::to_string) }
    }

    #[test]
    fn ipv6_in_any_spelling_becomes_eight_upper_case_groups() {
        let actors =
            threat_actors(&[seen("2001:db8::1", None), seen("2001:DB8:0:0:0:0:0:1", Some("second")), seen("2600:1f18:abcd::ff", None)]);
        assert_eq!(
            actors,
            vec![
                ThreatActor { address: "2001:0DB8:0000:0000:0000:0000:0000:0001".into(), user_agent: Some("second".into()) },
                ThreatActor { address: "2600:1F18:ABCD:0000:0000:0000:0000:00FF".into(), user_agent: None },
            ],
            "one entry per address, whatever its spelling, with the first user agent seen"
        );
        assert_eq!(threat_actors(&[seen("::ffff:198.51.100.7", None)])[0].address, "198.51.100.7");
    }

    #[test]
    fn private_loopback_link_local_unspecified_and_multicast_are_left_out() {
        let inside = [
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "127.0.0.1",
            "169.254.169.254",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fd12:3456::1",
            "ff02::1",
            "::ffff:10.0.0.1",
            "100.64.0.1",
            "192.0.0.8",
            "198.19.255.1",
            "240.0.0.1",
            "0.1.2.3",
            "::10.0.0.1",
            "64:ff9b::192.168.0.1",
            "2002:c0a8:0101::1",
            "fec0::1",
            "not an address",
            "",
            "1.2.3",
        ];
        assert_eq!(threat_actors(&inside.map(|a| seen(a, None))), vec![]);
    }

    #[test]
    fn an_ipv6_address_carrying_a_public_ipv4_one_counts_as_that_address() {
        let addresses = ["::ffff:203.0.113.7", "::203.0.113.8", "64:ff9b::203.0.113.9", "2002:cb00:710a::1", "100.128.0.1"];
        let written: Vec<String> = threat_actors(&addresses.map(|a| seen(a, None))).into_iter().map(|a| a.address).collect();
        assert_eq!(
            written,
            [
                "0000:0000:0000:0000:0000:0000:CB00:7108",
                "0064:FF9B:0000:0000:0000:0000:CB00:7109",
                "100.128.0.1",
                "2002:CB00:710A:0000:0000:0000:0000:0001",
                "203.0.113.7"
            ]
        );
    }

    #[test]
    fn an_address_the_case_shows_in_another_spelling_is_not_added_again() {
        let actors = threat_actors(&[seen("2001:db8::1", None), seen("198.51.100.7", None), seen("203.0.113.1", None)]);
        let on_case = ["2001:db8:0:0::1".to_string(), " 198.51.100.7".to_string(), "not an address".to_string()];
        let new: Vec<String> = not_on_case(&actors, &on_case).into_iter().map(|a| a.address).collect();
        assert_eq!(new, ["203.0.113.1"]);
    }

    #[test]
    fn the_first_user_agent_stays_cleaned_and_cut_and_the_order_is_by_address() {
        let long = format!("curl/8\u{202E}{}", "x".repeat(600));
        let actors = threat_actors(&[seen("203.0.113.9", Some(&long)), seen("198.51.100.1", None), seen("203.0.113.9", Some("later"))]);
        assert_eq!(actors[0].address, "198.51.100.1");
        let agent = actors[1].user_agent.clone().unwrap_or_default();
        assert!(agent.starts_with("curl/8xxx") && agent.chars().count() == USER_AGENT_MAX, "{agent}");
    }

    #[test]
    fn at_most_two_hundred() {
        let many: Vec<Sighting> = (0..300).map(|i| seen(&format!("198.51.{}.{}", i / 200, i % 200 + 1), None)).collect();
        assert_eq!(threat_actors(&many).len(), MAX_ADDRESSES);
    }
}
