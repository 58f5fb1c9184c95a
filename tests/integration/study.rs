//! Studies in a trial store, end to end through the `hwnas` binary: a driver
//! that only hands out trials and four worker processes finish a 1,000-trial
//! NB201 table study with every trial exactly once and the same trials as a
//! single-process run; a worker killed with SIGKILL in the middle of a training
//! trial has that trial evaluated again by another worker and completed once;
//! a killed driver resumes from the store; the run directory never holds the
//! password; a worker refuses a study whose files it lacks. Against SQLite
//! always and against the PostgreSQL server `.ci/run` starts
//! (`HWNAS_TEST_POSTGRES`).

use crate::onnx_export::{fails, hwnas, ok};
use nas_core::{Metric, Trial};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// The stores to test: SQLite in `tmp`, and PostgreSQL when configured.
fn stores(tmp: &Path) -> Vec<(&'static str, String)> {
    let mut v = vec![("sqlite", format!("sqlite:{}", tmp.join("studies.db").display()))];
    match std::env::var("HWNAS_TEST_POSTGRES") {
        Ok(url) => v.push(("postgres", url)),
        Err(_) => assert!(
            std::env::var_os("HWNAS_REQUIRE_POSTGRES").is_none(),
            "HWNAS_REQUIRE_POSTGRES is set but HWNAS_TEST_POSTGRES is not"
        ),
    }
    v
}

fn unique(prefix: &str) -> String {
    let ns = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_nanos();
    format!("{prefix}-{}-{}", std::process::id(), ns % 1_000_000_000)
}

