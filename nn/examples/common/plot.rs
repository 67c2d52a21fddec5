//! Line charts as SVG files (plotters, SVG backend: no fonts needed).
//!
//! Each panel has its legend in a column to the right of the plotting area,
//! where it never hides a curve; series of few points get a marker at each
//! point (a single point would otherwise draw nothing); the tick marks are
//! chosen here (round numbers, whole numbers on an axis of whole numbers,
//! and on a log axis decades spanning the whole range).

use plotters::coord::ranged1d::{AsRangedCoord, DefaultFormatting, KeyPointHint, Ranged};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::ops::Range;
use std::path::Path;

/// One line of a chart.
pub struct Series {
    pub label: String,
    pub points: Vec<(f64, f64)>,
    /// Drawn thin and light, behind the others (e.g. noisy per-step values).
    pub faint: bool,
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

/// Series of at most this many points get a marker at each point.
const MARKERS_UP_TO: usize = 60;
/// The most labelled ticks on an axis.
const MAX_TICKS: usize = 10;
/// A log axis ends at most here (a diverging curve would flatten the rest).
const LOG_CAP: f64 = 1e6;
/// Height of a legend row and the width of its line sample, in pixels.
const LEGEND_ROW: i32 = 18;
const LEGEND_SAMPLE: i32 = 24;
/// Font size of the legend.
const LEGEND_FONT: u32 = 13;

/// An axis (linear or log) with the tick marks given here: `bold` labelled,
/// `light` only as grid lines. (plotters' own `WithKeyPoints` does not
/// take a label formatter on an `f64` axis.)
struct Ticked<R> {
    inner: R,
    bold: Vec<f64>,
    light: Vec<f64>,
}

impl<R: Ranged<ValueType = f64>> Ranged for Ticked<R> {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            self.light.clone()
        } else {
            self.bold.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.inner.range()
    }
}

fn ticked<A: AsRangedCoord<Value = f64>>(
    axis: A,
    (bold, light): (Vec<f64>, Vec<f64>),
) -> Ticked<A::CoordDescType> {
    Ticked {
        inner: axis.into(),
        bold,
        light,
    }
}

/// The points of `s` that can be drawn (finite, and positive on a log axis).
fn drawable(s: &Series, log_y: bool) -> Vec<(f64, f64)> {
    s.points
        .iter()
        .copied()
        .filter(|p| p.0.is_finite() && p.1.is_finite() && (!log_y || p.1 > 0.0))
        .collect()
}

/// Whether `s` is drawn with a marker at each point.
fn has_markers(s: &Series, log_y: bool) -> bool {
    !s.faint && drawable(s, log_y).len() <= MARKERS_UP_TO
}

/// The color of series `k`.
fn color(k: usize, faint: bool) -> RGBAColor {
    COLORS[k % COLORS.len()].mix(if faint { 0.45 } else { 1.0 })
}

/// `text` parsed: the double nearest `m`e`k` (so that `1e-30` prints back
/// as `1e-30`, which `10f64.powi(-30)` does not).
fn decimal(m: i64, k: i64) -> f64 {
    format!("{m}e{k}").parse().expect("a decimal literal")
}

/// Round tick positions on a linear axis over `lo..=hi`: steps of 1, 2 or
/// 5 times a power of ten, at most [`MAX_TICKS`] of them, and steps of
/// whole numbers if `whole`. Returns the labelled ticks, the light ones
/// between them and the step.
fn linear_ticks(lo: f64, hi: f64, whole: bool) -> (Vec<f64>, Vec<f64>, f64) {
    let raw = (hi - lo) / MAX_TICKS as f64;
    let mut step = f64::INFINITY;
    let e = raw.log10().floor() as i64;
    'search: for k in e..e + 2 {
        for m in [1, 2, 5] {
            let s = decimal(m, k);
            if s >= raw {
                step = s;
                break 'search;
            }
        }
    }
    if whole {
        step = step.max(1.0).round();
    }
    let ticks = |step: f64| -> Vec<f64> {
        let first = (lo / step).ceil() as i64;
        let last = (hi / step).floor() as i64;
        (first..=last).map(|i| i as f64 * step).collect()
    };
    let light_step = step
        / if (step / decimal(1, step.log10().floor() as i64)).round() == 2.0 {
            4.0
        } else {
            5.0
        };
    let light = if whole && light_step < 1.0 {
        Vec::new()
    } else {
        ticks(light_step)
    };
    (ticks(step), light, step)
}

