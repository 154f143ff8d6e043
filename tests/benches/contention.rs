//! Threads calling one instrumented function at once (issue 25): the cost of a call, in CPU
//! time, against a floor measured in the same run by the same number of threads.
//!
//! The floor is a function doing the instrumented function's work plus two reads of the clock
//! the runtime reads (`quanta`'s raw TSC read), nothing else. Each thread reads its own CPU time
//! (`CLOCK_THREAD_CPUTIME_ID`) every 8,192 calls; a cost per call is CPU time over calls. CPU
//! time, not wall time: with 4 and 8 threads on 2 CPUs, or other processes on the machine, a
//! thread's wait for a core is not the call's cost, while the cache lines it fights over are.
//! Threads contend only while they run at once, so only the chunks of calls during which as
//! many of the case's threads ran as there are CPUs are counted (their share is printed); a
//! round in which fewer than a fifth of the calls were made so does not count, and rounds go
//! on (up to twice as many) until each case has its count. On a machine shared with other work
//! the threads of a process often take turns on one CPU for seconds at a time.
//!
//! Cases: 1, 2, 4 and 8 threads of a pool that lives as long as the process, started behind a
//! barrier for each measurement (the first to finish its share stops the others); the pool's
//! threads make their first call when they start, racing one more thread that makes one call
//! and ends, so the order of first calls differs from one process to the next. And a tokio
//! runtime with 2 workers running tasks that call the function, whose first calls come after
//! other threads' and one of them after the main thread's: a stripe chosen by the order of
//! first calls puts both workers on one stripe of two. Nothing here pins threads or tells the
//! runtime anything: it measures whatever the runtime does. Each round measures the floor,
//! then the instrumented function, for each case; a case's figure is the median of its
//! counted rounds' ratios.
//!
//! Run: `cargo bench -p integration-tests --bench contention` (every case), with case names to
//! run only those (`-- two-threads`; also `one-thread`, `four-threads`, `eight-threads`,
//! `tokio`), or `-- ten-processes`: the two-thread case in processes of its own, one after the
//! other, until ten have measured it, each ratio printed. `CONTENTION_ROUNDS` (default 5) and `CONTENTION_CALLS`
//! (millions of calls per measurement, all threads together; default 50) change the length.
//! Performance is reported, not asserted: the targets are printed beside the figures.

mod common;

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, LazyLock, mpsc};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use instrument_metric::instrument_metric;

#[inline(never)]
#[instrument_metric]
fn instrumented(x: u64) -> Result<u64, u64> {
    let x = black_box(x);
    if x == u64::MAX { Err(x) } else { Ok(x) }
}

/// The clock the runtime times calls with, created the same way.
static CLOCK: LazyLock<quanta::Clock> = LazyLock::new(quanta::Clock::new);

/// The same work and two reads of the same clock: what any timed call costs.
#[inline(never)]
fn floor(x: u64) -> Result<u64, u64> {
    let clock = &*CLOCK;
    let started = clock.raw();
    let x = black_box(x);
    let result = if x == u64::MAX { Err(x) } else { Ok(x) };
    black_box((started, clock.raw()));
    result
}

type Call = fn(u64) -> Result<u64, u64>;

/// Calls between two readings of a thread's clocks (about 150 microseconds): short enough
/// that most chunks run without being descheduled, long enough that the readings cost
/// nothing measurable.
const CHUNK: u64 = 8192;

/// Set by the first thread done with its share; alone on its cache lines, so that looking at
/// it costs the others nothing until it is set.
#[repr(align(128))]
struct Stop(AtomicBool);

/// A chunk of calls made by one thread: when, and the CPU time the thread spent on it.
#[derive(Clone, Copy)]
struct Chunk {
    thread: ThreadId,
    start: Instant,
    end: Instant,
    cpu: Duration,
    calls: u64,
}

impl Chunk {
    /// Whether the thread ran through the chunk rather than waiting for a CPU part of it.
    fn ran(&self) -> bool {
        self.cpu.as_secs_f64() >= 0.95 * (self.end - self.start).as_secs_f64()
    }
}

