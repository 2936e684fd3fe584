//! demo-app binary.

fn main() {}
