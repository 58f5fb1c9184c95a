//! `hwnas-fuzz`: runs the parser fuzz targets for a bounded time.
//!
//! ```text
//! hwnas-fuzz [--seconds 60] [--target NAME] [--seed N] [--corpus DIR] [--crashes DIR]
//! ```
//! The time is shared among the targets. A crash is saved to
//! `<crashes>/<target>/<hash>` (replayed by the `fuzz_corpus` tests once
//! committed) and the exit status is 1. The seed defaults to the time and is
//! printed, so any run can be repeated.
//!
//! Each target is fuzzed in a child process (this program with `--child`) that
//! sends every input to the parent before running it. A panic is caught in the
//! child; a crash that kills the process (an allocation failure aborts, a stack
//! overflow faults) or a hang (no new input for [`HANG_SECONDS`]) is seen by the
//! parent, which saves the last input the child announced.

use hwnas_tests::fuzz::engine::{Target, fuzz_observed};
use hwnas_tests::fuzz::targets::{TARGETS, target};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// An input that runs this long without the next one starting is a hang.
const HANG_SECONDS: u64 = 20;

/// Frame tags of the child-to-parent stream: `[tag][u32 length, LE][bytes]`.
const INPUT: u8 = b'I';
const STATS: u8 = b'S';
const CRASH_SAVED: u8 = b'C';

struct Args {
    seconds: f64,
    target: Option<String>,
    seed: u64,
    corpus: PathBuf,
    crashes: PathBuf,
    child: bool,
}

fn parse_args() -> Result<Args, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut a = Args {
        seconds: 60.0,
        target: None,
        seed: std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()),
        corpus: root.join("corpus"),
        crashes: root.join("crashes"),
        child: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--seconds" => a.seconds = value()?.parse().map_err(|e| format!("--seconds: {e}"))?,
            "--target" => a.target = Some(value()?),
            "--seed" => a.seed = value()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--corpus" => a.corpus = value()?.into(),
            "--crashes" => a.crashes = value()?.into(),
            "--child" => a.child = true,
            other => return Err(format!("unknown argument `{other}`; see the doc comment of tests/fuzz_main.rs")),
        }
    }
    Ok(a)
}

/// The corpus files of `target` (committed seeds plus saved crashes).
fn read_corpus(dirs: &[PathBuf], target: &str) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for d in dirs {
        let Ok(entries) = std::fs::read_dir(d.join(target)) else { continue };
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        out.extend(paths.iter().filter_map(|p| std::fs::read(p).ok()));
    }
    out
}

/// Saves a crashing input as `<crashes>/<target>/<hash>` and says so.
fn save_crash(crashes: &Path, target: &str, input: &[u8], why: &str) {
    let dir = crashes.join(target);
    let file = dir.join(format!("{:016x}", nas_core::hash::fnv1a64(input)));
    let saved = std::fs::create_dir_all(&dir).and_then(|_| std::fs::write(&file, input));
    eprintln!("CRASH in target `{target}`: {why}");
    match saved {
        Ok(()) => eprintln!("input saved to {} (commit it: the fuzz_corpus tests replay it)", file.display()),
        Err(e) => eprintln!("could not save the input to {}: {e}", file.display()),
    }
}

fn send(out: &mut impl Write, tag: u8, bytes: &[u8]) {
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    let sent = out
        .write_all(&[tag])
        .and_then(|_| out.write_all(&len.to_le_bytes()))
        .and_then(|_| out.write_all(&bytes[..len as usize]))
        .and_then(|_| out.flush());
    if sent.is_err() {
        // The parent is gone; nobody is left to report to.
        std::process::exit(3);
    }
}

