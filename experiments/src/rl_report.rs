//! Plots of a policy-gradient search, drawn from `controller/history.json` and
//! `controller/policy.json`: `controller/controller.svg` (reward, baselines,
//! entropies and repeated samples per update) and `controller/policy.svg` (each
//! decision's probabilities at the end, as a heatmap).

use crate::plot::{err, heatmap_chart, line_panel};
use anyhow::Result;
use nas_core::strategy::rl::{PolicySnapshot, UpdateRecord};
use plotters::prelude::*;
use std::path::Path;

/// Draws the controller's plots under `dir/controller`; a run without a
/// controller has nothing to draw.
pub fn write_controller_plots(dir: &Path) -> Result<()> {
    let root = dir.join("controller");
    let Ok(text) = std::fs::read_to_string(root.join("history.json")) else { return Ok(()) };
    let Ok(history) = serde_json::from_str::<Vec<UpdateRecord>>(&text) else { return Ok(()) };
    if history.is_empty() {
        return Ok(());
    }
    let agents: Vec<String> = std::fs::read_to_string(root.join("policy.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<PolicySnapshot>(&t).ok())
        .map(|p| p.agents.into_iter().map(|(name, _)| name).collect())
        .unwrap_or_default();
    training(&history, &agents, &root.join("controller.svg"))?;
    if let Ok(text) = std::fs::read_to_string(root.join("policy.json"))
        && let Ok(policy) = serde_json::from_str::<PolicySnapshot>(&text)
    {
        policy_heatmap(&policy, &root.join("policy.svg"))?;
    }
    Ok(())
}

fn training(h: &[UpdateRecord], agents: &[String], path: &Path) -> Result<()> {
    let root = SVGBackend::new(path, (1200, 800)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let panels = root.split_evenly((2, 2));
    let x = |u: &UpdateRecord| u.update as f64;
    let per_agent = |f: &dyn Fn(&UpdateRecord) -> &Vec<f64>| -> Vec<(String, Vec<(f64, f64)>)> {
        let n = h.iter().map(|u| f(u).len()).max().unwrap_or(0);
        (0..n)
            .map(|k| {
                let name = agents.get(k).cloned().unwrap_or_else(|| format!("agent {k}"));
                (name, h.iter().filter_map(|u| f(u).get(k).map(|v| (x(u), *v))).collect())
            })
            .collect()
    };
    line_panel(
        &panels[0],
        "update",
        "reward of the batch's samples",
        &[
            ("mean".into(), h.iter().map(|u| (x(u), u.reward_mean)).collect()),
            ("best".into(), h.iter().map(|u| (x(u), u.reward_max)).collect()),
        ],
    )?;
    line_panel(&panels[1], "update", "baseline", &per_agent(&|u| &u.baselines))?;
    line_panel(&panels[2], "update", "policy entropy (nats)", &per_agent(&|u| &u.entropies))?;
    let count = |f: &dyn Fn(&UpdateRecord) -> usize| h.iter().map(|u| (x(u), f(u) as f64)).collect::<Vec<_>>();
    line_panel(
        &panels[3],
        "update",
        "samples per update",
        &[
            ("all".into(), count(&|u| u.samples)),
            ("repeats (from the record)".into(), count(&|u| u.repeats)),
            ("explored (uniform)".into(), count(&|u| u.explored)),
            ("failed or refused".into(), count(&|u| u.failed + u.invalid)),
        ],
    )?;
    root.present().map_err(err)
}

fn policy_heatmap(p: &PolicySnapshot, path: &Path) -> Result<()> {
    let rows = p.decisions.len();
    let cols = p.decisions.iter().map(|d| d.options.len()).max().unwrap_or(1);
    let root = SVGBackend::new(path, ((220 + 150 * cols) as u32, (120 + 40 * rows) as u32)).into_drawing_area();
    let names: Vec<String> = p.decisions.iter().map(|d| d.name.clone()).collect();
    let cells: Vec<Vec<(f64, String)>> = p
        .decisions
        .iter()
        .zip(&p.probabilities)
        .map(|(d, probs)| d.options.iter().zip(probs).map(|(o, q)| (*q, format!("{o} {q:.2}"))).collect())
        .collect();
    heatmap_chart(
        &root,
        &format!("{}: decision probabilities after the last update", p.strategy),
        &names,
        &[],
        &cells,
    )?;
    root.present().map_err(err)
}
