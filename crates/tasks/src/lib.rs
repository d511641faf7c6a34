#![doc = include_str!("../README.md")]

mod config_relative;
mod corpus_files;
mod demo;
mod error;
mod jsonl_writer;
mod labeling;
mod model_config;
pub mod personalization;
pub mod personalization_study;
mod prepare;
pub mod real_model;
pub mod seed_stats;
pub mod sentiment;
pub mod shapes;
pub mod shapes_grpo;
pub mod shapes_t2i;
mod summary_table;
mod tokenizer_training;

pub use corpus_files::{write_prompts_jsonl, write_sft_jsonl};
pub use demo::config::{
    AlignStageConfig, DemoConfig, DemoDataConfig, SamplingStageConfig, SftStageConfig,
};
pub use demo::evaluation::{CompletionScore, KlEstimate, MethodEvaluation, best_of_k_kl};
pub use demo::pipeline::{DPO_METHOD, LIPO_METHOD, SFT_METHOD, run_demo};
pub use demo::report::{
    DemoReport, MethodSummary, PreferenceDataSummary, StageTiming, methods_table,
};
pub use demo::reward_kl_plot::{PlotGrid, PlotPoint, method_colour, plot_reward_kl};
pub use demo::sampling::{SampledPrompt, SamplingOptions, sample_completions, sequence_logprobs};
pub use error::{Result, TaskError};
pub use jsonl_writer::{write_json, write_jsonl};
pub use labeling::{
    PairOptions, PairStrategy, PreferencePair, ScoredPrompt, preference_pairs,
    write_preference_jsonl, write_ranked_jsonl,
};
pub use model_config::TinyLlamaConfig;
pub use personalization::{
    PersonalizationFiles, PersonalizationTaskConfig, PersonalizationWorld, UserPreferences,
    UserRow, generate_world, oracle_with_history, oracle_without_history,
    write_personalization_task,
};
pub use personalization_study::config::{PersonalizationStudyConfig, StudyArm};
pub use personalization_study::history_use::{HistoryUse, NllPair};
pub use personalization_study::run::{ArmRun, StudyReport, run_personalization_study};
pub use personalization_study::table::{PairedDifference, StudyRow, study_table};
pub use prepare::{DemoFiles, DemoSizes, prepare, prepare_with};
pub use real_model::config::{
    AlignMethodConfig, AlignObjective, FineTuning, RealDataConfig, RealModelConfig,
    RealSamplingConfig,
};
pub use real_model::pipeline::{BASE_METHOD, render_prompt, run_real_model, win_rate};
pub use real_model::questions::{Question, QuestionFamily, question_pool, split_questions};
pub use real_model::report::{RealMethodRow, RealModelReport, TrainingCost, real_model_table};
pub use real_model::reward::{ConciseAnswerReward, normalized_words};
pub use sentiment::{
    CorpusMix, CorpusStats, Review, ReviewGrammar, RewardStats, Stance, corpus_stats,
    distinct_prompts, generate_reviews, reward, sentiment_score,
};
pub use summary_table::{SummaryRow, summary_table};
pub use tokenizer_training::{
    BOS_TOKEN, EOS_TOKEN, MIN_VOCAB_SIZE, PAD_TOKEN, SpecialTokenIds, TokenizerTrainingConfig,
    TrainedTokenizer, train_tokenizer,
};
