//! The `hwnas` binary: parses arguments and hands over to the library.

fn main() -> std::process::ExitCode {
    experiments::cli::main()
}
