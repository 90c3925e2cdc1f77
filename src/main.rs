use std::process::ExitCode;

use clap::Parser;
use kafka_rewind::cli::{Cli, CliCommand};
use kafka_rewind::config::Config;
use kafka_rewind::model::secrets;
use kafka_rewind::{app, commands, demo, isolation, logging};

fn main() -> ExitCode {
    let _ = logging::STARTED.set(std::time::Instant::now());
    if std::env::args_os()
        .nth(1)
        .is_some_and(|a| a == isolation::WORKER_ARG)
    {
        return isolation::serve();
    }
    if let Ok(exe) = std::env::current_exe() {
        isolation::enable(exe);
    }
    app::terminal::install_panic_hook();
    let cli = Cli::parse();
    // Secrets given with -X are hidden from everything shown or logged from here on.
    secrets::register_properties(
        cli.global
            .properties
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str())),
    );
    let _log = logging::init();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        // `rewind events … | head`: the reader has what it wanted.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        // `check --fail` found something: said, and exit 3.
        Err(e) if e.downcast_ref::<commands::lab::Found>().is_some() => {
            eprintln!("{e}");
            ExitCode::from(3)
        }
        Err(e) => {
            let message = secrets::scrub(&format!("{e:#}")).into_owned();
            tracing::error!("{message}");
            eprintln!("rewind: {message}");
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn run(cli: &Cli) -> anyhow::Result<()> {
    // Neither needs a config nor a cluster.
    match &cli.command {
        Some(CliCommand::Completions { shell }) => {
            let mut command = <Cli as clap::CommandFactory>::command();
            // Into memory first: clap_complete panics on a closed pipe (`| head`).
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut command, "rewind", &mut script);
            std::io::Write::write_all(&mut std::io::stdout(), &script)?;
            return Ok(());
        }
        Some(CliCommand::Man) => {
            let command = <Cli as clap::CommandFactory>::command();
            clap_mangen::Man::new(command).render(&mut std::io::stdout())?;
            return Ok(());
        }
        _ => {}
    }
    if let Some(CliCommand::Cache { action }) = &cli.command {
        let clear = action.as_ref().map(|a| match a {
            kafka_rewind::cli::CacheAction::Clear { topic } => topic.as_deref(),
        });
        let root = kafka_rewind::store::root();
        let out = &mut std::io::stdout().lock();
        return commands::cache::run(root.as_deref(), clear, cli.global.output, out);
    }
    let mut config = Config::load(cli.global.config.as_deref())?;
    if !cli.global.no_cache {
        config.index_dir = kafka_rewind::store::root();
    }
    config.register_secrets();
    config.attach_registry(&cli.global.asked())?;
    if cli.command.is_some() {
        for warning in &config.warnings {
            eprintln!("rewind: {warning}");
        }
    }
    match &cli.command {
        Some(CliCommand::Demo { serve }) => demo::run(&cli.global, *serve),
        None => match &cli.file {
            Some(file) => app::run_file(file, config),
            // The TUI folds committed records only; with --isolation uncommitted its
            // timeline shows (and marks) the others too.
            None => app::run(config.connection(&cli.global.asked())?, config),
        },
        Some(_) => commands::run(cli, &config, &mut std::io::stdout().lock()),
    }
}

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
