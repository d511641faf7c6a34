//! Logits and greedy generation against transformers (references in the fixtures).

use prefopt_models::{CausalLm, GenerationConfig};

use crate::fixtures::{CAUSAL_FIXTURES, device, dir, max_abs_diff, reference, to_vec};

/// Tolerance of the issue: f32 logits within 1e-4 of transformers.
const LOGIT_TOL: f32 = 1e-4;

#[test]
fn logits_match_transformers() {
    for name in CAUSAL_FIXTURES {
        let model = CausalLm::load_hf(dir(name), &device()).unwrap();
        let r = reference(name);
        let logits = to_vec(model.forward(r["input_ids"].int_tensor(), None).unwrap());
        let expect: Vec<f32> = r["logits"].values.iter().map(|&v| v as f32).collect();
        let diff = max_abs_diff(&logits, &expect);
        let scale = expect.iter().fold(0f32, |m, v| m.max(v.abs()));
        assert!(
            diff <= LOGIT_TOL,
            "{name}: max |diff| {diff} (logit scale {scale})"
        );
        assert!(
            scale > 0.05,
            "{name}: logits too small to be a meaningful check ({scale})"
        );
    }
}

fn trim_at_eos(tokens: &[u32], eos: u32) -> Vec<u32> {
    match tokens.iter().position(|&t| t == eos) {
        Some(i) => tokens[..=i].to_vec(),
        None => tokens.to_vec(),
    }
}

#[test]
fn greedy_generation_matches_transformers() {
    for name in CAUSAL_FIXTURES {
        let model = CausalLm::load_hf(dir(name), &device()).unwrap();
        let r = reference(name);
        let cfg = GenerationConfig::new().with_max_new_tokens(32);
        let eos = model.config().eos_token_ids[0];

        let prompt = r["greedy_prompt"].row_u32(0);
        let out = model.generate(&[prompt], &cfg).unwrap();
        let expect = trim_at_eos(&r["greedy_tokens"].row_u32(0), eos);
        assert_eq!(out.tokens[0], expect, "{name}: single prompt");
        assert_eq!(
            out.tokens[0].len(),
            32,
            "{name}: fixture should not stop early"
        );

        // Batched, left-padded by transformers; we pass the unpadded prompts.
        let prompts = &r["batch_prompts"];
        let mask = &r["batch_prompt_mask"];
        let rows: Vec<Vec<u32>> = (0..2)
            .map(|row| {
                let p = prompts.row_u32(row);
                let m = mask.row_u32(row);
                p.into_iter()
                    .zip(m)
                    .filter(|(_, m)| *m == 1)
                    .map(|(t, _)| t)
                    .collect()
            })
            .collect();
        assert_eq!(rows[1].len(), 4);
        let out = model.generate(&rows, &cfg).unwrap();
        for row in 0..2 {
            let expect = trim_at_eos(&r["batch_tokens"].row_u32(row), eos);
            assert_eq!(out.tokens[row], expect, "{name}: batch row {row}");
        }
    }
}
