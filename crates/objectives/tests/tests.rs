//! Integration tests of prefopt-objectives (one test binary for the crate).

mod cross_family;
mod dpo;
mod lipo;
mod nextquill;
