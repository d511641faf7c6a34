//! Token ids → the text reward functions see.

/// A `detokenize` for [`run_grpo`](super::run_grpo) /
/// [`GrpoTrainer::step`](super::GrpoTrainer::step) from a tokenizer: special tokens skipped, as
/// TRL decodes completions. A decode error is logged and gives an empty string.
pub fn tokenizer_detokenizer(
    tokenizer: &prefopt_data::Tokenizer,
) -> impl Fn(&[u32]) -> String + '_ {
    move |ids| {
        tokenizer.decode(ids, true).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "could not decode token ids; reward sees an empty string");
            String::new()
        })
    }
}
