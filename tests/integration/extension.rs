//! The "How to add a space" recipe of ARCHITECTURE.md, followed by a test: a
//! new space (a chain of convolutions whose widths are searched) with mutation
//! and a layer description but no crossover and no burn model. Registered next
//! to the built-in components, it runs through `hwnas run` with random search and
//! the analytical cost model, and a strategy or evaluator needing what it lacks is
//! refused naming the capability.

use clap::Parser;
use experiments::cli::{Cli, run_with};
use nas_core::registry::{InputShape, SpaceSettings};
use nas_core::{Architecture, LayerSpec, Mutate, NasError, NetworkSpec, SearchSpace, SpaceSize, ToNetworkSpec};
use rand::{Rng, RngCore};
use serde::{Deserialize, Serialize};

/// Widths of the convolutions, one of `WIDTHS` each.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Chain(Vec<usize>);

const WIDTHS: [usize; 4] = [8, 16, 24, 32];

impl Architecture for Chain {
    fn notation(&self) -> String {
        self.0.iter().map(|w| w.to_string()).collect::<Vec<_>>().join("-")
    }
}

/// Step 1 of the recipe: the settings type (the config section), with defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct ChainSettings {
    depth: usize,
    input_chw: [usize; 3],
}

impl Default for ChainSettings {
    fn default() -> Self {
        ChainSettings { depth: 3, input_chw: [3, 16, 16] }
    }
}

/// Step 2: the space and the capability traits it can offer.
struct ChainSpace(ChainSettings);

impl SearchSpace for ChainSpace {
    type Arch = Chain;
    fn name(&self) -> &str {
        "chain"
    }
    fn sample(&self, rng: &mut dyn RngCore) -> Chain {
        Chain((0..self.0.depth).map(|_| WIDTHS[rng.random_range(0..WIDTHS.len())]).collect())
    }
    fn validate(&self, arch: &Chain) -> nas_core::Result<()> {
        if arch.0.len() == self.0.depth && arch.0.iter().all(|w| WIDTHS.contains(w)) {
            Ok(())
        } else {
            Err(NasError::InvalidArchitecture {
                space: "chain".into(),
                notation: arch.notation(),
                reason: format!("{} widths from {WIDTHS:?}", self.0.depth),
            })
        }
    }
    fn parse(&self, notation: &str) -> nas_core::Result<Chain> {
        let widths: Result<Vec<usize>, _> = notation.split('-').map(str::parse).collect();
        let arch = Chain(widths.map_err(|e| NasError::Parse {
            space: "chain".into(),
            input: notation.into(),
            reason: e.to_string(),
        })?);
        self.validate(&arch)?;
        Ok(arch)
    }
    fn size(&self) -> SpaceSize {
        SpaceSize::Exact((WIDTHS.len() as u128).pow(self.0.depth as u32))
    }
}

impl Mutate for ChainSpace {
    fn mutate(&self, arch: &Chain, rng: &mut dyn RngCore) -> Chain {
        let mut w = arch.0.clone();
        let i = rng.random_range(0..w.len());
        let k = WIDTHS.iter().position(|&x| x == w[i]).unwrap_or(0);
        w[i] = WIDTHS[(k + rng.random_range(1..WIDTHS.len())) % WIDTHS.len()];
        Chain(w)
    }
}

impl ToNetworkSpec for ChainSpace {
    fn network_spec(&self, arch: &Chain) -> NetworkSpec {
        let [c, h, w] = self.0.input_chw;
        let mut net = NetworkSpec::new(self.0.input_chw, 10);
        let mut channels = c;
        for (i, &width) in arch.0.iter().enumerate() {
            net.push(format!("conv{i}"), LayerSpec::conv(channels, width, 3, 1, 1, [h, w]));
            channels = width;
        }
        net.push("pool", LayerSpec::global_avg_pool(channels, [h, w]));
        net.push("fc", LayerSpec::linear(channels, 10));
        net
    }
}

// Step 3: declare the capabilities (no crossover, no burn model).
nas_core::capabilities!(ChainSpace: mutate, network_spec);

// Step 4: the settings build the space.
impl SpaceSettings for ChainSettings {
    const NAME: &'static str = "chain";
    const DESCRIPTION: &'static str = "a chain of 3x3 convolutions of searched widths";
    type Space = ChainSpace;
    fn with_input(&self, shape: InputShape) -> Self {
        ChainSettings { input_chw: shape.chw, ..self.clone() }
    }
    fn build(&self) -> nas_core::Result<ChainSpace> {
        if self.depth == 0 {
            return Err(NasError::InvalidValue {
                field: "depth".into(),
                value: "0".into(),
                allowed: "an integer >= 1".into(),
            });
        }
        Ok(ChainSpace(self.clone()))
    }
}

