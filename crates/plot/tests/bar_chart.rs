//! Bar charts: size from the bar count, labels, values and the reference legend.

use prefopt_plot::{Axis, Bar, BarChart, PlotError};

use crate::pixels::{dark_pixels, decode, diff_box};

fn bars(labels: &[&str], reference: Option<f64>) -> Vec<Bar> {
    labels
        .iter()
        .enumerate()
        .map(|(i, l)| Bar {
            label: (*l).to_string(),
            value: 20.0 * i as f64 + 10.0,
            reference,
        })
        .collect()
}

fn chart(labels: &[&str], reference: Option<f64>) -> BarChart {
    BarChart::new("Scores", bars(labels, reference))
        .with_value_axis(Axis::new("score (%)").with_range(0.0, 100.0))
}

#[test]
fn height_follows_the_bar_count() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bars.png");
    let three = chart(&["a", "b", "c"], None);
    three.write_png(&path).unwrap();
    let img = decode(&std::fs::read(&path).unwrap());
    assert_eq!(img.dimensions(), (three.size().width, three.size().height));
    assert_eq!(img.width(), 900);
    let five = chart(&["a", "b", "c", "d", "e"], None).size();
    assert_eq!(five.height - three.size().height, 2 * 34);
}

#[test]
fn labels_values_and_title_are_drawn() {
    let a = decode(&chart(&["Style", "Layout"], None).render().unwrap());
    // Swapped labels: same widths, so only the label column changes.
    let b = decode(&chart(&["Layout", "Style"], None).render().unwrap());
    let (x0, _, x1, _) = diff_box(&a, &b).expect("the bar labels differ");
    assert!(x0 >= 10 && x1 < 80, "labels in columns {x0}..={x1}");
    assert!(dark_pixels(&a, (0, 0, 899, 40)) > 50, "no title");
    // Values are written at the bars' ends: changing one value changes the text there.
    let mut other = chart(&["Style", "Layout"], None);
    other.bars[0].value = 11.0;
    let c = decode(&other.render().unwrap());
    let (x0, _, x1, _) = diff_box(&a, &c).expect("the value text differs");
    assert!(x0 > 100 && x1 < 400, "value text in columns {x0}..={x1}");
}

#[test]
fn references_add_a_legend_row_and_markers() {
    let plain = chart(&["a", "b"], None);
    let with = chart(&["a", "b"], Some(50.0)).with_legend("ours", "published");
    assert!(with.size().height > plain.size().height);
    let img = decode(&with.render().unwrap());
    let red = img.pixels().filter(|p| p.0 == [200, 40, 40]).count();
    assert!(red > 100, "{red} marker pixels");
    let renamed = decode(
        &chart(&["a", "b"], Some(50.0))
            .with_legend("this run", "paper")
            .render()
            .unwrap(),
    );
    let (_, y0, _, y1) = diff_box(&img, &renamed).expect("the legend names differ");
    assert!(y0 > 40 && y1 < 80, "legend rows {y0}..={y1}");
}

#[test]
fn values_outside_the_range_and_bad_ranges() {
    let mut odd = chart(&["a", "b"], Some(f64::NAN));
    odd.bars[0].value = f64::NAN;
    odd.bars[1].value = 250.0;
    assert!(odd.render().is_ok());
    let fitted = BarChart::new("t", bars(&["a"], None));
    assert!(fitted.render().is_ok());
    let inverted = chart(&["a"], None).with_value_axis(Axis::new("x").with_range(1.0, 1.0));
    assert!(matches!(inverted.render(), Err(PlotError::InvalidChart(_))));
    assert!(matches!(
        chart(&["a"], None).with_width(0).render(),
        Err(PlotError::InvalidChart(_))
    ));
}
