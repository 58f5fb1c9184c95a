//! Plots: the Pareto scatter, hypervolume curves and strategy comparisons (plotters).

use anyhow::{Result, anyhow};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// A constraint drawn as a line on one axis.
#[derive(Clone, Debug)]
pub struct ConstraintLine {
    /// `true` for a vertical line (x axis metric), `false` for horizontal.
    pub vertical: bool,
    /// Bound in axis units.
    pub value: f64,
    /// Legend text, e.g. `latency_ms <= 5`.
    pub label: String,
}

/// Everything the Pareto plot shows.
#[derive(Clone, Debug, Default)]
pub struct ParetoPlot {
    /// Title.
    pub title: String,
    /// X axis label with unit.
    pub x_label: String,
    /// Y axis label with unit.
    pub y_label: String,
    /// Feasible trials `(x, y)`.
    pub feasible: Vec<(f64, f64)>,
    /// Trials that break a constraint.
    pub infeasible: Vec<(f64, f64)>,
    /// The Pareto front, in any order.
    pub front: Vec<(f64, f64)>,
    /// Constraint lines.
    pub constraints: Vec<ConstraintLine>,
}

/// One curve of a line plot, with an optional ± band.
#[derive(Clone, Debug)]
pub struct Curve {
    /// Legend name.
    pub name: String,
    /// `(x, y)` points.
    pub points: Vec<(f64, f64)>,
    /// Half-width of the band at each point (same length as `points`), if any.
    pub band: Option<Vec<f64>>,
}

/// The padded range of the finite `values` (`0..1` when there is none).
pub(crate) fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.05).max(1e-9 + lo.abs() * 1e-3);
    (lo - pad, hi + pad)
}

/// A plotters error as an `anyhow` error.
pub(crate) fn err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("plotting failed: {e:?}")
}

fn draw_pareto<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, p: &ParetoPlot) -> Result<()> {
    root.fill(&WHITE).map_err(err)?;
    let all = || p.feasible.iter().chain(&p.infeasible).chain(&p.front);
    let cx = p.constraints.iter().filter(|c| c.vertical).map(|c| c.value);
    let cy = p.constraints.iter().filter(|c| !c.vertical).map(|c| c.value);
    let (x0, x1) = range(all().map(|q| q.0).chain(cx));
    let (y0, y1) = range(all().map(|q| q.1).chain(cy));
    let mut chart = ChartBuilder::on(&root)
        .caption(&p.title, ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(65)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(err)?;
    chart.configure_mesh().x_desc(&p.x_label).y_desc(&p.y_label).draw().map_err(err)?;
    let grey = RGBColor(150, 150, 150);
    chart
        .draw_series(p.feasible.iter().map(|&(x, y)| Circle::new((x, y), 3, grey.filled())))
        .map_err(err)?
        .label(format!("trials ({})", p.feasible.len()))
        .legend(move |(x, y)| Circle::new((x, y), 3, grey.filled()));
    if !p.infeasible.is_empty() {
        let c = RGBColor(230, 150, 60);
        chart
            .draw_series(p.infeasible.iter().map(|&(x, y)| Cross::new((x, y), 3, c.stroke_width(1))))
            .map_err(err)?
            .label(format!("infeasible ({})", p.infeasible.len()))
            .legend(move |(x, y)| Cross::new((x, y), 3, c.stroke_width(1)));
    }
    let mut front = p.front.clone();
    front.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    chart.draw_series(LineSeries::new(front.clone(), RED.stroke_width(2))).map_err(err)?;
    chart
        .draw_series(front.iter().map(|&(x, y)| Circle::new((x, y), 5, RED.filled())))
        .map_err(err)?
        .label(format!("Pareto front ({})", front.len()))
        .legend(|(x, y)| Circle::new((x, y), 5, RED.filled()));
    for c in &p.constraints {
        let line = if c.vertical { vec![(c.value, y0), (c.value, y1)] } else { vec![(x0, c.value), (x1, c.value)] };
        chart
            .draw_series(LineSeries::new(line, BLUE.stroke_width(2)))
            .map_err(err)?
            .label(c.label.clone())
            .legend(|(x, y)| PathElement::new(vec![(x - 8, y), (x + 8, y)], BLUE.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::LowerRight)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)
}

/// The line colours, in order.
pub(crate) const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(23, 190, 207),
];

fn draw_curves<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    title: &str,
    x_label: &str,
    y_label: &str,
    curves: &[Curve],
) -> Result<()> {
    root.fill(&WHITE).map_err(err)?;
    let xs = curves.iter().flat_map(|c| c.points.iter().map(|p| p.0));
    let ys = curves.iter().flat_map(|c| {
        c.points.iter().enumerate().flat_map(move |(i, p)| {
            let b = c.band.as_ref().map_or(0.0, |b| b[i]);
            [p.1 - b, p.1 + b]
        })
    });
    let (x0, x1) = range(xs);
    let (y0, y1) = range(ys);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(65)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(err)?;
    chart.configure_mesh().x_desc(x_label).y_desc(y_label).draw().map_err(err)?;
    for (k, c) in curves.iter().enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        if let Some(band) = &c.band {
            let mut poly: Vec<(f64, f64)> = c.points.iter().zip(band).map(|(p, b)| (p.0, p.1 + b)).collect();
            poly.extend(c.points.iter().zip(band).rev().map(|(p, b)| (p.0, p.1 - b)));
            chart.draw_series(std::iter::once(Polygon::new(poly, color.mix(0.2).filled()))).map_err(err)?;
        }
        chart
            .draw_series(LineSeries::new(c.points.clone(), color.stroke_width(2)))
            .map_err(err)?
            .label(c.name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x - 8, y), (x + 8, y)], color.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::LowerRight)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)
}

