//! Loopback address blocks: each local lab owns 127.B.0.0/16 for one B.
//!
//! Linux routes all of 127.0.0.0/8 to the loopback interface, so every pod can
//! have its own address and keep its container ports as declared. A block is
//! reserved by holding a listener on a fixed port of its first address: a second
//! lab (another test, another terminal) fails to bind it and picks another block.

use crate::error::LocalError;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};

/// The port whose listener marks a block as taken.
const RESERVATION_PORT: u16 = 49151;

/// A reserved block of loopback addresses.
pub(crate) struct Block {
    octet: u8,
    // Held for its side effect: while it is bound, the block is ours.
    _reservation: TcpListener,
}

impl Block {
    /// Reserve a free block, trying second octets in a random order.
    pub(crate) fn reserve() -> Result<Self, LocalError> {
        let mut candidates: Vec<u8> = (16..=250).collect();
        // A random start spreads concurrent labs apart; then walk the ring.
        let start = rand::random_range(0..candidates.len());
        candidates.rotate_left(start);
        let mut last_error = None;
        for octet in candidates {
            let address = SocketAddr::from((Ipv4Addr::new(127, octet, 0, 1), RESERVATION_PORT));
            match TcpListener::bind(address) {
                Ok(listener) => {
                    return Ok(Self {
                        octet,
                        _reservation: listener,
                    });
                }
                Err(error) => last_error = Some(error),
            }
        }
        Err(LocalError::AddressBlock(last_error.map_or_else(
            || "no candidates".to_string(),
            |e| e.to_string(),
        )))
    }

    /// The second octet B of 127.B.x.y.
    pub(crate) fn octet(&self) -> u8 {
        self.octet
    }

    /// The address of the n-th pod of this lab (n counts from 0, never reused).
    pub(crate) fn pod_address(&self, n: u32) -> Ipv4Addr {
        // 127.B.1.1 upward; each third octet holds 250 hosts.
        let third = 1 + (n / 250) % 254;
        let fourth = 1 + n % 250;
        Ipv4Addr::new(127, self.octet, third as u8, fourth as u8)
    }

    /// The address of the n-th Gateway (127.B.0.210 upward, after the
    /// Services' addresses).
    pub(crate) fn gateway_address(&self, n: u32) -> Ipv4Addr {
        Ipv4Addr::new(127, self.octet, 0, 210 + (n % 40) as u8)
    }

    /// The address of the n-th Service listener (127.B.0.2 upward).
    pub(crate) fn service_address(&self, n: u32) -> Ipv4Addr {
        Ipv4Addr::new(127, self.octet, 0, 2 + (n % 200) as u8)
    }
}

/// Whether a live lab holds block `octet` (its reservation listener is bound).
pub(crate) fn block_in_use(octet: u8) -> bool {
    let address = SocketAddr::from((Ipv4Addr::new(127, octet, 0, 1), RESERVATION_PORT));
    TcpListener::bind(address).is_err()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_reservations_get_different_blocks() {
        let a = Block::reserve().unwrap();
        let b = Block::reserve().unwrap();
        assert_ne!(a.octet(), b.octet());
    }

    #[test]
    fn pod_addresses_are_distinct_and_skip_network_and_broadcast() {
        let block = Block::reserve().unwrap();
        let addresses: std::collections::BTreeSet<Ipv4Addr> =
            (0..1000).map(|n| block.pod_address(n)).collect();
        assert_eq!(addresses.len(), 1000);
        for address in &addresses {
            let [a, b, c, d] = address.octets();
            assert_eq!((a, b), (127, block.octet()));
            assert!(c >= 1 && (1..=250).contains(&d), "{address}");
        }
    }
}
