//! Integration tests of prefopt-objectives (one test binary for the crate).

mod dpo;
mod lipo;
mod nextquill;
