//! What the binaries of the scaling benchmark share (issue 25): the label enums, the peers'
//! families (tikv `prometheus`, prometheus-client) with the same series, and one case measured
//! in a process of its own: build time, heap and resident growth, renders and their bytes,
//! reported on one `RESULT` line that `scaling` reads.
//!
//! A series is a sample line of the text format, as Prometheus counts them: a classic histogram
//! with B bounds is B + 1 `_bucket` series, `_sum` and `_count`.

// Each binary uses part of this module.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::hash::Hash;
use std::hint::black_box;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use instrument_metric::{LabelValue, Registry};
use prometheus::Encoder as _;
use prometheus_client::encoding::{EncodeLabel as _, EncodeLabelSet, LabelSetEncoder};

/// The bounds of the histogram families: 7 bounds, 10 series per label combination.
pub const FAMILY_BOUNDS: [f64; 7] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0];

/// The bounds of the instrumented functions' histograms: 14 bounds, 17 series per label
/// combination, with the 3 outcomes of the counter 20.
pub const FUNCTION_BOUNDS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The instrumented functions of each size: five, named `f0` to `f4`.
pub const FUNCTIONS: [&str; 5] = ["f0", "f1", "f2", "f3", "f4"];

/// The outcomes of a synchronous instrumented function.
pub const RESULTS: [&str; 3] = ["ok", "error", "panic"];

/// The environment variable that makes a bench binary measure one case: `kind/size/library`.
pub const CASE: &str = "SCALING_CASE";

// The counting allocator of every memory benchmark: the binaries install `Counting`.
pub use crate::common::{Counting, LIVE};

/// A label type: every value, in order.
pub trait Dim: LabelValue + Copy + Eq + Hash + std::fmt::Debug + Send + Sync + 'static {
    const ALL: &'static [Self];
}

/// A fieldless label enum deriving `LabelValue`, listing its values in `ALL`.
macro_rules! label_enum {
    ($(#[$doc:meta])* $name:ident: $($variant:ident)+) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
        pub enum $name {
            $($variant),+
        }

        impl Dim for $name {
            const ALL: &'static [$name] = &[$($name::$variant),+];
        }
    };
}

/// A label enum of 100 values, `v00` to `v99`.
macro_rules! hundred_values {
    ($(#[$doc:meta])* $name:ident) => {
        label_enum!($(#[$doc])* $name:
            V00 V01 V02 V03 V04 V05 V06 V07 V08 V09 V10 V11 V12 V13 V14 V15 V16 V17 V18 V19
            V20 V21 V22 V23 V24 V25 V26 V27 V28 V29 V30 V31 V32 V33 V34 V35 V36 V37 V38 V39
            V40 V41 V42 V43 V44 V45 V46 V47 V48 V49 V50 V51 V52 V53 V54 V55 V56 V57 V58 V59
            V60 V61 V62 V63 V64 V65 V66 V67 V68 V69 V70 V71 V72 V73 V74 V75 V76 V77 V78 V79
            V80 V81 V82 V83 V84 V85 V86 V87 V88 V89 V90 V91 V92 V93 V94 V95 V96 V97 V98 V99);
    };
}

label_enum!(
    /// A region: 10 values.
    Region: Eu1 Eu2 Eu3 Us1 Us2 Us3 Ap1 Ap2 Sa1 Af1
);
hundred_values!(
    /// A shard: 100 values.
    Shard
);
hundred_values!(
    /// A tenant: 100 values.
    Tenant
);
hundred_values!(
    /// A host: 100 values.
    Host
);

/// A label combination: one label type or a tuple of them, numbered in series order.
pub trait Combo: Copy + Eq + Hash + std::fmt::Debug + Send + Sync + 'static {
    /// The label names.
    const KEYS: &'static [&'static str];
    /// How many combinations.
    fn count() -> usize;
    /// The `i`th combination, the last label changing fastest.
    fn nth(i: usize) -> Self;
    /// The label values, in the order of [`Combo::KEYS`].
    fn values(&self) -> Vec<&'static str>;
}

impl<A: Dim> Combo for A {
    const KEYS: &'static [&'static str] = &[A::LABEL_NAME];
    fn count() -> usize {
        A::ALL.len()
    }
    fn nth(i: usize) -> Self {
        A::ALL[i]
    }
    fn values(&self) -> Vec<&'static str> {
        vec![self.as_label()]
    }
}

