#![doc = include_str!("../README.md")]

pub mod advantage;
pub mod bradley_terry_win_rate;
mod error;
pub mod flow_grpo;
pub mod grpo_loss;
pub mod judge;
pub mod llm_judge;
pub mod online;
pub mod reward;
pub mod reward_eval;
pub mod reward_model;
pub mod rollout;
pub mod sampling;
pub mod toy;
pub mod win_rate;

pub use advantage::{
    AdvantageConfig, AdvantageEstimator, AdvantageOutput, MultiObjectiveAggregation, ScaleRewards,
    TRL_STD_EPSILON,
};
pub use bradley_terry_win_rate::BradleyTerryWinRate;
pub use error::{Error, Result};
pub use flow_grpo::{
    FlowGrpoConfig, FlowGrpoEnv, FlowGrpoReport, FlowGrpoStep, FlowPrompt, ImageLoss, LogProbMode,
    Rollout, group_std_mean, train_flow_grpo, train_timesteps,
};
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
    BradleyTerryJudgeSpec, GrpoDataTable, GrpoFile, GrpoFileReport, GrpoModelTable, GrpoRunConfig,
    GrpoRunOptions, GrpoRunOutput, GrpoStepOutput, GrpoTrainer, JudgeSpec, ProgrammaticJudgeSpec,
    RewardKind, RewardModelJudgeSpec, RewardRegistry, RewardSpec, ValidGrpoConfig, run_grpo,
    run_grpo_file, run_valid_grpo, tokenizer_detokenizer,
};
pub use reward::{FnReward, RewardColumn, RewardFn, RewardSet};
pub use reward_eval::RewardEvalReport;
pub use reward_model::{REWARD_MODEL, RewardModelReward, score_completions};
pub use rollout::{RolloutBatch, RolloutConfig, generate_rollouts};
pub use sampling::SamplingConfig;
pub use win_rate::{
    HeadToHead, WinRateConfig, WinRateReward, WinRateStats, group_pairs, head_to_head, win_rates,
};
