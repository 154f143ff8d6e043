//! HTTP instruction counts on the example service: the user-space instructions a realistic mix
//! of requests costs with the HTTP metrics layer (`router`, the service as it runs) and without
//! it (`routes`). The handlers' `#[instrument_metric]` attributes are compiled into both; their
//! share is read from the profiles by `scripts/bench-example-instructions.sh`.
//!
//! Every mode starts the service (`personal_assistant::start`: SQLite in a temporary file with
//! some stored SMS messages, the real background tasks, no traffic simulation) on a
//! current-thread tokio runtime, serves the variants on loopback from it and, in the same
//! thread, sends the [`MIX`] of requests on one keep-alive connection per variant, each answered
//! before the next, after a warm-up that sets everything up (connections, the pool's database
//! connections and their prepared statements, route caches, clock calibration). The measured
//! work runs inside [`measured_bare`] or [`measured_layered`], so that a counting tool can
//! restrict itself to it.
//!
//! - `http_instructions both <iterations>`: `<iterations>` times the mix on each variant,
//!   interleaved in [`ROUNDS`] rounds, so that both see the same conditions.
//! - `http_instructions <bare|layered> <iterations>`: one variant.
//! - `http_instructions idle <seconds>`: the layered variant, left alone for `<seconds>`: the
//!   cost of the background tasks (health checks, timers) per second, which a difference of two
//!   request counts does not cancel.
//!
//! Each prints the order of the measured calls (`order: bare layered ...`), then per variant the
//! requests measured and their wall time (`measured: bare 500 requests in 3.100 s`).
//!
//! Run: `scripts/bench-example-instructions.sh`, which counts instructions under valgrind
//! (callgrind). Without arguments (`cargo bench -p personal-assistant --bench
//! http_instructions`) it only runs a few iterations of each variant, as a check that it works.
#![allow(clippy::cast_precision_loss)] // reported figures

use std::fmt::Write as _;
use std::hint::black_box;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use instrument_metric::LabelValue as _;
use integration_tests::load::Connection;
use personal_assistant::metrics::{SmsProvider, SmsStatus};
use personal_assistant::{AppState, Config};
use tokio::runtime::Runtime;

/// Iterations of the mix before the measured ones.
const WARM_UP: u64 = 100;

/// Iterations per variant when run without arguments.
const CHECK: u64 = 200;

/// SMS messages stored before the service starts serving, for the analytics query to read.
const STORED_SMS: u32 = 300;

/// The requests of one iteration, as `(method, route)`; see [`Client::iteration`].
const MIX: [(&str, &str); 5] = [
    ("POST", "/api/v1/users"),
    ("POST", "/api/v1/sessions"),
    ("DELETE", "/api/v1/sessions/{id}"),
    ("GET", "/api/v1/analytics/sms-performance"),
    ("GET", "/api/v1/no-such-route/{n} (404)"),
];

#[derive(Clone, Copy, Debug)]
enum Variant {
    Bare,
    Layered,
}

impl Variant {
    fn parse(name: &str) -> Option<Self> {
        match name {
            "bare" => Some(Self::Bare),
            "layered" => Some(Self::Layered),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Bare => "bare",
            Self::Layered => "layered",
        }
    }

    fn app(self, state: Arc<AppState>) -> Router {
        match self {
            Self::Bare => personal_assistant::routes(state),
            Self::Layered => personal_assistant::router(state),
        }
    }
}

/// What to measure.
#[derive(Clone, Copy, Debug)]
enum Work {
    /// Iterations of the mix.
    Iterations(u64),
    /// Seconds of leaving the service alone.
    Idle(u64),
}

/// A scratch directory for the database, removed when dropped.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Starts the service's state and workers on a database in `scratch`, with stored SMS messages.
async fn start(scratch: &Scratch) -> Arc<AppState> {
    let config = Config {
        addr: "127.0.0.1:0".parse().unwrap(),
        database_url: format!(
            "sqlite://{}?mode=rwc",
            scratch.0.join("assistant.db").display()
        ),
        simulate: false,
        simulate_rate: 0,
    };
    let state = personal_assistant::start(&config).await.unwrap();
    let statuses = [SmsStatus::Sent, SmsStatus::Sent, SmsStatus::Failed];
    for n in 0..STORED_SMS {
        let provider = SmsProvider::ALL[n as usize % SmsProvider::ALL.len()];
        let status = statuses[n as usize / SmsProvider::ALL.len() % statuses.len()];
        state
            .db
            .insert_sms(
                &format!("seed-user-{}", n % 40),
                provider.as_label(),
                status.as_label(),
                7_000,
                i64::from(20 + n % 130),
            )
            .await
            .unwrap();
    }
    // Every connection of the pool opened now, at once, so that none opens during the
    // measurement (where a background task's query overlapping a request's would open one).
    let connections = state.db.pool().options().get_max_connections();
    let pings: Vec<_> = (0..connections)
        .map(|_| {
            let state = Arc::clone(&state);
            tokio::spawn(async move { personal_assistant::db::ping(&state.db).await })
        })
        .collect();
    for ping in pings {
        ping.await.unwrap().unwrap();
    }
    assert_eq!(state.db.pool().size(), connections, "the pool did not open");
    state
}

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// One keep-alive connection to the service.
struct Client {
    connection: Connection,
    request: String,
    /// Iterations sent so far, for distinct names and paths.
    sent: u64,
}

