//! Plots of an EAS run, drawn from `eas/lineage.json` and `eas/history.json`:
//! `eas/lineage.svg` (the lineage tree: every network at its controller step
//! and validation accuracy, an edge from each parent to its children, the path
//! to the best network highlighted) and `eas/controller.svg` (mean reward,
//! baseline and entropy per update).

use crate::plot::{PALETTE, err, line_panel, range};
use anyhow::Result;
use plotters::prelude::*;
use search_spaces::plain_cnn::eas::{EasUpdate, LineageRecord};
use std::collections::HashMap;
use std::path::Path;

/// Draws the EAS plots under `dir/eas`; a run without EAS has nothing to draw.
pub fn write_eas_plots(dir: &Path) -> Result<()> {
    let root = dir.join("eas");
    let Ok(text) = std::fs::read_to_string(root.join("lineage.json")) else { return Ok(()) };
    let Ok(lineage) = serde_json::from_str::<Vec<LineageRecord>>(&text) else { return Ok(()) };
    if lineage.iter().all(|r| r.val_accuracy.is_none()) {
        return Ok(());
    }
    tree(&lineage, &root.join("lineage.svg"))?;
    if let Ok(text) = std::fs::read_to_string(root.join("history.json"))
        && let Ok(h) = serde_json::from_str::<Vec<EasUpdate>>(&text)
        && !h.is_empty()
    {
        let file = root.join("controller.svg");
        let area = SVGBackend::new(&file, (1200, 400)).into_drawing_area();
        area.fill(&WHITE).map_err(err)?;
        let panels = area.split_evenly((1, 2));
        let x = |u: &EasUpdate| u.step as f64;
        line_panel(
            &panels[0],
            "step",
            "reward",
            &[
                ("mean".into(), h.iter().map(|u| (x(u), u.reward_mean)).collect()),
                ("baseline".into(), h.iter().map(|u| (x(u), u.baseline)).collect()),
            ],
        )?;
        line_panel(
            &panels[1],
            "step",
            "entropy of the decisions (nats)",
            &[("entropy".into(), h.iter().map(|u| (x(u), u.entropy)).collect())],
        )?;
        area.present().map_err(err)?;
    }
    Ok(())
}

/// The ids on the path from the start network to the best one.
fn best_path(lineage: &[LineageRecord]) -> Vec<String> {
    let by_id: HashMap<&str, &LineageRecord> = lineage.iter().map(|r| (r.id.as_str(), r)).collect();
    let Some(best) = lineage
        .iter()
        .filter(|r| r.val_accuracy.is_some())
        .max_by(|a, b| a.val_accuracy.unwrap_or(0.0).total_cmp(&b.val_accuracy.unwrap_or(0.0)))
    else {
        return Vec::new();
    };
    let mut out = vec![best.id.clone()];
    let mut at = best;
    while let Some(p) = at.parent.as_deref().and_then(|p| by_id.get(p)) {
        out.push(p.id.clone());
        at = p;
    }
    out
}

fn tree(lineage: &[LineageRecord], path: &Path) -> Result<()> {
    let area = SVGBackend::new(path, (1200, 800)).into_drawing_area();
    area.fill(&WHITE).map_err(err)?;
    let pos: HashMap<&str, (f64, f64)> =
        lineage.iter().filter_map(|r| r.val_accuracy.map(|a| (r.id.as_str(), (r.step as f64, a)))).collect();
    let (x0, x1) = range(pos.values().map(|p| p.0));
    let (y0, y1) = range(pos.values().map(|p| p.1));
    let mut chart = ChartBuilder::on(&area)
        .caption("EAS lineage: each network at its step and validation accuracy", ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(err)?;
    chart.configure_mesh().x_desc("controller step").y_desc("validation accuracy (%)").draw().map_err(err)?;
    let best = best_path(lineage);
    let grey = RGBColor(170, 170, 170);
    let red = PALETTE[1];
    for r in lineage {
        let (Some(&to), Some(from)) = (pos.get(r.id.as_str()), r.parent.as_deref().and_then(|p| pos.get(p))) else {
            continue;
        };
        let on_path = best.contains(&r.id);
        let style = if on_path { red.stroke_width(3) } else { grey.stroke_width(1) };
        chart.draw_series(std::iter::once(PathElement::new(vec![*from, to], style))).map_err(err)?;
    }
    let blue = PALETTE[0];
    chart
        .draw_series(lineage.iter().filter_map(|r| pos.get(r.id.as_str())).map(|&p| Circle::new(p, 4, blue.filled())))
        .map_err(err)?
        .label("network (trained from its parent's weights)")
        .legend(move |(x, y)| Circle::new((x, y), 4, blue.filled()));
    chart
        .draw_series(std::iter::once(PathElement::new(vec![], red.stroke_width(3))))
        .map_err(err)?
        .label("lineage of the best network")
        .legend(move |(x, y)| PathElement::new(vec![(x - 8, y), (x + 8, y)], red.stroke_width(3)));
    for r in lineage.iter().filter(|r| best.contains(&r.id)) {
        if let Some(&p) = pos.get(r.id.as_str()) {
            let label = format!("{} ({:.1}%)", r.arch, r.val_accuracy.unwrap_or(0.0));
            chart.draw_series(std::iter::once(Text::new(label, p, ("sans-serif", 12).into_font()))).map_err(err)?;
        }
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::LowerRight)
        .draw()
        .map_err(err)?;
    area.present().map_err(err)
}