/// Tick positions on a log axis over `lo..=hi`: decades (every n-th one
/// when there are more than [`MAX_TICKS`], the others light), or 1, 2 and 5
/// times them (and then every digit) on a range of fewer than three.
fn log_ticks(lo: f64, hi: f64) -> (Vec<f64>, Vec<f64>) {
    let first = lo.log10().floor() as i64;
    let last = hi.log10().ceil() as i64;
    let within = |v: &f64| *v >= lo && *v <= hi;
    let decades: Vec<i64> = (first..=last).filter(|&k| within(&decimal(1, k))).collect();
    if decades.len() >= 3 {
        let every = decades.len().div_ceil(MAX_TICKS) as i64;
        let (bold, light): (Vec<i64>, Vec<i64>) =
            decades.iter().partition(|&&k| k.rem_euclid(every) == 0);
        let mut light: Vec<f64> = light.into_iter().map(|k| decimal(1, k)).collect();
        if every == 1 && decades.len() <= 6 {
            light = (first..=last)
                .flat_map(|k| (2..10).map(move |m| decimal(m, k)))
                .filter(within)
                .collect();
        }
        return (bold.into_iter().map(|k| decimal(1, k)).collect(), light);
    }
    let with = |ms: &[i64]| -> Vec<f64> {
        (first..=last)
            .flat_map(|k| ms.iter().map(move |&m| decimal(m, k)))
            .filter(within)
            .collect()
    };
    let bold = with(&[1, 2, 5]);
    if bold.len() >= 2 {
        (bold, with(&[3, 4, 6, 7, 8, 9]))
    } else {
        (with(&[1, 2, 3, 4, 5, 6, 7, 8, 9]), Vec::new())
    }
}

/// A tick label on a linear axis with ticks `step` apart.
fn linear_label(v: f64, step: f64) -> String {
    let digits = (-step.log10().floor()).max(0.0) as usize;
    let v = if v == 0.0 { 0.0 } else { v }; // no "-0"
    if v != 0.0 && (v.abs() >= 1e6 || v.abs() < 1e-4) {
        format!("{v:e}")
    } else {
        format!("{v:.digits$}")
    }
}

/// A tick label on a log axis: plain between 1e-3 and 1e4, else `1e-30`.
fn log_label(v: f64) -> String {
    if (1e-3..1e4).contains(&v) {
        format!("{v}")
    } else {
        format!("{v:e}")
    }
}

/// Draws the series (faint ones first, so the others are on top).
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
    for faint_pass in [true, false] {
        for (k, s) in series
            .iter()
            .enumerate()
            .filter(|(_, s)| s.faint == faint_pass)
        {
            let c = color(k, s.faint);
            let points = drawable(s, log_y);
            let width = if s.faint { 1 } else { 2 };
            chart
                .draw_series(LineSeries::new(
                    points.iter().copied(),
                    c.stroke_width(width),
                ))
                .map_err(|x| e(&x))?;
            if has_markers(s, log_y) {
                chart
                    .draw_series(points.iter().map(|&p| Circle::new(p, 3, c.filled())))
                    .map_err(|x| e(&x))?;
            }
        }
    }
    Ok(())
}

/// The width of the legend column for `series`, in pixels.
fn legend_width(series: &[Series]) -> u32 {
    let chars = series
        .iter()
        .map(|s| s.label.chars().count())
        .max()
        .unwrap_or(0);
    // About 0.6 em per character of a sans-serif font.
    (LEGEND_SAMPLE as u32 + 20 + (chars as u32 * LEGEND_FONT * 6).div_ceil(10)).max(60)
}

