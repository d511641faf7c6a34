//! A controlled reproduction of NextQuill's claim on synthetic users (see
//! [`crate::personalization`]): NextQuill vs ContextSFT vs SFT, with the paper's ablation
//! rows, scored by ROUGE on held-out users. `prefopt personalization-study` runs it.

pub mod config;
pub mod history_use;
pub mod run;
pub mod table;
