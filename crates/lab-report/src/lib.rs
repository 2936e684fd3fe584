//! Report rendering (under construction).
