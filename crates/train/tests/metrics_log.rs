//! metrics.jsonl writing, guarding and resume truncation.

use prefopt_train::{Error, MetricsLog, MetricsRecord, read_metrics};

#[test]
fn lines_round_trip_and_resume_drops_later_steps() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("logs/metrics.jsonl");
    let mut log = MetricsLog::create(&path).unwrap();
    for step in [10u64, 20, 30] {
        let record = MetricsRecord::train(
            step,
            step as f64 / 100.0,
            1.0 / step as f64,
            Some(0.5),
            1e-5,
        )
        .with("rewards/chosen", step as f64);
        log.log(&record).unwrap();
    }
    drop(log);
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 3);
    assert_eq!(
        text.lines().next().unwrap(),
        r#"{"loss":0.1,"grad_norm":0.5,"learning_rate":0.00001,"rewards/chosen":10.0,"epoch":0.1,"step":10}"#
    );
    let records = read_metrics(&path).unwrap();
    assert_eq!(records.len(), 3);
    assert_eq!(records[2].step, 30);
    assert_eq!(records[2].get("rewards/chosen"), Some(30.0));

    // Resume from checkpoint-20: the step-30 line came from the crashed run and is dropped.
    let mut log = MetricsLog::resume(&path, 20).unwrap();
    log.log(&MetricsRecord::train(30, 0.3, 0.9, None, 1e-5))
        .unwrap();
    let records = read_metrics(&path).unwrap();
    let steps: Vec<u64> = records.iter().map(|r| r.step).collect();
    assert_eq!(steps, vec![10, 20, 30]);
    assert_eq!(records[2].get("loss"), Some(0.9));
}

#[test]
fn non_finite_values_stop_with_the_step_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("metrics.jsonl");
    let mut log = MetricsLog::create(&path).unwrap();
    log.log(&MetricsRecord::train(1, 0.0, 0.5, Some(1.0), 1e-3))
        .unwrap();
    let err = log
        .log(&MetricsRecord::train(
            2,
            0.0,
            0.5,
            Some(f64::INFINITY),
            1e-3,
        ))
        .unwrap_err();
    match err {
        Error::NonFinite { step, metric, .. } => {
            assert_eq!((step, metric.as_str()), (2, "grad_norm"))
        }
        other => panic!("unexpected {other}"),
    }
    assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 1);
}
