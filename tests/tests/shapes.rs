//! Every function shape the attribute supports, compiled under the strictest lints (so the
//! generated code adds no warning or clippy lint) and checked for its `function` label.
#![deny(warnings, clippy::all, clippy::pedantic)]
#![allow(
    unsafe_code,
    clippy::unused_async,
    clippy::unnecessary_wraps,
    clippy::needless_pass_by_value
)]

use std::fmt::Display;
use std::sync::Arc;

use instrument_metric::instrument_metric;
use integration_tests::Exposition;

/// A counter of things.
#[derive(Default)]
struct Counter {
    count: u64,
}

impl Counter {
    #[instrument_metric]
    fn get(&self) -> u64 {
        self.count
    }

    #[instrument_metric]
    fn bump(&mut self) -> &mut Self {
        self.count += 1;
        self
    }

    #[instrument_metric]
    fn into_count(self) -> u64 {
        self.count
    }

    #[instrument_metric(function = "Counter::shared")]
    fn shared(self: Arc<Self>) -> u64 {
        self.count
    }
}

/// Every method is instrumented as `Store::method`.
#[instrument_metric]
impl Store {
    fn new() -> Self {
        Store { items: Vec::new() }
    }

    fn insert(&mut self, item: &str) -> Result<usize, String> {
        if item.is_empty() {
            return Err("empty".to_owned());
        }
        self.items.push(item.to_owned());
        Ok(self.items.len())
    }

    async fn count(&self) -> usize {
        self.items.len()
    }

    #[instrument_metric(name = "store_lookups", in_flight)]
    fn first(&self) -> Option<&str> {
        self.items.first().map(String::as_str)
    }

    const fn limit() -> usize {
        10
    }
}

struct Store {
    items: Vec<String>,
}

trait Greeter {
    fn greet(&self, name: &str) -> String;
    async fn greet_later(&self, name: &str) -> String;
    /// Default methods can be instrumented too.
    #[instrument_metric(function = "Greeter::wave")]
    fn wave(&self) -> &'static str {
        "wave"
    }
}

struct English;

impl Greeter for English {
    #[instrument_metric(function = "English::greet")]
    fn greet(&self, name: &str) -> String {
        format!("hello {name}")
    }

    #[instrument_metric(function = "English::greet_later")]
    async fn greet_later(&self, name: &str) -> String {
        self.greet(name)
    }
}

#[instrument_metric]
fn longest<'a, T>(items: &'a [T]) -> Option<&'a T>
where
    T: Ord,
{
    items.iter().max()
}

#[instrument_metric]
fn show(value: impl Display) -> impl Display {
    format!("<{value}>")
}

#[instrument_metric]
fn numbers(limit: u32) -> impl Iterator<Item = u32> {
    (0..limit).filter(|n| n % 2 == 0)
}

#[instrument_metric]
fn collect_into(limit: u32) -> Vec<u32> {
    (0..limit).collect()
}

#[instrument_metric]
fn convert(value: &str) -> Result<u32, Box<dyn std::error::Error>> {
    Ok(value.parse::<u32>()?)
}

/// # Safety
///
/// `pointer` must be valid for reads.
#[instrument_metric]
unsafe fn read(pointer: *const u32) -> u32 {
    // SAFETY: the caller promises that `pointer` is valid.
    unsafe { *pointer }
}

#[must_use]
#[inline]
#[instrument_metric]
fn kept_attributes() -> u32 {
    3
}

#[cold]
#[instrument_metric]
fn tracked() -> u32 {
    4
}

#[instrument_metric]
extern "C" fn with_abi(x: u32) -> u32 {
    x + 1
}

#[instrument_metric]
async fn generic_async<T: Display + Send>(value: T) -> String {
    tokio::task::yield_now().await;
    value.to_string()
}

#[instrument_metric]
fn r#match() -> bool {
    true
}

fn functions_seen() -> Vec<String> {
    let exposition = Exposition::parse(&instrument_metric::render()).unwrap();
    let mut seen: Vec<String> = exposition
        .series("function_calls_total")
        .filter(|sample| sample.labels["result"] == "ok" && sample.value > 0.0)
        .map(|sample| sample.labels["function"].clone())
        .collect();
    seen.sort();
    seen
}

#[tokio::test]
async fn every_shape_records_under_its_name() {
    let mut counter = Counter::default();
    counter.bump().bump();
    assert_eq!(counter.get(), 2);
    assert_eq!(Arc::new(Counter { count: 5 }).shared(), 5);
    assert_eq!(counter.into_count(), 2);

    let mut store = Store::new();
    assert_eq!(store.insert("a"), Ok(1));
    assert!(store.insert("").is_err());
    assert_eq!(store.count().await, 1);
    assert_eq!(store.first(), Some("a"));
    assert_eq!(Store::limit(), 10);

    let english = English;
    assert_eq!(english.greet("bob"), "hello bob");
    assert_eq!(english.greet_later("ann").await, "hello ann");
    assert_eq!(english.wave(), "wave");

    assert_eq!(longest(&[3, 9, 2]), Some(&9));
    assert_eq!(show(5).to_string(), "<5>");
    assert_eq!(numbers(5).collect::<Vec<_>>(), vec![0, 2, 4]);
    assert_eq!(collect_into(3), vec![0, 1, 2]);
    assert_eq!(convert("12").unwrap(), 12);
    assert!(convert("x").is_err());
    let value = 7;
    // SAFETY: `value` lives for the whole call.
    assert_eq!(unsafe { read(&raw const value) }, 7);
    assert_eq!(kept_attributes(), 3);
    assert_eq!(tracked(), 4);
    assert_eq!(with_abi(1), 2);
    assert_eq!(generic_async(8).await, "8");
    assert!(r#match());

    // Methods are named after their type wherever the attribute sits (tests/function_names.rs
    // pins every shape of the name).
    let expected = [
        "Counter::bump",
        "Counter::get",
        "Counter::into_count",
        "Counter::shared",
        "English::greet",
        "English::greet_later",
        "Greeter::wave",
        "Store::count",
        "Store::insert",
        "Store::new",
        "collect_into",
        "convert",
        "generic_async",
        "kept_attributes",
        "longest",
        "match",
        "numbers",
        "read",
        "show",
        "tracked",
        "with_abi",
    ];
    assert_eq!(functions_seen(), expected);

    let exposition = Exposition::parse(&instrument_metric::render()).unwrap();
    let store_labels = [
        ("function", "Store::first"),
        ("module", "shapes"),
        ("result", "ok"),
    ];
    assert_eq!(exposition.count("store_lookups_total", &store_labels), 1);
    let insert_error = [
        ("function", "Store::insert"),
        ("module", "shapes"),
        ("result", "error"),
    ];
    assert_eq!(exposition.count("function_calls_total", &insert_error), 1);
    instrument_metric::check().unwrap();
}
