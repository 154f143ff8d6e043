//! Declarations from every source a registry takes, drawn at random, applied to a registry,
//! and the checks that whatever was declared, every exposition of it is valid: shared by the
//! property tests of a scoped registry (`engine_exposition_scoped`) and of the global one
//! (`engine_exposition_global`).
//!
//! The sources: metrics registered by hand, collectors (values, no value, failures, panics,
//! negative counts, a label combination twice), `#[derive(Metrics)]` structs registered with
//! `register_in`, tikv registries attached with `attach_prometheus`, and constant labels. Names
//! are drawn from a small pool so that declarations clash often: the same name twice, `x_count`
//! beside a histogram `x`, a gauge `x` beside a counter `x_total`.
//!
//! Each case is checked against a model of the rules, written here from the formats rather
//! than from the runtime: a declaration is refused exactly when its name is not one its kind
//! may have, when it repeats a family with another declaration, when one of the names it
//! takes in an exposition (its samples', its OpenMetrics family name) is another family's, or
//! when one of its labels is a constant label. A registration the model accepts must be
//! accepted (so a registry that refused everything would fail), one it refuses must be an
//! error value listed by `check()`, and every value recorded must be read back exactly.

#![allow(dead_code)] // each test binary uses a part of it

mod checks;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Once;

pub use checks::check_registry;
use instrument_metric::{
    Conflict, Gauge, HistogramFamily, IntCounter, IntCounterFamily, IntGauge, IntGaugeFamily,
    LabelValue, Metrics, Registry,
};
use proptest::prelude::*;
use proptest::sample::select;

#[derive(Clone, Copy, Debug, LabelValue)]
pub enum Provider {
    Google,
    Microsoft,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, LabelValue)]
pub enum Region {
    Eu,
    Us,
}

/// Jobs: a counter family, a histogram family and a gauge.
#[derive(Metrics)]
#[metrics(scoped)]
pub struct JobMetrics {
    /// Jobs run, by provider.
    pub jobs_total: IntCounterFamily<Provider>,
    /// Time a job takes, by region.
    pub latency_seconds: HistogramFamily<Region>,
    /// Jobs waiting.
    pub queue_depth: IntGauge,
}

/// A gauge `jobs`, which an OpenMetrics scraper would read as the family of `jobs_total`.
#[derive(Metrics)]
#[metrics(scoped)]
pub struct SessionMetrics {
    /// Sessions open.
    pub sessions: Gauge,
    /// Jobs, as a gauge by region.
    pub jobs: IntGaugeFamily<Region>,
}

/// `jobs_total` again, without labels: disagrees with `JobMetrics`.
#[derive(Metrics)]
#[metrics(scoped)]
pub struct OtherJobs {
    /// Jobs run, in one series.
    pub jobs_total: IntCounter,
}

/// A metric's shape, as the test sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Shape {
    IntCounter,
    Counter,
    IntGauge,
    Gauge,
    Histogram,
}

/// A family's kind in an exposition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Shape {
    pub fn kind(self) -> Kind {
        match self {
            Shape::IntCounter | Shape::Counter => Kind::Counter,
            Shape::IntGauge | Shape::Gauge => Kind::Gauge,
            Shape::Histogram => Kind::Histogram,
        }
    }
}

/// What a collector's read function does.
#[derive(Clone, Debug)]
pub enum Behaviour {
    /// Returns this value.
    Value(f64),
    /// Returns `None`.
    Nothing,
    /// Returns `Err`.
    Fail,
    /// Panics.
    Panic,
}

/// A collector's kind.
#[derive(Clone, Debug)]
pub enum CollectorKind {
    Gauge(Behaviour),
    Counter(Behaviour),
    /// A gauge family by region: each series' value (`None`: no value), or a panic.
    GaugeFamily(Option<Vec<(Region, Option<f64>)>>),
}

