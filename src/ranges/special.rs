//! Special-purpose address blocks (RFC 6890 and the IANA registries it created) that no hosting
//! provider can legitimately publish as its own.
//!
//! Published range lists sometimes carry documentation, private or reserved blocks (the Vultr
//! list ships TEST-NET-1..3 and `2001:db8::/32`). Keeping them would make every example address
//! in a log, and every private address behind a NAT, look like a VPS. A listed prefix is dropped
//! when it *overlaps* a block here in either direction: inside it (`192.0.2.0/25`) or covering
//! it (`192.0.0.0/8`), because a list that claims a covering block is wrong about it too.
//! Because of that rule, no loaded prefix contains a special-purpose address, so a lookup of
//! one always answers "not hosting".

use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// One special-purpose block and the document that reserves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SpecialRange {
    /// The block in CIDR notation, also its name in reports (`192.0.2.0/24`).
    pub cidr: &'static str,
    /// What the block is for (`Documentation (TEST-NET-1)`).
    pub purpose: &'static str,
    /// The RFC that reserves it.
    pub rfc: &'static str,
    net: IpNet,
}

impl SpecialRange {
    pub fn net(&self) -> IpNet {
        self.net
    }
}

const fn v4(a: u8, b: u8, c: u8, d: u8, len: u8) -> IpNet {
    IpNet::V4(Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), len))
}

#[allow(clippy::too_many_arguments)]
const fn v6(a: u16, b: u16, c: u16, d: u16, e: u16, f: u16, g: u16, h: u16, len: u8) -> IpNet {
    IpNet::V6(Ipv6Net::new_assert(
        Ipv6Addr::new(a, b, c, d, e, f, g, h),
        len,
    ))
}

const fn range(
    cidr: &'static str,
    purpose: &'static str,
    rfc: &'static str,
    net: IpNet,
) -> SpecialRange {
    SpecialRange {
        cidr,
        purpose,
        rfc,
        net,
    }
}

/// The table, IPv4 then IPv6. Sub-blocks of a listed block (192.0.0.0/29 in 192.0.0.0/24,
/// 2001:db8::/32 aside, the Teredo and ORCHID blocks in 2001::/23) are covered by their parent.
/// `2001:db8::/32` is listed on its own although it is outside 2001::/23.
pub static SPECIAL_RANGES: &[SpecialRange] = &[
    range("0.0.0.0/8", "This network", "RFC 1122", v4(0, 0, 0, 0, 8)),
    range("10.0.0.0/8", "Private use", "RFC 1918", v4(10, 0, 0, 0, 8)),
    range(
        "100.64.0.0/10",
        "Shared address space (CGNAT)",
        "RFC 6598",
        v4(100, 64, 0, 0, 10),
    ),
    range("127.0.0.0/8", "Loopback", "RFC 1122", v4(127, 0, 0, 0, 8)),
    range(
        "169.254.0.0/16",
        "Link local",
        "RFC 3927",
        v4(169, 254, 0, 0, 16),
    ),
    range(
        "172.16.0.0/12",
        "Private use",
        "RFC 1918",
        v4(172, 16, 0, 0, 12),
    ),
    range(
        "192.0.0.0/24",
        "IETF protocol assignments",
        "RFC 6890",
        v4(192, 0, 0, 0, 24),
    ),
    range(
        "192.0.2.0/24",
        "Documentation (TEST-NET-1)",
        "RFC 5737",
        v4(192, 0, 2, 0, 24),
    ),
    range(
        "192.88.99.0/24",
        "6to4 relay anycast",
        "RFC 3068",
        v4(192, 88, 99, 0, 24),
    ),
    range(
        "192.168.0.0/16",
        "Private use",
        "RFC 1918",
        v4(192, 168, 0, 0, 16),
    ),
    range(
        "198.18.0.0/15",
        "Benchmarking",
        "RFC 2544",
        v4(198, 18, 0, 0, 15),
    ),
    range(
        "198.51.100.0/24",
        "Documentation (TEST-NET-2)",
        "RFC 5737",
        v4(198, 51, 100, 0, 24),
    ),
    range(
        "203.0.113.0/24",
        "Documentation (TEST-NET-3)",
        "RFC 5737",
        v4(203, 0, 113, 0, 24),
    ),
    range("224.0.0.0/4", "Multicast", "RFC 5771", v4(224, 0, 0, 0, 4)),
    range("240.0.0.0/4", "Reserved", "RFC 1112", v4(240, 0, 0, 0, 4)),
    range(
        "255.255.255.255/32",
        "Limited broadcast",
        "RFC 919",
        v4(255, 255, 255, 255, 32),
    ),
    range(
        "::/128",
        "Unspecified address",
        "RFC 4291",
        v6(0, 0, 0, 0, 0, 0, 0, 0, 128),
    ),
    range(
        "::1/128",
        "Loopback",
        "RFC 4291",
        v6(0, 0, 0, 0, 0, 0, 0, 1, 128),
    ),
    range(
        "::ffff:0:0/96",
        "IPv4-mapped addresses",
        "RFC 4291",
        v6(0, 0, 0, 0, 0, 0xffff, 0, 0, 96),
    ),
    range(
        "64:ff9b::/96",
        "IPv4-IPv6 translation",
        "RFC 6052",
        v6(0x64, 0xff9b, 0, 0, 0, 0, 0, 0, 96),
    ),
    range(
        "64:ff9b:1::/48",
        "Local-use IPv4-IPv6 translation",
        "RFC 8215",
        v6(0x64, 0xff9b, 1, 0, 0, 0, 0, 0, 48),
    ),
    range(
        "100::/64",
        "Discard only",
        "RFC 6666",
        v6(0x100, 0, 0, 0, 0, 0, 0, 0, 64),
    ),
    range(
        "2001::/23",
        "IETF protocol assignments (Teredo, benchmarking, ORCHID)",
        "RFC 2928",
        v6(0x2001, 0, 0, 0, 0, 0, 0, 0, 23),
    ),
    range(
        "2001:db8::/32",
        "Documentation",
        "RFC 3849",
        v6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0, 32),
    ),
    range(
        "2002::/16",
        "6to4",
        "RFC 3056",
        v6(0x2002, 0, 0, 0, 0, 0, 0, 0, 16),
    ),
    range(
        "3fff::/20",
        "Documentation",
        "RFC 9637",
        v6(0x3fff, 0, 0, 0, 0, 0, 0, 0, 20),
    ),
    range(
        "fc00::/7",
        "Unique local",
        "RFC 4193",
        v6(0xfc00, 0, 0, 0, 0, 0, 0, 0, 7),
    ),
    range(
        "fe80::/10",
        "Link-scoped unicast",
        "RFC 4291",
        v6(0xfe80, 0, 0, 0, 0, 0, 0, 0, 10),
    ),
    range(
        "ff00::/8",
        "Multicast",
        "RFC 4291",
        v6(0xff00, 0, 0, 0, 0, 0, 0, 0, 8),
    ),
];