/// The legend of `series`, one row each, from `top` in `area`.
fn legend(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    series: &[Series],
    log_y: bool,
    top: i32,
) -> Result<(), String> {
    let e = |e: &dyn std::fmt::Display| format!("plot: {e}");
    for (k, s) in series.iter().enumerate() {
        let c = color(k, s.faint);
        let y = top + k as i32 * LEGEND_ROW;
        let width = if s.faint { 1 } else { 2 };
        area.draw(&PathElement::new(
            vec![(4, y), (4 + LEGEND_SAMPLE, y)],
            c.stroke_width(width),
        ))
        .map_err(|x| e(&x))?;
        if has_markers(s, log_y) {
            area.draw(&Circle::new((4 + LEGEND_SAMPLE / 2, y), 3, c.filled()))
                .map_err(|x| e(&x))?;
        }
        let font = ("sans-serif", LEGEND_FONT)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Left, VPos::Center));
        area.draw(&Text::new(s.label.clone(), (LEGEND_SAMPLE + 10, y), font))
            .map_err(|x| e(&x))?;
    }
    Ok(())
}

/// The y range of a log axis for values from `y0` to `y1` (> 0): a margin,
/// at least a decade (centred on the values), and no higher than
/// [`LOG_CAP`] unless all values are above it.
fn log_range(y0: f64, y1: f64) -> (f64, f64) {
    let (mut lo, mut hi) = (y0 * 0.8, y1 * 1.25);
    if hi < 10.0 * lo {
        let centre = (lo * hi).sqrt();
        (lo, hi) = (centre / 10f64.sqrt(), centre * 10f64.sqrt());
    }
    (lo, hi.min(LOG_CAP).max(10.0 * lo))
}

/// A chart of `series` against a shared x axis, in `area`, its legend in a
/// column on the right. A log axis clipped at [`LOG_CAP`] says so in the
/// title.
fn panel(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    series: &[Series],
    log_y: bool,
) -> Result<(), String> {
    let e = |e: &dyn std::fmt::Display| format!("plot: {e}");
    let (width, _) = area.dim_in_pixel();
    let (plot_area, legend_area) = area.split_horizontally(width - legend_width(series));
    let pts: Vec<(f64, f64)> = series.iter().flat_map(|s| drawable(s, log_y)).collect();
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in &pts {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    let (log_lo, log_hi) = log_range(y0, y1);
    let caption = if log_y && !pts.is_empty() && y1 > log_hi {
        format!("{title} (clipped at {})", log_label(log_hi))
    } else {
        title.to_string()
    };
    let mut chart_builder = ChartBuilder::on(&plot_area);
    chart_builder
        .caption(caption, ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(65);
    if pts.is_empty() {
        // Still a panel: its title, and why it is empty.
        let mut chart = chart_builder
            .build_cartesian_2d(0.0..1.0, 0.0..1.0)
            .map_err(|x| e(&x))?;
        chart
            .configure_mesh()
            .disable_mesh()
            .disable_x_axis()
            .disable_y_axis()
            .draw()
            .map_err(|x| e(&x))?;
        let font = ("sans-serif", 16)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Center, VPos::Center));
        chart
            .draw_series(std::iter::once(Text::new(
                "no finite values to plot",
                (0.5, 0.5),
                font,
            )))
            .map_err(|x| e(&x))?;
        return legend(&legend_area, series, log_y, 50);
    }
    // The x axis spans the data; a single x is centred, not put at an edge.
    let whole = pts.iter().all(|p| p.0.fract() == 0.0);
    let (x_range, (x_ticks, x_light, x_step)) = if x1 > x0 {
        (x0..x1, linear_ticks(x0, x1, whole))
    } else {
        let pad = if whole { 1.0 } else { x0.abs().max(1.0) * 0.1 };
        (x0 - pad..x0 + pad, (vec![x0], Vec::new(), pad))
    };
    let x_coord = ticked(x_range, (x_ticks, x_light));
    let x_fmt = move |v: &f64| linear_label(*v, x_step);
    if log_y {
        let (lo, hi) = (log_lo, log_hi);
        let y_coord = ticked((lo..hi).log_scale(), log_ticks(lo, hi));
        let mut chart = chart_builder
            .build_cartesian_2d(x_coord, y_coord)
            .map_err(|x| e(&x))?;
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&|v| log_label(*v))
            .draw()
            .map_err(|x| e(&x))?;
        draw(&mut chart, series, log_y)?;
    } else {
        let pad = if y1 > y0 {
            (y1 - y0) * 0.05
        } else {
            (y0.abs() * 0.05).max(1e-3)
        };
        let (lo, hi) = (y0 - pad, y1 + pad);
        let (ticks, light, step) = linear_ticks(lo, hi, false);
        let y_coord = ticked(lo..hi, (ticks, light));
        let mut chart = chart_builder
            .build_cartesian_2d(x_coord, y_coord)
            .map_err(|x| e(&x))?;
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&|v| linear_label(*v, step))
            .draw()
            .map_err(|x| e(&x))?;
        draw(&mut chart, series, log_y)?;
    }
    // Level with the top of the plotting area (below the caption).
    legend(&legend_area, series, log_y, 50)
}

