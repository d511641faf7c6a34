#![doc = include_str!("../README.md")]

pub mod advantage;
mod error;
pub mod grpo_loss;
pub mod judge;
pub mod llm_judge;
pub mod online;
pub mod pool;
pub mod reward;
pub mod rollout;
pub mod sampling;
pub mod toy;
pub mod win_rate;

pub use advantage::{
    AdvantageConfig, AdvantageEstimator, AdvantageOutput, MultiObjectiveAggregation, ScaleRewards,
    TRL_STD_EPSILON,
};
pub use error::{Error, Result};
pub use grpo_loss::{
    GrpoLoss, GrpoLossConfig, GrpoLossInput, GrpoLossOutput, GrpoLossType, ImportanceSamplingLevel,
    active_tokens, k3_kl, mask_truncated_completions,
};
pub use judge::{
    BradleyTerryDecision, BradleyTerryJudge, PairwiseJudge, ProgrammaticJudge, Verdict,
    judge_from_scores,
};
pub use llm_judge::{LlmJudge, LlmJudgeConfig, LlmJudgeStats, ParsedAnswer};
pub use online::{
    GrpoRunConfig, GrpoRunOutput, GrpoStepOutput, GrpoTrainer, RewardRegistry, RewardSpec,
    run_grpo, tokenizer_detokenizer,
};
pub use pool::run_bounded;
pub use reward::{FnReward, RewardColumn, RewardFn, RewardSet};
pub use rollout::{RolloutBatch, RolloutConfig, generate_rollouts};
pub use sampling::SamplingConfig;
pub use win_rate::{WinRateConfig, WinRateReward, WinRateStats, group_pairs, win_rates};
