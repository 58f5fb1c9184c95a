//! Plots of a differentiable search, drawn from `differentiable/seed-*/result.json`:
//! per seed, `alpha.svg` (the final op weights per edge as a heatmap),
//! `alpha_evolution.svg` (each edge's op weights over epochs) and `guard.svg`
//! (the collapse indicators: parameter-free share, entropy, dominant Hessian
//! eigenvalue, supernet train / validation accuracy).

use crate::plot::{PALETTE, err, range};
use anyhow::Result;
use nas_core::differentiable::SeedOutcome;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// Draws the plots of every finished seed under `dir/differentiable`; a run
/// without a differentiable search has nothing to draw.
pub fn write_differentiable_plots(dir: &Path) -> Result<()> {
    let root = dir.join("differentiable");
    let Ok(entries) = std::fs::read_dir(&root) else { return Ok(()) };
    for entry in entries.flatten() {
        let seed_dir = entry.path();
        let Ok(text) = std::fs::read_to_string(seed_dir.join("result.json")) else { continue };
        let Ok(outcome) = serde_json::from_str::<SeedOutcome>(&text) else { continue };
        if outcome.history.is_empty() {
            continue;
        }
        heatmap(
            &outcome,
            SVGBackend::new(&seed_dir.join("alpha.svg"), (900, 120 + 60 * outcome.layout.edges.len() as u32))
                .into_drawing_area(),
        )?;
        evolution(&outcome, SVGBackend::new(&seed_dir.join("alpha_evolution.svg"), (1200, 800)).into_drawing_area())?;
        guard(&outcome, SVGBackend::new(&seed_dir.join("guard.svg"), (1200, 800)).into_drawing_area())?;
    }
    Ok(())
}

fn heatmap<DB: DrawingBackend>(o: &SeedOutcome, root: DrawingArea<DB, Shift>) -> Result<()> {
    root.fill(&WHITE).map_err(err)?;
    let last = o.history.last().expect("non-empty history");
    let edges = o.layout.edges.len();
    let ops: Vec<String> = o.layout.edges.first().map(|e| e.ops.clone()).unwrap_or_default();
    let mut chart = ChartBuilder::on(&root)
        .caption(format!("{} seed {}: softmax(α) after epoch {}", o.method, o.seed, last.epoch), ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(90)
        .build_cartesian_2d(0..ops.len(), 0..edges)
        .map_err(err)?;
    let op_names = ops.clone();
    let edge_names: Vec<String> = o.layout.edges.iter().map(|e| e.name.clone()).collect();
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(ops.len())
        .y_labels(edges)
        .x_label_formatter(&|i| op_names.get(*i).cloned().unwrap_or_default())
        .y_label_formatter(&|i| edge_names.get(*i).cloned().unwrap_or_default())
        .draw()
        .map_err(err)?;
    let max = last.op_weights.iter().flatten().copied().fold(0.0f64, f64::max).max(1e-9);
    for (e, row) in last.op_weights.iter().enumerate() {
        for (k, w) in row.iter().enumerate() {
            let t = (w / max).clamp(0.0, 1.0);
            let color = RGBColor((255.0 - 224.0 * t) as u8, (255.0 - 136.0 * t) as u8, (255.0 - 75.0 * t) as u8);
            chart
                .draw_series(std::iter::once(Rectangle::new([(k, e), (k + 1, e + 1)], color.filled())))
                .map_err(err)?;
            let chosen = last.choices.get(e) == Some(&k);
            let label = format!("{w:.3}{}", if chosen { " *" } else { "" });
            chart
                .draw_series(std::iter::once(Text::new(label, (k, e), ("sans-serif", 15).into_font())))
                .map_err(err)?;
        }
    }
    root.present().map_err(err)
}

fn line_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
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
    chart.configure_mesh().x_desc("epoch").draw().map_err(err)?;
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

fn evolution<DB: DrawingBackend>(o: &SeedOutcome, root: DrawingArea<DB, Shift>) -> Result<()> {
    root.fill(&WHITE).map_err(err)?;
    let edges = o.layout.edges.len();
    let cols = edges.clamp(1, 3);
    let rows = edges.div_ceil(cols);
    let panels = root.split_evenly((rows, cols));
    for (e, panel) in panels.iter().enumerate().take(edges) {
        let edge = &o.layout.edges[e];
        let series: Vec<(String, Vec<(f64, f64)>)> = edge
            .ops
            .iter()
            .enumerate()
            .map(|(k, name)| (name.clone(), o.history.iter().map(|r| (r.epoch as f64, r.op_weights[e][k])).collect()))
            .collect();
        line_panel(panel, &format!("edge {}", edge.name), &series)?;
    }
    root.present().map_err(err)
}

fn guard<DB: DrawingBackend>(o: &SeedOutcome, root: DrawingArea<DB, Shift>) -> Result<()> {
    root.fill(&WHITE).map_err(err)?;
    let panels = root.split_evenly((2, 2));
    let h = &o.history;
    let pts = |f: &dyn Fn(&nas_core::differentiable::EpochRecord) -> Option<f64>| -> Vec<(f64, f64)> {
        h.iter().filter_map(|r| f(r).map(|v| (r.epoch as f64, v))).collect()
    };
    line_panel(
        &panels[0],
        "parameter-free share of the derived cell",
        &[("share".into(), pts(&|r| Some(r.param_free_share)))],
    )?;
    line_panel(&panels[1], "mean entropy of softmax(α) (nats)", &[("entropy".into(), pts(&|r| Some(r.entropy)))])?;
    line_panel(
        &panels[2],
        "dominant eigenvalue of the validation Hessian w.r.t. α",
        &[("eigenvalue".into(), pts(&|r| r.hessian_eigenvalue))],
    )?;
    line_panel(
        &panels[3],
        "supernet accuracy (%)",
        &[("train".into(), pts(&|r| Some(r.train_accuracy))), ("validation".into(), pts(&|r| r.val_accuracy))],
    )?;
    root.present().map_err(err)
}
