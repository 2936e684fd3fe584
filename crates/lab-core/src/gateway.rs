//! The Gateway API objects a scenario may hold: `Gateway` and `HTTPRoute`
//! (`gateway.networking.k8s.io/v1`, Standard channel).
//!
//! `types` is the objects as typed structs (strict: unknown fields are
//! errors), `subset` what a scenario may say in them (the CRD's limits and
//! rules, and the subset the lab's local gateway implements), and `routing`
//! the spec's matching and precedence, which the local gateway routes every
//! request with and the analysis asks where each class of traffic goes.

mod routing;
mod subset;
mod types;

pub use routing::{
    Backend, Headers, Mirror, ReadyByService, Request, RouteTable, Rule, mirror_shares, rule_shares,
};
pub use subset::{MAX_WEIGHT, Problem, gateway_problems, route_problems};
pub use types::*;