impl<A: Dim, B: Dim> Combo for (A, B) {
    const KEYS: &'static [&'static str] = &[A::LABEL_NAME, B::LABEL_NAME];
    fn count() -> usize {
        A::ALL.len() * B::ALL.len()
    }
    fn nth(i: usize) -> Self {
        (A::ALL[i / B::ALL.len()], B::ALL[i % B::ALL.len()])
    }
    fn values(&self) -> Vec<&'static str> {
        vec![self.0.as_label(), self.1.as_label()]
    }
}

impl<A: Dim, B: Dim, C: Dim> Combo for (A, B, C) {
    const KEYS: &'static [&'static str] = &[A::LABEL_NAME, B::LABEL_NAME, C::LABEL_NAME];
    fn count() -> usize {
        A::ALL.len() * B::ALL.len() * C::ALL.len()
    }
    fn nth(i: usize) -> Self {
        let (b, c) = (B::ALL.len(), C::ALL.len());
        (A::ALL[i / (b * c)], B::ALL[(i / c) % b], C::ALL[i % c])
    }
    fn values(&self) -> Vec<&'static str> {
        vec![self.0.as_label(), self.1.as_label(), self.2.as_label()]
    }
}

/// A value for combination `i`: counters of a few digits, as a service's are.
pub fn value(i: usize) -> u64 {
    (i as u64 * 7919) % 100_000
}

/// A latency for combination `i`, from 1 ms to about 2 s.
pub fn latency(i: usize) -> f64 {
    0.001 * 2000f64.powf((i % 100) as f64 / 99.0)
}

/// The kinds of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An integer counter family.
    Counter,
    /// A classic histogram family.
    Histogram,
    /// Instrumented functions: calls by result and a duration histogram.
    Functions,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Histogram => "histogram",
            Kind::Functions => "functions",
        }
    }

    pub fn parse(name: &str) -> Option<Kind> {
        [Kind::Counter, Kind::Histogram, Kind::Functions]
            .into_iter()
            .find(|kind| kind.name() == name)
    }

    /// Series per label combination.
    pub fn series_per_combination(self) -> usize {
        match self {
            Kind::Counter => 1,
            Kind::Histogram => FAMILY_BOUNDS.len() + 3,
            Kind::Functions => RESULTS.len() + FUNCTION_BOUNDS.len() + 3,
        }
    }
}

/// The formats rendered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Out {
    Text,
    OpenMetrics,
    Protobuf,
}

/// What a case built: renders itself, changes a value.
pub trait Built {
    /// The exposition in `format`, or `None` when the library has no such encoder here.
    fn render(&mut self, format: Out) -> Option<Vec<u8>>;
    /// Changes one value, as between two scrapes.
    fn step(&mut self, i: usize);
    /// Ours: the bytes of the cells and of the label texts (`__private::memory_of`).
    fn cells(&self) -> Option<usize> {
        None
    }
}

/// Ours, through the public API: a registry (scoped or the global one) and a way to change a
/// value.
pub struct Ours<S: FnMut(usize)> {
    pub registry: &'static Registry,
    pub step: S,
}

const TIMEOUT: Duration = Duration::from_secs(10);

impl<S: FnMut(usize)> Built for Ours<S> {
    fn render(&mut self, format: Out) -> Option<Vec<u8>> {
        Some(match format {
            Out::Text => self
                .registry
                .render_within(instrument_metric::Format::Text, TIMEOUT)
                .into_bytes(),
            Out::OpenMetrics => self
                .registry
                .render_within(instrument_metric::Format::OpenMetrics, TIMEOUT)
                .into_bytes(),
            Out::Protobuf => self.registry.encode_protobuf_within(TIMEOUT).unwrap(),
        })
    }

    fn step(&mut self, i: usize) {
        (self.step)(i);
    }