/// The child: fuzzes one target, announcing each input on stdout.
fn child(args: &Args, t: &Target) -> ExitCode {
    let corpus = read_corpus(&[args.corpus.clone(), args.crashes.clone()], t.name);
    let budget = Duration::from_secs_f64(args.seconds.max(0.0));
    let start = Instant::now();
    let mut out = std::io::stdout().lock();
    let result =
        fuzz_observed(t, &corpus, args.seed, |_| start.elapsed() < budget, |input| send(&mut out, INPUT, input));
    match result {
        Ok(s) => {
            let line = format!(
                "{:>15}: {:>8} runs, {:>4} outcome classes, {:>4} inputs kept, corpus {}",
                t.name,
                s.executions,
                s.outcomes,
                s.kept,
                corpus.len()
            );
            send(&mut out, STATS, line.as_bytes());
            ExitCode::SUCCESS
        }
        Err(crash) => {
            save_crash(&args.crashes, t.name, &crash.input, &format!("panic: {}", crash.message));
            send(&mut out, CRASH_SAVED, &[]);
            ExitCode::FAILURE
        }
    }
}

/// Reads the child's frames into `tx` until its stdout closes.
fn read_frames(mut from: impl Read, tx: mpsc::Sender<(u8, Vec<u8>)>) {
    let mut head = [0u8; 5];
    while from.read_exact(&mut head).is_ok() {
        let len = u32::from_le_bytes([head[1], head[2], head[3], head[4]]) as usize;
        let mut body = vec![0u8; len];
        if from.read_exact(&mut body).is_err() || tx.send((head[0], body)).is_err() {
            return;
        }
    }
}

/// The parent: runs one target in a child and watches it. `true` when clean.
fn supervise(args: &Args, t: &Target, seconds: f64, seed: u64) -> bool {
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: cannot find this program to start the fuzzing process: {e}");
            return false;
        }
    };
    let spawned = Command::new(exe)
        .args(["--child", "--target", t.name, "--seconds", &seconds.to_string(), "--seed", &seed.to_string()])
        .arg("--corpus")
        .arg(&args.corpus)
        .arg("--crashes")
        .arg(&args.crashes)
        .stdout(Stdio::piped())
        .spawn();
    let mut proc: Child = match spawned {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: cannot start the fuzzing process: {e}");
            return false;
        }
    };
    let (tx, rx) = mpsc::channel();
    let stdout = proc.stdout.take().expect("stdout is piped");
    let reader = std::thread::spawn(move || read_frames(stdout, tx));
    let mut last = Vec::new();
    let mut reported = false;
    loop {
        match rx.recv_timeout(Duration::from_secs(HANG_SECONDS)) {
            Ok((INPUT, input)) => last = input,
            Ok((STATS, line)) => println!("{}", String::from_utf8_lossy(&line)),
            Ok((_, _)) => reported = true,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = proc.kill();
                let _ = proc.wait();
                save_crash(
                    &args.crashes,
                    t.name,
                    &last,
                    &format!("hang: one input ran for more than {HANG_SECONDS} s"),
                );
                return false;
            }
        }
    }
    let _ = reader.join();
    match proc.wait() {
        Ok(status) if status.success() => true,
        Ok(_) if reported => false,
        Ok(status) => {
            save_crash(&args.crashes, t.name, &last, &format!("the fuzzing process died ({status})"));
            false
        }
        Err(e) => {
            eprintln!("error: lost the fuzzing process: {e}");
            false
        }
    }
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let chosen: Vec<&Target> = match &args.target {
        Some(n) => match target(n) {
            Some(t) => vec![t],
            None => {
                let names: Vec<_> = TARGETS.iter().map(|t| t.name).collect();
                eprintln!("error: unknown target `{n}`; allowed: {}", names.join(", "));
                return ExitCode::from(2);
            }
        },
        None => TARGETS.iter().collect(),
    };
    if args.child {
        return child(&args, chosen[0]);
    }
    let each = args.seconds.max(0.0) / chosen.len() as f64;
    println!("fuzzing {} target(s), {each:.1} s each, seed {}", chosen.len(), args.seed);
    for (i, t) in chosen.into_iter().enumerate() {
        if !supervise(&args, t, each, args.seed.wrapping_add(i as u64)) {
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
