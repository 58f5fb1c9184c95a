//! `report.html`: one self-contained page per run directory (and `hwnas report
//! RUN_DIR... --out FILE` for several runs side by side). The data is embedded
//! as JSON and drawn by a small script of our own (`report_page.js`, inlined):
//! no library, no network, so the file works offline and anywhere.
//!
//! Per run: the Pareto scatter (hover a point for its notation and metrics,
//! click it for its details — metrics, constraint margins, a drawing of its cell
//! or blocks, its export file), the hypervolume history, a sortable table of
//! the front, links to the exported files, the provenance (hwnas version, git
//! commit, device fingerprint of the machine that ran it, the data files with
//! their SHA-256) and the resolved config.

use crate::config::ExperimentConfig;
use crate::hv::{HvScale, feasible_points, front_of, hv_curve};
use crate::rundir::{RunMeta, read_meta, write_atomic};
use anyhow::Result;
use nas_core::{Comparison, Problem, Trial};
use serde_json::{Value, json};
use sha2::Digest;
use std::collections::BTreeMap;
use std::path::Path;

const SCRIPT: &str = include_str!("report_page.js");

const STYLE: &str = "body{font-family:sans-serif;margin:16px;color:#222}#runs{display:flex;flex-wrap:wrap;gap:24px}\
section.run{flex:1 1 600px;min-width:600px;max-width:1250px}.row{display:flex;gap:12px;align-items:flex-start}.row .details{flex:1;min-width:300px}table{border-collapse:collapse;margin:6px 0}\
td,th{border:1px solid #ccc;padding:2px 6px;font-size:12px;text-align:left}th{background:#eef;cursor:pointer}\
code.notation{display:block;word-break:break-all;background:#f4f4f4;padding:4px;font-size:12px}\
.pt{cursor:pointer}.pt.front{fill:#c0392b;stroke:#600}.pt.feasible{fill:#4a6fa5;opacity:.6}\
.pt.infeasible{fill:#bbb;opacity:.6}.pt.selected{stroke:#000;stroke-width:3}.tick{font-size:10px;fill:#555}\
.details{border:1px solid #ddd;padding:8px;margin:8px 0;min-height:40px}.drawing svg{display:block;margin:4px 0}\
td.arch{cursor:pointer;color:#124;font-family:monospace}pre{background:#f4f4f4;padding:8px;font-size:11px;overflow:auto}\
.failed{color:#a00}";

/// The `path` fields of evaluator settings (tables, LUTs, predictors), at any depth.
fn paths_in(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("path", Value::String(p)) => out.push(p.clone()),
                    _ => paths_in(x, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| paths_in(x, out)),
        _ => {}
    }
}

/// The data files a config reads, with their SHA-256 (or why not).
fn data_files(cfg: &ExperimentConfig) -> Vec<(String, String)> {
    let mut paths = Vec::new();
    for e in &cfg.evaluators {
        paths_in(&e.settings_value(), &mut paths);
    }
    paths_in(&cfg.strategy.settings_value(), &mut paths);
    paths.sort();
    paths.dedup();
    paths
        .into_iter()
        .map(|p| {
            let file = nas_core::table_settings::table_file(&p, &crate::registry::data_dir());
            let digest = file
                .ok()
                .and_then(|f| std::fs::read(f).ok())
                .map(|bytes| format!("sha256 {:x} ({} bytes)", sha2::Sha256::digest(&bytes), bytes.len()))
                .unwrap_or_else(|| "not readable here".into());
            (p, digest)
        })
        .collect()
}

fn provenance(meta: Option<&RunMeta>, cfg: &ExperimentConfig) -> Vec<(String, String)> {
    let mut p = Vec::new();
    match meta {
        Some(m) => {
            p.push(("hwnas version".into(), m.hwnas_version.clone()));
            p.push(("git commit".into(), m.git_commit.clone().unwrap_or_else(|| "unknown".into())));
            p.push(("seed".into(), m.seed.to_string()));
            p.push(("status".into(), format!("{} ({} trials of {})", m.status, m.trials, m.budget)));
            let device = m.device.as_ref().map_or("unknown (not recorded by the run)".to_string(), |d| {
                format!(
                    "{}, {} cores / {} threads, {}{}",
                    d["cpu_model"].as_str().unwrap_or("?"),
                    d["cores"],
                    d["threads"],
                    d["os"].as_str().unwrap_or("?"),
                    if d["virtualized"] == true { ", virtualised" } else { "" }
                )
            });
            p.push(("device".into(), device));
        }
        None => p.push(("run.json".into(), "missing".into())),
    }
    for (path, digest) in data_files(cfg) {
        p.push((format!("data: {path}"), digest));
    }
    p
}

