//! The Kubernetes platform (under construction).
