//! PNG plots from a metrics file.

use prefopt_train::{MetricsLog, MetricsRecord, PlotSize, plot_metrics_file};

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
