//! How cost grows with the number of series (issue 25): 1,000 to 1,000,000 series of a
//! counter family, a classic histogram family and instrumented functions, rendered in text,
//! OpenMetrics and protobuf; the build of the registry, the bytes of each exposition, and the
//! heap and resident memory per series beside prometheus-client 0.26 and tikv `prometheus`
//! 0.14 holding the same series (text only: neither has its protobuf encoder on here).
//!
//! A series is a sample line of the text format, as Prometheus counts them; every case counts
//! the lines of its own text exposition and fails unless they are the series intended.
//!
//! - counter: one `IntCounterFamily` of a `#[derive(Metrics)]` struct, labelled by 2 or 3 enums
//!   of 10 and 100 values (`(region, shard)` 1,000 ... `(shard, tenant, host)` 1,000,000);
//! - histogram: one `HistogramFamily` with 7 bounds, 10 series per label combination, labelled
//!   the same way (100 to 100,000 combinations);
//! - functions: five functions `#[instrument_metric(name = "scaling", labels(...))]` with 14
//!   bounds, 3 outcomes: 20 series per label combination (the global registry holds every
//!   function a binary links, so each size is a bench binary of its own,
//!   `scaling_functions_{1k,10k,100k,1m}`, which this one runs).
//!
//! Every case runs in a process of its own (this binary, or the functions' one, run again with
//! `SCALING_CASE=kind/size/library`), so that the heap counted and the resident memory are that
//! case's alone.
//!
//! Run: `cargo bench -p integration-tests --bench 'scaling*'` (builds the five binaries; this
//! one prints the tables, the others run only as its children). Arguments after `--` pick
//! kinds, sizes and libraries: `-- counter 1m ours`.
#![allow(clippy::cast_precision_loss)] // reported figures, far below 2^53

mod common;
#[path = "common/scaling.rs"]
mod kit;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use instrument_metric::{HistogramFamily, IntCounterFamily, Metrics, Registry};
use kit::{Combo, Host, Kind, Region, Shard, Tenant};

#[global_allocator]
static ALLOCATOR: kit::Counting = kit::Counting;

/// A scoped `Metrics` struct of one family, and how a series of it is given a value.
trait Touch: Metrics + Send + Sync {
    type L: Combo;
    /// Gives combination `combo` (number `i`) its first value, or (`first` false) changes it.
    fn touch(&self, combo: Self::L, i: usize, first: bool);
}

macro_rules! counter_family {
    ($name:ident, $labels:ty, $max:tt) => {
        #[derive(Metrics)]
        #[metrics(scoped)]
        struct $name {
            /// Requests, by the labels of this size.
            #[metric(max_series = $max)]
            scaling_requests_total: IntCounterFamily<$labels>,
        }

        impl Touch for $name {
            type L = $labels;
            fn touch(&self, combo: $labels, i: usize, first: bool) {
                let counter = self.scaling_requests_total.with(combo);
                if first {
                    counter.inc_by(kit::value(i));
                } else {
                    counter.inc();
                }
            }
        }
    };
}

macro_rules! histogram_family {
    ($name:ident, $labels:ty, $max:tt) => {
        #[derive(Metrics)]
        #[metrics(scoped)]
        struct $name {
            /// Latency, by the labels of this size.
            #[metric(buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0], max_series = $max)]
            scaling_latency_seconds: HistogramFamily<$labels>,
        }

        impl Touch for $name {
            type L = $labels;
            fn touch(&self, combo: $labels, i: usize, first: bool) {
                let latency = if first { kit::latency(i) } else { 0.01 };
                self.scaling_latency_seconds.with(combo).observe(latency);
            }
        }
    };
}

counter_family!(Counters1k, (Region, Shard), 10_000);
counter_family!(Counters10k, (Shard, Tenant), 10_000);
counter_family!(Counters100k, (Region, Shard, Tenant), 100_000);
counter_family!(Counters1m, (Shard, Tenant, Host), 1_000_000);
histogram_family!(Histograms1k, Shard, 10_000);
histogram_family!(Histograms10k, (Region, Shard), 10_000);
histogram_family!(Histograms100k, (Shard, Tenant), 10_000);
histogram_family!(Histograms1m, (Region, Shard, Tenant), 100_000);

/// Measures a case of a family kind in this process.
fn family_case<M: Touch>(case: &str) {
    let kind = Kind::parse(case.split('/').next().unwrap()).unwrap();
    let count = M::L::count();
    kit::measure(
        case,
        count,
        || -> (Box<dyn kit::Built>, std::time::Duration) {
            let started = Instant::now();
            match case.rsplit('/').next() {
                Some("ours" | "ours-kept") => {
                    let registry: &'static Registry = Box::leak(Box::new(Registry::new()));
                    let metrics = M::register_in(registry);
                    let elapsed = started.elapsed();
                    for i in 0..count {
                        metrics.touch(M::L::nth(i), i, true);
                    }
                    let step = move |i: usize| metrics.touch(M::L::nth(i % count), i, false);
                    (Box::new(kit::Ours { registry, step }), elapsed)
                }
                Some("client") => {
                    let built = kit::Client::<M::L>::build(kind, "");
                    (Box::new(built), started.elapsed())
                }
                _ => {
                    let built = kit::Tikv::<M::L>::build(kind, "");
                    (Box::new(built), started.elapsed())
                }
            }
        },
    );
}

