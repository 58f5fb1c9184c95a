//! The parser fuzz targets (`tests/fuzz/`): every committed corpus file and
//! every saved crash runs without a panic, and a short deterministic fuzzing
//! run per target finds nothing.

use hwnas_tests::fuzz::engine::{fuzz, run_one};
use hwnas_tests::fuzz::targets::TARGETS;
use std::path::{Path, PathBuf};

fn files(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz").join(kind).join(target);
    let mut out: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(_) => Vec::new(),
    };
    out.sort();
    out
}

#[test]
fn every_target_has_a_seed_corpus_and_no_corpus_file_or_saved_crash_panics() {
    for t in TARGETS {
        let corpus = files("corpus", t.name);
        assert!(corpus.len() >= 2, "target `{}` needs a seed corpus in tests/fuzz/corpus/{}", t.name, t.name);
        for f in corpus.iter().chain(&files("crashes", t.name)) {
            let bytes = std::fs::read(f).expect("read corpus file");
            if let Err(panic) = run_one(t.run, &bytes) {
                panic!("target `{}` panics on {}: {panic}", t.name, f.display());
            }
        }
    }
}

#[test]
fn the_seed_corpora_reach_valid_inputs() {
    // A corpus of inputs that all fail to parse would fuzz only the error paths.
    for t in TARGETS {
        let oks = files("corpus", t.name)
            .iter()
            .filter(|f| {
                let out = run_one(t.run, &std::fs::read(f).expect("read")).expect("no panic");
                out.starts_with("ok") || (t.name == "trial_log" && out.contains("trials>0=true"))
            })
            .count();
        assert!(oks >= 1, "no file of tests/fuzz/corpus/{} parses", t.name);
    }
}

#[test]
fn a_short_deterministic_fuzzing_run_finds_no_crash() {
    for (i, t) in TARGETS.iter().enumerate() {
        let corpus: Vec<Vec<u8>> = files("corpus", t.name).iter().map(|f| std::fs::read(f).expect("read")).collect();
        match fuzz(t, &corpus, 1000 + i as u64, |n| n < 1500) {
            Ok(stats) => assert!(stats.outcomes >= 3, "target `{}` reached only {stats:?}", t.name),
            Err(crash) => panic!(
                "target `{}` panics: {}\ninput: {:?}",
                t.name,
                crash.message,
                String::from_utf8_lossy(&crash.input)
            ),
        }
    }
}