/// The first special-purpose block that `prefix` lies in or covers, if any.
pub fn overlapping_special_range(prefix: &IpNet) -> Option<&'static SpecialRange> {
    SPECIAL_RANGES
        .iter()
        .find(|special| overlaps(&special.net, prefix))
}

/// Two prefixes overlap exactly when one contains the other, that is when their addresses agree
/// on the bits of the shorter one. Integer arithmetic, because this runs for every entry of
/// every list (about 160k per load) against every block.
fn overlaps(a: &IpNet, b: &IpNet) -> bool {
    match (a, b) {
        (IpNet::V4(a), IpNet::V4(b)) => {
            let len = u32::from(a.prefix_len().min(b.prefix_len()));
            let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
            (u32::from(a.addr()) ^ u32::from(b.addr())) & mask == 0
        }
        (IpNet::V6(a), IpNet::V6(b)) => {
            let len = u32::from(a.prefix_len().min(b.prefix_len()));
            let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
            (u128::from(a.addr()) ^ u128::from(b.addr())) & mask == 0
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(text: &str) -> IpNet {
        text.parse().unwrap()
    }

    #[test]
    fn table_names_match_their_blocks() {
        for special in SPECIAL_RANGES {
            assert_eq!(
                special.cidr.parse::<IpNet>().unwrap(),
                special.net,
                "{}",
                special.cidr
            );
            assert_eq!(
                special.net,
                special.net.trunc(),
                "{} has host bits",
                special.cidr
            );
        }
    }

    #[test]
    fn docs_list_every_block() {
        let docs = include_str!("../../docs/ip-ranges.md");
        for special in SPECIAL_RANGES {
            let row = format!(
                "| `{}` | {} | {} |",
                special.cidr, special.purpose, special.rfc
            );
            assert!(docs.contains(&row), "docs/ip-ranges.md lacks the row {row}");
        }
    }

    #[test]
    fn documentation_blocks_are_special() {
        for doc in [
            "192.0.2.0/24",
            "198.51.100.0/24",
            "203.0.113.0/24",
            "2001:db8::/32",
        ] {
            let found = overlapping_special_range(&net(doc)).expect(doc);
            assert_eq!(found.cidr, doc);
        }
    }

    #[test]
    fn prefixes_inside_or_covering_a_block_are_special() {
        assert_eq!(
            overlapping_special_range(&net("10.1.2.0/24")).unwrap().cidr,
            "10.0.0.0/8"
        );
        assert_eq!(
            overlapping_special_range(&net("192.0.0.0/8")).unwrap().cidr,
            "192.0.0.0/24"
        );
        assert_eq!(
            overlapping_special_range(&net("2001:2::/48")).unwrap().cidr,
            "2001::/23"
        );
        assert_eq!(
            overlapping_special_range(&net("0.0.0.0/0")).unwrap().cidr,
            "0.0.0.0/8"
        );
    }

    #[test]
    fn overlap_agrees_with_containment_either_way() {
        let samples = [
            "0.0.0.0/0",
            "10.0.0.0/8",
            "10.1.0.0/16",
            "11.0.0.0/8",
            "192.0.2.128/25",
            "255.255.255.255/32",
            "::/0",
            "::/128",
            "2001::/16",
            "2001:db8:1::/48",
            "fe80::/9",
        ];
        for a in samples {
            for b in samples {
                let (a, b) = (net(a), net(b));
                assert_eq!(
                    overlaps(&a, &b),
                    a.contains(&b) || b.contains(&a),
                    "{a} {b}"
                );
            }
        }
    }

    #[test]
    fn provider_prefixes_next_to_special_blocks_are_kept() {
        for public in [
            "192.0.3.0/24",
            "198.51.101.0/24",
            "100.128.0.0/10",
            "172.32.0.0/11",
            "2001:19f0::/38",
            "2a01:4f8::/32",
            "2600:1900:8000::/44",
        ] {
            assert_eq!(overlapping_special_range(&net(public)), None, "{public}");
        }
    }
}
