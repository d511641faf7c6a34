//! Pref-GRPO / Flow-GRPO on the shapes world: the world's checker as a pointwise reward
//! (share of test points passed) and as a pairwise judge (win rates), a learned scorer and a
//! learned pairwise judge of equal capacity trained on checker-labelled samples
//! (`prefopt t2i train-judges`), an MLLM judge over an OpenAI-compatible endpoint, the task
//! glue for [`prefopt_rl::train_flow_grpo`], and evaluation on a held-out mini UniGenBench
//! suite, and the study that compares the rewards (`prefopt t2i study`).

mod config;
mod env;
mod judge_config;
mod judge_data;
mod judge_net;
mod judge_training;
mod learned_rewards;
mod mllm_judge;
mod rewards;
mod run;
mod study_config;
mod study_plots;
mod study_report;
mod study_run;

pub use config::{GrpoPromptSection, ShapesGrpoConfig};
pub use env::ShapesGrpoEnv;
pub use judge_config::{JudgeDataSection, JudgeFitSection, JudgeNetSection, JudgeTrainingConfig};
pub use judge_data::{JudgeSample, LabelledPair, label_samples, labelled_pairs, sample_judge_data};
pub use judge_net::{
    JUDGE_CONFIG_FILE, JUDGE_WEIGHTS_FILE, JudgeNet, JudgeNetConfig, JudgeObjective,
    LearnedJudgeFile, LoadedJudgeNet,
};
pub use judge_training::{
    FittedJudgeNet, HeldOutMetrics, JUDGE_DIR, JUDGES_REPORT_FILE, JudgeNetReport,
    JudgeTrainingReport, SCORER_DIR, bce_with_logits, evaluate_judge_net, fit_both, fit_judge_net,
    train_judges,
};
pub use learned_rewards::{LearnedScorer, learned_judge, learned_judge_win_rate};
pub use mllm_judge::{MllmJudge, MllmJudgeSpec, UNIFIED_REWARD_THINK_TEMPLATE};
pub use rewards::{
    CHECKER_JUDGE, CHECKER_PASS_RATE, CheckerJudge, CheckerPassRate, ShapesRewardKind,
    ShapesRewardSpec, build_rewards, pass_rate,
};
pub use run::{EVAL_DIR, run_shapes_grpo};
pub use study_config::{
    GROUND_TRUTH_REWARD, JUDGES_FOLDER, PrefGrpoStudyConfig, RUNS_FOLDER, StudyArmSpec, run_dir,
};
pub use study_plots::PLOTS_FOLDER;
pub use study_report::{
    ArmResults, EvalPoint, FirstLast, RolloutPoint, RunResults, StudyResults, study_markdown,
    write_study_report,
};
pub use study_run::{FinishedRun, RUN_DONE_FILE, finished_run, read_finished, run_pref_grpo_study};
