//! Entry point: parse the command line, start tracing, hand over to the CLI.

fn main() -> std::process::ExitCode {
    dialogforum::cli::main()
}
