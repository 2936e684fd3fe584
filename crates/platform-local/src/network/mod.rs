//! Pods in network namespaces: each pod gets a namespace of its own with one
//! address, as in a cluster, so an app that listens on a fixed port on every
//! address runs with its manifest unchanged; Services become kernel address
//! translation ([`nat`]).
//!
//! A lab whose loopback block is 127.B.0.0/16 owns:
//! - the bridge `clabB-br` holding 10.244.B.1/24, the pods' gateway, and a
//!   route of the Services' 10.96.B.0/24 to it (nothing leaves the machine);
//! - per pod, the namespace `clabB-N` and the veth `clabB-N` (its other end
//!   is the pod's `eth0` with 10.244.B.N/24), N from 2 to 254, reused once the
//!   pod is gone;
//! - the nft table `ip clabB` with the Services' rules.
//!
//! Everything carries the prefix [`NAME_PREFIX`] and the block's octet, so a
//! lab finds what a crashed earlier lab left: a block nobody holds
//! ([`crate::addr::block_in_use`]) has no live owner, and its leftovers are
//! removed ([`sweep_leftovers`]) when a lab starts and by `lab down`.

mod command;
pub(crate) mod nat;

use crate::addr;
use nat::NatTable;
use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The prefix of every namespace, link and nft table the pod network creates.
pub const NAME_PREFIX: &str = "clab";

/// How pods get their network, chosen per run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PodNetworkMode {
    /// Namespaces when this process may create them (root, `ip` and `nft`
    /// present and working), else loopback; what `lab run` asks by default.
    Auto,
    /// Namespaces, or refuse to start.
    Netns,
    /// Every pod on its own loopback address, Services as userspace
    /// listeners; the library's default, which needs nothing of the machine.
    #[default]
    Loopback,
}

impl PodNetworkMode {
    /// The mode as the `--pod-network` flag names it.
    pub fn as_str(self) -> &'static str {
        match self {
            PodNetworkMode::Auto => "auto",
            PodNetworkMode::Netns => "netns",
            PodNetworkMode::Loopback => "loopback",
        }
    }
}

impl std::str::FromStr for PodNetworkMode {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "auto" => Ok(PodNetworkMode::Auto),
            "netns" => Ok(PodNetworkMode::Netns),
            "loopback" => Ok(PodNetworkMode::Loopback),
            other => Err(format!(
                "unknown pod network {other:?} (expected auto, netns or loopback)"
            )),
        }
    }
}

impl std::fmt::Display for PodNetworkMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the pods of a loopback lab must do, said once per run.
/// How a lab's pods got their network, for the run to say once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PodNetworkChosen {
    /// Every pod on its own loopback address; `unavailable` says why network
    /// namespaces could not be had when `auto` asked for them.
    Loopback {
        /// Why network namespaces were not used.
        unavailable: Option<String>,
    },
    /// Every pod in its own network namespace.
    Netns {
        /// The pods' range (`10.244.B.0/24`).
        pods: String,
        /// The bridge (`clabB-br`).
        bridge: String,
        /// The Services' range (`10.96.B.0/24`).
        services: String,
    },
}

/// The pod network of one lab, while it exists; removed when dropped.
pub(crate) struct PodNetwork {
    octet: u8,
    ip: PathBuf,
    nft: PathBuf,
    bridge: String,
    /// The Services' rules.
    pub(crate) nat: Arc<NatTable>,
    /// Last octets of the pod addresses in use (2..=254).
    in_use: Mutex<PodAddresses>,
    /// Pods whose namespace exists.
    namespaces: Mutex<BTreeSet<u8>>,
}

/// The pod addresses in use, and the last one given.
struct PodAddresses {
    addresses: BTreeSet<u8>,
    last_given: u8,
}

/// The tools the pod network runs, when present.
struct Tools {
    ip: PathBuf,
    nft: PathBuf,
}

