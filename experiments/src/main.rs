//! The `hwnas` binary: parses arguments and hands over to the library.

// burn frees and reallocates multi-megabyte buffers every training step; glibc's
// allocator returns them to the kernel and page-faults them back in, which cost
// 30-40% of a step. mimalloc keeps them (measured: ~1.2-1.5x training img/s).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    experiments::cli::main()
}