    fn cells(&self) -> Option<usize> {
        Some(instrument_metric::__private::memory_of(self.registry).0)
    }
}

/// prometheus-client's label set for a combination, as compact as a careful user would make
/// it: the label enums themselves (a byte each), and for instrumented functions the function
/// and the result by number (the module is the binary's, one for every series).
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct ClientLabels<L> {
    function: Option<u8>,
    combo: L,
    result: Option<u8>,
}

/// The module of the instrumented functions, the `module` label of every series.
static MODULE: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();

impl<L: Combo> EncodeLabelSet for ClientLabels<L> {
    fn encode(&self, encoder: &mut LabelSetEncoder<'_>) -> Result<(), std::fmt::Error> {
        if let Some(function) = self.function {
            ("function", FUNCTIONS[usize::from(function)]).encode(encoder.encode_label())?;
            ("module", *MODULE.get().unwrap()).encode(encoder.encode_label())?;
        }
        for (key, value) in L::KEYS.iter().zip(self.combo.values()) {
            (*key, value).encode(encoder.encode_label())?;
        }
        if let Some(result) = self.result {
            ("result", RESULTS[usize::from(result)]).encode(encoder.encode_label())?;
        }
        Ok(())
    }
}

type ClientCounters<L> = prometheus_client::metrics::family::Family<
    ClientLabels<L>,
    prometheus_client::metrics::counter::Counter,
>;
type ClientHistograms<L> = prometheus_client::metrics::family::Family<
    ClientLabels<L>,
    prometheus_client::metrics::histogram::Histogram,
>;

/// The same families in prometheus-client 0.26, every series created.
pub struct Client<L: Combo> {
    registry: prometheus_client::registry::Registry,
    counters: Option<ClientCounters<L>>,
    histograms: Option<ClientHistograms<L>>,
}

impl<L: Combo> Client<L> {
    pub fn build(kind: Kind, module: &'static str) -> Client<L> {
        if !module.is_empty() {
            let _ = MODULE.set(module);
        }
        let mut registry = prometheus_client::registry::Registry::default();
        let (counter, histogram, bounds): (_, _, &'static [f64]) = match kind {
            Kind::Counter => (Some("scaling_requests"), None, &[]),
            Kind::Histogram => (None, Some("scaling_latency_seconds"), &FAMILY_BOUNDS),
            Kind::Functions => (
                Some("scaling"),
                Some("scaling_duration_seconds"),
                &FUNCTION_BOUNDS,
            ),
        };
        let counters = counter.map(|name| {
            let family = ClientCounters::<L>::default();
            registry.register(name, "Help.", family.clone());
            family
        });
        let histograms = histogram.map(|name| {
            let family = if bounds.len() == FAMILY_BOUNDS.len() {
                ClientHistograms::<L>::new_with_constructor(|| {
                    prometheus_client::metrics::histogram::Histogram::new(FAMILY_BOUNDS)
                })
            } else {
                ClientHistograms::<L>::new_with_constructor(|| {
                    prometheus_client::metrics::histogram::Histogram::new(FUNCTION_BOUNDS)
                })
            };
            registry.register(name, "Help.", family.clone());
            family
        });
        let client = Client {
            registry,
            counters,
            histograms,
        };
        let functions: &[&'static str] = if kind == Kind::Functions {
            &FUNCTIONS
        } else {
            &[""]
        };
        for function in functions {
            for i in 0..L::count() {
                client.touch(kind, function, i);
            }
        }
        client
    }

    fn labels(function: &'static str, i: usize, result: Option<&'static str>) -> ClientLabels<L> {
        let number = |names: &[&str], name: &str| {
            u8::try_from(names.iter().position(|n| *n == name).unwrap()).unwrap()
        };
        ClientLabels {
            function: (!function.is_empty()).then(|| number(&FUNCTIONS, function)),
            combo: L::nth(i),
            result: result.map(|result| number(&RESULTS, result)),
        }
    }