fn table_config(tmp: &Path, budget: usize) -> PathBuf {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../experiments/configs/nb201-cifar10-fpga.toml"))
            .expect("config")
            .replace("budget = 200", &format!("budget = {budget}"))
            .replace("batch_size = 10", "batch_size = 16");
    let path = tmp.join("table.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

/// The table config of `budget` trials and the essence of its one-process run.
fn table_study_and_reference(tmp: &Path, budget: usize) -> (PathBuf, Vec<Essence>) {
    let cfg = table_config(tmp, budget);
    let reference = tmp.join("reference");
    ok(hwnas().arg("run").arg(&cfg).arg("--out").arg(&reference).arg("-q"));
    (cfg, essence(&trials(&reference)))
}

fn trials(dir: &Path) -> Vec<Trial> {
    let mut t: Vec<Trial> = std::fs::read_to_string(dir.join("trials.jsonl"))
        .expect("trials.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("trial"))
        .collect();
    t.sort_by_key(|t| t.index);
    t
}

/// A trial's index, architecture, status and metrics (as bits).
type Essence = (usize, String, bool, Vec<(Metric, u64)>);

/// What must agree between runs: index, architecture, status and the metrics
/// (the wall-clock ones aside).
fn essence(trials: &[Trial]) -> Vec<Essence> {
    trials
        .iter()
        .map(|t| {
            let m =
                t.metrics.iter().filter(|(k, _)| **k != Metric::EvalSeconds).map(|(k, v)| (*k, v.to_bits())).collect();
            (t.index, t.arch.clone(), t.is_ok(), m)
        })
        .collect()
}

fn spawn(args: &[&str]) -> Child {
    hwnas().args(args).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("hwnas starts")
}

/// A driver that only hands out trials (`hwnas run --storage --study
/// --no-local`), its stderr kept in a file (a pipe nobody reads could fill up
/// and stall it) for the failure messages.
struct Driver {
    child: Child,
    log: PathBuf,
}

impl Driver {
    fn start(cfg: &Path, url: &str, study: &str, out: &Path, lease_seconds: Option<&str>) -> Driver {
        let log = out.with_extension("driver.log");
        let mut cmd = hwnas();
        cmd.arg("run").arg(cfg).args(["--storage", url, "--study", study, "--no-local", "-q", "--out"]).arg(out);
        if let Some(l) = lease_seconds {
            cmd.args(["--lease-seconds", l]);
        }
        let file = std::fs::File::create(&log).expect("driver log");
        let child = cmd.stdout(Stdio::null()).stderr(Stdio::from(file)).spawn().expect("hwnas starts");
        Driver { child, log }
    }

    /// What it printed on stderr so far.
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits for it to succeed; returns its stderr.
    fn finish(mut self, what: &str) -> String {
        let status = self.child.wait().expect("waits");
        assert!(status.success(), "{what} failed:\n{}", self.log());
        self.log()
    }

    fn kill(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }
}

/// Waits (at most a minute) for the driver to create `study`.
fn wait_for_study(store: &dyn trial_store::TrialStore, study: &str, driver: &Driver) -> trial_store::Study {
    let start = Instant::now();
    loop {
        if let Some(s) = store.study(study).expect("query") {
            return s;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "the driver did not create the study:\n{}", driver.log());
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn wait_ok(child: Child, what: &str) -> String {
    let out = child.wait_with_output().expect("waits");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{what} failed:\n{err}");
    err
}

fn open_store(url: &str) -> std::sync::Arc<dyn trial_store::TrialStore> {
    trial_store::open(&trial_store::StorageUrl::parse(url).expect("url"), trial_store::RetryPolicy::default())
        .expect("store")
}

#[test]
fn four_workers_finish_a_table_study_exactly_once_like_one_process() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (cfg, want) = table_study_and_reference(tmp.path(), 1000);
    assert_eq!(want.len(), 1000);

    for (backend, url) in stores(tmp.path()) {
        let study = unique("table");
        let out = tmp.path().join(format!("study-{backend}"));
        let driver = Driver::start(&cfg, &url, &study, &out, None);
        // Workers join once the study exists.
        let store = open_store(&url);
        let s = wait_for_study(store.as_ref(), &study, &driver);
        let start = Instant::now();
        let workers: Vec<Child> = (0..4)
            .map(|_| spawn(&["worker", "--storage", &url, "--study", &study, "--lease-seconds", "2", "-q"]))
            .collect();
        let mut victim = None;
        let mut rest = Vec::new();
        for (i, w) in workers.into_iter().enumerate() {
            if i == 0 { victim = Some(w) } else { rest.push(w) }
        }
        // One worker dies with SIGKILL part-way.
        let mut victim = victim.expect("a worker");
        while store.counts(s.id).expect("counts").told < 200 {
            assert!(start.elapsed() < Duration::from_secs(300), "{backend}: no progress\n{}", driver.log());
            std::thread::sleep(Duration::from_millis(5));
        }
        victim.kill().expect("SIGKILL");
        victim.wait().expect("reaped");
        let err = driver.finish(&format!("{backend} driver"));
        for w in rest {
            wait_ok(w, &format!("{backend} worker"));
        }
        let got = trials(&out);
        assert_eq!(essence(&got), want, "{backend}: the study's trials differ from the single-process run's\n{err}");
        // Every trial once in the store too.
        let s = store.study(&study).expect("q").expect("s");
        let told = store.trials(s.id).expect("told");
        assert_eq!(essence(&told), want, "{backend}: the store's told trials");
        let c = store.counts(s.id).expect("counts");
        assert_eq!((c.told, c.pending, c.running, c.complete), (1000, 0, 0, 1000), "{backend}: {c:?}");
        assert_eq!(s.status, trial_store::StudyStatus::Finished);
        // The usual outputs.
        for f in ["pareto.json", "pareto.svg", "report.html", "config.toml", "run.json"] {
            assert!(out.join(f).is_file(), "{backend}: {f}");
        }
    }
}

/// A tiny training study: 8 NB201 cells trained a little on the digits.
fn training_config(tmp: &Path) -> PathBuf {
    let text = r#"
name = "train-study"
seed = 3
budget = 6
batch_size = 6
threads = 1
[space]
kind = "nb201"
channels = 4
cells_per_stage = 1
[strategy]
kind = "random"
[[objectives]]
metric = "accuracy"
[[objectives]]
metric = "params"
[[evaluators]]
kind = "train"
dataset = "digits"
[evaluators.training]
epochs = 3
batch_size = 32
max_train_samples = 600
threads = 1
[[evaluators]]
kind = "analytical"
"#;
    let path = tmp.join("train.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

#[test]
fn a_worker_killed_mid_trial_has_its_trial_evaluated_again_and_completed_once() {
    let tmp = tempfile::tempdir().expect("tmp");
    let cfg = training_config(tmp.path());
    let reference = tmp.path().join("reference");
    ok(hwnas().arg("run").arg(&cfg).arg("--out").arg(&reference).arg("-q"));
    let want = essence(&trials(&reference));
    let (backend, url) = stores(tmp.path()).into_iter().next().expect("sqlite");
    let study = unique("killed");
    let out = tmp.path().join("study");
    let driver = Driver::start(&cfg, &url, &study, &out, Some("1.5"));
    let store = open_store(&url);
    let s = wait_for_study(store.as_ref(), &study, &driver);
    let start = Instant::now();
    let mut victim = spawn(&["worker", "--storage", &url, "--study", &study, "--lease-seconds", "1.5", "-q"]);
    // Kill it while it holds a claim (mid-training).
    let victim_tag = format!(":{}/", victim.id());
    let killed_trial = loop {
        let running = store.running(s.id).expect("running");
        if let Some((id, _, _)) = running.iter().find(|(_, w, _)| w.contains(&victim_tag)) {
            break *id;
        }
        assert!(start.elapsed() < Duration::from_secs(120), "the worker never claimed a trial");
        std::thread::sleep(Duration::from_millis(5));
    };
    victim.kill().expect("SIGKILL");
    victim.wait().expect("reaped");
    let survivor = spawn(&["worker", "--storage", &url, "--study", &study, "--lease-seconds", "1.5", "-q"]);
    driver.finish("driver");
    wait_ok(survivor, "worker");
    assert_eq!(essence(&trials(&out)), want, "{backend}: trials differ from the single-process run");
    let c = store.counts(s.id).expect("counts");
    assert_eq!((c.told, c.complete, c.pending, c.running), (6, 6, 0, 0), "{c:?}");
    assert!(c.retries >= 1, "the killed worker's trial {killed_trial} was claimed again: {c:?}");
}

#[test]
fn a_killed_driver_resumes_from_the_store_without_losing_or_repeating_trials() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (cfg, want) = table_study_and_reference(tmp.path(), 400);
    for (backend, url) in stores(tmp.path()) {
        let study = unique("resume");
        let out = tmp.path().join(format!("driver-{backend}"));
        // The driver only hands out trials and one worker stops after 150, so
        // the driver is certainly mid-study when it is killed.
        let mut driver = Driver::start(&cfg, &url, &study, &out, Some("1"));
        let store = open_store(&url);
        let s = wait_for_study(store.as_ref(), &study, &driver);
        let start = Instant::now();
        wait_ok(spawn(&["worker", "--storage", &url, "--study", &study, "--max-trials", "150", "-q"]), "worker");
        loop {
            let c = store.counts(s.id).expect("counts");
            if c.told >= 100 {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "{backend}: the driver told only {} trials of 150 evaluated ({c:?})\n{}",
                c.told,
                driver.log()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        driver.kill();
        let before = store.counts(s.id).expect("counts").told;
        assert!(before < 400, "{backend}: killed before the end");
        let printed = ok(hwnas().args(["resume", "--storage", &url, "--study", &study, "--lease-seconds", "1", "-q"]));
        assert_eq!(essence(&trials(&out)), want, "{backend}: resumed trials differ\n{printed}");
        let told = store.trials(s.id).expect("told");
        assert_eq!(essence(&told), want, "{backend}: the store's trials");
        // Export rebuilds the same run directory from the store alone.
        let exported = tmp.path().join(format!("exported-{backend}"));
        ok(hwnas().args(["study", "export", "--storage", &url, "--study", &study, "--out"]).arg(&exported));
        assert_eq!(essence(&trials(&exported)), want);
        assert!(exported.join("pareto.json").is_file() && exported.join("report.html").is_file());
    }
}

#[test]
fn studies_keep_credentials_out_of_files_and_refuse_what_they_cannot_do() {
    let tmp = tempfile::tempdir().expect("tmp");
    let cfg = table_config(tmp.path(), 40);
    for (backend, url) in stores(tmp.path()) {
        let study = unique("secret");
        let out = tmp.path().join(format!("run-{backend}"));
        let printed = ok(hwnas()
            .args(["run", cfg.to_str().expect("utf-8"), "--storage", &url, "--study", &study, "--out"])
            .arg(&out));
        if let Ok(trial_store::StorageUrl::Postgres { password: Some(pw), .. }) = trial_store::StorageUrl::parse(&url) {
            assert!(!printed.contains(&pw), "the password is printed");
            for entry in walk(&out) {
                let bytes = std::fs::read(&entry).expect("read");
                assert!(!bytes.windows(pw.len()).any(|w| w == pw.as_bytes()), "{} holds the password", entry.display());
            }
            // A wrong password: refused, and not echoed.
            let wrong = url.replacen(&format!(":{pw}@"), ":not-the-Password-42@", 1);
            let err = fails(hwnas().args(["study", "list", "--storage", &wrong]));
            assert!(!err.contains("not-the-Password-42"), "{err}");
            assert!(err.contains("***") || err.contains("password"), "{err}");
        }
        // The same name twice is refused, naming the way to continue it.
        let err = fails(hwnas().args(["run", cfg.to_str().expect("utf-8"), "--storage", &url, "--study", &study]));
        assert!(err.contains("exists already") && err.contains("hwnas resume"), "{backend}: {err}");
        // Bad names and unknown studies.
        let err = fails(hwnas().args(["worker", "--storage", &url, "--study", "x; DROP TABLE studies"]));
        assert!(err.contains("study name"), "{backend}: {err}");
        let err = fails(hwnas().args(["worker", "--storage", &url, "--study", "no-such-study"]));
        assert!(err.contains("no study `no-such-study`"), "{backend}: {err}");
        let listed = ok(hwnas().args(["study", "list", "--storage", &url]));
        assert!(listed.contains(&study) && listed.contains("finished"), "{listed}");
    }

    // A worker without the study's dataset file refuses, naming it.
    let (_, url) = stores(tmp.path()).into_iter().next().expect("sqlite");
    let data = tmp.path().join("gone.idx");
    let store = open_store(&url);
    let cfg_text = std::fs::read_to_string(training_config(tmp.path()))
        .expect("config")
        .replace("dataset = \"digits\"", &format!("dataset = \"mnist_idx\"\npath = \"{}\"", data.display()));
    store
        .create_study(&trial_store::NewStudy {
            name: "needs-a-file".into(),
            config: cfg_text,
            seed: 1,
            provenance: serde_json::json!({}),
        })
        .expect("study");
    let err = fails(hwnas().args(["worker", "--storage", &url, "--study", "needs-a-file"]));
    assert!(err.contains("cannot join study `needs-a-file`") && err.contains("gone.idx"), "{err}");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// A TCP proxy in front of the PostgreSQL server that can take the database
/// away: it cuts every open connection and refuses new ones until restored.
struct Outage {
    port: u16,
    down: std::sync::Arc<std::sync::atomic::AtomicBool>,
    open: std::sync::Arc<std::sync::Mutex<Vec<std::net::TcpStream>>>,
}

impl Outage {
    fn proxy_to(upstream: (String, u16)) -> Outage {
        use std::net::{TcpListener, TcpStream};
        use std::sync::atomic::Ordering;
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let outage = Outage { port, down: Default::default(), open: Default::default() };
        let (down, open) = (outage.down.clone(), outage.open.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if down.load(Ordering::SeqCst) {
                    let _ = client.shutdown(std::net::Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect((upstream.0.as_str(), upstream.1)) else { continue };
                // Small query messages must not wait for Nagle's algorithm.
                let _ = (client.set_nodelay(true), server.set_nodelay(true));
                let pipe = |mut from: TcpStream, mut to: TcpStream| {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    })
                };
                if let (Ok(c2), Ok(s2)) = (client.try_clone(), server.try_clone()) {
                    open.lock().expect("lock").extend([c2, s2]);
                    let (c3, s3) = (client.try_clone().expect("clone"), server.try_clone().expect("clone"));
                    pipe(client, server);
                    pipe(s3, c3);
                }
            }
        });
        outage
    }

    /// Cuts every connection and refuses new ones for `d`.
    fn for_a_while(&self, d: Duration) {
        use std::sync::atomic::Ordering;
        self.down.store(true, Ordering::SeqCst);
        for s in self.open.lock().expect("lock").drain(..) {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
        std::thread::sleep(d);
        self.down.store(false, Ordering::SeqCst);
    }
}

#[test]
fn a_database_that_goes_away_for_a_while_is_waited_for_and_nothing_is_lost() {
    let Ok(url) = std::env::var("HWNAS_TEST_POSTGRES") else {
        assert!(std::env::var_os("HWNAS_REQUIRE_POSTGRES").is_none(), "HWNAS_REQUIRE_POSTGRES without a server");
        return;
    };
    let Ok(trial_store::StorageUrl::Postgres { host, port, .. }) = trial_store::StorageUrl::parse(&url) else {
        panic!("HWNAS_TEST_POSTGRES is not a postgres:// URL")
    };
    let outage = Outage::proxy_to((host.clone(), port));
    let via_proxy = url.replacen(&format!("@{host}:{port}/"), &format!("@127.0.0.1:{}/", outage.port), 1);
    assert_ne!(via_proxy, url, "the URL names host and port");

    let tmp = tempfile::tempdir().expect("tmp");
    let (cfg, want) = table_study_and_reference(tmp.path(), 600);

    let study = unique("outage");
    let out = tmp.path().join("study");
    let driver = Driver::start(&cfg, &via_proxy, &study, &out, Some("2"));
    let store = open_store(&url);
    let s = wait_for_study(store.as_ref(), &study, &driver);
    // One worker stops after 200 trials, so the study is certainly unfinished
    // when the database goes away; a second one joins while it is away.
    wait_ok(spawn(&["worker", "--storage", &via_proxy, "--study", &study, "--max-trials", "200", "-q"]), "worker");
    let told = store.counts(s.id).expect("counts").told;
    assert!(told < 600, "the study is unfinished: {told}");
    let late = spawn(&["worker", "--storage", &via_proxy, "--study", &study, "--lease-seconds", "2", "-q"]);
    outage.for_a_while(Duration::from_secs(4));
    let late = wait_ok(late, "the worker that met the outage");
    let err = driver.finish("the driver that met the outage");
    assert_eq!(essence(&trials(&out)), want, "trials differ from the single-process run");
    let c = store.counts(s.id).expect("counts");
    assert_eq!((c.told, c.complete, c.pending, c.running), (600, 600, 0, 0), "{c:?}");
    // Both said what happened, without the password.
    let both = format!("{err}\n{late}");
    assert!(both.contains("unreachable") && both.contains("retrying"), "{both}");
    assert!(both.contains("reachable again"), "{both}");
    if let Ok(trial_store::StorageUrl::Postgres { password: Some(pw), .. }) = trial_store::StorageUrl::parse(&url) {
        assert!(!both.contains(&pw), "the password is printed");
    }
}

#[test]
fn a_run_directory_is_a_one_process_store_that_imports_into_and_exports_from_the_shared_ones() {
    let tmp = tempfile::tempdir().expect("tmp");
    let cfg = table_config(tmp.path(), 60);
    let run = tmp.path().join("plain-run");
    ok(hwnas().arg("run").arg(&cfg).arg("--out").arg(&run).arg("-q"));
    let want = essence(&trials(&run));
    let jsonl = format!("jsonl:{}", run.display());
    // The run directory read as a store: one finished study named after it.
    let listed = ok(hwnas().args(["study", "list", "--storage", &jsonl]));
    assert!(listed.contains("plain-run") && listed.contains("finished") && listed.contains(" 60 "), "{listed}");
    // It serves one process: workers and drivers are sent to the shared stores.
    let err = fails(hwnas().args(["worker", "--storage", &jsonl, "--study", "plain-run"]));
    assert!(err.contains("serves one process") && err.contains("sqlite:"), "{err}");
    let err = fails(hwnas().args(["run", cfg.to_str().expect("utf-8"), "--storage", &jsonl, "--study", "x"]));
    assert!(err.contains("serves one process"), "{err}");

    for (backend, url) in stores(tmp.path()) {
        // Import into the shared store, export back: the same trials.
        let name = unique("imported");
        let printed = ok(hwnas().args(["study", "import"]).arg(&run).args(["--storage", &url, "--study", &name]));
        assert!(printed.contains("imported 60 trials"), "{printed}");
        let store = open_store(&url);
        let s = store.study(&name).expect("q").expect("imported");
        assert_eq!(s.status, trial_store::StudyStatus::Finished);
        assert_eq!(essence(&store.trials(s.id).expect("trials")), want, "{backend}: imported trials");
        let err = fails(hwnas().args(["study", "import"]).arg(&run).args(["--storage", &url, "--study", &name]));
        assert!(err.contains("exists already"), "{backend}: {err}");
        let back = tmp.path().join(format!("back-{backend}"));
        ok(hwnas().args(["study", "export", "--storage", &url, "--study", &name, "--out"]).arg(&back));
        assert_eq!(essence(&trials(&back)), want, "{backend}: exported trials");
        let listed = ok(hwnas().args(["study", "list", "--storage"]).arg(format!("jsonl:{}", back.display())));
        assert!(listed.contains(&name), "the exported run keeps the study's name: {listed}");
        // The exported run directory is a plain run: it re-plots as one.
        ok(hwnas().arg("plot").arg(&back));
        assert!(back.join("pareto.json").is_file() && back.join("report.html").is_file());
    }
}

#[test]
fn a_multi_fidelity_config_is_refused_by_a_study_naming_the_scheduler() {
    let tmp = tempfile::tempdir().expect("tmp");
    let url = format!("sqlite:{}", tmp.path().join("s.db").display());
    let cfg = concat!(env!("CARGO_MANIFEST_DIR"), "/../experiments/configs/nb201-multifidelity.toml");
    let out = tmp.path().join("r");
    let err = fails(hwnas().args(["run", cfg, "--storage", &url, "--study", "mf", "--out"]).arg(&out));
    assert!(err.contains("[scheduler]") && err.contains("--storage"), "{err}");
    assert!(!out.exists(), "nothing is left behind");
    let listed = ok(hwnas().args(["study", "list", "--storage", &url]));
    assert!(!listed.contains("mf "), "no study is created: {listed}");
}