fn config(strategy: &str, evaluator: &str) -> String {
    format!(
        r#"
name = "chain"
budget = 20
batch_size = 4
[space]
kind = "chain"
depth = 4
[strategy]
kind = "{strategy}"
[[objectives]]
metric = "params"
[[objectives]]
metric = "{}"
[[evaluators]]
kind = "analytical"
{}
[output]
png = false
"#,
        if evaluator == "train" { "accuracy" } else { "flops" },
        if evaluator == "train" { "[[evaluators]]\nkind = \"train\"\ndataset = \"digits\"" } else { "" }
    )
}

fn hwnas(registry: &nas_core::Registry, args: &[&str]) -> anyhow::Result<()> {
    run_with(registry, Cli::try_parse_from(std::iter::once("hwnas").chain(args.iter().copied()))?)
}

#[test]
fn a_space_added_by_the_recipe_runs_through_hwnas_run_and_is_refused_what_it_lacks() {
    // Step 5: one line in the registry (here: the built-in one plus this space).
    let mut registry = experiments::registry::builtin();
    registry.add_space::<ChainSettings>();
    let tmp = tempfile::tempdir().expect("tmp");
    let cfg = tmp.path().join("chain.toml");
    std::fs::write(&cfg, config("random", "analytical")).expect("write");
    let run = tmp.path().join("run");
    let cfg_s = cfg.to_str().expect("utf8");
    let run_s = run.to_str().expect("utf8");
    hwnas(&registry, &["run", cfg_s, "--out", run_s, "--quiet"]).expect("random search on the new space");
    let trials = experiments::rundir::read_trials(&run).expect("trials");
    assert_eq!(trials.len(), 20);
    assert!(trials.iter().all(|t| t.is_ok() && t.metrics[&nas_core::Metric::Params] > 0.0));
    // Params of the chain by hand for the first trial: convs (3x3, no bias) + linear.
    let widths: Vec<usize> = trials[0].arch.split('-').map(|w| w.parse().expect("width")).collect();
    let mut params = 0usize;
    let mut c = 3;
    for w in &widths {
        params += c * w * 9;
        c = *w;
    }
    params += c * 10 + 10;
    assert_eq!(trials[0].metrics[&nas_core::Metric::Params], params as f64, "{}", trials[0].arch);
    assert!(run.join("pareto.json").exists() && run.join("export").exists());
    hwnas(&registry, &["plot", run_s]).expect("re-plot");
    // Evolution needs mutation only: it runs too.
    hwnas(
        &registry,
        &["run", cfg_s, "--strategy", "evolution", "--out", tmp.path().join("evo").to_str().expect("utf8"), "-q"],
    )
    .expect("evolution on the new space");

    // What the space lacks is refused before anything runs, naming it.
    let err = hwnas(
        &registry,
        &["run", cfg_s, "--strategy", "nsga2", "--out", tmp.path().join("n").to_str().expect("utf8"), "-q"],
    )
    .expect_err("no crossover");
    assert_eq!(
        format!("{err:#}").lines().last().expect("message"),
        "space `chain` has no crossover; strategy `nsga2` needs it — use `random` or `evolution`"
    );
    assert!(!tmp.path().join("n").exists(), "a refused run leaves no directory");
    let err = hwnas(
        &registry,
        &["run", cfg_s, "--strategy", "reinforce", "--out", tmp.path().join("r").to_str().expect("utf8"), "-q"],
    )
    .expect_err("no decisions");
    let msg = format!("{err:#}");
    assert!(
        msg.contains("space `chain` has no sequential categorical decisions") && msg.contains("strategy `reinforce`"),
        "{msg}"
    );
    std::fs::write(&cfg, config("random", "train")).expect("write");
    let err = hwnas(&registry, &["run", cfg_s, "--out", tmp.path().join("t").to_str().expect("utf8"), "-q"])
        .expect_err("no burn model");
    let msg = format!("{err:#}");
    assert!(msg.contains("space `chain` has no burn model") && msg.contains("evaluator `train`"), "{msg}");
    // `hwnas list` comes from the registry: the new space is listed with its capabilities.
    let info = registry.spaces().into_iter().find(|s| s.name == "chain").expect("listed");
    assert_eq!(info.capabilities, vec![nas_core::Capability::Mutate, nas_core::Capability::NetworkSpec]);
    // And its settings are checked like any other section.
    std::fs::write(&cfg, config("random", "analytical").replace("depth = 4", "depth = 0")).expect("write");
    let err = hwnas(&registry, &["run", cfg_s, "-q"]).expect_err("depth 0");
    assert!(format!("{err:#}").contains("space.depth"), "{err:#}");
}
