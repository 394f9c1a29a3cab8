fn main() -> std::process::ExitCode {
    rotproof::commands::main(std::env::args_os().collect()).into()
}
