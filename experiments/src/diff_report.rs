//! Plots of a differentiable search, drawn from `differentiable/seed-*/result.json`:
//! per seed, `alpha.svg` (the final op weights per edge as a heatmap),
//! `alpha_evolution.svg` (each edge's op weights over epochs) and `guard.svg`
//! (the collapse indicators: parameter-free share, entropy, dominant Hessian
//! eigenvalue, supernet train / validation accuracy).

use crate::plot::{err, heatmap_chart, line_panel};
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
    let last = o.history.last().expect("non-empty history");
    let ops: Vec<String> = o.layout.edges.first().map(|e| e.ops.clone()).unwrap_or_default();
    let edge_names: Vec<String> = o.layout.edges.iter().map(|e| e.name.clone()).collect();
    let cells: Vec<Vec<(f64, String)>> = last
        .op_weights
        .iter()
        .enumerate()
        .map(|(e, row)| {
            row.iter()
                .enumerate()
                .map(|(k, w)| (*w, format!("{w:.3}{}", if last.choices.get(e) == Some(&k) { " *" } else { "" })))
                .collect()
        })
        .collect();
    let title = format!("{} seed {}: softmax(α) after epoch {}", o.method, o.seed, last.epoch);
    heatmap_chart(&root, &title, &edge_names, &ops, &cells)?;
    root.present().map_err(err)
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
        line_panel(panel, "epoch", &format!("edge {}", edge.name), &series)?;
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
        "epoch",
        "parameter-free share of the derived cell",
        &[("share".into(), pts(&|r| Some(r.param_free_share)))],
    )?;
    line_panel(
        &panels[1],
        "epoch",
        "mean entropy of softmax(α) (nats)",
        &[("entropy".into(), pts(&|r| Some(r.entropy)))],
    )?;
    line_panel(
        &panels[2],
        "epoch",
        "dominant eigenvalue of the validation Hessian w.r.t. α",
        &[("eigenvalue".into(), pts(&|r| r.hessian_eigenvalue))],
    )?;
    line_panel(
        &panels[3],
        "epoch",
        "supernet accuracy (%)",
        &[("train".into(), pts(&|r| Some(r.train_accuracy))), ("validation".into(), pts(&|r| r.val_accuracy))],
    )?;
    root.present().map_err(err)
}