fn run_case(case: &str) {
    let mut parts = case.split('/');
    let (kind, size) = (parts.next().unwrap(), parts.next().unwrap());
    match (kind, size) {
        ("counter", "1k") => family_case::<Counters1k>(case),
        ("counter", "10k") => family_case::<Counters10k>(case),
        ("counter", "100k") => family_case::<Counters100k>(case),
        ("counter", "1m") => family_case::<Counters1m>(case),
        ("histogram", "1k") => family_case::<Histograms1k>(case),
        ("histogram", "10k") => family_case::<Histograms10k>(case),
        ("histogram", "100k") => family_case::<Histograms100k>(case),
        ("histogram", "1m") => family_case::<Histograms1m>(case),
        _ => panic!("no such case: {case}"),
    }
}

const KINDS: [&str; 3] = ["counter", "histogram", "functions"];
const SIZES: [&str; 4] = ["1k", "10k", "100k", "1m"];
/// `ours-kept`: ours again, with glibc told to keep freed memory for reuse
/// ([`KEEP_FREED`]), so that an exposition's buffer is not fresh pages at every render.
const LIBRARIES: [&str; 4] = ["ours", "client", "tikv", "ours-kept"];

/// glibc's allocator serves a block above its mmap threshold (at most 32 MiB by default)
/// with fresh pages from the kernel, and gives them back when it is freed; with these
/// tunables the blocks of one render are reused by the next.
const KEEP_FREED: &str =
    "glibc.malloc.mmap_threshold=4294967295:glibc.malloc.trim_threshold=4294967295";

/// The bench binary of the instrumented functions of `size`: the newest one cargo built
/// beside this one.
fn functions_binary(size: &str) -> Option<PathBuf> {
    let dir = std::env::current_exe().ok()?.parent()?.to_owned();
    let prefix = format!("scaling_functions_{size}-");
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .filter(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            name.starts_with(&prefix) && !name.contains('.')
        })
        .max_by_key(|entry| entry.metadata().and_then(|m| m.modified()).ok())
        .map(|entry| entry.path())
}

/// One case's figures, from its `RESULT` line.
type Figures = BTreeMap<String, String>;

fn run_child(kind: &str, size: &str, library: &str) -> Option<Figures> {
    let exe = if kind == "functions" {
        let Some(exe) = functions_binary(size) else {
            eprintln!(
                "{kind}/{size}: no scaling_functions_{size} binary; build with --bench 'scaling*'"
            );
            return None;
        };
        exe
    } else {
        std::env::current_exe().ok()?
    };
    let mut command = std::process::Command::new(exe);
    command.env(kit::CASE, format!("{kind}/{size}/{library}"));
    if library == "ours-kept" {
        command.env("GLIBC_TUNABLES", KEEP_FREED);
    }
    let output = command.output().ok()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let Some(line) = stdout.lines().find(|line| line.starts_with("RESULT ")) else {
        eprintln!(
            "{kind}/{size}/{library} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        return None;
    };
    eprintln!("{line}");
    Some(
        line.split_whitespace()
            .skip(1)
            .filter_map(|pair| pair.split_once('='))
            .map(|(key, value)| (key.to_owned(), value.to_owned()))
            .collect(),
    )
}

fn number(figures: Option<&Figures>, key: &str) -> Option<f64> {
    figures?.get(key)?.parse().ok()
}

fn main() {
    if let Ok(case) = std::env::var(kit::CASE) {
        run_case(&case);
        return;
    }
    // Words after `--` restrict the kinds, sizes and libraries run.
    let words: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with('-'))
        .collect();
    let pick = |all: &'static [&'static str]| -> Vec<&'static str> {
        let picked: Vec<_> = all
            .iter()
            .copied()
            .filter(|name| words.iter().any(|word| word == name))
            .collect();
        if picked.is_empty() {
            all.to_vec()
        } else {
            picked
        }
    };
    let (kinds, sizes, libraries) = (pick(&KINDS), pick(&SIZES), pick(&LIBRARIES));
    let started = Instant::now();
    let mut results = Results::new();
    for (k, kind) in KINDS.iter().enumerate() {
        for (s, size) in SIZES.iter().enumerate() {
            for library in &libraries {
                if !kinds.contains(kind) || !sizes.contains(size) {
                    continue;
                }
                if let Some(figures) = run_child(kind, size, library) {
                    results.insert((k, s, library), figures);
                }
            }
        }
    }
    eprintln!("all cases: {:.0} s", started.elapsed().as_secs_f64());
    print_times(&results);
    print_faults(&results);
    print_memory(&results);
}

