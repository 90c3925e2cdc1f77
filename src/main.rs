use std::process::ExitCode;

use clap::Parser;
use kafka_rewind::cli::{Cli, Command};
use kafka_rewind::config::Config;
use kafka_rewind::{app, commands, demo, logging};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let _log = logging::init();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("rewind: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: &Cli) -> anyhow::Result<()> {
    let config = Config::load(cli.global.config.as_deref())?;
    match &cli.command {
        Some(Command::Demo { serve }) => demo::run(&cli.global, *serve),
        None => app::run(config.connection(&cli.global)?, config),
        Some(_) => commands::run(cli, &config, &mut std::io::stdout().lock()),
    }
}
