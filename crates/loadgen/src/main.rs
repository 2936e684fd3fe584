//! loadgen binary.

fn main() {}
