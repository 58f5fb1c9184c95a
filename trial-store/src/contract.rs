//! The contract every [`TrialStore`] backend keeps, as one function of
//! assertions that each backend's tests call (and that a third-party backend
//! can call too): claims are exclusive, a lease that runs out hands the trial
//! to the next worker, a stale claim cannot finish, submissions are
//! idempotent, told trials come back in index order and recording again
//! replaces.

use crate::{EvalRequest, NewStudy, Outcome, StoreError, StudyStatus, TrialStore};
use nas_core::{ArchId, Metric, MetricMap, Trial, TrialStatus};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

fn request(i: u64) -> EvalRequest {
    EvalRequest { arch_id: ArchId(0x1000 + i), arch: format!("arch-{i}"), seed: u64::MAX - i }
}

fn ok(x: f64) -> Outcome {
    Outcome::Ok { metrics: MetricMap::from([(Metric::Accuracy, x)]), eval_seconds: 0.5, worker: "w".into() }
}

fn new_study(name: &str) -> NewStudy {
    NewStudy {
        name: name.into(),
        config: "name = \"x\"".into(),
        seed: u64::MAX - 3,
        provenance: serde_json::json!({"v": 1}),
    }
}

/// Checks the contract on `store`, creating a study called `name` (panics,
/// naming the broken rule, when the store does not keep it).
pub fn check(store: Arc<dyn TrialStore>, name: &str) {
    let name = name.to_string();
    let study = store.create_study(&new_study(&name)).expect("created");
    assert_eq!((study.seed, study.status), (u64::MAX - 3, StudyStatus::Running));
    assert!(matches!(store.create_study(&new_study(&name)), Err(StoreError::StudyExists { .. })));
    assert!(store.study("no;such'study").is_err(), "names are validated");
    assert!(store.studies().expect("list").iter().any(|s| s.name == name));

    // Idempotent submission.
    let reqs: Vec<EvalRequest> = (0..6).map(request).collect();
    store.submit(study.id, &reqs).expect("submit");
    store.submit(study.id, &reqs[..3]).expect("again");
    assert_eq!(store.counts(study.id).expect("counts").pending, 6);

    // Exclusive claims, oldest first; a specific one; nothing left.
    let lease = Duration::from_secs(30);
    let a = store.claim(study.id, "w1", lease, None).expect("claim").expect("one");
    assert_eq!((a.arch_id, a.seed, a.attempt), (request(0).arch_id, u64::MAX, 1));
    let e = store.claim(study.id, "w1", lease, Some(request(4).arch_id)).expect("claim").expect("that one");
    assert_eq!(e.arch_id, request(4).arch_id);
    assert!(store.claim(study.id, "w2", lease, Some(request(4).arch_id)).expect("claim").is_none());

    // Concurrent claimers take distinct trials.
    let taken: Vec<ArchId> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..4)
            .map(|w| {
                let store = store.clone();
                s.spawn(move || store.claim(study.id, &format!("t{w}"), lease, None).expect("claim"))
            })
            .collect();
        hs.into_iter().filter_map(|h| h.join().expect("thread")).map(|c| c.arch_id).collect()
    });
    assert_eq!(taken.len(), 4);
    assert_eq!(taken.iter().collect::<HashSet<_>>().len(), 4, "no trial claimed twice");
    assert!(store.claim(study.id, "w3", lease, None).expect("claim").is_none());

    // Finish; outcome readable; a second finish of the same claim is refused.
    assert!(store.finish(&a, &ok(91.5)).expect("finish"));
    assert_eq!(store.outcome(study.id, a.arch_id).expect("outcome"), Some(ok(91.5)));
    assert!(!store.finish(&a, &ok(10.0)).expect("finish again"));
    assert_eq!(store.outcome(study.id, a.arch_id).expect("outcome"), Some(ok(91.5)));

    // A lease that runs out: the trial goes to the next worker; the stale
    // claim can neither heartbeat nor finish.
    let short = Duration::from_millis(50);
    store.submit(study.id, &[request(7)]).expect("submit");
    let stale = store.claim(study.id, "dies", short, Some(request(7).arch_id)).expect("claim").expect("one");
    assert!(store.heartbeat(&stale, short).expect("heartbeat"));
    std::thread::sleep(Duration::from_millis(120));
    let fresh = store.claim(study.id, "lives", lease, None).expect("claim").expect("re-queued");
    assert_eq!((fresh.arch_id, fresh.attempt), (stale.arch_id, 2));
    assert!(!store.heartbeat(&stale, short).expect("heartbeat"), "stale claim");
    assert!(!store.finish(&stale, &ok(1.0)).expect("finish"), "stale claim cannot finish");
    let failed = Outcome::Failed { reason: "diverged".into(), eval_seconds: 1.0, worker: "lives".into() };
    assert!(store.finish(&fresh, &failed).expect("finish"));
    assert_eq!(store.outcome(study.id, fresh.arch_id).expect("outcome"), Some(failed));
    let c = store.counts(study.id).expect("counts");
    assert_eq!((c.complete, c.failed, c.retries), (1, 1, 1));

    // Told trials, in index order whatever the recording order; recording again replaces.
    let trial = |index: usize, r: &EvalRequest| Trial {
        index,
        arch_id: r.arch_id,
        arch: r.arch.clone(),
        status: TrialStatus::Ok,
        reason: None,
        metrics: MetricMap::from([(Metric::Accuracy, 0.1 + index as f64 / 3.0)]),
        seed: r.seed,
        eval_seconds: 0.25,
        worker: None,
        extra: Default::default(),
    };
    store.record(study.id, &trial(1, &request(4))).expect("record");
    store.record(study.id, &trial(0, &request(0))).expect("record");
    store.record(study.id, &trial(2, &request(9))).expect("record a trial never submitted");
    store.record(study.id, &trial(1, &request(4))).expect("record again");
    let told = store.trials(study.id).expect("trials");
    assert_eq!(told, vec![trial(0, &request(0)), trial(1, &request(4)), trial(2, &request(9))]);
    assert_eq!(store.counts(study.id).expect("counts").told, 3);

    store.set_status(study.id, StudyStatus::Finished).expect("status");
    assert_eq!(store.study(&name).expect("study").expect("exists").status, StudyStatus::Finished);
}
