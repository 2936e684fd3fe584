//! The local platform (under construction).
