//! PNG plots from a metrics file.

use prefopt_train::{MetricsLog, MetricsRecord, PlotSize, plot_curve, plot_metrics_file};

/// Width and height from a PNG's IHDR chunk.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    assert_eq!(&bytes[12..16], b"IHDR");
    let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    (w, h)
}

#[test]
fn one_png_per_metric_with_the_requested_size() {
    let dir = tempfile::tempdir().unwrap();
    let jsonl = dir.path().join("metrics.jsonl");
    let mut log = MetricsLog::create(&jsonl).unwrap();
    for step in 1..=20u64 {
        let s = step as f64;
        log.log(
            &MetricsRecord::train(step, s / 20.0, (-s / 5.0).exp(), Some(1.0 / s), 1e-4)
                .with("rewards/chosen", s.sqrt()),
        )
        .unwrap();
    }
    let size = PlotSize {
        width: 321,
        height: 123,
    };
    let files = plot_metrics_file(&jsonl, &dir.path().join("plots"), size).unwrap();
    let names: Vec<String> = files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "grad_norm.png",
            "learning_rate.png",
            "loss.png",
            "rewards_chosen.png"
        ]
    );
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        assert_eq!(png_size(&bytes), (321, 123), "{}", file.display());
    }
}

#[test]
fn eval_curves_join_their_training_metric() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, with_eval: bool| {
        let jsonl = dir.path().join(format!("{name}.jsonl"));
        let mut log = MetricsLog::create(&jsonl).unwrap();
        for step in 1..=60u64 {
            let s = step as f64;
            log.log(&MetricsRecord::train(step, s / 60.0, 1.0 / s, None, 1e-4))
                .unwrap();
            if with_eval && step % 20 == 0 {
                log.log(&MetricsRecord::new(step, s / 60.0).with("eval_loss", 1.2 / s))
                    .unwrap();
            }
        }
        let out = dir.path().join(name);
        let files = plot_metrics_file(&jsonl, &out, PlotSize::default()).unwrap();
        (files, std::fs::read(out.join("loss.png")).unwrap())
    };
    let (with, loss_with_eval) = write("with", true);
    let (without, loss_alone) = write("without", false);
    assert_eq!(
        with.len(),
        without.len() + 1,
        "eval_loss keeps its own PNG too"
    );
    assert_eq!(png_size(&loss_with_eval), (800, 500));
    assert_ne!(
        loss_with_eval, loss_alone,
        "the eval curve and legend are drawn"
    );
}

#[test]
fn the_title_names_the_metric() {
    let dir = tempfile::tempdir().unwrap();
    let points: Vec<(f64, f64)> = (1..=10)
        .map(|s| (f64::from(s), 1.0 / f64::from(s)))
        .collect();
    let draw = |name: &str| {
        let out = dir.path().join(format!("{name}.png"));
        plot_curve(name, &points, &[], &out, PlotSize::default()).unwrap();
        std::fs::read(out).unwrap()
    };
    assert_ne!(draw("loss"), draw("rewards_margin"));
}
