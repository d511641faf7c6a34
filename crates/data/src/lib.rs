#![doc = include_str!("../README.md")]

mod batch;
mod cache;
mod chat_template;
mod dataset;
mod error;
mod gguf_tokenizer;
mod implicit_prompt;
mod jsonl;
mod loader;
mod personal;
mod preference;
mod prompts;
mod python_json;
mod ranked;
mod records;
mod sft;
mod strftime;
mod tokenize;
mod tokenizer;
mod truncation;

pub use batch::{Collator, ListBatch, PadSide, TokenBatch};
pub use cache::{
    CACHE_FORMAT_VERSION, CACHE_MAGIC, CacheKey, CacheKeyBuilder, CacheLookup, CacheMiss,
    CacheOutcome, VectorRows, load_or_build, read_cache, read_vectors, vector_cache_key,
    write_cache, write_vectors,
};
pub use chat_template::{
    ChatTemplate, ChatTemplateInputs, MAX_TEMPLATE_FUEL, MAX_TOJSON_INDENT, templates_from_config,
};
pub use dataset::{
    DatasetKind, DatasetOptions, DatasetReport, TokenizedDataset, dataset_cache_key,
    dataset_cache_path, load_preference_dataset, load_prompt_dataset, load_ranked_dataset,
    load_sft_dataset,
};
pub use error::{DataError, Result};
pub use gguf_tokenizer::{GgufTokenizerFiles, SUPPORTED_GGUF_TOKENIZERS};
pub use implicit_prompt::{extract_prompt, split_messages, split_text};
pub use jsonl::{
    MAX_LINE_BYTES, ReadOptions, ReadReport, Rows, SkippedRow, parse_jsonl_str, read_jsonl,
    read_jsonl_limited,
};
pub use loader::{
    Batch, Cursor, Loader, LoaderConfig, batches_per_epoch, epoch_order, shuffled_epoch,
};
pub use personal::{
    Field, HistoryItem, ItemMetadata, PersonalEncoder, PersonalLayout, PersonalOptions,
    PersonalRecord, PersonalReport, TokenizedPersonal, load_personal_dataset, parse_amazon_row,
    parse_lamp_row, personal_cache_key, read_amazon_jsonl, read_lamp_jsonl, read_personal_jsonl,
    render_prompt, select_history,
};
pub use preference::{parse_preference_row, read_preference_jsonl};
pub use prompts::{parse_prompt_row, read_prompt_jsonl};
pub use python_json::{PythonJsonStyle, to_python_json};
pub use ranked::{RankedOptions, UltraFeedbackScore, parse_ranked_row, read_ranked_jsonl};
pub use records::{Content, Message, PreferenceRecord, PromptRecord, RankedRecord, SftRecord};
pub use sft::{parse_sft_row, read_sft_jsonl};
pub use strftime::{format_utc, strftime_now};
pub use tokenize::{
    Encoder, TokenizeReport, TokenizedList, TokenizedPair, TokenizedPrompt, TokenizedSft,
};
pub use tokenizer::{SpecialToken, Tokenizer, TokenizerFiles};
pub use truncation::{Truncation, TruncationMode, TruncationReport};