/// A reading of the current thread's clocks.
#[derive(Clone, Copy)]
struct Mark {
    wall: Instant,
    cpu: Duration,
}

impl Mark {
    fn now() -> Mark {
        Mark {
            wall: Instant::now(),
            cpu: common::thread_cpu_time(),
        }
    }

    fn chunk(self, end: Mark, calls: u64) -> Chunk {
        Chunk {
            thread: std::thread::current().id(),
            start: self.wall,
            end: end.wall,
            cpu: end.cpu.saturating_sub(self.cpu),
            calls,
        }
    }
}

/// One measurement: the chunks of all its threads.
struct Sample {
    chunks: Vec<Chunk>,
    /// The threads that should be running at once: as many as there are CPUs, at most.
    at_once: usize,
}

impl Sample {
    /// CPU time per call, in nanoseconds, over the chunks run while `at_once` threads of the
    /// measurement ran (this one included), and the share of the calls they hold.
    ///
    /// Threads contend only while they run at once. On a shared machine another process may
    /// hold a CPU for a while, and the threads then take turns on the other: their calls cost
    /// what a single thread's do. Those chunks are left out, on the floor's side as on the
    /// instrumented function's.
    #[allow(clippy::cast_precision_loss)] // calls stay far below 2^53
    fn concurrent(&self) -> (f64, f64) {
        let mut threads: HashMap<ThreadId, Vec<(Instant, Instant)>> = HashMap::new();
        for chunk in self.chunks.iter().filter(|chunk| chunk.ran()) {
            threads
                .entry(chunk.thread)
                .or_default()
                .push((chunk.start, chunk.end));
        }
        for intervals in threads.values_mut() {
            intervals.sort();
        }
        let others = self.at_once - 1;
        let (mut cpu, mut calls, mut all) = (0.0, 0, 0);
        for chunk in &self.chunks {
            all += chunk.calls;
            if chunk.ran() && covered(chunk, &threads, others) >= 0.95 {
                cpu += chunk.cpu.as_secs_f64();
                calls += chunk.calls;
            }
        }
        (cpu * 1e9 / calls as f64, calls as f64 / all.max(1) as f64)
    }
}

/// The share of `chunk`'s time during which at least `others` other threads ran.
fn covered(
    chunk: &Chunk,
    threads: &HashMap<ThreadId, Vec<(Instant, Instant)>>,
    others: usize,
) -> f64 {
    if others == 0 {
        return 1.0;
    }
    // +1 where another thread's running interval starts within the chunk, -1 where it ends.
    let mut events: Vec<(Instant, i32)> = Vec::new();
    for (thread, intervals) in threads {
        if *thread == chunk.thread {
            continue;
        }
        let first = intervals.partition_point(|(_, end)| *end <= chunk.start);
        for (start, end) in intervals[first..]
            .iter()
            .take_while(|(start, _)| *start < chunk.end)
        {
            events.push(((*start).max(chunk.start), 1));
            events.push(((*end).min(chunk.end), -1));
        }
    }
    events.sort();
    let (mut running, mut at, mut enough) = (0, chunk.start, Duration::ZERO);
    for (time, change) in events {
        if running >= others {
            enough += time - at;
        }
        running = running.saturating_add_signed(change as isize);
        at = time;
    }
    enough.as_secs_f64() / (chunk.end - chunk.start).as_secs_f64().max(1e-9)
}

/// One thread's calls: `share` of them, or fewer if another thread finished first.
fn calls(call: Call, share: u64, stop: &Stop) -> Vec<Chunk> {
    let mut chunks = Vec::with_capacity(usize::try_from(share / CHUNK + 1).unwrap_or(0));
    let mut mark = Mark::now();
    let mut done = 0;
    while done < share && !stop.0.load(Ordering::Relaxed) {
        for i in done..done + CHUNK {
            let _ = black_box(call(black_box(i)));
        }
        done += CHUNK;
        let next = Mark::now();
        chunks.push(mark.chunk(next, CHUNK));
        mark = next;
    }
    stop.0.store(true, Ordering::Relaxed);
    chunks
}

