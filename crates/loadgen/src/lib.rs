//! HTTP traffic generator (under construction).
