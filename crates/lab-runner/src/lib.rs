//! The runner (under construction).