/// Work for the threads of a [`Pool`]: each makes its share of calls to `call`, all starting
/// together.
#[derive(Clone)]
struct Job {
    call: Call,
    share: u64,
    start: Arc<Barrier>,
    stop: Arc<Stop>,
}

/// Threads that live as long as the process, as a server's do, and make their first call when
/// they start, racing one more thread that makes one call and ends: whatever depends on the
/// order of first calls falls out differently from one process to the next.
struct Pool {
    jobs: Vec<mpsc::Sender<Job>>,
    done: mpsc::Receiver<Vec<Chunk>>,
}

impl Pool {
    fn new(threads: usize) -> Pool {
        let first_calls = Arc::new(Barrier::new(threads + 1));
        let (done_sender, done) = mpsc::channel();
        let jobs = (0..threads)
            .map(|_| {
                let (sender, jobs) = mpsc::channel::<Job>();
                let first_calls = Arc::clone(&first_calls);
                let done = done_sender.clone();
                std::thread::spawn(move || {
                    first_calls.wait();
                    instrumented(1).ok();
                    for job in jobs {
                        job.start.wait();
                        let chunks = calls(job.call, job.share, &job.stop);
                        if done.send(chunks).is_err() {
                            return;
                        }
                    }
                });
                sender
            })
            .collect();
        std::thread::spawn(move || {
            first_calls.wait();
            instrumented(1).ok();
        });
        Pool { jobs, done }
    }

    /// The pool's threads calling `call`, `total` calls between them.
    fn run(&self, call: Call, total: u64, cpus: usize) -> Sample {
        let threads = self.jobs.len();
        let job = Job {
            call,
            share: total / threads as u64,
            start: Arc::new(Barrier::new(threads)),
            stop: Arc::new(Stop(AtomicBool::new(false))),
        };
        for jobs in &self.jobs {
            jobs.send(job.clone()).expect("a pool thread ended");
        }
        let chunks = (0..threads)
            .flat_map(|_| self.done.recv().expect("a pool thread ended"))
            .collect();
        Sample {
            chunks,
            at_once: threads.min(cpus),
        }
    }
}

