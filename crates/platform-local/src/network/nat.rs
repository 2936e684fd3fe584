//! Services as kernel address translation, as kube-proxy's nftables mode
//! makes them: a Service port is a virtual address and port whose new
//! connections the kernel sends to one of the port's ready endpoints, chosen
//! at random per connection (`numgen random mod N` over a map of endpoints).
//! A port without endpoints refuses connections with a reset.
//!
//! The whole table is rewritten in one `nft -f -` transaction on every change,
//! so the kernel never sees a half-written set of rules.

use super::command;
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// One Service port: its virtual address and port, and where it leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NatPort {
    pub(crate) address: Ipv4Addr,
    pub(crate) port: u16,
    pub(crate) endpoints: Vec<SocketAddr>,
}

/// The rules of one lab: its nft table and every Service port in it.
pub(crate) struct NatTable {
    nft: PathBuf,
    /// The nft table's name (`ip` family).
    table: String,
    /// Service ports by (Service, port); the lock also orders the rewrites.
    ports: Mutex<BTreeMap<(String, u16), NatPort>>,
}

impl NatTable {
    /// The (empty) table `table`, written through `nft`.
    pub(crate) fn new(nft: PathBuf, table: String) -> Self {
        Self {
            nft,
            table,
            ports: Mutex::new(BTreeMap::new()),
        }
    }

    /// Write the table as it is now (creating it empty at first).
    pub(crate) fn apply(&self) -> Result<(), String> {
        let ports = self.ports.lock().unwrap();
        let script = render(&self.table, ports.values());
        command::run(&self.nft, &["-f", "-"], Some(&script)).map(drop)
    }

    /// Set where a Service port leads and write the table.
    pub(crate) fn set(&self, service: &str, rule: NatPort) -> Result<(), String> {
        self.ports
            .lock()
            .unwrap()
            .insert((service.to_string(), rule.port), rule);
        self.apply()
    }

    /// Forget a Service port and write the table.
    pub(crate) fn remove(&self, service: &str, port: u16) -> Result<(), String> {
        self.ports
            .lock()
            .unwrap()
            .remove(&(service.to_string(), port));
        self.apply()
    }

    /// Delete the table (its rules go with it). Idempotent.
    pub(crate) fn delete(&self) {
        self.ports.lock().unwrap().clear();
        let _ = command::run(&self.nft, &["delete", "table", "ip", &self.table], None);
    }
}

/// A Service port's rules while they are wanted: dropping it removes them.
pub(crate) struct NatRule {
    pub(crate) table: Arc<NatTable>,
    pub(crate) service: String,
    pub(crate) address: Ipv4Addr,
    pub(crate) port: u16,
}

impl NatRule {
    /// Lead the port to `endpoints` from now on.
    pub(crate) fn lead_to(&self, endpoints: Vec<SocketAddr>) -> Result<(), String> {
        self.table.set(
            &self.service,
            NatPort {
                address: self.address,
                port: self.port,
                endpoints,
            },
        )
    }
}

impl Drop for NatRule {
    fn drop(&mut self) {
        let _ = self.table.remove(&self.service, self.port);
    }
}

/// The nft script that replaces `table` with one holding `ports`' rules: the
/// table is declared (so the delete cannot fail), deleted and written again,
/// all in one transaction.
pub(crate) fn render<'a>(table: &str, ports: impl IntoIterator<Item = &'a NatPort>) -> String {
    let mut translate = String::new();
    let mut refuse = String::new();
    for port in ports {
        let (address, service_port) = (port.address, port.port);
        if port.endpoints.is_empty() {
            refuse.push_str(&format!(
                "    ip daddr {address} tcp dport {service_port} reject with tcp reset\n"
            ));
            continue;
        }
        let map: Vec<String> = port
            .endpoints
            .iter()
            .enumerate()
            .map(|(i, e)| format!("{i} : {} . {}", e.ip(), e.port()))
            .collect();
        translate.push_str(&format!(
            "    ip daddr {address} tcp dport {service_port} dnat ip to numgen random mod {} map {{ {} }}\n",
            port.endpoints.len(),
            map.join(", ")
        ));
    }
    format!(
        "table ip {table}\ndelete table ip {table}\ntable ip {table} {{\n  \
         chain output {{\n    type nat hook output priority -100; policy accept;\n{translate}  }}\n  \
         chain prerouting {{\n    type nat hook prerouting priority -100; policy accept;\n{translate}  }}\n  \
         chain refuse {{\n    type filter hook output priority 0; policy accept;\n{refuse}  }}\n}}\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_picks_an_endpoint_at_random_and_an_empty_one_refuses() {
        let ports = [
            NatPort {
                address: Ipv4Addr::new(10, 96, 7, 1),
                port: 80,
                endpoints: vec![
                    "10.244.7.2:8080".parse().unwrap(),
                    "10.244.7.3:8080".parse().unwrap(),
                ],
            },
            NatPort {
                address: Ipv4Addr::new(10, 96, 7, 2),
                port: 80,
                endpoints: Vec::new(),
            },
        ];
        let script = render("clab7", &ports);
        assert!(
            script.starts_with("table ip clab7\ndelete table ip clab7\n"),
            "{script}"
        );
        let dnat = "ip daddr 10.96.7.1 tcp dport 80 dnat ip to numgen random mod 2 map { 0 : 10.244.7.2 . 8080, 1 : 10.244.7.3 . 8080 }";
        assert_eq!(script.matches(dnat).count(), 2, "{script}");
        assert_eq!(
            script
                .matches("ip daddr 10.96.7.2 tcp dport 80 reject with tcp reset")
                .count(),
            1,
            "{script}"
        );
    }
}
