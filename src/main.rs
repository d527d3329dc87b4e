//! The `vaultql` binary: parses the command line, starts logging, runs the chosen command.

use clap::Parser;
use vaultql::app::Application;
use vaultql::config::{Cli, Command};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    vaultql::telemetry::init(cli.log_json);
    match cli.command {
        Command::Sandbox(args) => {
            Application::build_sandbox(args)
                .await?
                .run_until_stopped()
                .await?
        }
    }
    Ok(())
}
