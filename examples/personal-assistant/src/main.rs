//! `personal-assistant`: run the service, run the nightly SMS usage rollup, or print what the
//! metric catalog generates.

use std::net::SocketAddr;

use clap::{Parser, Subcommand};

/// A personal-assistant service instrumented with instrument-metric.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Where to listen: HOST:PORT, like 127.0.0.1:3000 or localhost:3000.
    #[arg(long, default_value = "127.0.0.1:3000", value_parser = parse_addr)]
    addr: SocketAddr,
    /// The database: `sqlite://FILE?mode=rwc` (created and migrated on start),
    /// `sqlite::memory:` or `postgres://USER:PASSWORD@HOST/DATABASE`. The rollup reads it
    /// (a SQLite file must exist).
    #[arg(
        long,
        global = true,
        default_value = "sqlite://personal-assistant.db?mode=rwc"
    )]
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
    /// Run the SMS usage rollup once, a nightly batch job: roll up the SMS messages of the
    /// last day from --database-url and push the job's own metrics to a Pushgateway.
    Rollup {
        /// The Pushgateway, like `http://127.0.0.1:9091`.
        #[arg(long, value_name = "URL")]
        pushgateway: String,
        /// The job name pushed under: the `job` label of the job's series.
        #[arg(long, default_value = personal_assistant::rollup::DEFAULT_JOB)]
        job: String,
        /// The `instance` label of the grouping key: which database or shard this run rolls
        /// up, when several do.
        #[arg(long)]
        instance: Option<String>,
        /// The window rolled up, in hours (1 to 8784), ending when the run starts.
        #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(u64).range(1..=8784))]
        window_hours: u64,
    },
}

#[derive(Subcommand)]
enum CatalogOutput {
    /// The Grafana dashboard (deploy/grafana/personal-assistant.json).
    Dashboard,
    /// Function-level recording rules (deploy/rules/generated-functions.yml).
    Rules,
    /// The objectives' rules and burn-rate alerts (deploy/rules/objectives.yml).
    Objectives,
    /// The objectives' promtool tests (`deploy/rules/tests/objectives_test.yml`).
    ObjectiveTests,
}

fn constant_label(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_owned(), value.to_owned())),
        _ => Err(format!(
            "a constant label is written NAME=VALUE, like env=prod; got `{text}`"
        )),
    }
}

/// `--addr`: an IP address and port, or a host name that resolves to one.
fn parse_addr(value: &str) -> Result<SocketAddr, String> {
    use std::net::ToSocketAddrs as _;
    let hint = "use HOST:PORT, like 127.0.0.1:3000, 0.0.0.0:8080 or localhost:3000";
    if let Ok(addr) = value.parse() {
        return Ok(addr);
    }
    match value.to_socket_addrs() {
        Ok(mut addrs) => addrs
            .next()
            .ok_or_else(|| format!("`{value}` resolves to no address; {hint}")),
        Err(error) => Err(format!("`{value}` is not an address ({error}); {hint}")),
    }
}

fn main() -> std::process::ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(Cli::parse())) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            // The whole chain on one line: what failed, why, and what to do.
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn serve(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Some(Command::Rollup {
            pushgateway,
            job,
            instance,
            window_hours,
        }) => rollup(cli.database_url, pushgateway, job, instance, window_hours).await?,
        Some(Command::Catalog { output }) => {
            // Every family in the catalog, those registered at start included.
            personal_assistant::declare_metrics().await?;
            match output {
                CatalogOutput::Dashboard => {
                    print!("{}", personal_assistant::dashboard::dashboard());
                }
                CatalogOutput::Rules => {
                    print!("{}", personal_assistant::dashboard::function_rules());
                }
                CatalogOutput::Objectives => {
                    print!("{}", personal_assistant::dashboard::objective_rules());
                }
                CatalogOutput::ObjectiveTests => {
                    print!("{}", personal_assistant::dashboard::objective_rule_tests());
                }
            }
        }
        None => {
            // Before anything records: the registry takes constant labels only once, at start.
            if !cli.constant_labels.is_empty() {
                instrument_metric::set_constant_labels(cli.constant_labels).map_err(|error| {
                    anyhow::anyhow!("invalid --constant-label: {error}; use NAME=VALUE with a label name like env or replica")
                })?;
            }
            // Requests are traced, so that exemplars carry their trace ids.
            personal_assistant::trace::install()?;
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

/// Runs the rollup once and says what it pushed.
async fn rollup(
    database_url: String,
    url: String,
    job: String,
    instance: Option<String>,
    window_hours: u64,
) -> anyhow::Result<()> {
    let mut gateway = instrument_metric::push::Pushgateway::new(&url, &job);
    let mut group = format!("job {job}");
    if let Some(instance) = instance {
        group = format!("{group}, instance {instance}");
        gateway = gateway.grouping("instance", instance);
    }
    let report = personal_assistant::rollup::run(&personal_assistant::rollup::Job {
        database_url,
        window: std::time::Duration::from_secs(window_hours * 3600),
        gateway,
    })
    .await?;
    if let Ok(usage) = &report.usage {
        println!(
            "sms usage rollup: {} messages of {} users in the last {window_hours} h, read in {:.3} s; pushed to {url} as {group}",
            usage.rows(),
            usage.users,
            report.duration.as_secs_f64()
        );
    }
    Ok(())
}