/// A family registered in a tikv `prometheus::Registry`.
#[derive(Clone, Debug)]
pub struct TikvFamily {
    pub shape: Shape,
    pub name: String,
    pub help: String,
    /// Variable label names.
    pub labels: Vec<&'static str>,
    /// A constant label of the tikv family.
    pub constant: Option<(&'static str, String)>,
    /// Label values of each child, and the value recorded in it.
    pub children: Vec<(Vec<String>, f64)>,
}

/// One declaration.
#[derive(Clone, Debug)]
pub enum Decl {
    /// `Registry::int_counter` and the others, then one update with `value`.
    Hand {
        shape: Shape,
        name: String,
        help: String,
        buckets: Vec<f64>,
        value: f64,
    },
    /// `Registry::collect_gauge`, `collect_counter`, `collect_gauge_family`.
    Collector {
        name: String,
        help: String,
        kind: CollectorKind,
    },
    /// `register_in` of struct 0 (`JobMetrics`), 1 (`SessionMetrics`) or 2 (`OtherJobs`), then
    /// one increment of one series of each field.
    Struct(usize),
    /// A tikv registry, attached.
    Tikv(Vec<TikvFamily>),
}

/// A case: constant labels (`None` for none), and declarations in order.
#[derive(Clone, Debug)]
pub struct Case {
    pub constant: Vec<(&'static str, String)>,
    pub decls: Vec<Decl>,
}

const BASES: &[&str] = &[
    "jobs",
    "queue_depth",
    "latency_seconds",
    "http_requests",
    "sessions",
];
const SUFFIXES: &[&str] = &["", "", "_total", "_count", "_sum", "_bucket", "_created"];
const INVALID_NAMES: &[&str] = &[
    "",
    "9lives",
    "bad name",
    "__reserved",
    "dash-ed",
    "caf\u{e9}",
    "colon:ed",
];

/// Names of families the global registry holds before anything is registered: the HTTP
/// layer's, the exporter's, the instrumented functions'.
const CRATE_NAMES: &[&str] = &[
    "http_requests_total",
    "http_requests",
    "http_request_duration_seconds",
    "http_request_duration_seconds_count",
    "metrics_exporter_series",
    "metrics_catalog_conflicts",
    "metrics_collector_errors",
    "metrics_exporter_scrape_duration_seconds_sum",
    "function_calls_total",
    "function_calls",
    "function_calls_in_flight",
];

/// A metric name: mostly from the pool of clashing names, sometimes an invalid one, and for
/// the `global` registry, sometimes the name of one of the crate's families.
pub fn name(global: bool) -> BoxedStrategy<String> {
    let pool =
        (select(BASES), select(SUFFIXES)).prop_map(|(base, suffix)| format!("{base}{suffix}"));
    let invalid = select(INVALID_NAMES).prop_map(str::to_owned);
    if global {
        prop_oneof![
            6 => pool,
            1 => invalid,
            3 => select(CRATE_NAMES).prop_map(str::to_owned),
        ]
        .boxed()
    } else {
        prop_oneof![8 => pool, 1 => invalid].boxed()
    }
}

/// Text with what escaping must handle: quotes, backslashes, newlines, Unicode.
pub fn awkward_text() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[a-z \"\\\\\n{}=,\u{e9}\u{1F600}]{0,8}").unwrap()
}

/// A help text: never empty (promtool flags a family without help).
fn help() -> impl Strategy<Value = String> {
    awkward_text().prop_map(|text| format!("Help {text}"))
}

/// Any value a program may record, the awkward ones included.
fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        6 => (-1000i32..1000).prop_map(f64::from),
        3 => -1e6..1e6f64,
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(5e-324),
        1 => Just(1e300),
        1 => Just(-0.0),
    ]
}

fn behaviour() -> impl Strategy<Value = Behaviour> {
    prop_oneof![
        6 => value().prop_map(Behaviour::Value),
        1 => Just(Behaviour::Nothing),
        1 => Just(Behaviour::Fail),
        1 => Just(Behaviour::Panic),
    ]
}

fn shape() -> impl Strategy<Value = Shape> {
    select(vec![
        Shape::IntCounter,
        Shape::Counter,
        Shape::IntGauge,
        Shape::Gauge,
        Shape::Histogram,
    ])
}

fn buckets() -> impl Strategy<Value = Vec<f64>> {
    prop_oneof![
        3 => Just(Vec::new()),
        2 => Just(vec![0.1, 1.0, 10.0]),
        1 => Just(vec![-1.0, 0.0, 2.5]),
        1 => Just(vec![1.0, 1.0]),
        1 => Just(vec![2.0, 1.0]),
        1 => Just(vec![1.0, f64::INFINITY]),
        1 => Just(vec![f64::NAN]),
    ]
}

fn region() -> impl Strategy<Value = Region> {
    select(vec![Region::Eu, Region::Us])
}

