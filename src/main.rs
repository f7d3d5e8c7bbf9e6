use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    concat_portal::cli::run(concat_portal::cli::Cli::parse()).await
}