impl Client {
    async fn connect(addr: SocketAddr) -> Self {
        Self {
            connection: Connection::open(addr).await,
            request: String::with_capacity(1024),
            sent: 0,
        }
    }

    /// Sends `count` iterations of the mix.
    async fn send_requests(&mut self, count: u64) {
        for _ in 0..count {
            self.iteration().await;
        }
    }

    /// The [`MIX`]: registers a user, opens a session for them and closes it, reads the SMS
    /// analytics, and asks for a route that does not exist. Every answer is checked.
    async fn iteration(&mut self) {
        let n = self.sent;
        self.sent += 1;
        let registration = format!(
            r#"{{"name":"user-{n}","phone":"+1555{:07}"}}"#,
            n % 10_000_000
        );
        let body = self
            .call("POST", "/api/v1/users", Some(&registration), 201)
            .await;
        let user_id = json_string(body, "id");
        let session = format!(r#"{{"user_id":"{user_id}"}}"#);
        let body = self
            .call("POST", "/api/v1/sessions", Some(&session), 201)
            .await;
        let session_id = json_string(body, "session_id");
        let body = self
            .call(
                "DELETE",
                &format!("/api/v1/sessions/{session_id}"),
                None,
                200,
            )
            .await;
        assert_eq!(body, br#"{"status":"closed"}"#);
        let body = self
            .call("GET", "/api/v1/analytics/sms-performance", None, 200)
            .await;
        assert!(
            body.starts_with(br#"{"providers":[{"#),
            "no SMS performance: {}",
            String::from_utf8_lossy(body)
        );
        let body = self
            .call("GET", &format!("/api/v1/no-such-route/{n}"), None, 404)
            .await;
        assert_eq!(body, br#"{"error":"no such route"}"#);
    }

    /// Sends one request and reads its answer, which must have status `expected`; its body.
    async fn call(&mut self, method: &str, path: &str, body: Option<&str>, expected: u16) -> &[u8] {
        self.request.clear();
        write!(self.request, "{method} {path} HTTP/1.1\r\nHost: bench\r\n").unwrap();
        if let Some(body) = body {
            write!(
                self.request,
                "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .unwrap();
        } else {
            self.request.push_str("\r\n");
        }
        let response = self.connection.exchange(self.request.as_bytes()).await;
        let status = format!("HTTP/1.1 {expected} ");
        assert!(
            response.starts_with(status.as_bytes()),
            "{method} {path}: expected {expected}, got: {}",
            String::from_utf8_lossy(response)
        );
        let body_start = response
            .windows(4)
            .position(|window| window == b"\r\n\r\n")
            .map_or(response.len(), |head_end| head_end + 4);
        &response[body_start..]
    }
}

/// The string member `key` of a JSON object.
fn json_string(body: &[u8], key: &str) -> String {
    let value: serde_json::Value = serde_json::from_slice(body).unwrap();
    let Some(member) = value[key].as_str() else {
        panic!("no `{key}` in {value}");
    };
    member.to_owned()
}

/// Runs `work` with the server, the background tasks and the client on this thread (the SQLite
/// queries run on a thread per connection).
fn drive(runtime: &Runtime, client: &mut Client, work: Work) {
    match work {
        Work::Iterations(count) => runtime.block_on(client.send_requests(count)),
        Work::Idle(seconds) => runtime.block_on(async {
            tokio::time::sleep(Duration::from_secs(seconds)).await;
        }),
    }
}

/// The measured work on the bare variant. Not inlined, so that `valgrind
/// --toggle-collect='*http_instructions::measured_*'` counts only the measured work on this
/// thread, or `--dump-before='*http_instructions::measured_*'` profiles each call's work apart.
#[inline(never)]
fn measured_bare(runtime: &Runtime, client: &mut Client, work: Work) {
    // Distinct code, so that the two are not merged into one symbol.
    black_box(Variant::Bare);
    drive(runtime, client, work);
}

/// The measured work on the layered variant; see [`measured_bare`].
#[inline(never)]
fn measured_layered(runtime: &Runtime, client: &mut Client, work: Work) {
    black_box(Variant::Layered);
    drive(runtime, client, work);
}

/// Marks the end of the measured work, for `valgrind --dump-before='*http_instructions::measured_*'`
/// to separate the last call's work from what follows.
#[inline(never)]
fn measured_end() {
    // Distinct code, so that it is not merged with another function.
    black_box(0x6d65_6173_7572_6564_u64);
}

/// A variant served from the shared state, and its client.
struct Served {
    variant: Variant,
    client: Client,
    /// Requests measured so far.
    requests: u64,
    /// Wall time measured so far.
    elapsed: Duration,
}

impl Served {
    /// Serves `variant` from `state` and warms it up.
    fn start(runtime: &Runtime, state: &Arc<AppState>, variant: Variant) -> Self {
        let client = runtime.block_on(async {
            let addr = serve(variant.app(Arc::clone(state))).await;
            let mut client = Client::connect(addr).await;
            client.send_requests(WARM_UP).await;
            client
        });
        Self {
            variant,
            client,
            requests: 0,
            elapsed: Duration::ZERO,
        }
    }

    /// Does `work` in the variant's measured function.
    fn measure(&mut self, runtime: &Runtime, work: Work) {
        let started = Instant::now();
        match self.variant {
            Variant::Bare => measured_bare(runtime, &mut self.client, black_box(work)),
            Variant::Layered => measured_layered(runtime, &mut self.client, black_box(work)),
        }
        self.elapsed += started.elapsed();
        if let Work::Iterations(count) = work {
            self.requests += count * MIX.len() as u64;
        }
    }
}

/// What to run.
#[derive(Clone, Copy, Debug)]
enum Mode {
    /// Both variants, `iterations` each, interleaved in [`ROUNDS`] rounds.
    Both(u64),
    /// One variant.
    Single(Variant, Work),
}

/// Rounds of [`Mode::Both`]: each variant gets a share of its iterations per round, first the
/// one, then the other, in turn, so that both see the same conditions (database size, heap,
/// the machine's load, which changes how often the main thread waits for the SQLite threads).
const ROUNDS: u64 = 4;

/// What the arguments ask for, or `None` for the quick check.
fn parse_args() -> Option<Mode> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let name = args.first()?;
    if !matches!(name.as_str(), "both" | "idle") && Variant::parse(name).is_none() {
        return None;
    }
    let number = args.get(1).and_then(|number| number.parse().ok());
    let Some(number) = number.filter(|_| args.len() == 2) else {
        eprintln!("usage: http_instructions <both|bare|layered> <iterations> | idle <seconds>");
        std::process::exit(2);
    };
    Some(match (name.as_str(), Variant::parse(name)) {
        ("both", _) => Mode::Both(number),
        (_, Some(variant)) => Mode::Single(variant, Work::Iterations(number)),
        _ => Mode::Single(Variant::Layered, Work::Idle(number)),
    })
}

/// Runs `mode`; the variants, with their counts, and the order of the measured calls.
fn run(runtime: &Runtime, state: &Arc<AppState>, mode: Mode) -> (Vec<Served>, Vec<Variant>) {
    let mut order = Vec::new();
    let served = match mode {
        Mode::Single(variant, work) => {
            let mut served = Served::start(runtime, state, variant);
            served.measure(runtime, work);
            order.push(variant);
            vec![served]
        }
        Mode::Both(iterations) => {
            let mut served = [Variant::Bare, Variant::Layered]
                .map(|variant| Served::start(runtime, state, variant));
            for round in 0..ROUNDS {
                let share = iterations * (round + 1) / ROUNDS - iterations * round / ROUNDS;
                let first = usize::try_from(round % 2).unwrap();
                for index in [first, 1 - first] {
                    served[index].measure(runtime, Work::Iterations(share));
                    order.push(served[index].variant);
                }
            }
            served.into()
        }
    };
    measured_end();
    (served, order)
}

fn main() {
    let mode = parse_args();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let scratch =
        Scratch(std::env::temp_dir().join(format!("pa-http-instructions-{}", std::process::id())));
    std::fs::create_dir_all(&scratch.0).unwrap();
    let state = runtime.block_on(start(&scratch));
    if let Some(mode) = mode {
        let (served, order) = run(&runtime, &state, mode);
        let order: Vec<&str> = order.iter().map(|variant| variant.name()).collect();
        println!("order: {}", order.join(" "));
        for served in &served {
            println!(
                "measured: {} {} requests in {:.3} s",
                served.variant.name(),
                served.requests,
                served.elapsed.as_secs_f64()
            );
        }
        return;
    }
    // No mode (`cargo bench` passes `--bench`): a quick check of both.
    let (served, _) = run(&runtime, &state, Mode::Both(CHECK));
    for served in &served {
        println!(
            "{}: {CHECK} iterations ({} requests) in {:.1} ms ({:.0} requests/s, one thread, not a measurement)",
            served.variant.name(),
            served.requests,
            served.elapsed.as_secs_f64() * 1e3,
            served.requests as f64 / served.elapsed.as_secs_f64()
        );
    }
    println!(
        "instruction counts per request: scripts/bench-example-instructions.sh (runs this under valgrind)"
    );
}