fn tools() -> Result<Tools, String> {
    // /proc/self belongs to the process's effective user.
    let root = std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false);
    if !root {
        return Err("not running as root".to_string());
    }
    let ip = command::find("ip").ok_or("`ip` not found (Debian package iproute2)")?;
    let nft = command::find("nft").ok_or("`nft` not found (Debian package nftables)")?;
    Ok(Tools { ip, nft })
}

/// The pod network `mode` asks for in the lab of loopback block `octet`:
/// `Ok(None)` for loopback pods, with what was chosen, or an error when
/// `netns` was asked for and cannot be had.
pub(crate) fn choose(
    mode: PodNetworkMode,
    octet: u8,
) -> Result<(Option<PodNetwork>, PodNetworkChosen), String> {
    if mode == PodNetworkMode::Loopback {
        return Ok((None, PodNetworkChosen::Loopback { unavailable: None }));
    }
    match tools().and_then(|tools| PodNetwork::create(tools, octet)) {
        Ok(network) => {
            let chosen = PodNetworkChosen::Netns {
                pods: network.pod_range(),
                bridge: network.bridge.clone(),
                services: network.service_range(),
            };
            Ok((Some(network), chosen))
        }
        Err(reason) if mode == PodNetworkMode::Auto => Ok((
            None,
            PodNetworkChosen::Loopback {
                unavailable: Some(reason),
            },
        )),
        Err(reason) => Err(reason),
    }
}

impl PodNetwork {
    /// Remove what a crashed lab left of this block and of any other dead
    /// lab, then create the bridge, its route and the empty nft table.
    fn create(tools: Tools, octet: u8) -> Result<Self, String> {
        let network = Self {
            octet,
            bridge: format!("{}-br", lab_name(octet)),
            nat: Arc::new(NatTable::new(tools.nft.clone(), lab_name(octet))),
            ip: tools.ip,
            nft: tools.nft,
            in_use: Mutex::new(PodAddresses {
                addresses: BTreeSet::new(),
                last_given: 254,
            }),
            namespaces: Mutex::new(BTreeSet::new()),
        };
        remove_lab(&network.ip, &network.nft, octet);
        sweep(&network.ip, &network.nft);
        check_ranges(&network.ip, octet)?;
        let ip = |args: &[&str]| command::run(&network.ip, args, None).map(drop);
        let gateway = format!("{}/24", network.gateway());
        // From here on, a failure is cleaned up by the drop.
        ip(&["link", "add", &network.bridge, "type", "bridge"])?;
        ip(&["addr", "add", &gateway, "dev", &network.bridge])?;
        ip(&["link", "set", &network.bridge, "up"])?;
        ip(&[
            "route",
            "add",
            &network.service_range(),
            "dev",
            &network.bridge,
        ])?;
        network.nat.apply()?;
        Ok(network)
    }

    fn gateway(&self) -> Ipv4Addr {
        Ipv4Addr::new(10, 244, self.octet, 1)
    }

    /// The pods' range, 10.244.B.0/24.
    pub(crate) fn pod_range(&self) -> String {
        format!("10.244.{}.0/24", self.octet)
    }

    /// The Services' virtual addresses, 10.96.B.0/24.
    pub(crate) fn service_range(&self) -> String {
        format!("10.96.{}.0/24", self.octet)
    }

    /// A new pod's address: the next free one after the last given, so an
    /// address is reused only after the whole range went round (the kernel
    /// removes a deleted namespace's veth a moment later).
    pub(crate) fn pod_address(&self) -> Ipv4Addr {
        let mut in_use = self.in_use.lock().unwrap();
        let after = in_use.last_given;
        // At most 50 pods run at once (the local platform's limit), far
        // fewer than the range holds; were it full, share an address rather
        // than fail.
        let last = (1..=253u16)
            .map(|step| 2 + ((u16::from(after) - 2 + step) % 253) as u8)
            .find(|n| !in_use.addresses.contains(n))
            .unwrap_or(after);
        in_use.addresses.insert(last);
        in_use.last_given = last;
        Ipv4Addr::new(10, 244, self.octet, last)
    }

