//! The `numberdesk` command line: parse, load settings, call into the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use numberdesk::backup::{self, BackupError};
use numberdesk::config::{Config, Overrides};
use numberdesk::logging;
use numberdesk::{AppState, Application, demo};
use tracing::Level;

#[derive(Parser)]
#[command(
    name = "numberdesk",
    version,
    about = "Self-hosted phone-number request platform"
)]
struct Cli {
    /// TOML file with settings (keys are the NUMBERDESK_* names in lower case, without the prefix).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service.
    Serve {
        /// Seed the demo world first and print how to call it.
        #[arg(long)]
        demo: bool,
        /// Address to serve on (beats NUMBERDESK_LISTEN).
        #[arg(long)]
        listen: Option<String>,
        /// Database URL (beats NUMBERDESK_DATABASE_URL).
        #[arg(long)]
        database_url: Option<String>,
    },
    /// Bring the database schema up to date and print the schema version.
    Migrate,
    /// Manage accounts.
    Account {
        #[command(subcommand)]
        command: AccountCommand,
    },
    /// Manage stock.
    Inventory {
        #[command(subcommand)]
        command: InventoryCommand,
    },
    /// Write a consistent copy of the SQLite database to FILE while servers keep running.
    Backup {
        /// Where the copy goes; must not exist yet.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum AccountCommand {
    /// Create an account and print it with its API key.
    Create {
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand)]
enum InventoryCommand {
    /// Add stock from a CSV file (as POST /admin/v1/inventory with text/csv).
    Import { file: PathBuf },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut overrides = Overrides::default();
    let demo = if let Command::Serve {
        demo,
        listen,
        database_url,
    } = &cli.command
    {
        overrides.listen = listen.clone();
        overrides.database_url = database_url.clone();
        *demo
    } else {
        false
    };
    let mut config = match Config::load(cli.config.as_deref(), &overrides) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("numberdesk: {e}");
            return ExitCode::from(2);
        }
    };
    let format = config.log_format;
    numberdesk::logging::init(format);
    let fail = |msg: String| logging::notice(format, Level::ERROR, &msg);
    if let Command::Backup { file } = &cli.command
        && let Err(e) = backup::precheck(&config, file)
    {
        fail(e.to_string());
        return ExitCode::from(2);
    }
    if demo && config.admin_token.is_none() {
        config.admin_token = Some(demo::ADMIN_TOKEN.into());
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            fail(format!("cannot start the runtime: {e}"));
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, config, demo)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e)
            if e.downcast_ref::<BackupError>()
                .is_some_and(BackupError::is_usage)
                || e.downcast_ref::<demo::Refused>().is_some() =>
        {
            fail(format!("{e:#}"));
            ExitCode::from(2)
        }
        Err(e) => {
            fail(format!("{e:#}"));
            ExitCode::FAILURE
        }
    }
}

fn print_json<T: serde::Serialize>(v: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

async fn run(command: Command, config: Config, demo: bool) -> anyhow::Result<()> {
    if let Command::Backup { file } = command {
        return run_backup(config, file).await;
    }
    let state = AppState::new(config).await?;
    match command {
        Command::Serve { .. } => {
            // Before the address is logged: whoever waits for that line may signal at once.
            let stop = shutdown_signal()?;
            if demo {
                demo::seed(&state).await?;
            }
            let app = Application::with_state(state.clone()).await?;
            if demo {
                let token = state.config.admin_token.clone().unwrap_or_default();
                let banner = demo::banner(&app.local_addr(), &token);
                logging::notice(state.config.log_format, Level::INFO, &banner);
            }
            app.run_until_stopped(stop).await
        }
        Command::Migrate => {
            print_json(&serde_json::json!({"schemaVersion": state.db.schema_version().await?}))
        }
        Command::Account {
            command: AccountCommand::Create { name },
        } => {
            let name = numberdesk::domain::account_name(Some(&name))
                .map_err(|e| anyhow::anyhow!("{}: {}", e.field, e.message))?;
            print_json(
                &numberdesk::store::accounts::create_account(&state.db, None, &name, None).await?,
            )
        }
        Command::Inventory {
            command: InventoryCommand::Import { file },
        } => {
            let input = std::fs::File::open(&file)
                .map_err(|e| anyhow::anyhow!("reading {}: {e}", file.display()))?;
            // Read and checked as a stream, like an import over HTTP; the service's own error
            // says what was wrong (every invalid field, named).
            let result =
                numberdesk::stock::import_from(&state, numberdesk::stock::Format::Csv, input)
                    .await
                    .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            print_json(&result)
        }
        Command::Backup { .. } => unreachable!("handled before the state is built"),
    }
}

/// Copies the database as it is, without migrating it first (unlike the other commands): a
/// backup taken with a newer binary before an upgrade must be the old database, and must not
/// change the schema under the servers still running the old one. Only a database that does not
/// exist yet is created and migrated, so that there is something to copy.
async fn run_backup(config: Config, file: PathBuf) -> anyhow::Result<()> {
    let source = numberdesk::config::sqlite_path(&config.database_url);
    if !source.exists() {
        let db = numberdesk::store::Db::connect(&config).await?;
        db.migrate().await?;
        db.close().await;
    }
    let report = tokio::task::spawn_blocking(move || backup::backup(&source, &file)).await??;
    print_json(&report)
}

/// Resolves on Ctrl-C or SIGTERM. The handlers are installed at once, when this is called, so a
/// signal that arrives before the server starts polling is not lost (nor fatal).
#[cfg(unix)]
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        tracing::info!("shutting down");
    })
}

#[cfg(not(unix))]
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    })
}
