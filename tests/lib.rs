//! Support for the workspace tests: the parser fuzzer ([`fuzz`]) used by the
//! `hwnas-fuzz` binary and the `fuzz_corpus` integration tests. The
//! integration tests themselves live in `integration/`.

pub mod fuzz;
