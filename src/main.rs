//! The `vaultql` binary: parses the command line, starts logging, runs the chosen command.

use clap::Parser;
use vaultql::app::Application;
use vaultql::config::{Cli, Command};

/// mimalloc instead of the system allocator: a GraphQL response is thousands of small
/// allocations, and glibc's malloc took a fifth of the gateway's CPU (see the README).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    vaultql::telemetry::init(cli.log_json);
    let app = match cli.command.unwrap_or(Command::Serve(cli.serve)) {
        Command::Serve(args) => Application::build(args).await?,
        Command::Sandbox(args) => Application::build_sandbox(args).await?,
        Command::Schema => {
            print!("{}", vaultql::gateway::sdl());
            return Ok(());
        }
    };
    app.run_until_stopped().await?;
    Ok(())
}