fn collector_kind() -> impl Strategy<Value = CollectorKind> {
    let series =
        proptest::collection::vec((region(), proptest::option::weighted(0.9, value())), 0..4);
    prop_oneof![
        2 => behaviour().prop_map(CollectorKind::Gauge),
        2 => behaviour().prop_map(CollectorKind::Counter),
        2 => proptest::option::weighted(0.9, series).prop_map(CollectorKind::GaugeFamily),
    ]
}

fn tikv_family(global: bool) -> impl Strategy<Value = TikvFamily> {
    let labels = proptest::sample::subsequence(vec!["region", "kind", "le"], 0..=2);
    let constant = proptest::option::of((select(vec!["region", "env", "zone"]), awkward_text()));
    (shape(), name(global), help(), labels, constant)
        .prop_flat_map(|(shape, name, help, labels, constant)| {
            let count = labels.len();
            let children = proptest::collection::vec(
                (proptest::collection::vec(awkward_text(), count), value()),
                1..4,
            );
            (
                Just(shape),
                Just(name),
                Just(help),
                Just(labels),
                Just(constant),
                children,
            )
        })
        .prop_map(
            |(shape, name, help, labels, constant, children)| TikvFamily {
                shape,
                name,
                help,
                labels,
                constant,
                children,
            },
        )
}

/// One declaration from any source (with the crate's names for the `global` registry).
pub fn decl(global: bool) -> impl Strategy<Value = Decl> {
    prop_oneof![
        4 => (shape(), name(global), help(), buckets(), value()).prop_map(
            |(shape, name, help, buckets, value)| Decl::Hand { shape, name, help, buckets, value }
        ),
        3 => (name(global), help(), collector_kind())
            .prop_map(|(name, help, kind)| Decl::Collector { name, help, kind }),
        2 => (0..3usize).prop_map(Decl::Struct),
        1 => proptest::collection::vec(tikv_family(global), 1..4).prop_map(Decl::Tikv),
    ]
}

/// Constant labels: none, or some of a pool whose names collide with a struct's label
/// (`provider`), a collector's and a tikv family's (`region`), or nothing (`env`).
pub fn constant_labels() -> impl Strategy<Value = Vec<(&'static str, String)>> {
    prop_oneof![
        2 => Just(Vec::new()),
        3 => proptest::sample::subsequence(vec!["env", "provider", "region"], 1..=2).prop_flat_map(
            |names| {
                let count = names.len();
                (Just(names), proptest::collection::vec(awkward_text(), count))
            }
        ).prop_map(|(names, values)| names.into_iter().zip(values).collect()),
    ]
}

/// A case for a scoped registry.
pub fn case() -> impl Strategy<Value = Case> {
    (
        constant_labels(),
        proptest::collection::vec(decl(false), 1..16),
    )
        .prop_map(|(constant, decls)| Case { constant, decls })
}

/// Silences the panics of collectors (they are part of the test); others are reported.
pub fn quiet_collector_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let report = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().name() != Some("metrics-collector") {
                report(info);
            }
        }));
    });
}

// ---------------------------------------------------------------------------------------
// The model.

/// A family the model holds as accepted.
#[derive(Clone, Debug)]
struct Family {
    shape: Shape,
    /// What declared it: `hand`, `collector`, `struct`, `crate`.
    origin: &'static str,
    help: String,
    labels: Vec<&'static str>,
    buckets: Vec<f64>,
}

/// The names a family of `kind` named `name` takes in an exposition, in one namespace, as
/// OpenMetrics reads them: its family name (a counter's without `_total`) and every sample
/// name its type may have, `_created` included.
pub fn taken_names(kind: Kind, name: &str) -> Vec<String> {
    let suffixes: &[&str] = match kind {
        Kind::Counter => &["", "_total", "_created"],
        Kind::Gauge => &[""],
        Kind::Histogram => &["", "_bucket", "_sum", "_count", "_created"],
    };
    let family = match kind {
        Kind::Counter => name.strip_suffix("_total").unwrap_or(name),
        _ => name,
    };
    let mut names: Vec<String> = suffixes
        .iter()
        .map(|suffix| format!("{family}{suffix}"))
        .collect();
    // The text format's sample of a counter not named `..._total`.
    names.push(name.to_owned());
    names
}

/// Whether `name` is one a family of `kind` registered at run time may have: Prometheus'
/// characters (no colon), no leading `__`, `_total` for a counter and only for a counter, no
/// suffix a histogram's samples take.
pub fn valid_name(kind: Kind, name: &str) -> bool {
    let mut chars = name.chars();
    let start = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !start || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') || name.starts_with("__") {
        return false;
    }
    let total = name.ends_with("_total");
    match kind {
        Kind::Counter => total,
        Kind::Gauge | Kind::Histogram => {
            !total
                && !["_count", "_sum", "_bucket", "_created"]
                    .iter()
                    .any(|suffix| name.ends_with(suffix))
        }
    }
}