/// The results of every case run, by kind, size and library.
type Results = BTreeMap<(usize, usize, &'static str), Figures>;

fn ms(ns: Option<f64>) -> String {
    ns.map_or("-".to_owned(), |ns| format!("{:.2}", ns / 1e6))
}

fn per(bytes: Option<f64>, series: f64) -> String {
    bytes.map_or("-".to_owned(), |bytes| format!("{:.1}", bytes / series))
}

fn mb(bytes: Option<f64>) -> String {
    bytes.map_or("-".to_owned(), |b| format!("{:.2}", b / 1e6))
}

/// Ours: the build, the renders and their bytes.
fn print_times(results: &Results) {
    println!(
        "\nours: build, renders (median wall time, ns per series in brackets; the render's CPU time after the slash) and bytes\n\n| kind | label combinations | series | build ms | text ms | text MB | OpenMetrics ms | OpenMetrics MB | protobuf ms | protobuf MB |\n|---|---|---|---|---|---|---|---|---|---|"
    );
    for (k, kind) in KINDS.iter().enumerate() {
        for s in 0..SIZES.len() {
            let Some(ours) = results.get(&(k, s, "ours")) else {
                continue;
            };
            let n = |key: &str| number(Some(ours), key);
            let series = n("series").unwrap_or(f64::NAN);
            let timed = |key: &str| {
                let cpu = key
                    .strip_suffix("_ns")
                    .and_then(|format| n(&format!("{format}_cpu_ns")))
                    .map_or(String::new(), |cpu| format!(" / {:.2}", cpu / 1e6));
                n(key).map_or("-".to_owned(), |ns| {
                    format!("{:.2} ({:.1}){cpu}", ns / 1e6, ns / series)
                })
            };
            println!(
                "| {kind} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                ours["combinations"],
                ours["series"],
                timed("build_ns"),
                timed("text_ns"),
                mb(n("text_bytes")),
                timed("openmetrics_ns"),
                mb(n("openmetrics_bytes")),
                timed("protobuf_ns"),
                mb(n("protobuf_bytes")),
            );
        }
    }
}

/// Ours: the page faults of each render, with glibc's defaults and with freed memory kept.
fn print_faults(results: &Results) {
    println!(
        "\nthe exposition's fresh pages: minor page faults per render, and the render with glibc keeping freed memory ({KEEP_FREED})\n\n| kind | series | format | ms | page faults | ms, memory kept | page faults, memory kept |\n|---|---|---|---|---|---|---|"
    );
    for (k, kind) in KINDS.iter().enumerate() {
        for s in 0..SIZES.len() {
            let (Some(ours), kept) = (
                results.get(&(k, s, "ours")),
                results.get(&(k, s, "ours-kept")),
            ) else {
                continue;
            };
            for format in ["text", "openmetrics", "protobuf"] {
                let field = |figures: Option<&Figures>, key: &str| {
                    figures
                        .and_then(|f| f.get(&format!("{format}_{key}")))
                        .cloned()
                        .unwrap_or_else(|| "-".to_owned())
                };
                println!(
                    "| {kind} | {} | {format} | {} | {} | {} | {} |",
                    ours["series"],
                    ms(number(Some(ours), &format!("{format}_ns"))),
                    field(Some(ours), "faults"),
                    ms(number(kept, &format!("{format}_ns"))),
                    field(kept, "faults"),
                );
            }
        }
    }
}

/// The memory of each library, and the peers' text renders and builds.
fn print_memory(results: &Results) {
    println!(
        "\nmemory per series (heap: bytes allocated and live after the build; resident: growth of RSS) and the peers' text render\n\n| kind | series | heap ours | of which cells and label texts | heap prometheus-client | heap tikv | resident ours | resident prometheus-client | resident tikv | ours after the renders | text ms ours | text ms prometheus-client | text ms tikv | build ms prometheus-client | build ms tikv |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    );
    for (k, kind) in KINDS.iter().enumerate() {
        for s in 0..SIZES.len() {
            let get = |library: &'static str| results.get(&(k, s, library));
            let Some(series) = LIBRARIES
                .iter()
                .find_map(|&library| number(get(library), "series"))
            else {
                continue;
            };
            let heap = |library: &'static str| per(number(get(library), "heap"), series);
            let resident = |library: &'static str| per(number(get(library), "resident"), series);
            let field = |library: &'static str, key: &str| ms(number(get(library), key));
            println!(
                "| {kind} | {series} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                heap("ours"),
                per(number(get("ours"), "cells"), series),
                heap("client"),
                heap("tikv"),
                resident("ours"),
                resident("client"),
                resident("tikv"),
                per(number(get("ours"), "retained"), series),
                field("ours", "text_ns"),
                field("client", "text_ns"),
                field("tikv", "text_ns"),
                field("client", "build_ns"),
                field("tikv", "build_ns"),
            );
        }
    }
}
