//! Draws one chart of each kind into a directory, to look at:
//! `cargo run -p prefopt-plot --example samples -- /tmp/plots`.

use std::path::PathBuf;

use prefopt_plot::{Axis, Bar, BarChart, PlotSize, Rgb, Series, XyChart};

fn main() -> anyhow::Result<()> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "target/plot-samples".into()),
    );
    // A noisy training loss, as `prefopt-train` plots each metric.
    let loss: Vec<(f64, f64)> = (1..=300)
        .map(|s| {
            let s = f64::from(s);
            (s, 0.69 * (-s / 90.0).exp() + 0.05 + 0.04 * (s * 0.7).sin())
        })
        .collect();
    XyChart::new("loss", Axis::new("step"), Axis::new("loss"))
        .with_series(Series::line("loss", loss))
        .write_png(&dir.join("loss.png"))?;
    // A learning rate (small numbers: scientific tick labels).
    XyChart::new(
        "learning_rate",
        Axis::new("step"),
        Axis::new("learning_rate"),
    )
    .with_series(Series::line(
        "learning_rate",
        (0..=300).map(|s| (f64::from(s), 1e-4 * (1.0 - f64::from(s) / 300.0))),
    ))
    .write_png(&dir.join("learning_rate.png"))?;
    // Three runs on one chart, as the reward-hacking example plots them.
    let curve = |k: f64| -> Vec<(f64, f64)> {
        (1..=60)
            .map(|s| {
                let s = f64::from(s);
                (s, k * (1.0 - (-s / 20.0).exp()) - 0.1)
            })
            .collect()
    };
    XyChart::new(
        "ground-truth reward",
        Axis::new("step"),
        Axis::new("mean ground-truth reward"),
    )
    .with_series(Series::line("pointwise", curve(0.2)))
    .with_series(Series::line("pairwise", curve(0.6)))
    .with_series(Series::line("pairwise (tie margin 0)", curve(0.45)))
    .write_png(&dir.join("runs.png"))?;
    // The demo's reward–KL scatter.
    let method = |name: &str, colour: Rgb, kl: f64, reward: f64| {
        Series::points(name, [(kl, reward)])
            .with_colour(colour)
            .with_errors([(0.06, 0.03)])
    };
    XyChart::new(
        "Reward vs KL to the SFT policy",
        Axis::new("KL(π ‖ π_SFT) (nats)").with_range(0.0, 2.6),
        Axis::new("mean ground-truth reward"),
    )
    .with_series(method("SFT", Rgb(0, 0, 0), 0.0, -0.02))
    .with_series(method("DPO β=0.1", Rgb(31, 119, 180), 1.5, 0.41))
    .with_series(method("LiPO-λ", Rgb(214, 39, 40), 2.0, 0.52))
    .with_series(method("best-of-16", Rgb(44, 160, 44), 1.9, 0.47))
    .with_size(PlotSize::new(800, 600))
    .write_png(&dir.join("reward_kl.png"))?;
    // UniGenBench-style bars with published values.
    let bars = [
        ("Style", 81.53, Some(85.1)),
        ("World Knowledge", 74.2, Some(70.0)),
        ("Attribute", 66.0, None),
        ("Logical Reasoning", 38.75, Some(42.5)),
        ("Text", f64::NAN, Some(20.0)),
        ("Relationship", 99.5, None),
    ]
    .map(|(label, value, reference)| Bar {
        label: label.into(),
        value,
        reference,
    });
    BarChart::new("Primary dimensions (overall 67.12)", bars.to_vec())
        .with_value_axis(Axis::new("score (%)").with_range(0.0, 100.0))
        .with_legend("this run", "published")
        .write_png(&dir.join("bars.png"))?;
    tracing::info!(dir = %dir.display(), "samples written");
    Ok(())
}
