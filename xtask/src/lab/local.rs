//! `lab up|down|status` on the local platform.
