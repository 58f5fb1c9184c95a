//! Property tests shared by both spaces, and checks against the NAS-Bench-201 data.

use crate::darts::{DARTS_V2, DartsGenotype, DartsSpace};
use crate::nb201::{Nb201Arch, Nb201Op, Nb201Space};
use nas_core::{ArchId, Architecture, Crossover, Encode, Mutate, Neighbors, SearchSpace, ToNetworkSpec};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::HashSet;
use std::io::BufRead;
use std::path::PathBuf;

/// Checks the generic invariants of a space over `n` seeded samples.
fn check_space<S>(space: &S, seed: u64, n: usize, neighbours: usize)
where
    S: SearchSpace + Mutate + Crossover + Encode + Neighbors + ToNetworkSpec,
{
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut previous = space.sample(&mut rng);
    for _ in 0..n {
        let a = space.sample(&mut rng);
        space.validate(&a).expect("sample is valid");

        let m = space.mutate(&a, &mut rng);
        space.validate(&m).expect("mutant is valid");
        assert_ne!(m, a, "mutation must change {}", a.notation());
        assert_ne!(m.id(), a.id());

        let c = space.crossover(&a, &previous, &mut rng);
        space.validate(&c).expect("child is valid");

        for arch in [&a, &m, &c] {
            let notation = arch.notation();
            let back = space.parse(&notation).expect("notation parses");
            assert_eq!(&back, arch);
            assert_eq!(back.notation(), notation);
            assert_eq!(arch.id(), ArchId::of(&notation));
            assert_eq!(space.encode(arch).len(), space.encoding_len());
        }
        assert_ne!(space.encode(&a), space.encode(&m), "encoding must see the mutation");

        let ns = space.neighbors(&a);
        assert_eq!(ns.len(), neighbours);
        assert!(ns.iter().all(|x| x != &a && space.validate(x).is_ok()));

        let spec = space.network_spec(&a);
        assert!(!spec.layers.is_empty());
        assert!(spec.params() > 0 && spec.macs() > 0);
        previous = a;
    }
}

#[test]
fn nb201_generic_properties() {
    check_space(&Nb201Space::default(), 201, 200, 24);
}

#[test]
fn darts_generic_properties() {
    check_space(&DartsSpace::default(), 2019, 200, 120);
}

#[test]
fn sampling_is_deterministic_per_seed() {
    let draw = |seed| {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let nb: Vec<String> = (0..5).map(|_| Nb201Space::default().sample(&mut rng).notation()).collect();
        let da: Vec<String> = (0..5).map(|_| DartsSpace::default().sample(&mut rng).notation()).collect();
        (nb, da)
    };
    assert_eq!(draw(9), draw(9));
    assert_ne!(draw(9), draw(10));
}

/// Hard-coded ids: they change only if a notation changes, which would orphan
/// every stored trial record.
#[test]
fn ids_are_stable() {
    let best = Nb201Arch::parse(
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
    )
    .expect("valid");
    assert_eq!(best.id().to_string(), "5cfc77e6bbe5f56a");
    assert_eq!(Nb201Arch::uniform(Nb201Op::None).id().to_string(), "648625f28c0a95a1");
    assert_eq!(Nb201Arch::uniform(Nb201Op::NorConv3x3).id().to_string(), "26dd2ddabee989cb");
    let v2 = DartsGenotype::parse(DARTS_V2).expect("valid");
    assert_eq!(v2.id().to_string(), "8e7638ad5957e49c");
}

#[test]
fn nb201_enumerates_15625_distinct_ids() {
    let space = Nb201Space::default();
    let ids: HashSet<ArchId> = space.enumerate().expect("enumerable").map(|a| a.id()).collect();
    assert_eq!(ids.len(), 15_625);
    assert_eq!(space.size().as_f64(), 15_625.0);
}

/// The NAS-Bench-201 CIFAR table shipped in the repository's `data/`.
fn nb201_csv() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../data/nb201/nb201_cifar_accuracy_and_latency.csv.gz")
}

