//! Line and scatter charts: the PNG, and the text on it.

use prefopt_plot::{Axis, PlotError, PlotSize, Rgb, Series, XyChart};

use crate::pixels::{dark_pixels, decode, diff_box};

fn line(name: &str, offset: f64) -> Series {
    Series::line(
        name,
        (0..=20).map(|i| (f64::from(i), offset + f64::from(i) / 20.0)),
    )
}

fn chart(title: &str) -> XyChart {
    XyChart::new(title, Axis::new("step"), Axis::new("loss")).with_series(line("loss", 1.0))
}

#[test]
fn writes_a_png_of_the_requested_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/loss.png");
    let axes = chart("loss")
        .with_size(PlotSize::new(640, 360))
        .write_png(&path)
        .unwrap();
    let img = decode(&std::fs::read(&path).unwrap());
    assert_eq!(img.dimensions(), (640, 360));
    assert_eq!(axes.x.values, vec![0.0, 5.0, 10.0, 15.0, 20.0]);
    assert_eq!(axes.colours, vec![Rgb::palette(0)]);
    // Written atomically: no temporary sibling is left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path().join("nested"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["loss.png"]);
}

#[test]
fn the_title_is_drawn_above_the_plot() {
    let a = decode(&chart("loss").render().unwrap().0);
    let b = decode(&chart("reward margin").render().unwrap().0);
    let (_, y0, _, y1) = diff_box(&a, &b).expect("the titles differ in pixels");
    assert!(y0 >= 5 && y1 < 50, "title rows {y0}..={y1}");
    assert!(dark_pixels(&a, (0, 0, 799, 49)) > 50, "no dark title text");
}

#[test]
fn axis_labels_are_drawn_beside_the_axes() {
    let a = decode(&chart("t").render().unwrap().0);
    let relabelled = XyChart {
        x: Axis::new("epoch"),
        ..chart("t")
    };
    let b = decode(&relabelled.render().unwrap().0);
    let (_, y0, _, _) = diff_box(&a, &b).expect("the x labels differ");
    assert!(y0 > 450, "x label at row {y0}");
    let relabelled = XyChart {
        y: Axis::new("reward"),
        ..chart("t")
    };
    let b = decode(&relabelled.render().unwrap().0);
    let (_, _, x1, _) = diff_box(&a, &b).expect("the y labels differ");
    assert!(x1 < 40, "y label at column {x1}");
}

#[test]
fn tick_numbers_are_drawn_beside_the_axes() {
    // Same layout and curve position, different numbers on the y ticks (1.0..2.0 / 3.0..4.0).
    let low = decode(&chart("t").render().unwrap().0);
    let high =
        XyChart::new("t", Axis::new("step"), Axis::new("loss")).with_series(line("loss", 3.0));
    let high = decode(&high.render().unwrap().0);
    let (x0, y0, x1, y1) = diff_box(&low, &high).expect("the y tick numbers differ");
    assert!(x0 > 20 && x1 < 90, "y tick labels in columns {x0}..={x1}");
    assert!(y0 > 40 && y1 < 440, "y tick labels in rows {y0}..={y1}");
    // Same for x: 0..20 / 100..120.
    let shifted =
        XyChart::new("t", Axis::new("step"), Axis::new("loss")).with_series(Series::line(
            "loss",
            (0..=20).map(|i| (100.0 + f64::from(i), 1.0 + f64::from(i) / 20.0)),
        ));
    let shifted = decode(&shifted.render().unwrap().0);
    let (_, y0, _, y1) = diff_box(&low, &shifted).expect("the x tick numbers differ");
    assert!(y0 > 430 && y1 < 470, "x tick labels in rows {y0}..={y1}");
}

#[test]
fn a_legend_names_every_series() {
    let two = |a: &str, b: &str| {
        XyChart::new("t", Axis::new("x"), Axis::new("y"))
            .with_series(line(a, 0.0))
            .with_series(line(b, 0.5))
    };
    let a = decode(&two("pointwise", "pairwise").render().unwrap().0);
    let b = decode(&two("DPO", "LiPO").render().unwrap().0);
    let (x0, y0, x1, y1) = diff_box(&a, &b).expect("the legend entries differ");
    assert!(
        x1 - x0 < 250 && y1 - y0 < 80,
        "legend box {x0},{y0}..{x1},{y1}"
    );
    // The rising curves leave the upper-left corner free: the legend goes there.
    assert!(x1 < 400 && y1 < 250, "legend box {x0},{y0}..{x1},{y1}");
    // One series still gets its legend entry, so its name shows.
    let one = |name: &str| chart("t").with_series(line(name, 9.0)).series.split_off(1);
    let single = |name: &str| XyChart {
        series: one(name),
        ..chart("t")
    };
    assert_ne!(
        single("alpha").render().unwrap().0,
        single("beta").render().unwrap().0
    );
}

#[test]
fn points_with_whiskers_and_a_log_axis() {
    let scatter = XyChart::new(
        "r",
        Axis::new("KL").with_range(0.0, 2.0),
        Axis::new("reward"),
    )
    .with_series(
        Series::points("DPO", [(1.0, 0.5), (f64::NAN, 1.0)])
            .with_colour(Rgb(31, 119, 180))
            .with_errors([(0.1, 0.05)]),
    );
    let (png, axes) = scatter.render().unwrap();
    assert_eq!(axes.x.step, 0.5);
    let img = decode(&png);
    let blue = img.pixels().filter(|p| p.0 == [31, 119, 180]).count();
    assert!(blue > 100, "{blue} pixels of the series colour");

    let log = XyChart::new("lr", Axis::new("step"), Axis::new("lr").with_log_scale())
        .with_series(line("lr", 0.0).with_colour(Rgb::BLACK));
    let (_, axes) = log.render().unwrap();
    assert!(axes.y.log);
    assert_eq!(
        axes.y
            .values
            .iter()
            .map(|&v| axes.y.label(v))
            .collect::<Vec<_>>(),
        ["0.05", "0.1", "0.2", "0.5", "1"]
    );
}

#[test]
fn bad_charts_are_refused() {
    let zero = chart("t").with_size(PlotSize::new(0, 100));
    assert!(matches!(zero.render(), Err(PlotError::InvalidChart(_))));
    let inverted = XyChart {
        x: Axis::new("x").with_range(2.0, 1.0),
        ..chart("t")
    };
    assert!(matches!(inverted.render(), Err(PlotError::InvalidChart(_))));
    let log = XyChart {
        y: Axis::new("y").with_log_scale().with_range(0.0, 1.0),
        ..chart("t")
    };
    assert!(matches!(log.render(), Err(PlotError::InvalidChart(_))));
    // No drawable point still draws the (empty) frame.
    let empty = XyChart::new("t", Axis::new("x"), Axis::new("y"))
        .with_series(Series::line("nan", [(f64::NAN, 1.0)]));
    assert!(empty.render().is_ok());
    // A parent that is a file cannot hold the PNG.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    assert!(matches!(
        chart("t").write_png(&file.join("loss.png")),
        Err(PlotError::Write(_))
    ));
}
