//! The `hwnas` command line as a binary of this package, so that the
//! integration tests (`CARGO_BIN_EXE_hwnas-under-test`) can run it as a separate
//! process (kill -9 and resume, closed pipes). Identical to the `hwnas` binary
//! of the experiments crate: the same library entry point, the same allocator.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    experiments::cli::main()
}