    fn touch(&self, kind: Kind, function: &'static str, i: usize) {
        if let Some(counters) = &self.counters {
            if kind == Kind::Functions {
                for result in RESULTS {
                    counters
                        .get_or_create(&Self::labels(function, i, Some(result)))
                        .inc_by(u64::from(result == "ok"));
                }
            } else {
                counters
                    .get_or_create(&Self::labels(function, i, None))
                    .inc_by(value(i));
            }
        }
        if let Some(histograms) = &self.histograms {
            histograms
                .get_or_create(&Self::labels(function, i, None))
                .observe(latency(i));
        }
    }
}

impl<L: Combo> Built for Client<L> {
    fn render(&mut self, format: Out) -> Option<Vec<u8>> {
        (format == Out::Text).then(|| {
            let mut out = String::new();
            prometheus_client::encoding::text::encode(&mut out, &self.registry).unwrap();
            out.into_bytes()
        })
    }

    fn step(&mut self, i: usize) {
        let i = i % L::count();
        let function = if self.counters.is_some() && self.histograms.is_some() {
            FUNCTIONS[i % FUNCTIONS.len()]
        } else {
            ""
        };
        if let Some(counters) = &self.counters {
            let result = (!function.is_empty()).then_some("ok");
            counters
                .get_or_create(&Self::labels(function, i, result))
                .inc();
        }
        if let Some(histograms) = &self.histograms {
            histograms
                .get_or_create(&Self::labels(function, i, None))
                .observe(0.01);
        }
    }
}

/// The same families in tikv `prometheus` 0.14, every series created.
pub struct Tikv<L: Combo> {
    registry: prometheus::Registry,
    counters: Option<prometheus::IntCounterVec>,
    histograms: Option<prometheus::HistogramVec>,
    module: &'static str,
    combo: std::marker::PhantomData<L>,
}

impl<L: Combo> Tikv<L> {
    pub fn build(kind: Kind, module: &'static str) -> Tikv<L> {
        let registry = prometheus::Registry::new();
        let functions = kind == Kind::Functions;
        let keys = |result: bool| {
            let mut keys: Vec<&str> = Vec::new();
            if functions {
                keys.extend(["function", "module"]);
            }
            keys.extend(L::KEYS);
            if result {
                keys.push("result");
            }
            keys
        };
        let counters = match kind {
            Kind::Counter => Some("scaling_requests_total"),
            Kind::Histogram => None,
            Kind::Functions => Some("scaling_total"),
        }
        .map(|name| {
            let vec = prometheus::IntCounterVec::new(
                prometheus::Opts::new(name, "Help."),
                &keys(functions),
            )
            .unwrap();
            registry.register(Box::new(vec.clone())).unwrap();
            vec
        });
        let histograms = match kind {
            Kind::Counter => None,
            Kind::Histogram => Some(("scaling_latency_seconds", &FAMILY_BOUNDS[..])),
            Kind::Functions => Some(("scaling_duration_seconds", &FUNCTION_BOUNDS[..])),
        }
        .map(|(name, bounds)| {
            let vec = prometheus::HistogramVec::new(
                prometheus::HistogramOpts::new(name, "Help.").buckets(bounds.to_vec()),
                &keys(false),
            )
            .unwrap();
            registry.register(Box::new(vec.clone())).unwrap();
            vec
        });
        let tikv = Tikv {
            registry,
            counters,
            histograms,
            module,
            combo: std::marker::PhantomData,
        };
        let names: &[&'static str] = if functions { &FUNCTIONS } else { &[""] };
        for function in names {
            for i in 0..L::count() {
                tikv.touch(function, i, true);
            }
        }
        tikv
    }

    fn touch(&self, function: &'static str, i: usize, all: bool) {
        let mut values = Vec::with_capacity(L::KEYS.len() + 3);
        if !function.is_empty() {
            values.extend([function, self.module]);
        }
        values.extend(L::nth(i).values());
        if let Some(counters) = &self.counters {
            if function.is_empty() {
                counters
                    .with_label_values(&values)
                    .inc_by(if all { value(i) } else { 1 });
            } else {
                let results: &[&str] = if all { &RESULTS } else { &RESULTS[..1] };
                for result in results {
                    values.push(result);
                    counters
                        .with_label_values(&values)
                        .inc_by(u64::from(*result == "ok"));
                    values.pop();
                }
            }
        }
        if let Some(histograms) = &self.histograms {
            histograms.with_label_values(&values).observe(latency(i));
        }
    }
}

impl<L: Combo> Built for Tikv<L> {
    fn render(&mut self, format: Out) -> Option<Vec<u8>> {
        (format == Out::Text).then(|| {
            let mut out = Vec::new();
            prometheus::TextEncoder::new()
                .encode(&self.registry.gather(), &mut out)
                .unwrap();
            out
        })
    }

