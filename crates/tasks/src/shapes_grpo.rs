//! Pref-GRPO / Flow-GRPO on the shapes world: the world's checker as a pointwise reward
//! (share of test points passed) and as a pairwise judge (win rates), the task glue for
//! [`prefopt_rl::train_flow_grpo`], and evaluation on a held-out mini UniGenBench suite.

mod config;
mod env;
mod rewards;
mod run;

pub use config::{GrpoPromptSection, ShapesGrpoConfig};
pub use env::ShapesGrpoEnv;
pub use rewards::{
    CHECKER_JUDGE, CHECKER_PASS_RATE, CheckerJudge, CheckerPassRate, ShapesRewardKind,
    ShapesRewardSpec, build_rewards, pass_rate,
};
pub use run::{EVAL_DIR, run_shapes_grpo};