/// A tokio runtime with 2 workers whose first calls come after other threads'.
fn tokio_workers() -> tokio::runtime::Runtime {
    // Other threads call first, as in a program whose workers start after other threads ran.
    for _ in 0..3 {
        std::thread::spawn(|| instrumented(1)).join().unwrap().ok();
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("a tokio runtime");
    // One worker calls, then the main thread, then (in the first measurement) the other worker.
    runtime
        .block_on(runtime.spawn(async { instrumented(1) }))
        .unwrap()
        .ok();
    instrumented(1).ok();
    runtime
}

/// Tasks of one chunk each on `runtime` calling `call`, `total` calls between them.
fn on_tokio(runtime: &tokio::runtime::Runtime, call: Call, total: u64, cpus: usize) -> Sample {
    let tasks: Vec<_> = (0..total / CHUNK)
        .map(|_| {
            runtime.spawn(async move {
                // A task that does not yield runs on one worker from start to end.
                let start = Mark::now();
                for i in 0..CHUNK {
                    let _ = black_box(call(black_box(i)));
                }
                start.chunk(Mark::now(), CHUNK)
            })
        })
        .collect();
    let chunks = runtime.block_on(async {
        let mut chunks = Vec::with_capacity(tasks.len());
        for task in tasks {
            chunks.push(task.await.expect("a bench task panicked"));
        }
        chunks
    });
    Sample {
        chunks,
        at_once: 2.min(cpus),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Case {
    Threads(usize),
    Tokio,
}

impl Case {
    const ALL: [Case; 5] = [
        Case::Threads(1),
        Case::Threads(2),
        Case::Threads(4),
        Case::Threads(8),
        Case::Tokio,
    ];

    fn name(self) -> &'static str {
        match self {
            Case::Threads(1) => "one-thread",
            Case::Threads(2) => "two-threads",
            Case::Threads(4) => "four-threads",
            Case::Threads(8) => "eight-threads",
            Case::Threads(_) => "threads",
            Case::Tokio => "tokio",
        }
    }

    fn label(self) -> String {
        match self {
            Case::Threads(1) => "1 thread".to_owned(),
            Case::Threads(n) => format!("{n} threads"),
            Case::Tokio => "tokio, 2 workers".to_owned(),
        }
    }

    /// The target of issue 25 for the ratio to the floor, if there is one.
    fn target(self) -> Option<f64> {
        match self {
            Case::Threads(1) => None,
            Case::Threads(2) | Case::Tokio => Some(1.15),
            Case::Threads(_) => Some(1.3),
        }
    }
}

/// One round of one case: the floor, then the instrumented function, each as CPU time per
/// call while the threads ran at once, and the share of the calls made then.
#[derive(Clone, Copy)]
struct Round {
    floor: (f64, f64),
    instrumented: (f64, f64),
}

/// The share of a measurement's calls that must have run with the threads at once for its
/// round to count: below it, the round mostly measured threads taking turns.
const COUNTED: f64 = 0.2;

impl Round {
    fn ratio(self) -> f64 {
        self.instrumented.0 / self.floor.0
    }

    fn counts(self) -> bool {
        self.floor.1 >= COUNTED && self.instrumented.1 >= COUNTED
    }
}

fn median(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.into_iter().collect();
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => f64::midpoint(values[n / 2 - 1], values[n / 2]),
    }
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// The line a process of `ten-processes` prints for its parent.
const RESULT: &str = "two-threads median ratio:";

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with("--"))
        .collect();
    if args.iter().any(|arg| arg == "ten-processes") {
        ten_processes();
        return;
    }
    let cases: Vec<Case> = Case::ALL
        .into_iter()
        .filter(|case| args.is_empty() || args.iter().any(|arg| arg == case.name()))
        .collect();
    if cases.is_empty() {
        eprintln!(
            "cases: one-thread, two-threads, four-threads, eight-threads, tokio; or ten-processes"
        );
        std::process::exit(2);
    }
    let rounds = usize::try_from(env_number("CONTENTION_ROUNDS", 5)).map_or(5, |n| n.max(1));
    let total = env_number("CONTENTION_CALLS", 50) * 1_000_000;
    LazyLock::force(&CLOCK);
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    println!(
        "{total} calls per measurement, {rounds} rounds, {cpus} CPUs. CPU time per call, over the calls made while \
         as many threads as CPUs ran at once (their share in brackets); a ratio is the instrumented function's \
         cost over the floor's, with as many threads."
    );

    let mut runtime = None;
    let mut pools: HashMap<usize, Pool> = HashMap::new();
    let mut results: Vec<Vec<Round>> = vec![Vec::new(); cases.len()];
    let started = Instant::now();
    // Rounds that mostly measured threads taking turns do not count: more rounds, up to twice
    // as many, until each case has `rounds` that count.
    let mut round = 0;
    while round < 2 * rounds
        && results
            .iter()
            .any(|results| results.iter().filter(|r| r.counts()).count() < rounds)
    {
        round += 1;
        for (case, results) in cases.iter().zip(&mut results) {
            let mut measure = |call: Call| match case {
                Case::Threads(n) => pools
                    .entry(*n)
                    .or_insert_with(|| Pool::new(*n))
                    .run(call, total, cpus)
                    .concurrent(),
                Case::Tokio => {
                    let runtime = runtime.get_or_insert_with(tokio_workers);
                    on_tokio(runtime, call, total, cpus).concurrent()
                }
            };
            let floor = measure(floor);
            let instrumented = measure(instrumented);
            let result = Round {
                floor,
                instrumented,
            };
            println!(
                "round {round:2}, {:>16}: floor {:6.2} ns ({:3.0}%), instrumented {:6.2} ns ({:3.0}%): {:.3}x{}",
                case.label(),
                floor.0,
                floor.1 * 100.0,
                instrumented.0,
                instrumented.1 * 100.0,
                result.ratio(),
                if result.counts() {
                    ""
                } else {
                    " (threads mostly took turns: not counted)"
                },
            );
            results.push(result);
        }
    }
    println!("({:.0} s)\n", started.elapsed().as_secs_f64());
    summary(&cases, &results);
}

