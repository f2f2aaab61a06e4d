//! The `znt` binary: argument parsing and logging set-up; everything else is library code.

fn main() -> std::process::ExitCode {
    zenith::cli::main()
}