const SIZE: (u32, u32) = (900, 650);

/// Writes the Pareto plot as SVG (always) and PNG (when `png_path` is given).
pub fn pareto_plot(p: &ParetoPlot, svg_path: &Path, png_path: Option<&Path>) -> Result<()> {
    draw_pareto(SVGBackend::new(svg_path, SIZE).into_drawing_area(), p)?;
    if let Some(png) = png_path {
        draw_pareto(BitMapBackend::new(png, SIZE).into_drawing_area(), p)?;
    }
    Ok(())
}

/// Writes a line plot (hypervolume against evaluations, comparisons) as SVG and
/// optionally PNG.
pub fn curves_plot(
    title: &str,
    x_label: &str,
    y_label: &str,
    curves: &[Curve],
    svg_path: &Path,
    png_path: Option<&Path>,
) -> Result<()> {
    draw_curves(SVGBackend::new(svg_path, SIZE).into_drawing_area(), title, x_label, y_label, curves)?;
    if let Some(png) = png_path {
        draw_curves(BitMapBackend::new(png, SIZE).into_drawing_area(), title, x_label, y_label, curves)?;
    }
    Ok(())
}

/// A predicted-against-measured scatter (latency validation and front verification).
#[derive(Clone, Debug, Default)]
pub struct PredictionPlot {
    /// Title.
    pub title: String,
    /// X axis label (the measured quantity, with unit).
    pub x_label: String,
    /// Y axis label (the predicted quantity, with unit).
    pub y_label: String,
    /// `(measured, predicted)` points.
    pub points: Vec<(f64, f64)>,
    /// Points drawn highlighted (e.g. front members that became dominated).
    pub flagged: Vec<(f64, f64)>,
    /// Legend of the highlighted points.
    pub flagged_label: String,
    /// Half-width of the relative band around `y = x` (0.1 draws ±10%).
    pub band: f64,
}