    /// The n-th Service's virtual address.
    pub(crate) fn service_address(&self, n: u32) -> Ipv4Addr {
        Ipv4Addr::new(10, 96, self.octet, 1 + (n % 254) as u8)
    }

    /// The namespace of the pod at `address`, created (with its veth and
    /// address) the first time: the arguments of `ip` that run a program in it.
    pub(crate) fn enter(&self, address: Ipv4Addr) -> std::io::Result<(PathBuf, Vec<String>)> {
        let n = address.octets()[3];
        let namespace = pod_name(self.octet, n);
        let mut namespaces = self.namespaces.lock().unwrap();
        if !namespaces.contains(&n) {
            self.create_namespace(&namespace, address)
                .map_err(|message| {
                    let _ = command::run(&self.ip, &["netns", "del", &namespace], None);
                    std::io::Error::other(message)
                })?;
            namespaces.insert(n);
        }
        Ok((
            self.ip.clone(),
            vec!["netns".to_string(), "exec".to_string(), namespace],
        ))
    }

    fn create_namespace(&self, namespace: &str, address: Ipv4Addr) -> Result<(), String> {
        let ip = |args: &[&str]| command::run(&self.ip, args, None).map(drop);
        let cidr = format!("{address}/24");
        let gateway = self.gateway().to_string();
        // A namespace and veth of the same name left by an earlier pod go
        // first (a deleted namespace's veth lingers until the kernel cleans up).
        let _ = command::run(&self.ip, &["netns", "del", namespace], None);
        let _ = command::run(&self.ip, &["link", "del", namespace], None);
        ip(&["netns", "add", namespace])?;
        resolver_for(namespace)?;
        ip(&[
            "link", "add", namespace, "type", "veth", "peer", "name", "eth0", "netns", namespace,
        ])?;
        ip(&["link", "set", namespace, "master", &self.bridge, "up"])?;
        ip(&["-n", namespace, "addr", "add", &cidr, "dev", "eth0"])?;
        ip(&["-n", namespace, "link", "set", "eth0", "up"])?;
        ip(&["-n", namespace, "link", "set", "lo", "up"])?;
        ip(&["-n", namespace, "route", "add", "default", "via", &gateway])
    }

    /// The pod at `address` is gone: remove its namespace (its veth goes with
    /// it) and free the address.
    pub(crate) fn release(&self, address: Ipv4Addr) {
        let n = address.octets()[3];
        if self.namespaces.lock().unwrap().remove(&n) {
            remove_namespace(&self.ip, &pod_name(self.octet, n));
        }
        self.in_use.lock().unwrap().addresses.remove(&n);
    }

    /// Remove every namespace, link and rule of this lab. Idempotent.
    pub(crate) fn remove(&self) {
        self.namespaces.lock().unwrap().clear();
        remove_lab(&self.ip, &self.nft, self.octet);
        self.nat.delete();
    }
}

impl Drop for PodNetwork {
    fn drop(&mut self) {
        self.remove();
    }
}

/// `clabB`: the lab's bridge prefix and nft table.
fn lab_name(octet: u8) -> String {
    format!("{NAME_PREFIX}{octet}")
}

/// `clabB-N`: a pod's namespace and veth.
fn pod_name(octet: u8, n: u8) -> String {
    format!("{NAME_PREFIX}{octet}-{n}")
}

/// The block octet of a name the pod network gave (`clab7`, `clab7-br`,
/// `clab7-12`), or `None` for any other name.
fn octet_of(name: &str) -> Option<u8> {
    let rest = name.strip_prefix(NAME_PREFIX)?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let after = &rest[digits.len()..];
    if digits.is_empty() || !(after.is_empty() || after.starts_with('-')) {
        return None;
    }
    digits.parse().ok()
}

