//! The Kubernetes objects a scenario may contain, as k8s-openapi types.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use std::fmt;

/// A kind of object the lab knows how to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum ObjectKind {
    /// `apps/v1` Deployment.
    Deployment,
    /// `v1` Service.
    Service,
}

impl ObjectKind {
    /// The name `kubectl` uses for this kind (`deployment`, `service`).
    pub fn kubectl_name(self) -> &'static str {
        match self {
            ObjectKind::Deployment => "deployment",
            ObjectKind::Service => "service",
        }
    }
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ObjectKind::Deployment => "Deployment",
            ObjectKind::Service => "Service",
        })
    }
}

/// One object from a scenario's manifests.
#[derive(Debug, Clone, PartialEq)]
pub enum Object {
    /// A Deployment (`apps/v1`).
    Deployment(Box<Deployment>),
    /// A Service (`v1`).
    Service(Box<Service>),
}

impl Object {
    /// The object's kind.
    pub fn kind(&self) -> ObjectKind {
        match self {
            Object::Deployment(_) => ObjectKind::Deployment,
            Object::Service(_) => ObjectKind::Service,
        }
    }

    /// The object's `metadata.name` (validated objects always have one).
    pub fn name(&self) -> &str {
        let meta = match self {
            Object::Deployment(d) => &d.metadata,
            Object::Service(s) => &s.metadata,
        };
        meta.name.as_deref().unwrap_or("")
    }
}