/// The report data of one run (what `report_page.js` draws); `dir_href` is
/// how the page reaches the run directory (`.` for its own `report.html`).
#[allow(clippy::too_many_arguments)]
pub fn run_data(
    dir: &Path,
    dir_href: &str,
    cfg: &ExperimentConfig,
    space: &str,
    space_settings: &Value,
    problem: &Problem,
    trials: &[Trial],
    scale: Option<&HvScale>,
) -> Value {
    let front = front_of(problem, trials);
    let rank: BTreeMap<usize, usize> = front.iter().enumerate().map(|(r, &i)| (i, r)).collect();
    let objs = &problem.objectives;
    let mut drawings = serde_json::Map::new();
    let rows: Vec<Value> = trials
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let on_front = rank.get(&i);
            if on_front.is_some()
                && let Some(svg) = crate::drawing::arch_svg(space, space_settings, &t.arch)
            {
                drawings.insert(t.arch_id.to_string(), Value::String(svg));
            }
            json!({
                "index": t.index,
                "arch": t.arch,
                "arch_id": t.arch_id.to_string(),
                "ok": t.is_ok(),
                "reason": t.reason,
                "metrics": t.metrics,
                "front": on_front.is_some(),
                "feasible": t.is_ok() && problem.violation(&t.metrics) == 0.0,
                "export": on_front.map(|r| format!("export/{r:03}_{}.json", t.arch_id)),
            })
        })
        .collect();
    let pts: Vec<Vec<f64>> = feasible_points(problem, trials).into_iter().map(|(_, v)| v).collect();
    let scale = scale.cloned().or_else(|| HvScale::from_points(&pts));
    let hv = scale.as_ref().map(|s| hv_curve(problem, trials, s)).unwrap_or_default();
    let mut links = vec!["pareto.json".to_string(), "pareto.svg".into(), "trials.jsonl".into(), "config.toml".into()];
    links.extend(front.iter().enumerate().map(|(r, &i)| format!("export/{r:03}_{}.json", trials[i].arch_id)));
    for extra in [
        "codesign/front.json",
        "controller/controller.svg",
        "eas/lineage.svg",
        "differentiable/summary.json",
        "retrained/report.json",
        "onnx/manifest.json",
    ] {
        if dir.join(extra).exists() {
            links.push(extra.into());
        }
    }
    // The ONNX models written by `hwnas export --onnx`.
    let manifest: Vec<crate::onnx_cmd::OnnxExported> = std::fs::read_to_string(dir.join("onnx/manifest.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    links.extend(manifest.into_iter().map(|e| e.file).filter(|f| dir.join(f).is_file()));
    let meta = read_meta(dir).ok();
    let failed = trials.iter().filter(|t| !t.is_ok()).count();
    let summary = format!(
        "space {space}, strategy {}, {} trials ({failed} failed), {} on the front{}{}",
        cfg.strategy.kind,
        trials.len(),
        front.len(),
        match (&scale, hv.last()) {
            (Some(s), Some(v)) => format!(", {} {v:.4}", s.label()),
            _ => String::new(),
        },
        if problem.constraints.is_empty() {
            String::new()
        } else {
            format!(
                "; constraints {}",
                problem.constraints.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(", ")
            )
        }
    );
    json!({
        "name": cfg.name,
        "dir": dir_href,
        "summary": summary,
        "x": objs.get(1).map(|o| o.metric.name()),
        "y": objs[0].metric.name(),
        "x_label": objs.get(1).map_or("trial".to_string(), |o| o.metric.label()),
        "y_label": objs[0].metric.label(),
        "metrics": problem.metrics().iter().map(|m| m.name()).collect::<Vec<_>>(),
        "constraints": problem.constraints.iter().map(|c| json!({
            "text": c.to_string(),
            "metric": c.metric.name(),
            "cmp": match c.cmp { Comparison::AtMost => "<=", Comparison::AtLeast => ">=" },
            "bound": c.bound,
        })).collect::<Vec<_>>(),
        "trials": rows,
        "drawings": drawings,
        "hv": hv,
        "hv_label": scale.as_ref().map_or("hypervolume", |s| s.label()),
        "links": links,
        "provenance": provenance(meta.as_ref(), cfg),
        "config": cfg.to_toml(),
    })
}

/// The page for `runs` (each from [`run_data`]).
pub fn render(title: &str, runs: &[Value]) -> String {
    // `</` cannot appear inside the data script element.
    let data = serde_json::to_string(runs).unwrap_or_else(|_| "[]".into()).replace("</", "<\\/");
    let title = title.replace('&', "&amp;").replace('<', "&lt;");
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title><style>{STYLE}</style></head>\
<body><h1>{title}</h1><p>hwnas report: click a point or an architecture for its details; click a column to sort.</p>\
<div id=\"runs\"></div><script type=\"application/json\" id=\"hwnas-data\">{data}</script><script>{SCRIPT}</script></body></html>\n"
    )
}

/// Writes `report.html` in a run directory.
pub fn write_run_report(
    dir: &Path,
    cfg: &ExperimentConfig,
    space: &nas_core::DynSpace,
    problem: &Problem,
    trials: &[Trial],
    scale: Option<&HvScale>,
) -> Result<()> {
    use nas_core::SearchSpace;
    let data = run_data(dir, ".", cfg, space.name(), space.settings(), problem, trials, scale);
    write_atomic(&dir.join("report.html"), render(&format!("hwnas run {}", cfg.name), &[data]).as_bytes())?;
    Ok(())
}
