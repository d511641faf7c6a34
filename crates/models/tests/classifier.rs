//! Reward head against transformers' `LlamaForSequenceClassification`.

use prefopt_models::SequenceClassifier;

use crate::fixtures::{device, dir, reference, to_vec};

#[test]
fn scores_match_transformers_and_survive_a_round_trip() {
    let model = SequenceClassifier::load_hf(dir("reward"), &device()).unwrap();
    let r = reference("reward");
    let ids = r["input_ids"].int_tensor();
    let mask = r["attention_mask"].int_tensor();
    let scores = to_vec(model.rewards(ids.clone(), Some(mask.clone())).unwrap());
    let expect: Vec<f32> = r["scores"].values.iter().map(|&v| v as f32).collect();
    assert_eq!(scores.len(), 2);
    for (a, e) in scores.iter().zip(&expect) {
        assert!((a - e).abs() <= 1e-4, "{a} vs {e}");
    }
    assert!((expect[0] - expect[1]).abs() > 1e-3, "rows should differ");

    let out = tempfile::tempdir().unwrap();
    model.save_hf(out.path()).unwrap();
    let again = SequenceClassifier::load_hf(out.path(), &device()).unwrap();
    assert_eq!(to_vec(again.rewards(ids, Some(mask)).unwrap()), scores);
}