/// Every architecture string of the benchmark parses, formats back to the same
/// string, and the 15,625 of them are exactly our enumeration. The benchmark's
/// index order is not a mixed-radix order (any such order starts with a cell
/// that has one op on all edges), which is why `Nb201Arch` has no index.
#[test]
fn nb201_benchmark_strings_round_trip() {
    let path = nb201_csv();
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{} (shipped in data/): {e}", path.display()));
    let reader = std::io::BufReader::new(flate2::read::GzDecoder::new(file));
    let mut lines = reader.lines();
    let header = lines.next().expect("header").expect("read header");
    assert!(header.starts_with("index,arch,"), "{header}");
    let mut seen = HashSet::new();
    let mut first = None;
    for (row, line) in lines.enumerate() {
        let line = line.expect("read row");
        let mut fields = line.split(',');
        let index: usize = fields.next().and_then(|s| s.parse().ok()).expect("index column");
        let notation = fields.next().expect("arch column");
        assert_eq!(index, row);
        let arch = Nb201Arch::parse(notation).expect("benchmark string parses");
        assert_eq!(arch.notation(), notation);
        if index == 0 {
            first = Some(arch);
        }
        assert!(seen.insert(arch), "duplicate {notation}");
    }
    let all: HashSet<Nb201Arch> = Nb201Space::default().enumerate().expect("enumerable").collect();
    assert_eq!(seen, all);
    let first = first.expect("row 0");
    let distinct: HashSet<Nb201Op> = first.ops().into_iter().collect();
    assert!(distinct.len() > 1, "index 0 is {}", first.notation());
}

/// Both spaces through the registry: the declared capabilities, the settings
/// round trip (defaults filled in, unknown fields refused), the dataset's input
/// shape overriding the settings', and the generic checks on the erased space.
#[test]
fn spaces_register_with_every_capability() {
    use nas_core::registry::{InputShape, Registry};
    let mut r = Registry::new();
    r.add_space::<crate::Nb201Config>().add_space::<crate::DartsConfig>();
    for info in r.spaces() {
        let all_but_codesign: Vec<_> =
            nas_core::Capability::ALL.into_iter().filter(|c| *c != nas_core::Capability::CoDesign).collect();
        assert_eq!(info.capabilities, all_but_codesign, "{}", info.name);
    }
    let spec = r.parse_space("nb201", serde_json::json!({"channels": 8})).expect("parses");
    assert_eq!(spec.settings()["cells_per_stage"], 5);
    let shape = InputShape { chw: [1, 28, 28], classes: 10 };
    let space = spec.build(Some(shape)).expect("builds");
    assert_eq!(space.trainable().expect("trainable").input_chw(), [1, 28, 28]);
    assert_eq!(space.settings()["input_chw"], serde_json::json!([1, 28, 28]));
    check_space(&space, 5, 50, 24);
    let err = r.parse_space("darts", serde_json::json!({"chanels": 8})).err().expect("typo refused");
    assert!(err.to_string().contains("unknown field `chanels`"), "{err}");
    let darts = r.parse_space("darts", serde_json::json!({})).expect("parses").build(None).expect("builds");
    check_space(&darts, 6, 20, 120);
}

/// The ONNX graph of a network holds exactly its trainable parameters (the
/// layer IR's count), for sampled architectures of every space with networks.
#[test]
fn onnx_graphs_hold_the_lowerings_parameters() {
    use nas_core::onnx::OnnxModelInfo;
    use nas_core::train::DynTrainable;
    fn check<S: ToNetworkSpec + DynTrainable<S::Arch>>(space: &S, n: usize) {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for _ in 0..n {
            let a = space.sample(&mut rng);
            let model = space.export_onnx(&a, None, 1, &OnnxModelInfo::default()).expect("export");
            assert_eq!(model.parameters, space.network_spec(&a).params(), "{}", a.notation());
            assert!(model.nodes > 0 && !model.bytes.is_empty());
        }
    }
    check(&Nb201Space::default(), 6);
    check(&DartsSpace::default(), 3);
    check(&crate::plain_cnn::PlainCnnSpace::default(), 6);
}