fn draw_prediction<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, p: &PredictionPlot) -> Result<()> {
    root.fill(&WHITE).map_err(err)?;
    let all = || p.points.iter().chain(&p.flagged);
    let (lo, hi) = range(all().flat_map(|q| [q.0, q.1]));
    let (lo, hi) = (lo.max(0.0), hi * (1.0 + p.band));
    let mut chart = ChartBuilder::on(&root)
        .caption(&p.title, ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(65)
        .build_cartesian_2d(lo..hi, lo..hi)
        .map_err(err)?;
    chart.configure_mesh().x_desc(&p.x_label).y_desc(&p.y_label).draw().map_err(err)?;
    let green = RGBColor(44, 160, 44);
    if p.band > 0.0 && p.band < 1.0 {
        // The band between y = (1 - b) x and y = (1 + b) x, cut to the square plot
        // area (plotters would clamp outside vertices onto its edge, not cut them).
        let (b0, b1) = (1.0 - p.band, 1.0 + p.band);
        let poly = vec![(lo / b0, lo), (hi, hi * b0), (hi, hi), (hi / b1, hi), (lo, lo * b1), (lo, lo)];
        chart
            .draw_series(std::iter::once(Polygon::new(poly, green.mix(0.15).filled())))
            .map_err(err)?
            .label(format!("±{:.0}%", p.band * 100.0))
            .legend(move |(x, y)| Rectangle::new([(x - 8, y - 4), (x + 8, y + 4)], green.mix(0.3).filled()));
    }
    chart
        .draw_series(LineSeries::new(vec![(lo, lo), (hi, hi)], green.stroke_width(2)))
        .map_err(err)?
        .label("predicted = measured")
        .legend(move |(x, y)| PathElement::new(vec![(x - 8, y), (x + 8, y)], green.stroke_width(2)));
    let blue = PALETTE[0];
    chart
        .draw_series(p.points.iter().map(|&(x, y)| Circle::new((x, y), 3, blue.filled())))
        .map_err(err)?
        .label(format!("architectures ({})", p.points.len()))
        .legend(move |(x, y)| Circle::new((x, y), 3, blue.filled()));
    if !p.flagged.is_empty() {
        chart
            .draw_series(p.flagged.iter().map(|&(x, y)| Cross::new((x, y), 5, RED.stroke_width(2))))
            .map_err(err)?
            .label(format!("{} ({})", p.flagged_label, p.flagged.len()))
            .legend(|(x, y)| Cross::new((x, y), 5, RED.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)
}

/// Writes a predicted-against-measured plot as SVG and optionally PNG.
pub fn prediction_plot(p: &PredictionPlot, svg_path: &Path, png_path: Option<&Path>) -> Result<()> {
    draw_prediction(SVGBackend::new(svg_path, SIZE).into_drawing_area(), p)?;
    if let Some(png) = png_path {
        draw_prediction(BitMapBackend::new(png, SIZE).into_drawing_area(), p)?;
    }
    Ok(())
}

/// One panel of line series over a shared x axis (`x_desc`), legend when there
/// are several.
pub(crate) fn line_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    x_desc: &str,
    title: &str,
    series: &[(String, Vec<(f64, f64)>)],
) -> Result<()> {
    let xs = series.iter().flat_map(|s| s.1.iter().map(|p| p.0));
    let ys = series.iter().flat_map(|s| s.1.iter().map(|p| p.1));
    let (x0, x1) = range(xs);
    let (y0, y1) = range(ys);
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 16))
        .margin(8)
        .x_label_area_size(30)
        .y_label_area_size(50)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(err)?;
    chart.configure_mesh().x_desc(x_desc).draw().map_err(err)?;
    for (k, (name, pts)) in series.iter().enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        chart
            .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
            .map_err(err)?
            .label(name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x - 8, y), (x + 8, y)], color.stroke_width(2)));
    }
    if series.len() > 1 {
        chart.configure_series_labels().background_style(WHITE.mix(0.85)).border_style(BLACK).draw().map_err(err)?;
    }
    Ok(())
}

/// A heatmap: one row per `row_names` entry, `cells[r][c]` = (value, text);
/// the colour scales with the value relative to the largest one. Rows may be
/// shorter than `col_names` (empty cells are left white).
pub(crate) fn heatmap_chart<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    row_names: &[String],
    col_names: &[String],
    cells: &[Vec<(f64, String)>],
) -> Result<()> {
    root.fill(&WHITE).map_err(err)?;
    let cols = cells.iter().map(Vec::len).max().unwrap_or(0).max(col_names.len()).max(1);
    let rows = row_names.len().max(1);
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(150)
        .build_cartesian_2d(0..cols, 0..rows)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(cols)
        .y_labels(rows)
        .x_label_formatter(&|i| col_names.get(*i).cloned().unwrap_or_default())
        .y_label_formatter(&|i| row_names.get(*i).cloned().unwrap_or_default())
        .draw()
        .map_err(err)?;
    let max = cells.iter().flatten().map(|c| c.0).fold(0.0f64, f64::max).max(1e-9);
    for (r, row) in cells.iter().enumerate() {
        for (k, (w, label)) in row.iter().enumerate() {
            let t = (w / max).clamp(0.0, 1.0);
            let color = RGBColor((255.0 - 224.0 * t) as u8, (255.0 - 136.0 * t) as u8, (255.0 - 75.0 * t) as u8);
            chart
                .draw_series(std::iter::once(Rectangle::new([(k, r), (k + 1, r + 1)], color.filled())))
                .map_err(err)?;
            chart
                .draw_series(std::iter::once(Text::new(label.clone(), (k, r), ("sans-serif", 15).into_font())))
                .map_err(err)?;
        }
    }
    Ok(())
}
