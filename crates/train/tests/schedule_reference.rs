//! Learning-rate schedules against transformers' `get_scheduler`.

use prefopt_train::{LrSchedule, LrSchedulerKwargs, LrSchedulerType, TrainerConfig};

use crate::common::{flat, reference};

#[test]
fn matches_transformers_get_scheduler() {
    let reference = reference();
    let cases = reference["schedules"].as_array().unwrap();
    assert_eq!(cases.len(), 8);
    for case in cases {
        let kind: LrSchedulerType = serde_json::from_value(case["name"].clone()).unwrap();
        let kwargs: LrSchedulerKwargs = serde_json::from_value(case["kwargs"].clone()).unwrap();
        let lr = case["lr"].as_f64().unwrap();
        let schedule = LrSchedule::new(
            kind,
            lr,
            case["warmup_steps"].as_u64().unwrap(),
            case["total_steps"].as_u64().unwrap(),
            kwargs,
        )
        .unwrap();
        for (step, want) in flat(&case["lrs"]).into_iter().enumerate() {
            let got = schedule.lr_at(step as u64);
            assert!(
                (got - want).abs() <= 1e-12 * lr,
                "{kind:?} {kwargs:?} step {step}: {got} vs transformers {want}"
            );
        }
        // Warm-up really starts at 0 (burn's LinearLrScheduler cannot).
        if case["warmup_steps"].as_u64().unwrap() > 0 {
            assert_eq!(schedule.lr_at(0), 0.0);
        }
    }
}

#[test]
fn fractional_warmup_matches_training_arguments() {
    let reference = reference();
    for case in reference["warmup_fraction"].as_array().unwrap() {
        let config = TrainerConfig {
            warmup_steps: case["warmup_steps"].as_f64().unwrap(),
            ..TrainerConfig::default()
        };
        let total = case["total_steps"].as_u64().unwrap();
        assert_eq!(
            config.warmup_steps_for(total),
            case["resolved"].as_u64().unwrap()
        );
    }
}