/// What the model expects of a registry, updated declaration by declaration.
#[derive(Default)]
pub struct Model {
    constant: Vec<(&'static str, String)>,
    families: BTreeMap<String, Family>,
    /// Every name taken, with the family that took it.
    taken: HashMap<String, String>,
    /// Expected values of the series of families registered by hand (no labels).
    hand_values: HashMap<String, Expected>,
    /// Collectors accepted, with the series each shows (none when it is left out).
    collected: HashMap<String, Series>,
    /// Struct fields accepted.
    fields: HashMap<String, FieldState>,
    /// The tikv registries attached, each with the families tikv accepted, by name (the
    /// order they are gathered in).
    tikv_attached: Vec<BTreeMap<String, Vec<TikvFamily>>>,
    /// Tikv families whose names break the naming practice, or that have a label `le` without
    /// being histograms: promtool may flag them (tikv accepts them, and so does Prometheus).
    pub tikv_off_practice: HashSet<String>,
    /// Every error value a registration returned.
    pub errors: Vec<Conflict>,
    /// The fields of each struct refused when it was first registered: registering it again
    /// refuses the same fields with the same conflicts, which the registry reports once.
    struct_refused: HashMap<usize, HashSet<String>>,
}

/// Label names and values.
pub type Labels = BTreeMap<String, String>;

/// The series of a family: labels (without the constant labels) and values.
pub type Series = Vec<(Labels, f64)>;

/// What a scrape shows of an accepted field of a struct.
#[derive(Debug)]
struct FieldState {
    /// The number of series.
    series: usize,
    /// The series each registration touches, and how many times it was touched.
    touched: Labels,
    touches: u64,
}

/// The expected value of a series registered by hand.
#[derive(Clone, Copy, Debug)]
enum Expected {
    Value(f64),
    /// A histogram's count.
    Count(u64),
}

impl Model {
    /// A model of an empty registry with constant labels `constant`, or of the global one,
    /// which starts with the crate's own families (`builtin`).
    pub fn new(
        constant: Vec<(&'static str, String)>,
        builtin: &[(String, Kind, Vec<&'static str>)],
    ) -> Self {
        let mut model = Model {
            constant,
            ..Model::default()
        };
        for (name, kind, labels) in builtin {
            let shape = match kind {
                Kind::Counter => Shape::IntCounter,
                Kind::Gauge => Shape::Gauge,
                Kind::Histogram => Shape::Histogram,
            };
            model.insert(
                name,
                Family {
                    shape,
                    origin: "crate",
                    help: String::new(),
                    labels: labels.clone(),
                    buckets: Vec::new(),
                },
            );
        }
        model
    }

    fn insert(&mut self, name: &str, family: Family) {
        for taken in taken_names(family.shape.kind(), name) {
            self.taken.entry(taken).or_insert_with(|| name.to_owned());
        }
        self.families.insert(name.to_owned(), family);
    }

    /// Whether a family `name` declared as `family` is accepted: `Some(true)` for a new
    /// family, `Some(false)` for the same declaration again (it shares the series), `None`
    /// when it is refused.
    fn accepts(&self, name: &str, family: &Family, shares: bool) -> Option<bool> {
        if !valid_name(family.shape.kind(), name) {
            return None;
        }
        if let Some(first) = self.families.get(name) {
            let same = shares
                && first.shape == family.shape
                && first.origin == family.origin
                && first.help == family.help
                && first.labels == family.labels
                && first.buckets == family.buckets;
            return same.then_some(false);
        }
        let clash = taken_names(family.shape.kind(), name)
            .iter()
            .any(|taken| self.taken.contains_key(taken));
        let constant = family.labels.iter().any(|label| self.is_constant(label));
        (!clash && !constant).then_some(true)
    }

    fn is_constant(&self, label: &str) -> bool {
        self.constant.iter().any(|(name, _)| *name == label)
    }
}

// ---------------------------------------------------------------------------------------
// Applying a case to a registry.

/// What `registry.check()` lists now.
pub fn conflicts(registry: &Registry) -> Vec<Conflict> {
    registry
        .check()
        .err()
        .map(|e| e.conflicts)
        .unwrap_or_default()
}

fn hand_family(shape: Shape, help: &str, buckets: &[f64]) -> Family {
    Family {
        shape,
        origin: "hand",
        help: help.to_owned(),
        labels: Vec::new(),
        buckets: buckets.to_vec(),
    }
}

/// Registers `decl` in `registry` and in the model; an error when the registry and the model
/// disagree on whether it is accepted.
pub fn apply(registry: &Registry, model: &mut Model, decl: &Decl) -> Result<(), TestCaseError> {
    match decl {
        Decl::Hand {
            shape,
            name,
            help,
            buckets,
            value,
        } => apply_hand(registry, model, *shape, name, help, buckets, *value),
        Decl::Collector { name, help, kind } => apply_collector(registry, model, name, help, kind),
        Decl::Struct(which) => apply_struct(registry, model, *which),
        Decl::Tikv(families) => {
            apply_tikv(registry, model, families);
            Ok(())
        }
    }
}

fn apply_hand(
    registry: &Registry,
    model: &mut Model,
    shape: Shape,
    name: &str,
    help: &str,
    buckets: &[f64],
    value: f64,
) -> Result<(), TestCaseError> {
    // Only a histogram has buckets.
    let buckets = if shape == Shape::Histogram {
        buckets
    } else {
        &[]
    };
    let valid_buckets =
        buckets.iter().all(|b| b.is_finite()) && buckets.windows(2).all(|pair| pair[0] < pair[1]);
    let family = hand_family(shape, help, buckets);
    let expected = if valid_buckets {
        model.accepts(name, &family, true)
    } else {
        None
    };
    // One update, and what it should leave in the series.
    let (result, update): (Result<(), Conflict>, Expected) = match shape {
        Shape::IntCounter => {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let amount = value.abs().min(1e9) as u64;
            let result = registry.int_counter(name, help).map(|m| m.inc_by(amount));
            #[allow(clippy::cast_precision_loss)]
            (result, Expected::Value(amount as f64))
        }
        Shape::Counter => {
            let result = registry.counter(name, help).map(|m| m.inc_by(value));
            // A negative or NaN amount is ignored.
            let added = if value >= 0.0 { value } else { 0.0 };
            (result, Expected::Value(added))
        }
        Shape::IntGauge => {
            #[allow(clippy::cast_possible_truncation)]
            let set = value as i64;
            let result = registry.int_gauge(name, help).map(|m| m.set(set));
            #[allow(clippy::cast_precision_loss)]
            (result, Expected::Value(set as f64))
        }
        Shape::Gauge => {
            let result = registry.gauge(name, help).map(|m| m.set(value));
            (result, Expected::Value(value))
        }
        Shape::Histogram => {
            let result = registry
                .histogram(name, help, buckets)
                .map(|m| m.observe(value));
            // A NaN observation is ignored, so that `_sum` and `_count` stay in OpenMetrics.
            (result, Expected::Count(u64::from(!value.is_nan())))
        }
    };
    check_result(model, name, &result, expected)?;
    if let Some(new) = expected {
        if new {
            model.insert(name, family);
            model.hand_values.insert(name.to_owned(), update);
        } else {
            let entry = model.hand_values.get_mut(name).expect("registered before");
            *entry = match (*entry, update) {
                // Gauges are set, counters and histograms add up.
                (Expected::Value(_), Expected::Value(new)) if shape.kind() == Kind::Gauge => {
                    Expected::Value(new)
                }
                (Expected::Value(old), Expected::Value(new)) => Expected::Value(old + new),
                (Expected::Count(old), Expected::Count(new)) => Expected::Count(old + new),
                (old, _) => old,
            };
        }
    }
    Ok(())
}

/// Compares a registration's result with the model's expectation, and keeps its error.
fn check_result(
    model: &mut Model,
    name: &str,
    result: &Result<(), Conflict>,
    expected: Option<bool>,
) -> Result<(), TestCaseError> {
    match (result, expected) {
        (Ok(()), Some(_)) => Ok(()),
        (Err(conflict), None) => {
            prop_assert_eq!(&conflict.family, name);
            model.errors.push(conflict.clone());
            Ok(())
        }
        (Ok(()), None) => Err(TestCaseError::fail(format!(
            "`{name}` was accepted, but the model refuses it: {:#?}",
            model.families
        ))),
        (Err(conflict), Some(_)) => Err(TestCaseError::fail(format!(
            "`{name}` was refused, but the model accepts it: {conflict}"
        ))),
    }
}

fn read(behaviour: &Behaviour) -> Option<f64> {
    match behaviour {
        Behaviour::Value(value) => Some(*value),
        Behaviour::Nothing | Behaviour::Fail => None,
        Behaviour::Panic => panic!("a collector that panics"),
    }
}

/// `Ok(None)` for `Nothing`, `Err` for `Fail`: what `read` returns.
fn read_result(behaviour: &Behaviour) -> Result<Option<f64>, &'static str> {
    match behaviour {
        Behaviour::Fail => Err("the source is unreachable"),
        other => Ok(read(other)),
    }
}

fn apply_collector(
    registry: &Registry,
    model: &mut Model,
    name: &str,
    help: &str,
    kind: &CollectorKind,
) -> Result<(), TestCaseError> {
    let (shape, labels) = match kind {
        CollectorKind::Gauge(_) => (Shape::Gauge, Vec::new()),
        CollectorKind::Counter(_) => (Shape::Counter, Vec::new()),
        CollectorKind::GaugeFamily(_) => (Shape::Gauge, vec!["region"]),
    };
    let family = Family {
        shape,
        origin: "collector",
        help: help.to_owned(),
        labels,
        buckets: Vec::new(),
    };
    let expected = model.accepts(name, &family, false);
    // What a scrape should show of it: its series, none when it is left out.
    let shown: Series = match kind {
        CollectorKind::Gauge(Behaviour::Value(value)) => vec![(Labels::new(), *value)],
        // A count is never negative, never NaN.
        CollectorKind::Counter(Behaviour::Value(value)) if *value >= 0.0 => {
            vec![(Labels::new(), *value)]
        }
        CollectorKind::Gauge(_) | CollectorKind::Counter(_) => Vec::new(),
        CollectorKind::GaugeFamily(series) => {
            let series = series.as_deref().unwrap_or_default();
            let mut seen = HashSet::new();
            let unique = series.iter().all(|(region, _)| seen.insert(*region));
            let values: Option<Series> = series
                .iter()
                .map(|(region, value)| {
                    value.map(|value| {
                        let label = ("region".to_owned(), region.as_label().to_owned());
                        (Labels::from([label]), value)
                    })
                })
                .collect();
            values.filter(|_| unique).unwrap_or_default()
        }
    };
    let result = match kind.clone() {
        CollectorKind::Gauge(behaviour) => {
            registry.collect_gauge(name, help, move || read_result(&behaviour))
        }
        CollectorKind::Counter(behaviour) => {
            registry.collect_counter(name, help, move || read_result(&behaviour))
        }
        CollectorKind::GaugeFamily(series) => {
            registry.collect_gauge_family(name, help, move || {
                series.clone().expect("a collector that panics")
            })
        }
    };
    check_result(model, name, &result, expected)?;
    if expected.is_some() {
        model.insert(name, family);
        model.collected.insert(name.to_owned(), shown);
    }
    Ok(())
}

/// A field of a struct: family, shape, labels, number of series, and the series its touch
/// increments.
struct Field {
    name: &'static str,
    shape: Shape,
    help: &'static str,
    labels: Vec<&'static str>,
    series: usize,
    touched: Vec<(&'static str, &'static str)>,
}

fn struct_fields(which: usize) -> Vec<Field> {
    let field = |name, shape, help, labels: &[&'static str], series, touched: &[_]| Field {
        name,
        shape,
        help,
        labels: labels.to_vec(),
        series,
        touched: touched.to_vec(),
    };
    match which {
        0 => vec![
            field(
                "jobs_total",
                Shape::IntCounter,
                "Jobs run, by provider.",
                &["provider"],
                2,
                &[("provider", "google")],
            ),
            field(
                "latency_seconds",
                Shape::Histogram,
                "Time a job takes, by region.",
                &["region"],
                2,
                &[("region", "eu")],
            ),
            field("queue_depth", Shape::IntGauge, "Jobs waiting.", &[], 1, &[]),
        ],
        1 => vec![
            field("sessions", Shape::Gauge, "Sessions open.", &[], 1, &[]),
            field(
                "jobs",
                Shape::IntGauge,
                "Jobs, as a gauge by region.",
                &["region"],
                2,
                &[("region", "us")],
            ),
        ],
        _ => vec![field(
            "jobs_total",
            Shape::IntCounter,
            "Jobs run, in one series.",
            &[],
            1,
            &[],
        )],
    }
}

fn apply_struct(registry: &Registry, model: &mut Model, which: usize) -> Result<(), TestCaseError> {
    let before = conflicts(registry).len();
    // Register, and touch one series of each field once.
    match which {
        0 => {
            let metrics = JobMetrics::register_in(registry);
            metrics.jobs_total.with(Provider::Google).inc();
            metrics.latency_seconds.with(Region::Eu).observe(0.25);
            metrics.queue_depth.inc();
        }
        1 => {
            let metrics = SessionMetrics::register_in(registry);
            metrics.sessions.inc();
            metrics.jobs.with(Region::Us).inc();
        }
        _ => OtherJobs::register_in(registry).jobs_total.inc(),
    }
    let new = conflicts(registry);
    let refused = model
        .struct_refused
        .entry(which)
        .or_insert_with(|| {
            new[before..]
                .iter()
                .map(|conflict| conflict.family.clone())
                .collect()
        })
        .clone();
    for field in struct_fields(which) {
        let family = Family {
            shape: field.shape,
            origin: "struct",
            help: field.help.to_owned(),
            labels: field.labels.clone(),
            buckets: Vec::new(),
        };
        let expected = model.accepts(field.name, &family, true);
        let accepted = !refused.contains(field.name);
        prop_assert_eq!(
            accepted,
            expected.is_some(),
            "field `{}` of struct {}: accepted by the registry, by the model",
            field.name,
            which
        );
        match expected {
            Some(true) => {
                model.insert(field.name, family);
                let touched = field
                    .touched
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect();
                let state = FieldState {
                    series: field.series,
                    touched,
                    touches: 1,
                };
                model.fields.insert(field.name.to_owned(), state);
            }
            Some(false) => {
                let state = model.fields.get_mut(field.name);
                state.expect("registered before").touches += 1;
            }
            None => {}
        }
    }
    Ok(())
}

/// Builds a tikv registry with `families` (those tikv accepts) and attaches it. Which of its
/// families a scrape writes is decided at the scrape ([`Model::tikv_outcome`]).
///
/// tikv registers families of one name that differ only in their constant labels' values,
/// and gathers them into one. Of one type, that is one family with the series of both; of
/// two, which type it has depends on tikv's hashing, and the runtime leaves it out once one
/// of its series has a value (`gathered.rs` tests it): a family of a name already taken by
/// another type is not registered here.
fn apply_tikv(registry: &Registry, model: &mut Model, families: &[TikvFamily]) {
    let tikv = prometheus::Registry::new();
    let mut accepted: BTreeMap<String, Vec<TikvFamily>> = BTreeMap::new();
    for family in families {
        let kind = family.shape.kind();
        let same_name = accepted.get(&family.name).and_then(|group| group.first());
        if same_name.is_some_and(|other| other.shape.kind() != kind) {
            continue;
        }
        // tikv gathers no family without a series.
        if register_tikv(&tikv, family).is_ok() && !tikv_series(family).is_empty() {
            if !valid_name(kind, &family.name) || family.labels.contains(&"le") {
                model.tikv_off_practice.insert(family.name.clone());
            }
            let group = accepted.entry(family.name.clone()).or_default();
            group.push(family.clone());
        }
    }
    registry.attach_prometheus(tikv);
    model.tikv_attached.push(accepted);
}

/// The series of each gathered family that a scrape writes.
type TikvExported = BTreeMap<String, (Kind, Series)>;

impl Model {
    /// The gathered tikv families a scrape writes, with their series, and those it leaves out
    /// (reported by `check()`): in gather order, a family is left out when it is named like a
    /// family of the registry, when it takes a name that one of them or a gathered family
    /// written before takes, or when one of its labels is a constant label.
    fn tikv_outcome(&self) -> (TikvExported, BTreeSet<String>) {
        let mut exported = BTreeMap::new();
        let mut refused = BTreeSet::new();
        let mut written: HashSet<String> = HashSet::new();
        for (name, group) in self.tikv_attached.iter().flatten() {
            let kind = group[0].shape.kind();
            let taken = taken_names(kind, name);
            let labels = group.iter().flat_map(|family| {
                let constant = family.constant.as_ref().map(|(label, _)| *label);
                family.labels.iter().copied().chain(constant)
            });
            let label_twice = group.iter().any(|family| {
                (family.constant.as_ref()).is_some_and(|(label, _)| family.labels.contains(label))
            });
            let clash = self.families.contains_key(name)
                || taken
                    .iter()
                    .any(|taken| self.taken.contains_key(taken) || written.contains(taken))
                || labels.into_iter().any(|label| self.is_constant(label))
                || label_twice;
            if clash {
                refused.insert(name.clone());
            } else {
                written.extend(taken);
                let series = group.iter().flat_map(tikv_series).collect();
                exported.insert(name.clone(), (kind, series));
            }
        }
        (exported, refused)
    }
}

/// The series a gathered tikv family shows (a histogram's: its count): tikv keeps one child
/// per label values, where the last value set wins for a gauge and values add up for a
/// counter.
#[allow(clippy::cast_precision_loss)]
fn tikv_series(family: &TikvFamily) -> Series {
    let mut series: BTreeMap<BTreeMap<String, String>, f64> = BTreeMap::new();
    for (values, value) in &family.children {
        if family.shape == Shape::Counter && value.is_nan() {
            // Never recorded (see `register_tikv`).
            continue;
        }
        let mut set: BTreeMap<String, String> = family
            .labels
            .iter()
            .map(|label| (*label).to_owned())
            .zip(values.iter().cloned())
            .collect();
        if let Some((label, value)) = &family.constant {
            set.insert((*label).to_owned(), value.clone());
        }
        let entry = series.entry(set).or_insert(0.0);
        match family.shape {
            Shape::IntCounter => *entry += tikv_count(*value) as f64,
            Shape::Counter => *entry += value.abs(),
            Shape::IntGauge => *entry = tikv_int(*value) as f64,
            Shape::Gauge => *entry = *value,
            Shape::Histogram => *entry += 1.0,
        }
    }
    series.into_iter().collect()
}

#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn tikv_count(value: f64) -> u64 {
    value.abs().min(1e9) as u64
}

#[allow(clippy::cast_possible_truncation)]
fn tikv_int(value: f64) -> i64 {
    value as i64
}

fn register_tikv(tikv: &prometheus::Registry, family: &TikvFamily) -> prometheus::Result<()> {
    use prometheus::{HistogramOpts, Opts};
    let mut opts = Opts::new(family.name.clone(), family.help.clone());
    if let Some((label, value)) = &family.constant {
        opts = opts.const_label(*label, value.clone());
    }
    let labels = &family.labels;
    let values = |values: &[String]| -> Vec<String> { values.to_vec() };
    match family.shape {
        Shape::IntCounter => {
            let vec = prometheus::IntCounterVec::new(opts, labels)?;
            tikv.register(Box::new(vec.clone()))?;
            for (labels, value) in &family.children {
                vec.get_metric_with_label_values(&values(labels))?
                    .inc_by(tikv_count(*value));
            }
        }
        Shape::Counter => {
            let vec = prometheus::CounterVec::new(opts, labels)?;
            tikv.register(Box::new(vec.clone()))?;
            for (labels, value) in &family.children {
                // tikv panics on a negative increment; a NaN one is skipped here.
                if !value.is_nan() {
                    vec.get_metric_with_label_values(&values(labels))?
                        .inc_by(value.abs());
                }
            }
        }
        Shape::IntGauge => {
            let vec = prometheus::IntGaugeVec::new(opts, labels)?;
            tikv.register(Box::new(vec.clone()))?;
            for (labels, value) in &family.children {
                vec.get_metric_with_label_values(&values(labels))?
                    .set(tikv_int(*value));
            }
        }
        Shape::Gauge => {
            let vec = prometheus::GaugeVec::new(opts, labels)?;
            tikv.register(Box::new(vec.clone()))?;
            for (labels, value) in &family.children {
                vec.get_metric_with_label_values(&values(labels))?
                    .set(*value);
            }
        }
        Shape::Histogram => {
            let vec = prometheus::HistogramVec::new(HistogramOpts::from(opts), labels)?;
            tikv.register(Box::new(vec.clone()))?;
            for (labels, value) in &family.children {
                vec.get_metric_with_label_values(&values(labels))?
                    .observe(*value);
            }
        }
    }
    Ok(())
}

/// The families of the global registry's catalog, for [`Model::new`].
pub fn catalog_families() -> Vec<(String, Kind, Vec<&'static str>)> {
    instrument_metric::catalog()
        .families
        .iter()
        .map(|family| {
            let kind = match family.kind {
                instrument_metric::MetricKind::Counter => Kind::Counter,
                instrument_metric::MetricKind::Gauge => Kind::Gauge,
                instrument_metric::MetricKind::Histogram => Kind::Histogram,
            };
            (family.name.to_owned(), kind, family.labels.clone())
        })
        .collect()
}