    fn step(&mut self, i: usize) {
        let i = i % L::count();
        let function = if self.counters.is_some() && self.histograms.is_some() {
            FUNCTIONS[i % FUNCTIONS.len()]
        } else {
            ""
        };
        self.touch(function, i, false);
    }
}

/// Lazily initialised state of the three libraries, made before the heap is counted.
pub fn warm_up() {
    let registry = Registry::new();
    registry
        .int_counter("warm_total", "Warm-up.")
        .unwrap()
        .inc();
    black_box(registry.render());
    black_box(registry.render_as(instrument_metric::Format::OpenMetrics));
    black_box(registry.encode_protobuf_within(TIMEOUT).unwrap());
    std::mem::forget(registry);
    let mut tikv = Tikv::<Region>::build(Kind::Counter, "");
    black_box(tikv.render(Out::Text));
    std::mem::forget(tikv);
    let mut client = Client::<Region>::build(Kind::Counter, "");
    black_box(client.render(Out::Text));
    std::mem::forget(client);
}

/// Renders measured per case: a median of this many, fewer as the case grows.
fn renders(series: usize, ours: bool) -> usize {
    let (ours_renders, peer_renders) = match series {
        ..=2_000 => (41, 15),
        2_001..=20_000 => (21, 7),
        20_001..=200_000 => (11, 3),
        _ => (7, 3),
    };
    if ours { ours_renders } else { peer_renders }
}

/// The minor page faults of this process so far (`/proc/self/stat`, field 10).
pub fn minor_faults() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command's closing parenthesis, from field 3 on.
    stat.rsplit_once(") ")
        .and_then(|(_, fields)| fields.split_whitespace().nth(7)?.parse().ok())
        .unwrap_or(0)
}

/// Sample lines of a text exposition whose family is one of this benchmark's.
pub fn count_series(text: &[u8]) -> usize {
    std::str::from_utf8(text)
        .unwrap()
        .lines()
        .filter(|line| line.starts_with("scaling_"))
        .count()
}

/// Measures one case in this process and prints its `RESULT` line: `build` makes the
/// families and every series and says how long that took (ours: creating them; the peers:
/// creating them with their first value); `touch` then gives ours the same values.
pub fn measure(case: &str, combinations: usize, make: impl FnOnce() -> (Box<dyn Built>, Duration)) {
    let kind = Kind::parse(case.split('/').next().unwrap()).unwrap();
    let ours = case.contains("/ours");
    warm_up();
    let resident = crate::common::resident_bytes();
    let heap_before = LIVE.load(Ordering::SeqCst);
    let (mut built, build_time) = make();
    let heap = LIVE.load(Ordering::SeqCst).wrapping_sub(heap_before);
    let resident = crate::common::resident_bytes().saturating_sub(resident);
    let expected = combinations * kind.series_per_combination();
    let text = built.render(Out::Text).unwrap();
    let series = count_series(&text);
    assert_eq!(series, expected, "{case}: series in the text exposition");
    drop(text);
    let mut line = format!(
        "RESULT case={case} combinations={combinations} series={series} build_ns={} heap={heap} resident={resident}",
        build_time.as_nanos()
    );
    if let Some(cells) = built.cells() {
        let _ = write!(line, " cells={cells}");
    }
    let reps = renders(series, ours);
    let mut step = 0;
    for (format, name) in [
        (Out::Text, "text"),
        (Out::OpenMetrics, "openmetrics"),
        (Out::Protobuf, "protobuf"),
    ] {
        let mut times = Vec::with_capacity(reps);
        let mut cpu = Vec::with_capacity(reps);
        let mut bytes = 0;
        let faults = minor_faults();
        for _ in 0..reps {
            step += 1;
            built.step(step * 7919);
            let started = Instant::now();
            let started_cpu = crate::common::thread_cpu_time();
            let Some(out) = built.render(format) else {
                break;
            };
            cpu.push(crate::common::thread_cpu_time().saturating_sub(started_cpu));
            times.push(started.elapsed());
            bytes = out.len();
            drop(black_box(out));
        }
        if times.is_empty() {
            continue;
        }
        let faults = (minor_faults() - faults) / times.len() as u64;
        times.sort();
        cpu.sort();
        let _ = write!(
            line,
            " {name}_ns={} {name}_cpu_ns={} {name}_bytes={bytes} {name}_faults={faults}",
            times[times.len() / 2].as_nanos(),
            cpu[cpu.len() / 2].as_nanos()
        );
    }
    // What stays after the renders: buffers and caches the renders keep.
    let _ = write!(
        line,
        " retained={}",
        LIVE.load(Ordering::SeqCst).wrapping_sub(heap_before)
    );
    println!("{line}");
    drop(built);
}