/// Kill what still runs in a namespace, then delete it.
fn remove_namespace(ip: &std::path::Path, namespace: &str) {
    if let Ok(pids) = command::run(ip, &["netns", "pids", namespace], None) {
        for pid in pids
            .split_whitespace()
            .filter_map(|p| p.parse::<i32>().ok())
        {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
    let _ = command::run(ip, &["netns", "del", namespace], None);
    let _ = std::fs::remove_dir_all(Path::new(NETNS_ETC).join(namespace));
}

/// Where `ip netns exec` finds a namespace's own files for `/etc`.
const NETNS_ETC: &str = "/etc/netns";

/// The resolver a pod's namespace sees: a name server on the pod's own
/// loopback, where nothing answers, so a lookup fails at once. Without it the
/// pod would ask the machine's name server through the bridge, whose answers
/// never come back to a pod address, and wait out the resolver's timeouts
/// (Python's HTTPServer looks up its own address before it listens). A
/// cluster gives pods its DNS instead.
fn resolver_for(namespace: &str) -> Result<(), String> {
    let dir = Path::new(NETNS_ETC).join(namespace);
    std::fs::create_dir_all(&dir)
        .and_then(|()| {
            std::fs::write(
                dir.join("resolv.conf"),
                "# canary-lab pod network: no name server reachable from pods
nameserver 127.0.0.1
options timeout:1 attempts:1
",
            )
        })
        .map_err(|e| format!("{}: {e}", dir.display()))
}

/// The namespaces' `/etc` directories of every lab on this machine.
fn resolver_dirs() -> Vec<String> {
    std::fs::read_dir(NETNS_ETC)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|entry| entry.file_name().into_string().ok())
                .filter(|name| octet_of(name).is_some())
                .collect()
        })
        .unwrap_or_default()
}

/// The names of this machine's namespaces, links and nft tables.
fn present(ip: &std::path::Path, nft: &std::path::Path) -> (Vec<String>, Vec<String>, Vec<String>) {
    let namespaces = command::run(ip, &["netns", "list"], None)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect();
    let links = command::run(ip, &["-o", "link", "show"], None)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split(": ").nth(1))
        .map(|name| name.split('@').next().unwrap_or(name).to_string())
        .collect();
    let tables = command::run(nft, &["list", "tables"], None)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.strip_prefix("table ip "))
        .map(|name| name.trim().to_string())
        .collect();
    (namespaces, links, tables)
}

/// Remove everything of block `octet`: namespaces (with what runs in them),
/// links, the nft table.
fn remove_lab(ip: &std::path::Path, nft: &std::path::Path, octet: u8) {
    let (namespaces, links, tables) = present(ip, nft);
    let ours = |name: &&String| octet_of(name) == Some(octet);
    for namespace in namespaces.iter().filter(ours) {
        remove_namespace(ip, namespace);
    }
    for link in links.iter().filter(ours) {
        let _ = command::run(ip, &["link", "del", link], None);
    }
    for table in tables.iter().filter(ours) {
        let _ = command::run(nft, &["delete", "table", "ip", table], None);
    }
    for dir in resolver_dirs().iter().filter(ours) {
        let _ = std::fs::remove_dir_all(Path::new(NETNS_ETC).join(dir));
    }
}

/// Remove the leftovers of every lab that no longer runs; the names removed.
fn sweep(ip: &std::path::Path, nft: &std::path::Path) -> Vec<String> {
    let (namespaces, links, tables) = present(ip, nft);
    let dirs = resolver_dirs();
    let dead: BTreeSet<u8> = namespaces
        .iter()
        .chain(&links)
        .chain(&tables)
        .chain(&dirs)
        .filter_map(|name| octet_of(name))
        .filter(|octet| !addr::block_in_use(*octet))
        .collect();
    for octet in &dead {
        remove_lab(ip, nft, *octet);
    }
    namespaces
        .into_iter()
        .chain(links)
        .chain(tables)
        .chain(dirs.into_iter().map(|dir| format!("{dir} ({NETNS_ETC})")))
        .filter(|name| octet_of(name).is_some_and(|o| dead.contains(&o)))
        .collect()
}

/// Remove the namespaces, links and nft tables of labs that no longer run
/// (`lab down`); the names removed. Nothing to do without the tools or root.
pub fn sweep_leftovers() -> Vec<String> {
    match tools() {
        Ok(tools) => sweep(&tools.ip, &tools.nft),
        Err(_) => Vec::new(),
    }
}

