//! Line charts as SVG files (plotters, SVG backend: no fonts needed).

use plotters::coord::ranged1d::Ranged;
use plotters::prelude::*;
use std::path::Path;

/// One line of a chart.
pub struct Series {
    pub label: String,
    pub points: Vec<(f64, f64)>,
}

const COLORS: [RGBColor; 12] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
    RGBColor(0, 0, 0),
    RGBColor(255, 215, 0),
];

/// Draws the lines and their legend.
fn draw<'a, 'b, X, Y>(
    chart: &mut ChartContext<'a, SVGBackend<'b>, Cartesian2d<X, Y>>,
    series: &[Series],
    log_y: bool,
) -> Result<(), String>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
    'b: 'a,
{
    let e = |e: &dyn std::fmt::Display| format!("plot: {e}");
    for (k, s) in series.iter().enumerate() {
        let color = COLORS[k % COLORS.len()];
        let points: Vec<(f64, f64)> = s
            .points
            .iter()
            .copied()
            .filter(|p| p.1.is_finite() && (!log_y || p.1 > 0.0))
            .collect();
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)))
            .map_err(|x| e(&x))?
            .label(s.label.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|x| e(&x))
}

/// A chart of `series` against a shared x axis, in a panel of `area`.
fn panel(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    series: &[Series],
    log_y: bool,
) -> Result<(), String> {
    let pts = series
        .iter()
        .flat_map(|s| s.points.iter())
        .filter(|p| p.1.is_finite() && (!log_y || p.1 > 0.0));
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in pts {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if x0 > x1 {
        return Err(format!("nothing to plot in {title}"));
    }
    if x1 == x0 {
        x1 = x0 + 1.0;
    }
    let e = |e: &dyn std::fmt::Display| format!("plot: {e}");
    let mut chart_builder = ChartBuilder::on(area);
    chart_builder
        .caption(title, ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(65);
    if log_y {
        // Diverging curves would flatten the rest: cap the axis at 1e6.
        let (lo, hi) = (y0.max(1e-300) * 0.8, (y1 * 1.25).min(1e6).max(y0 * 10.0));
        let mut chart = chart_builder
            .build_cartesian_2d(x0..x1, (lo..hi).log_scale())
            .map_err(|x| e(&x))?;
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            .y_label_formatter(&|v| format!("{v:.0e}"))
            .draw()
            .map_err(|x| e(&x))?;
        draw(&mut chart, series, log_y)
    } else {
        let pad = ((y1 - y0) * 0.05).max(1e-9);
        let mut chart = chart_builder
            .build_cartesian_2d(x0..x1, (y0 - pad)..(y1 + pad))
            .map_err(|x| e(&x))?;
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            .draw()
            .map_err(|x| e(&x))?;
        draw(&mut chart, series, log_y)
    }
}

/// Writes an SVG file with one panel per `(title, x label, y label, series,
/// log y)` entry, side by side.
pub fn svg(path: &Path, panels: &[(&str, &str, &str, Vec<Series>, bool)]) -> Result<(), String> {
    let width = 640 * panels.len() as u32;
    let root = SVGBackend::new(path, (width, 420)).into_drawing_area();
    root.fill(&WHITE).map_err(|x| format!("plot: {x}"))?;
    let areas = root.split_evenly((1, panels.len()));
    for (area, (title, xd, yd, series, log_y)) in areas.iter().zip(panels) {
        panel(area, title, xd, yd, series, *log_y)?;
    }
    root.present()
        .map_err(|x| format!("cannot write {}: {x}", path.display()))
}
