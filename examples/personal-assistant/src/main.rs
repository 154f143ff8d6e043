//! `personal-assistant`: run the service, or print what the metric catalog generates.

use std::net::SocketAddr;

use clap::{Parser, Subcommand};

/// A personal-assistant service instrumented with metrics-runtime.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:3000")]
    addr: SocketAddr,
    /// Any sqlx database URL; a SQLite file by default, created and migrated on start.
    #[arg(long, default_value = "sqlite://personal-assistant.db?mode=rwc")]
    database_url: String,
    /// Drive the service's own endpoints with realistic mixed traffic.
    #[arg(long)]
    simulate: bool,
    /// Requests per second of the simulated traffic.
    #[arg(long, default_value_t = 40)]
    simulate_rate: u32,
    /// A label added to every series this process exports, as NAME=VALUE (repeat it:
    /// `--constant-label env=prod --constant-label replica=a`); Prometheus adds `instance`.
    #[arg(long = "constant-label", value_name = "NAME=VALUE", value_parser = constant_label)]
    constant_labels: Vec<(String, String)>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Print what the metric catalog generates.
    Catalog {
        #[command(subcommand)]
        output: CatalogOutput,
    },
}

#[derive(Subcommand)]
enum CatalogOutput {
    /// The Grafana dashboard (deploy/grafana/personal-assistant.json).
    Dashboard,
    /// Function-level recording rules (deploy/rules/generated-functions.yml).
    Rules,
}

fn constant_label(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_owned(), value.to_owned())),
        _ => Err(format!(
            "a constant label is written NAME=VALUE, like env=prod; got `{text}`"
        )),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Catalog {
            output: CatalogOutput::Dashboard,
        }) => print!("{}", personal_assistant::dashboard::dashboard()),
        Some(Command::Catalog {
            output: CatalogOutput::Rules,
        }) => print!("{}", personal_assistant::dashboard::function_rules()),
        None => {
            // Before anything records: the registry takes constant labels only once, at start.
            if !cli.constant_labels.is_empty() {
                metrics_runtime::set_constant_labels(cli.constant_labels)?;
            }
            personal_assistant::run(personal_assistant::Config {
                addr: cli.addr,
                database_url: cli.database_url,
                simulate: cli.simulate,
                simulate_rate: cli.simulate_rate,
            })
            .await?;
        }
    }
    Ok(())
}