/// The names of the pod network's namespaces, links and nft tables on this
/// machine now, of every lab (for tests that check nothing was left).
pub fn present_names() -> Vec<String> {
    match tools() {
        Ok(tools) => {
            let (namespaces, links, tables) = present(&tools.ip, &tools.nft);
            namespaces
                .into_iter()
                .chain(links)
                .chain(tables)
                .filter(|name| octet_of(name).is_some())
                .chain(
                    resolver_dirs()
                        .into_iter()
                        .map(|dir| format!("{dir} ({NETNS_ETC})")),
                )
                .collect()
        }
        Err(_) => Vec::new(),
    }
}

/// Refuse a pod or Service range that this machine already routes or holds.
fn check_ranges(ip: &std::path::Path, octet: u8) -> Result<(), String> {
    let ours = [
        (Ipv4Addr::new(10, 244, octet, 0), 24u8),
        (Ipv4Addr::new(10, 96, octet, 0), 24u8),
    ];
    let routes = command::run(ip, &["-o", "-4", "route", "show", "table", "all"], None)?;
    let addresses = command::run(ip, &["-o", "-4", "addr", "show"], None)?;
    for line in routes.lines().chain(addresses.lines()) {
        if line.contains(&format!("dev {NAME_PREFIX}")) || line.contains(&format!(" {NAME_PREFIX}"))
        {
            continue;
        }
        for (network, length) in line.split_whitespace().filter_map(parse_cidr) {
            if network.is_unspecified() && length == 0 {
                continue;
            }
            if let Some((mine, mine_length)) = ours
                .iter()
                .find(|(mine, l)| overlap((network, length), (*mine, *l)))
            {
                return Err(format!(
                    "{mine}/{mine_length} is already in use on this machine ({})",
                    line.trim()
                ));
            }
        }
    }
    Ok(())
}

/// `10.1.2.0/24` (or a lone address, /32).
fn parse_cidr(text: &str) -> Option<(Ipv4Addr, u8)> {
    let (address, length) = match text.split_once('/') {
        Some((address, length)) => (address, length.parse().ok()?),
        None => (text, 32),
    };
    let address: Ipv4Addr = address.parse().ok()?;
    (length <= 32).then_some((address, length))
}

/// Whether two prefixes share an address.
fn overlap(a: (Ipv4Addr, u8), b: (Ipv4Addr, u8)) -> bool {
    let length = a.1.min(b.1);
    let mask = if length == 0 {
        0
    } else {
        u32::MAX << (32 - length)
    };
    u32::from(a.0) & mask == u32::from(b.0) & mask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_prefix_and_the_block() {
        assert_eq!(octet_of("clab7"), Some(7));
        assert_eq!(octet_of("clab7-br"), Some(7));
        assert_eq!(octet_of(&pod_name(201, 12)), Some(201));
        assert_eq!(octet_of("clabber"), None);
        assert_eq!(octet_of("clab7x"), None);
        assert_eq!(octet_of("eth0"), None);
    }

    #[test]
    fn ranges_overlap_when_they_share_an_address() {
        let cidr = |t: &str| parse_cidr(t).unwrap();
        assert!(overlap(cidr("10.0.0.0/8"), cidr("10.244.7.0/24")));
        assert!(overlap(cidr("10.244.7.9"), cidr("10.244.7.0/24")));
        assert!(!overlap(cidr("10.244.8.0/24"), cidr("10.244.7.0/24")));
        assert!(!overlap(cidr("192.0.2.0/24"), cidr("10.96.7.0/24")));
    }

    #[test]
    fn modes_parse_from_their_flag_names() {
        for mode in [
            PodNetworkMode::Auto,
            PodNetworkMode::Netns,
            PodNetworkMode::Loopback,
        ] {
            assert_eq!(mode.as_str().parse::<PodNetworkMode>(), Ok(mode));
        }
        assert!("bridge".parse::<PodNetworkMode>().is_err());
    }
}