/// Each case's medians, ratio and target, and its rounds.
fn summary(cases: &[Case], results: &[Vec<Round>]) {
    let one_thread = cases
        .iter()
        .position(|case| *case == Case::Threads(1))
        .map(|index| &results[index]);
    for (case, results) in cases.iter().zip(results) {
        let counted: Vec<&Round> = results.iter().filter(|round| round.counts()).collect();
        let ratio = median(counted.iter().map(|round| round.ratio()));
        let all: Vec<String> = results
            .iter()
            .map(|round| {
                let turns = if round.counts() { "" } else { " (not counted)" };
                format!("{:.3}{turns}", round.ratio())
            })
            .collect();
        let target = match case.target() {
            _ if counted.is_empty() => {
                " (not measured: the threads took turns in every round)".to_owned()
            }
            Some(target) if ratio <= target => format!(" (target <= {target}: met)"),
            Some(target) => format!(" (target <= {target}: missed)"),
            None => String::new(),
        };
        println!(
            "{:>16}: floor {:6.2} ns, instrumented {:6.2} ns per call; ratio {ratio:.3}x{target}; medians of {} rounds; all rounds {}",
            case.label(),
            median(counted.iter().map(|round| round.floor.0)),
            median(counted.iter().map(|round| round.instrumented.0)),
            counted.len(),
            all.join(", "),
        );
        if let (Some(one), Case::Threads(2..) | Case::Tokio) = (one_thread, case) {
            // The ratio over the same round's one-thread ratio: what contention alone adds.
            let over_one = median(
                results
                    .iter()
                    .zip(one)
                    .filter(|(round, _)| round.counts())
                    .map(|(round, one)| round.ratio() / one.ratio()),
            );
            println!("{:>16}  {over_one:.3}x the one-thread ratio", "");
        }
    }
    if let Some(index) = cases.iter().position(|case| *case == Case::Threads(2)) {
        let counted = results[index].iter().filter(|round| round.counts());
        println!("{RESULT} {:.6}", median(counted.map(|round| round.ratio())));
    }
}

/// The two-thread case in processes of its own, one after the other, until ten have measured
/// it (at most twenty: a process whose threads took turns in every round measured nothing).
fn ten_processes() {
    let target = Case::Threads(2).target().unwrap_or(f64::NAN);
    let exe = std::env::current_exe().expect("the bench binary's path");
    let started = Instant::now();
    let (mut measured, mut unmeasured) = (Vec::new(), 0);
    while measured.len() < 10 && measured.len() + unmeasured < 20 {
        let output = std::process::Command::new(&exe)
            .arg(Case::Threads(2).name())
            .output()
            .expect("the bench binary runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let line = |prefix: &str| {
            stdout
                .lines()
                .find(|line| line.trim_start().starts_with(prefix))
                .map(str::trim)
                .unwrap_or_default()
                .to_owned()
        };
        let ratio: f64 = line(RESULT)
            .trim_start_matches(RESULT)
            .trim()
            .parse()
            .unwrap_or(f64::NAN);
        println!(
            "process {:2}: {}",
            measured.len() + unmeasured + 1,
            line("2 threads:")
        );
        if ratio.is_nan() {
            unmeasured += 1;
        } else {
            measured.push(ratio);
        }
    }
    let max = measured.iter().copied().fold(f64::NAN, f64::max);
    let all: Vec<String> = measured.iter().map(|ratio| format!("{ratio:.3}")).collect();
    let met = measured.iter().filter(|ratio| **ratio <= target).count();
    println!(
        "\n2 threads, {} processes that measured it: {}; max {max:.3}x; target <= {target}: met in {met} of {}{} ({:.0} s)",
        measured.len(),
        all.join(", "),
        measured.len(),
        if unmeasured == 0 {
            String::new()
        } else {
            format!(
                "; {unmeasured} more processes measured nothing (their threads took turns in every round)"
            )
        },
        started.elapsed().as_secs_f64()
    );
}
