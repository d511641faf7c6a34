//! Integration tests of prefopt-rl (one binary, see the project conventions).

mod flow_grpo;
mod llm_judge;
mod online;
mod pref_grpo;
mod rollout;
