//! The parsers under fuzzing. Each takes any bytes, never panics on bad input,
//! and checks a round trip where the format has one.

use super::engine::{Target, outcome_class};
use experiments::config::ExperimentConfig;
use latency_lut::LatencyTable;
use nas_core::trial_log::{parse_trial_log, trial_log_text};
use nas_core::{Architecture, MetricTable, SearchSpace};
use predictors::{Predict, SavedPredictor};
use search_spaces::{DartsSpace, Nb201Space};
use std::path::Path;
use std::sync::OnceLock;

/// Every target, in the order `hwnas-fuzz` runs them.
pub const TARGETS: &[Target] = &[
    Target { name: "config", run: config },
    Target { name: "nb201_notation", run: nb201_notation },
    Target { name: "darts_notation", run: darts_notation },
    Target { name: "trial_log", run: trial_log },
    Target { name: "lut", run: lut },
    Target { name: "predictor", run: predictor },
    Target { name: "table", run: table },
];

/// The target called `name`.
pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}

fn text(input: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(input).map_err(|_| "not utf-8".to_string())
}

fn registry() -> &'static nas_core::Registry {
    static REG: OnceLock<nas_core::Registry> = OnceLock::new();
    REG.get_or_init(experiments::registry::builtin)
}

/// The experiment config loader (TOML, validated against the built-in
/// registry). What loads is written back and must load to the same config.
pub fn config(input: &[u8]) -> String {
    let Ok(t) = text(input) else { return "not utf-8".into() };
    match ExperimentConfig::from_toml_with(t, "fuzz.toml", registry()) {
        Ok(cfg) => {
            let again = ExperimentConfig::from_toml_with(&cfg.to_toml(), "again.toml", registry())
                .unwrap_or_else(|e| panic!("a loaded config does not reload: {e}"));
            assert_eq!(again, cfg, "config round trip");
            format!("ok {} {}", cfg.space.kind, cfg.strategy.kind)
        }
        // The field is left out: a mutated key would make every input a new class.
        Err(e) => outcome_class("err", &e.message),
    }
}

fn notation<S: SearchSpace>(space: &S, input: &[u8]) -> String {
    let Ok(t) = text(input) else { return "not utf-8".into() };
    match space.parse(t) {
        Ok(a) => {
            let again = space.parse(&a.notation()).unwrap_or_else(|e| panic!("notation does not re-parse: {e}"));
            assert_eq!(again.id(), a.id(), "notation round trip");
            "ok".into()
        }
        Err(e) => outcome_class("err", &e.to_string()),
    }
}

/// The NAS-Bench-201 cell notation (`|op~0|+|op~0|op~1|+|...|`).
pub fn nb201_notation(input: &[u8]) -> String {
    notation(&Nb201Space::default(), input)
}

/// The DARTS genotype notation.
pub fn darts_notation(input: &[u8]) -> String {
    notation(&DartsSpace::default(), input)
}

/// The trial-log reader: every line is a trial or a damaged line, and the
/// trials written back read back unchanged with nothing damaged.
pub fn trial_log(input: &[u8]) -> String {
    let log = parse_trial_log(input);
    let again = parse_trial_log(trial_log_text(&log.trials).as_bytes());
    assert!(again.damaged.is_empty(), "rewritten log has damaged lines: {:?}", again.damaged);
    assert_eq!(again.trials.len(), log.trials.len(), "trial log round trip");
    let classes: Vec<String> = log.damaged.iter().take(2).map(|d| outcome_class("", &d.reason)).collect();
    format!(
        "{} trials>0={} torn={} {}",
        log.trials.len().min(3),
        !log.trials.is_empty(),
        log.torn_tail,
        classes.join("|")
    )
}

/// The latency lookup-table reader (schema, checksum, entries). A table that
/// loads is saved and must load to the same entries.
/// The mutated text is resealed first (its checksum rewritten), so mutations
/// reach the checks behind the checksum; the raw text is read too.
pub fn lut(input: &[u8]) -> String {
    let Ok(t) = text(input) else { return "not utf-8".into() };
    let raw = LatencyTable::from_json(t, Path::new("fuzz.json"));
    let resealed = LatencyTable::reseal(t);
    if resealed.is_none() && raw.is_ok() {
        panic!("a table without a checksum field loaded");
    }
    let read = match &resealed {
        Some(r) => LatencyTable::from_json(r, Path::new("fuzz.json")),
        None => raw,
    };
    match read {
        Ok(table) => {
            let json = table.to_json().unwrap_or_else(|e| panic!("a loaded table does not serialise: {e}"));
            let again = LatencyTable::from_json(&json, Path::new("again.json"))
                .unwrap_or_else(|e| panic!("a saved table does not reload: {e}"));
            assert_eq!(again.len(), table.len(), "LUT round trip");
            format!("ok {}", table.len().min(3))
        }
        Err(e) => outcome_class("err", &e.to_string()),
    }
}

/// The predictor file reader: the file, its feature metadata, and one
/// prediction on a row of the width the model declares.
pub fn predictor(input: &[u8]) -> String {
    let Ok(t) = text(input) else { return "not utf-8".into() };
    let p = Path::new("fuzz.json");
    match SavedPredictor::from_json(t, p) {
        Ok(saved) => {
            let features = match saved.feature_config(p) {
                Ok(_) => "features ok".to_string(),
                Err(e) => outcome_class("features", &e.to_string()),
            };
            let n = saved.model.n_features();
            let predicted = if n <= 4096 {
                match saved.model.predict(&[vec![0.5; n]]) {
                    Ok(_) => "predict ok".to_string(),
                    Err(e) => outcome_class("predict", &e.to_string()),
                }
            } else {
                "wide".into()
            };
            format!("ok {features} {predicted}")
        }
        Err(e) => outcome_class("err", &e.to_string()),
    }
}

/// The metric-table (CSV) reader, over NAS-Bench-201 architectures.
pub fn table(input: &[u8]) -> String {
    match MetricTable::from_bytes(input, Path::new("fuzz.csv"), &Nb201Space::default()) {
        Ok(t) => {
            let cols = t.columns().len().min(3);
            format!("ok rows>1={} cols={cols}", t.len() > 1)
        }
        Err(e) => outcome_class("err", &e.to_string()),
    }
}
