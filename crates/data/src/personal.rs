//! User-history (personalization) data: records with a history block, readers for the
//! Amazon-review and LaMP/LongLaMP layouts, history selection, prompt rendering with and
//! without the history (NextQuill's counterfactual), and tokenization under a token budget.

mod amazon;
mod date;
mod encode;
mod fields;
mod lamp;
mod layout;
mod load;
mod options;
mod record;
mod render;
mod report;
mod select;

pub use amazon::{ItemMetadata, parse_amazon_row, read_amazon_jsonl};
pub use encode::{PersonalEncoder, TokenizedPersonal};
pub use lamp::{parse_lamp_row, read_lamp_jsonl};
pub use layout::{PersonalLayout, read_personal_jsonl};
pub use load::{load_personal_dataset, personal_cache_key};
pub use options::PersonalOptions;
pub use record::{Field, HistoryItem, PersonalRecord};
pub use render::render_prompt;
pub use report::PersonalReport;
pub use select::select_history;
