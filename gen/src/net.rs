//! IPv4 prefixes written as constants, and picking addresses inside them.
//!
//! The generator's address plan is data: `normal` lists the ISP and cloud prefixes that
//! benign users and automation come from, `attacks` the hosting prefixes attackers rent.

use std::fmt;
use std::net::Ipv4Addr;

use super::random::Rand;

/// An IPv4 prefix, `base/len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub base: [u8; 4],
    pub len: u8,
}

impl Cidr {
    pub const fn new(a: u8, b: u8, c: u8, d: u8, len: u8) -> Cidr {
        Cidr {
            base: [a, b, c, d],
            len,
        }
    }

    fn mask(self) -> u32 {
        if self.len == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(self.len.min(32)))
        }
    }

    fn base_u32(self) -> u32 {
        u32::from_be_bytes(self.base)
    }

    /// Whether `base` has no host bits set (a well-formed prefix).
    pub fn is_aligned(self) -> bool {
        self.len <= 32 && self.base_u32() & !self.mask() == 0
    }

    pub fn contains(self, address: Ipv4Addr) -> bool {
        u32::from(address) & self.mask() == self.base_u32() & self.mask()
    }

    /// A host address inside the prefix, avoiding the first and last address of every /24
    /// (networks and broadcasts look odd in logs).
    pub(crate) fn address(self, rand: &mut Rand) -> Ipv4Addr {
        let host_bits = 32 - u32::from(self.len.min(32));
        let hosts = if host_bits >= 32 {
            u64::from(u32::MAX)
        } else {
            1u64 << host_bits
        };
        loop {
            let offset = rand.below(hosts) as u32;
            let address = Ipv4Addr::from((self.base_u32() & self.mask()) | offset);
            let last = address.octets()[3];
            if (last != 0 && last != 255) || hosts <= 2 {
                return address;
            }
        }
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d] = self.base;
        write!(f, "{a}.{b}.{c}.{d}/{}", self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_stay_inside_their_prefix() {
        let mut rand = Rand::new(1, "net");
        for cidr in [
            Cidr::new(45, 79, 3, 0, 24),
            Cidr::new(116, 202, 0, 0, 16),
            Cidr::new(73, 0, 0, 0, 8),
        ] {
            assert!(cidr.is_aligned());
            for _ in 0..500 {
                let address = cidr.address(&mut rand);
                assert!(cidr.contains(address), "{address} not in {cidr}");
                assert!(![0, 255].contains(&address.octets()[3]));
            }
        }
        assert!(!Cidr::new(45, 79, 3, 0, 24).contains(Ipv4Addr::new(45, 79, 4, 1)));
        assert!(!Cidr::new(45, 79, 3, 1, 24).is_aligned());
        assert_eq!(Cidr::new(45, 76, 0, 0, 15).to_string(), "45.76.0.0/15");
    }
}