/// Writes an SVG file with one panel per `(title, x label, y label, series,
/// log y)` entry, side by side.
pub fn svg(path: &Path, panels: &[(&str, &str, &str, Vec<Series>, bool)]) -> Result<(), String> {
    let widths: Vec<u32> = panels
        .iter()
        .map(|(_, _, _, series, _)| 580 + legend_width(series))
        .collect();
    let root = SVGBackend::new(path, (widths.iter().sum(), 420)).into_drawing_area();
    root.fill(&WHITE).map_err(|x| format!("plot: {x}"))?;
    let mut rest = root.clone();
    for ((title, xd, yd, series, log_y), w) in panels.iter().zip(&widths) {
        let (area, right) = rest.split_horizontally(*w);
        panel(&area, title, xd, yd, series, *log_y)?;
        rest = right;
    }
    root.present()
        .map_err(|x| format!("cannot write {}: {x}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_ticks_are_round_and_whole_on_a_whole_axis() {
        let (t, _, step) = linear_ticks(1.0, 30.0, true);
        assert_eq!(step, 5.0);
        assert_eq!(t, vec![5.0, 10.0, 15.0, 20.0, 25.0, 30.0]);
        let (t, light, step) = linear_ticks(1.0, 3.0, true);
        assert_eq!((t, step), (vec![1.0, 2.0, 3.0], 1.0));
        assert!(light.is_empty(), "{light:?}");
        let (t, _, step) = linear_ticks(75.9, 84.0, false);
        assert_eq!(step, 1.0);
        assert_eq!(t.first(), Some(&76.0));
        assert_eq!(linear_label(0.30000000000000004, 0.1), "0.3");
        assert_eq!(linear_label(2000.0, 500.0), "2000");
    }

    #[test]
    fn log_ticks_label_the_whole_range() {
        let (t, light) = log_ticks(1e-31, 1e6);
        assert!(t.len() <= MAX_TICKS, "{t:?}");
        assert_eq!(t.first(), Some(&1e-28));
        assert_eq!(t.last(), Some(&1e4));
        assert!(light.contains(&1e-30));
        assert_eq!(log_label(1e-30), "1e-30");
        assert_eq!(log_label(0.2), "0.2");
        // Fewer than three decades: 1, 2, 5 times them.
        let (t, _) = log_ticks(0.5, 6.6);
        assert_eq!(t, vec![0.5, 1.0, 2.0, 5.0]);
        let (t, _) = log_ticks(0.004, 0.9);
        assert_eq!(t, vec![0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5]);
    }

    #[test]
    fn a_single_point_and_an_empty_panel_draw() {
        let dir = std::env::temp_dir().join(format!("chainrule-plot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("one.svg");
        let one = |label: &str| Series {
            label: label.into(),
            points: vec![(1.0, 0.66)],
            faint: false,
        };
        let none = Series {
            label: "test".into(),
            points: vec![],
            faint: false,
        };
        svg(
            &path,
            &[
                ("loss", "epoch", "loss", vec![one("train")], true),
                ("accuracy", "epoch", "%", vec![one("train")], false),
                ("nothing", "epoch", "%", vec![none], false),
            ],
        )
        .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("<circle"), "no marker for a single point");
        assert!(text.contains("no finite values to plot"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
