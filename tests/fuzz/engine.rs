//! The mutational fuzzing loop.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::HashSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Once;

/// A parser under fuzzing: takes any bytes, returns an outcome class (e.g.
/// `ok` or the error with its numbers blanked), panics only on a bug.
pub type TargetFn = fn(&[u8]) -> String;

/// One fuzz target.
#[derive(Clone, Copy)]
pub struct Target {
    /// Name (also the corpus folder).
    pub name: &'static str,
    /// The parser.
    pub run: TargetFn,
}

/// An input that made a target panic.
#[derive(Clone, Debug)]
pub struct Crash {
    /// The input.
    pub input: Vec<u8>,
    /// The panic message.
    pub message: String,
}

/// What a fuzzing run did.
#[derive(Clone, Debug, Default)]
pub struct FuzzStats {
    /// Inputs run.
    pub executions: u64,
    /// Distinct outcome classes seen.
    pub outcomes: usize,
    /// Inputs kept because they reached a new outcome.
    pub kept: usize,
}

/// Tokens worth splicing into text formats: numbers at the edge of every
/// domain, JSON/TOML/CSV syntax, and names the parsers look for.
const DICTIONARY: &[&str] = &[
    "nan",
    "NaN",
    "inf",
    "-inf",
    "-1",
    "0",
    "-0",
    "1e309",
    "-1e309",
    "18446744073709551616",
    "4294967296",
    "1.5",
    "\"",
    "\"\"",
    ",",
    "\n",
    "\r\n",
    "[",
    "]",
    "{",
    "}",
    ":",
    "=",
    "[[",
    "]]",
    "null",
    "true",
    "false",
    "|",
    "+",
    "~",
    "\u{0}",
    "\u{feff}",
    "é",
    "arch",
    "metrics",
    "accuracy",
    "latency_ms",
    "kind",
    "status",
    "ok",
    "failed",
    "schema_version",
    "checksum",
    "weights",
    "none",
    "skip_connect",
    "nor_conv_3x3",
    "sep_conv_3x3",
    "avg_pool_3x3",
];

/// Runs `inputs` through `target`, mapping a panic to its message.
pub fn run_one(target: TargetFn, input: &[u8]) -> Result<String, String> {
    silence_panics();
    catch_unwind(AssertUnwindSafe(|| target(input))).map_err(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panic with a non-string payload".into())
    })
}

/// `HWNAS_FUZZ_SHOW_CLASSES=1` prints each new outcome class (to tune the
/// feedback: too fine a class keeps every input, too coarse keeps none).
fn show_classes() -> bool {
    static SHOW: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *SHOW.get_or_init(|| std::env::var_os("HWNAS_FUZZ_SHOW_CLASSES").is_some())
}

/// Panics are expected while fuzzing; the default hook would print each one.
fn silence_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::env::var_os("HWNAS_FUZZ_SHOW_PANICS").is_some() {
                default(info);
            }
        }));
    });
}

/// One random mutation of `input` (another corpus entry may be spliced in).
pub fn mutate(input: &[u8], corpus: &[Vec<u8>], rng: &mut ChaCha8Rng) -> Vec<u8> {
    let mut out = input.to_vec();
    let rounds = 1 + rng.random_range(0..4);
    for _ in 0..rounds {
        let len = out.len();
        let pos = if len == 0 { 0 } else { rng.random_range(0..=len) };
        match rng.random_range(0..9) {
            0 if len > 0 => {
                let i = rng.random_range(0..len);
                out[i] ^= 1 << rng.random_range(0..8);
            }
            1 if len > 0 => {
                let i = rng.random_range(0..len);
                out[i] = rng.random();
            }
            2 => out.insert(pos, rng.random()),
            3 if len > 0 => {
                let end = (pos + 1 + rng.random_range(0..16)).min(len);
                out.drain(pos.min(len - 1)..end);
            }
            4 => {
                let tok = DICTIONARY[rng.random_range(0..DICTIONARY.len())].as_bytes();
                out.splice(pos..pos, tok.iter().copied());
            }
            5 => replace_number(&mut out, rng),
            6 if len > 0 => {
                // Duplicate a range (repeated lines, repeated keys).
                let start = rng.random_range(0..len);
                let end = (start + 1 + rng.random_range(0..64)).min(len);
                let piece = out[start..end].to_vec();
                out.splice(pos..pos, piece);
            }
            7 if !corpus.is_empty() => {
                // Splice: our head, another entry's tail.
                let other = &corpus[rng.random_range(0..corpus.len())];
                let from = if other.is_empty() { 0 } else { rng.random_range(0..other.len()) };
                out.truncate(pos);
                out.extend_from_slice(&other[from..]);
            }
            _ => out.truncate(pos),
        }
    }
    out.truncate(1 << 16);
    out
}

