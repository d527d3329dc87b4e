//! The `vaultql` binary: parses the command line, starts logging, runs the chosen command.

use vaultql::app::Application;
use vaultql::config::{Cli, Command};

/// mimalloc instead of the system allocator: a GraphQL response is thousands of small
/// allocations, and glibc's malloc took a fifth of the gateway's CPU (see the README).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::from_args(std::env::args_os());
    if let Command::Healthcheck(args) = &cli.command {
        std::process::exit(match vaultql::healthcheck::check(args).await {
            Ok(()) => 0,
            Err(why) => {
                eprintln!("vaultql healthcheck: {why}");
                1
            }
        });
    }
    let telemetry = vaultql::telemetry::init(cli.log_json)?;
    let app = match cli.command {
        Command::Serve(args) => Application::build(args).await?,
        Command::Sandbox(args) => Application::build_sandbox(args).await?,
        Command::Schema => {
            print!("{}", vaultql::gateway::sdl());
            telemetry.shutdown().await;
            return Ok(());
        }
        Command::Healthcheck(_) => return Ok(()),
    };
    let stopped = app.run_until_stopped().await;
    // After a graceful shutdown every request's spans have ended: the last ones go out now.
    telemetry.shutdown().await;
    stopped?;
    Ok(())
}