/// Five instrumented functions `f0` to `f4`, labelled by the arguments given, with the
/// benchmark's buckets, and `call(function, combination)`; and the binary's `main`, which
/// measures the case `scaling` asks for.
#[macro_export]
macro_rules! functions {
    (combo: $combo:ty, pattern: $pat:pat, args $args:tt, max_series = $max:tt) => {
        $crate::functions!(@one f0 $args $max);
        $crate::functions!(@one f1 $args $max);
        $crate::functions!(@one f2 $args $max);
        $crate::functions!(@one f3 $args $max);
        $crate::functions!(@one f4 $args $max);
        $crate::functions!(@main $combo, $pat, $args);
    };
    (@one $name:ident ($($arg:ident: $ty:ty),+) $max:tt) => {
        #[instrument_metric::instrument_metric(
            name = "scaling",
            labels($($arg = $arg),+),
            buckets = [
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                10.0
            ],
            max_series = $max
        )]
        fn $name($($arg: $ty),+) -> Result<(), ()> {
            if std::hint::black_box(false) { Err(()) } else { Ok(()) }
        }
    };
    (@main $combo:ty, $pat:pat, ($($arg:ident: $ty:ty),+)) => {
        /// Calls function `function` (0 to 4) with combination `combo`.
        fn call(function: usize, combo: $combo) {
            let $pat = combo;
            let calls: [fn($($ty),+) -> Result<(), ()>; 5] = [f0, f1, f2, f3, f4];
            let _ = calls[function]($($arg),+);
        }

        fn main() {
            use kit::Combo as _;
            let Ok(case) = std::env::var(kit::CASE) else {
                println!(
                    "run by the `scaling` bench: cargo bench -p integration-tests --bench 'scaling*'"
                );
                return;
            };
            let combinations = kit::FUNCTIONS.len() * <$combo>::count();
            let module = module_path!();
            kit::measure(&case, combinations, || -> (Box<dyn kit::Built>, std::time::Duration) {
                let started = std::time::Instant::now();
                match case.rsplit('/').next() {
                    Some("ours" | "ours-kept") => {
                        let registry = instrument_metric::registry();
                        let elapsed = started.elapsed();
                        // Every series exists from the build; each gets a call, as the
                        // peers' get their first value.
                        for function in 0..kit::FUNCTIONS.len() {
                            for i in 0..<$combo>::count() {
                                call(function, <$combo>::nth(i));
                            }
                        }
                        let step = |i: usize| {
                            call(i % kit::FUNCTIONS.len(), <$combo>::nth(i % <$combo>::count()));
                        };
                        (Box::new(kit::Ours { registry, step }), elapsed)
                    }
                    Some("client") => {
                        let built = kit::Client::<$combo>::build(kit::Kind::Functions, module);
                        (Box::new(built), started.elapsed())
                    }
                    _ => {
                        let built = kit::Tikv::<$combo>::build(kit::Kind::Functions, module);
                        (Box::new(built), started.elapsed())
                    }
                }
            });
        }
    };
}