/// Replaces one run of digits with a value at the edge of some domain.
fn replace_number(out: &mut Vec<u8>, rng: &mut ChaCha8Rng) {
    let digits: Vec<usize> = (0..out.len()).filter(|&i| out[i].is_ascii_digit()).collect();
    if digits.is_empty() {
        return;
    }
    let start = digits[rng.random_range(0..digits.len())];
    let end = (start..out.len()).find(|&i| !(out[i].is_ascii_digit() || out[i] == b'.')).unwrap_or(out.len());
    let edge = ["nan", "-1", "0", "-0.0", "1e309", "1e-320", "18446744073709551616", "99999999999", "101", "inf"];
    let tok = edge[rng.random_range(0..edge.len())].as_bytes();
    out.splice(start..end, tok.iter().copied());
}

/// Fuzzes `target` from `corpus` until `keep_going(executions)` says stop or a
/// panic is found. Deterministic for a given seed and stop rule.
pub fn fuzz(
    target: &Target,
    corpus: &[Vec<u8>],
    seed: u64,
    keep_going: impl FnMut(u64) -> bool,
) -> Result<FuzzStats, Crash> {
    fuzz_observed(target, corpus, seed, keep_going, |_| {})
}

/// [`fuzz`], telling `before_each` every input just before it runs (so that a
/// supervising process knows the input of a crash that kills the process, such
/// as an allocation failure or a stack overflow, which cannot be caught).
pub fn fuzz_observed(
    target: &Target,
    corpus: &[Vec<u8>],
    seed: u64,
    mut keep_going: impl FnMut(u64) -> bool,
    mut before_each: impl FnMut(&[u8]),
) -> Result<FuzzStats, Crash> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut pool: Vec<Vec<u8>> = if corpus.is_empty() { vec![Vec::new()] } else { corpus.to_vec() };
    let mut seen: HashSet<String> = HashSet::new();
    let mut stats = FuzzStats::default();
    for input in &pool {
        stats.executions += 1;
        before_each(input);
        match run_one(target.run, input) {
            Ok(outcome) => {
                seen.insert(outcome);
            }
            Err(message) => return Err(Crash { input: input.clone(), message }),
        }
    }
    while keep_going(stats.executions) {
        let parent = &pool[rng.random_range(0..pool.len())];
        let child = mutate(parent, &pool, &mut rng);
        stats.executions += 1;
        before_each(&child);
        match run_one(target.run, &child) {
            Ok(outcome) => {
                if show_classes() && !seen.contains(&outcome) {
                    eprintln!("new outcome: {outcome}");
                }
                if seen.insert(outcome) && pool.len() < 4096 {
                    pool.push(child);
                    stats.kept += 1;
                }
            }
            Err(message) => return Err(Crash { input: child, message }),
        }
    }
    stats.outcomes = seen.len();
    Ok(stats)
}

/// An error message as an outcome class: digits blanked so that "line 3" and
/// "line 4" are the same class, cut to a bounded length.
pub fn outcome_class(prefix: &str, message: &str) -> String {
    // Quoted spans (`x`, "x", 'x') usually echo the input back: blanked. A run
    // of digits becomes one `#`. Only the first line counts, cut to a bound.
    let first = message.lines().next().unwrap_or("");
    let mut blanked = String::new();
    let mut quote: Option<char> = None;
    for c in first.chars() {
        match quote {
            Some(q) if c == q => {
                quote = None;
                blanked.push(c);
            }
            Some(_) => {}
            None if matches!(c, '`' | '"' | '\'') => {
                quote = Some(c);
                blanked.push(c);
                blanked.push('…');
            }
            None if c.is_ascii_digit() => {
                if !blanked.ends_with('#') {
                    blanked.push('#');
                }
            }
            None => blanked.push(c),
        }
    }
    let cut: String = blanked.chars().take(120).collect();
    format!("{prefix}: {cut}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn picky(input: &[u8]) -> String {
        // Panics on one three-byte sequence, which mutation must find.
        assert!(!input.windows(3).any(|w| w == b"nan"), "found it");
        if input.is_empty() { "empty".into() } else { format!("len {}", input.len().min(4)) }
    }

    #[test]
    fn finds_a_planted_panic_and_is_deterministic() {
        let t = Target { name: "picky", run: picky };
        let corpus = vec![b"accuracy = 1.0".to_vec()];
        let a = fuzz(&t, &corpus, 7, |n| n < 200_000).expect_err("crash found");
        assert!(a.message.contains("found it"));
        assert!(a.input.windows(3).any(|w| w == b"nan"));
        let b = fuzz(&t, &corpus, 7, |n| n < 200_000).expect_err("crash found");
        assert_eq!(a.input, b.input);
    }

    #[test]
    fn a_clean_target_runs_to_the_limit() {
        let t = Target { name: "clean", run: |i| format!("{}", i.len() % 3) };
        let s = fuzz(&t, &[b"abc".to_vec()], 1, |n| n < 500).expect("no crash");
        assert_eq!(s.executions, 500);
        assert!(s.outcomes >= 2 && s.kept >= 1, "{s:?}");
    }
}
