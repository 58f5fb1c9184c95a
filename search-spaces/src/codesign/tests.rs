//! Tests of the joint space: notation round trips, budgets, decisions,
//! encodings, the composite registry section, and the strategy contract of every
//! strategy that can search it.

use super::*;
use crate::Nb201Space;
use nas_core::hardware::{AcceleratorDesign, DynCoDesign};
use nas_core::registry::{StrategyContext, StrategySettings};
use nas_core::testing::{check_contract_on, check_robustness_on, toy_problem};
use nas_core::{
    AnyArch, Architecture, Capability, Crossover, Decisions, DynSpace, Encode, Mutate, Registry, SearchSpace,
    SearchStrategy,
};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn nb201() -> DynSpace {
    DynSpace::new(Nb201Space::default(), serde_json::json!({}))
}

fn space() -> CoDesignSpace {
    let tasks = space::tasks_of(vec![("cifar10", nb201()), ("cifar100", nb201())]);
    CoDesignSpace::new(tasks, HardwareConfig::default()).expect("space")
}

#[test]
fn notation_round_trips_for_samples_mutants_and_children() {
    let s = space();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for _ in 0..300 {
        let a = s.sample(&mut rng);
        let b = s.mutate(&a, &mut rng);
        let c = s.crossover(&a, &b, &mut rng);
        for x in [&a, &b, &c] {
            s.validate(x).expect("valid");
            assert_eq!(s.parse(&x.notation()).expect("parses"), *x);
            assert!(x.design().pes() <= 4096 && x.design().bandwidth_gbs() <= 64.0);
        }
        assert_ne!(a, b, "a mutation changes something");
    }
    let a = s.sample(&mut rng);
    let n = a.notation();
    assert!(n.starts_with("cifar10=|") && n.contains(" ; cifar100=|") && n.contains(" ; hw=") && n.contains(" ; map="));
}

#[test]
fn bad_notations_and_designs_are_refused_with_the_reason() {
    let s = space();
    let net = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|";
    let with = |hw: &str, map: &str| format!("cifar10={net} ; cifar100={net} ; hw={hw} ; map={map}");
    let ok = with("ws-32x32-gb128k-rf64b-bw16g-500mhz", "0,0");
    s.parse(&ok).expect("valid");
    let err = |n: &str| s.parse(n).expect_err("refused").to_string();
    let e = err(&with("ws-32x32-gb128k-rf64b-bw16g-500mhz", "0,1"));
    assert!(e.contains("task `cifar100` is mapped to sub-accelerator 1, but the design has 1"), "{e}");
    let e = err(&with("ws-64x64-gb128k-rf64b-bw16g-500mhz+os-64x64-gb128k-rf64b-bw16g-500mhz", "0,1"));
    assert!(e.contains("8192 PEs, over the budget of 4096 PEs"), "{e}");
    let e = err(&with(
        "ws-32x32-gb128k-rf64b-bw32g-500mhz+os-32x32-gb128k-rf64b-bw32g-500mhz+rs-8x8-gb32k-rf64b-bw4g-500mhz",
        "0,1",
    ));
    assert!(e.contains("3 sub-accelerators; the space allows 1 to 2"), "{e}");
    let e = err(&with("xs-32x32-gb128k-rf64b-bw16g-500mhz", "0,0"));
    assert!(e.contains("ws, os, rs"), "{e}");
    let e = err(&with("ws-24x32-gb128k-rf64b-bw16g-500mhz", "0,0"));
    assert!(e.contains("hardware.rows") && e.contains("8, 16, 32, 64"), "{e}");
    let e = err(&format!("cifar10={net} ; hw=ws-32x32-gb128k-rf64b-bw16g-500mhz ; map=0"));
    assert!(e.contains("4 parts"), "{e}");
    let e = err(&with("ws-32x32-gb128k-rf64b-bw16g-500mhz", "0, 0"));
    assert!(e.contains("not canonical"), "{e}");
    // Budgets and ladders are checked when the space is built.
    let bad = HardwareConfig { max_pes: 10, ..HardwareConfig::default() };
    let e = CoDesignSpace::new(space::tasks_of(vec![("t", nb201())]), bad).expect_err("budget").to_string();
    assert!(e.contains("hardware.max_pes") && e.contains("64 PEs"), "{e}");
    let bad = HardwareConfig { rows: vec![], ..HardwareConfig::default() };
    assert!(CoDesignSpace::new(space::tasks_of(vec![("t", nb201())]), bad).is_err());
    let dup = space::tasks_of(vec![("t", nb201()), ("t", nb201())]);
    assert!(CoDesignSpace::new(dup, HardwareConfig::default()).expect_err("dup").to_string().contains("tasks[1].name"));
}

#[test]
fn decisions_round_trip_and_are_grouped_network_and_hardware() {
    let s = space();
    let d = s.decisions();
    // 6 + 6 edges, 2 slots x 7 parameters + 1 `used`, 2 mappings.
    assert_eq!(d.len(), 12 + 15 + 2);
    assert!(d[..12].iter().all(|x| x.group == "network"));
    assert!(d[12..].iter().all(|x| x.group == "hardware"));
    assert_eq!(d[0].name, "cifar10: edge 1<-0");
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for _ in 0..300 {
        let a = s.sample(&mut rng);
        assert_eq!(s.arch_from_decisions(&s.decisions_of(&a)).expect("valid"), a);
    }
    // Any in-range sequence within the budgets is a design: the mapping counts
    // among the used sub-accelerators.
    let mut c = s.decisions_of(&s.sample(&mut rng));
    c[12 + 7] = 0; // slot 1 unused
    let (n, m) = (c.len(), 1);
    c[n - 1] = m;
    let a = s.arch_from_decisions(&c).expect("valid");
    assert_eq!((a.design().subs.len(), a.mapping()[1]), (1, 0));
}

#[test]
fn encoding_and_the_codesign_view() {
    let s = space();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let a = s.sample(&mut rng);
    let e = s.encode(&a);
    assert_eq!(e.len(), s.encoding_len());
    assert_eq!(e.len(), 30 + 30 + 2 * (1 + 3 + 4 + 4 + 4 + 3 + 4 + 1) + 2 * 2);
    let view = s.view(&AnyArch::new(a.clone())).expect("view");
    assert_eq!(view.nets, a.nets());
    assert_eq!(view.design, *a.design());
    assert_eq!(s.tasks().len(), 2);
    assert!(s.view(&nb201().sample(&mut rng)).is_err());
    let dynspace = DynSpace::new(s, serde_json::json!({}));
    for c in
        [Capability::Mutate, Capability::Crossover, Capability::Encode, Capability::Decisions, Capability::CoDesign]
    {
        assert!(dynspace.has(c), "{c}");
    }
    assert!(!dynspace.has(Capability::NetworkSpec) && !dynspace.has(Capability::Train));
}

fn registry() -> Registry {
    let mut r = Registry::new();
    r.add_space::<crate::Nb201Config>();
    r.add_space::<crate::DartsConfig>();
    r.add_composite_space::<CoDesignConfig>();
    r.add_strategy::<nas_core::strategy::RandomSearchConfig>();
    r.add_strategy::<nas_core::strategy::RegularizedEvolutionConfig>();
    r.add_strategy::<nas_core::strategy::Nsga2Config>();
    r.add_strategy::<nas_core::strategy::rl::ReinforceConfig>();
    r.add_strategy::<nas_core::strategy::rl::MarlConfig>();
    r.add_strategy::<SuccessiveSettings>();
    r
}

#[test]
fn the_section_builds_any_registered_network_space_and_names_nested_errors() {
    let r = registry();
    let spec = r
        .parse_space(
            "codesign",
            serde_json::json!({
                "tasks": [
                    { "name": "a", "space": { "kind": "nb201", "channels": 8 } },
                    { "name": "b", "space": { "kind": "darts" } }
                ],
                "hardware": { "max_subs": 1, "dataflows": ["rs"] }
            }),
        )
        .expect("parses");
    let resolved = spec.settings();
    assert_eq!(resolved["tasks"][0]["space"]["kind"], "nb201");
    assert_eq!(resolved["tasks"][0]["space"]["channels"], 8);
    assert!(resolved["tasks"][1]["space"].get("layers").is_some(), "defaults filled: {resolved}");
    let space = spec.build(None).expect("builds");
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let a = space.sample(&mut rng);
    assert_eq!(space.parse(a.notation_str()).expect("round trip"), a);
    let err = |v: serde_json::Value| r.parse_space("codesign", v).err().expect("refused").to_string();
    let e = err(serde_json::json!({ "tasks": [{ "name": "a", "space": { "kind": "nb201", "chanels": 8 } }] }));
    assert!(e.contains("tasks[0].space") && e.contains("chanels"), "{e}");
    let e = err(serde_json::json!({ "tasks": [{ "name": "a", "space": { "kind": "nope" } }] }));
    assert!(e.contains("tasks[0].space") && e.contains("nb201"), "{e}");
    let e = err(serde_json::json!({ "tasks": [{ "name": "a", "space": { "kind": "codesign" } }] }));
    assert!(e.contains("cannot be a part of itself"), "{e}");
    let e = err(serde_json::json!({ "hardware": { "dataflows": ["ws", "systolic"] } }));
    assert!(e.contains("hardware.dataflows"), "{e}");
    let info = r.spaces().into_iter().find(|i| i.name == "codesign").expect("listed");
    assert!(info.capabilities.contains(&Capability::CoDesign));
}

fn contract(kind: &str, settings: serde_json::Value) {
    let r = registry();
    let space = DynSpace::new(space(), serde_json::json!({}));
    let spec = r.parse_strategy(kind, settings).expect("parses");
    let problem = toy_problem();
    let make = || -> Box<dyn SearchStrategy<DynSpace>> {
        let ctx = StrategyContext {
            space: &space,
            problem: &problem,
            data: None,
            workdir: None,
            cheap: None,
            quiet: true,
            budget: 60,
        };
        r.build_strategy(spec.as_ref(), &space, &ctx).expect("builds")
    };
    check_contract_on(&space, make, 40);
    check_robustness_on(&space, make);
}

#[test]
fn every_joint_strategy_passes_the_contract_on_the_joint_space() {
    contract("random", serde_json::json!({}));
    contract("evolution", serde_json::json!({}));
    contract("nsga2", serde_json::json!({}));
    contract("reinforce", serde_json::json!({}));
    contract("marl", serde_json::json!({ "grouping": "space" }));
    contract("successive", serde_json::json!({}));
}

#[test]
fn successive_settings_are_checked() {
    assert!(SuccessiveSettings { network_share: 1.0, ..Default::default() }.validate().is_err());
    let bad = SuccessiveSettings { reference: Some("ws-3x3".into()), ..Default::default() };
    assert!(bad.validate().expect_err("notation").to_string().contains("strategy.reference"));
    assert_eq!(SuccessiveSettings::default().network_trials(1000), 500);
    let s = space();
    let reference = SuccessiveSettings::default().reference_design(&s).expect("default");
    assert_eq!(reference.notation(), "ws-64x64-gb256k-rf64b-bw32g-500mhz");
    let far = SuccessiveSettings { reference: Some("ws-64x64-gb512k-rf64b-bw32g-500mhz".into()), ..Default::default() };
    assert!(far.reference_design(&s).is_err());
    let _: AcceleratorDesign = reference;
}
