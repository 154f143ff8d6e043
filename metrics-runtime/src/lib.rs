//! Compile-time checked Prometheus instrumentation for Rust services.
//!
//! Annotate a function with [`instrument_metric`] and every call is counted by outcome and
//! timed; the metrics are registered in [`registry`] before the first call, and
//! [`axum::router`] serves them on `GET /metrics` for Prometheus to scrape.
//!
//! ```
//! use instrument_metric::instrument_metric;
//!
//! #[derive(Debug)]
//! struct NoCredit;
//!
//! /// Sends one SMS.
//! #[instrument_metric(name = "sms_send")]
//! fn send_sms(to: &str) -> Result<(), NoCredit> {
//!     if to.is_empty() { Err(NoCredit) } else { Ok(()) }
//! }
//!
//! fn main() {
//!     send_sms("+15550100").unwrap();
//!     send_sms("").unwrap_err();
//!
//!     // sms_send_total{function="send_sms",module="...",result="ok"} 1
//!     // sms_send_total{function="send_sms",module="...",result="error"} 1
//!     // sms_send_duration_seconds_count{function="send_sms",module="..."} 2
//!     let text = instrument_metric::render();
//!     let sample = |prefix: &str, suffix: &str| {
//!         text.lines().any(|line| line.starts_with(prefix) && line.ends_with(suffix))
//!     };
//!     assert!(sample(r#"sms_send_total{function="send_sms""#, r#"result="ok"} 1"#));
//!     assert!(sample(r#"sms_send_total{function="send_sms""#, r#"result="error"} 1"#));
//!     assert!(sample(r#"sms_send_duration_seconds_count{function="send_sms""#, "} 2"));
//! }
//! ```
//!
//! # What a call records
//!
//! Without arguments, `#[instrument_metric]` records into families shared by every annotated
//! function:
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `function_calls_total` | counter | `function`, `module`, `result` |
//! | `function_calls_duration_seconds` | histogram | `function`, `module` |
//! | `function_calls_in_flight` (with `in_flight`) | gauge | `function`, `module` |
//! | `function_calls_errors_total` (with `error_kinds`) | counter | `function`, `module`, `kind` |
//!
//! `result` is `ok` or `error` for a function returning a `Result` (through any alias), `ok`
//! for any other return, `panic` when the body panics (the panic goes on), and `cancelled`
//! when the future of an `async fn` is dropped before it completes; an HTTP response (or a
//! `(StatusCode, _)`, or a `Result` of either) is `error` for a 5xx status, and `ok_if` /
//! `error_if` let a predicate decide for any other type. Every outcome a function
//! can have is exported at 0 from the start. An `async fn` is timed from its first poll.
//!
//! ## The `function` label
//!
//! Every distinct function has its own series. The `function` label is the function's path as
//! the compiler knows it, wherever the attribute sits (on the function or on its `impl`
//! block), without module paths, closures or unnamed generic parameters; `module` is the
//! module the function is declared in:
//!
//! | declared as | `function` |
//! |---|---|
//! | `fn send_sms()` | `send_sms` |
//! | `impl UserRepo { fn get() }` | `UserRepo::get` |
//! | `impl<T> Cache<T> { fn first() }` | `Cache::first` |
//! | `impl Cache<u8> { fn bytes() }` | `Cache<u8>::bytes` |
//! | `impl From<Celsius> for Kelvin { fn from() }` | `<Kelvin as From<Celsius>>::from` |
//! | `impl<T: Display> Describe for T { fn describe() }` | `<_ as Describe>::describe` |
//! | a default method of `trait Named` | `Named::name` |
//! | an `async fn`, an `#[async_trait]` method | as any other function |
//!
//! Where two functions of one family and module would get the same value (two types named
//! alike in two modules, their methods written in a third), both keep their whole paths
//! (`app::a::Item::len`). `function = "..."` sets the value yourself.
//!
//! ## Futures that are not `async fn`
//!
//! A function that returns `impl Future`, `impl IntoFuture`, `Pin<Box<dyn Future>>`,
//! `BoxFuture` or `LocalBoxFuture` (the form `#[async_trait]` gives its methods, in either
//! order with this attribute) is recorded like an `async fn`: the call is timed from the first
//! poll of the future to its completion, `result` comes from the future's output, a future
//! dropped after its first poll is `cancelled`, and a panic while polling is `panic`. A
//! future that is never polled is not a call. The boxed forms are boxed once more per call
//! (one allocation of a few dozen bytes; PERFORMANCE.md has the cost). A function returning
//! any other type that implements `Future` (a named future type, a `JoinHandle`) is timed
//! until it returns, like any function: make it an `async fn`, or return `impl Future`.
//!
//! A body that can leave early (a `return`, a `?`, or a macro call, which may expand to
//! either) runs in a closure, or in an `async` block for an `async fn`, so that the value it
//! leaves with is the one recorded; any other body is bound as written, which is cheaper to
//! build. Either way the call is timed until the body has its value.
//!
//! `#[track_caller]` is refused: the body may run in a closure, where `Location::caller()`
//! would report the function's own line rather than its caller's.
//!
//! # Arguments
//!
//! [`instrument_metric`] lists every argument with an example: own family names (`name`,
//! `counter`, `histogram`, `help`), `function`, static and dynamic labels
//! (`labels(key = "value", key = argument)`), `buckets` (and `long_running`), `max_series`,
//! `in_flight`, `native_histogram` and `crate`. Each is checked at compile time, with an error
//! on the offending token.
//!
//! # Native histograms, exemplars, created timestamps
//!
//! With the `protobuf` feature, `/metrics` answers a scraper that asks for the protobuf
//! exposition (Prometheus with native histograms on) with it, for every family; it carries:
//!
//! - **native histograms** (sparse exponential buckets: [`native_histogram`]), for the
//!   histograms that ask for one: `native_histogram` in [`instrument_metric`] or in a
//!   [`Metrics`] field's `#[metric(...)]`,
//!   [`HttpMetricsLayer::native_histograms`](crate::integrations::axum::HttpMetricsLayer::native_histograms),
//!   or every histogram with [`set_native_histograms`]. Each keeps its classic buckets beside
//!   the native ones, from the same observations, and the text formats show those: classic
//!   queries, rules and dashboards keep working;
//! - **created timestamps** of counters and histograms, always. OpenMetrics has them as
//!   `_created` samples with [`Registry::set_created_samples`] (off by default: Prometheus 2
//!   stores each as a series);
//! - **exemplars**, with the `exemplars` feature, in OpenMetrics too: a call, request,
//!   observation or increment made while an OpenTelemetry span is current (a `tracing` span
//!   under `tracing-opentelemetry`, whose layer activates its context) keeps its trace id and
//!   span id on its histogram bucket and its counter, the latest per bucket. Put
//!   `#[instrument_metric]` above `#[tracing::instrument]` (so that the span is entered when the
//!   call is recorded), and the HTTP layer inside the layer that opens the request's span. To
//!   continue the trace of the caller (its W3C `traceparent` header), so that the exemplars of
//!   a request carry the caller's trace id, add `axum::TraceContextLayer` outside the HTTP
//!   layer (features `axum` and `exemplars`).
//!
//! # Registries
//!
//! [`registry`] is the global registry: every instrumented function, every [`Metrics`] struct
//! (but those marked `#[metrics(scoped)]`), the HTTP layer, the collectors ([`collect`]), and the
//! exporter's own metrics (`metrics_exporter_scrape_duration_seconds`,
//! `metrics_exporter_series{family}`, `metrics_collector_errors_total`,
//! `metrics_collector_timeouts_total`, `metrics_catalog_conflicts`). [`Registry::new`] makes one
//! that holds only what is registered in it ([`Metrics::register_in`],
//! [`Registry::int_counter`] and the like, [`Registry::collect_gauge`] and the like); it renders,
//! serves ([`axum::Endpoint::registry`]) and pushes (`push::Pushgateway::push_registry`) on its
//! own. Metrics kept in a tikv `prometheus::Registry` are written with the rest once attached
//! with `Registry::attach_prometheus` (feature `prometheus`).
//!
//! [`testing::capture`] gives a test exactly what its own calls recorded, while other tests call
//! the same functions in parallel.
//!
//! # Conflicts
//!
//! Two declarations of one family that disagree (kind, labels, help, buckets), two functions
//! that would share one series, or a declaration that takes the name of a family the crate
//! writes itself, are conflicts. The registry never panics and never writes a series twice:
//! of two declarations, the one first in (file, line, column) order is exported and the other
//! records into cells that are exported nowhere. Every conflict is reported with its source
//! locations, three ways, so that none goes unseen:
//!
//! - [`check`] returns them (call it at start-up, or in a test, to fail loudly);
//! - the registry logs each one as a warning through the [`log`](https://docs.rs/log) facade
//!   (which `tracing` subscribers receive too) when it is built;
//! - every exposition carries `metrics_catalog_conflicts`, their number, to alert on.
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

// Bottom layer first; a module uses only those above it in this list.
// What declarations, labels and names are: descriptors, label sets, the naming rules.
mod model;
// Where values live: striped cells, native histograms, exemplars.
mod storage;
// How a family is written: the writer trait, text and protobuf, content negotiation.
mod exposition;
// Process-wide settings: constant labels, the native histogram default.
mod settings;
// The handles users hold: counters, gauges, histograms, families.
mod metrics;
// What `#[instrument_metric]` calls: the per-call hot path and outcomes.
mod instrument;
// What was declared: pure functions of the declarations.
mod catalog;
// Registries: state, hand registration, the build from the declarations, collectors.
mod registry;
// One scrape: a registry written in one format.
mod render;
// What a service plugs in: HTTP layer, endpoint, health, push, system, sqlx, export.
mod integrations;
pub mod testing;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use catalog::{
    Catalog, CatalogError, Conflict, DeclaredFamily, DeclaredObjective, InstrumentedFunction,
    Origin,
};
#[cfg(feature = "protobuf")]
pub use exposition::proto;
pub use exposition::text::{Format, OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE};
pub use instrument::outcome::ResponseStatus;
pub use instrument::{recording, set_recording};
/// Derives [`ErrorKinds`] for an enum of errors: see [`ErrorKinds`].
pub use instrument_metric_macros::ErrorKinds;
/// Derives [`LabelSet`] for a struct whose fields are [`LabelValue`] types and name the labels.
pub use instrument_metric_macros::LabelSet;
/// Derives [`LabelValue`] (and [`LabelSet`]) for a fieldless enum: see [`LabelValue`].
pub use instrument_metric_macros::LabelValue;
/// Derives [`Metrics`] for a struct whose fields are metrics: see [`Metrics`].
pub use instrument_metric_macros::Metrics;
/// Records every call of a function: a counter of calls by outcome (`result` is `ok`, `error`,
/// `panic` or `cancelled`), a histogram of their durations in seconds and, with `in_flight`, a
/// gauge of the calls running. See the [crate documentation](crate) for what a call records.
///
/// # Arguments
///
/// All optional, in any order; each is checked at compile time and every mistake is a compile
/// error on the token at fault. Names follow the Prometheus naming practice, as strictly as
/// `promtool check metrics`: `snake_case`, base units spelt out (`_seconds`, `_bytes`), no type
/// in the name.
///
/// | argument | gives |
/// |---|---|
/// | `name = "stem"` | the function's own families `stem_total`, `stem_duration_seconds`, `stem_in_flight` |
/// | `counter = "..._total"`, `histogram = "..._seconds"` | own family names, both or one of them with `name` |
/// | `help = "..."` | help text of the own families (default: the first line of the doc comment) |
/// | `function = "..."` | the `function` label value (default: the function's path, `Type::method` for a method, see the [crate docs](crate#the-function-label)) |
/// | `labels(key = "value", ...)` | a static label on every series of the own families |
/// | `labels(key = argument, ...)` | a label whose value is an argument of a [`LabelValue`] type (a `name: Type` argument, or a binding of a tuple pattern: `(p, _n): (Provider, u8)`) |
/// | `buckets = [...]` | histogram bucket bounds, in seconds: 0 or at least `1e-9` (durations are counted in whole nanoseconds) |
/// | `long_running` | allows `buckets` that look like milliseconds (every bound at least 1, the largest at least 5000) for work that takes hours |
/// | `max_series = N` | raises the cap (10,000) on the series the dynamic labels create |
/// | `in_flight`, `in_flight = "..."` | also a gauge of the calls that have not returned |
/// | `ok_if = predicate`, `error_if = predicate` | `result` decided by a predicate on the returned value (a path or a closure taking `&T`) |
/// | `error_kinds = Type` | errors counted by kind in `stem_errors_total{kind}` (`Type` derives [`ErrorKinds`]; the function returns `Result<_, Type>`) |
/// | `objective(name = "...", success = 99.9, latency = (0.25, 99.0))` | a service level objective; its name is written like a family stem (`[a-zA-Z_][a-zA-Z0-9_]*`) and the latency threshold must be a bound of the histogram (both checked at compile time) |
/// | `native_histogram` | the duration histogram is native too (sparse exponential buckets, in the protobuf exposition), beside its classic buckets; see [`native_histogram`] |
/// | `crate = path` | where this crate is, if the dependency is renamed |
///
/// `help`, `labels`, `buckets`, `max_series`, `native_histogram` and a named `in_flight` need the function's own
/// families: the shared `function_calls_*` families have one label set and bucket list for
/// every function.
///
/// ## Own families: `name`, `counter`, `histogram`, `help`
///
/// ```
/// use instrument_metric::instrument_metric;
///
/// /// Places an order.
/// #[instrument_metric(name = "orders_place")]
/// fn place() {}
///
/// #[instrument_metric(
///     counter = "invoices_sent_total",
///     histogram = "invoice_send_duration_seconds",
///     help = "Invoices sent by email."
/// )]
/// fn send_invoice() {}
///
/// place();
/// send_invoice();
/// let text = instrument_metric::render();
/// assert!(text.contains("# HELP orders_place_total Places an order."));
/// assert!(text.contains("# TYPE invoice_send_duration_seconds histogram"));
/// ```
///
/// Functions that give the same `name` share its families (with the same labels and buckets;
/// a disagreement there is a conflict, see [`check`]). Each may keep its own doc comment: where
/// their helps differ, the family's help is the one given with `help = "..."` (on one function
/// or several, alike), else `Calls of the functions instrumented as `stem`.`; two different
/// `help = "..."` are a conflict.
///
/// ```
/// # use instrument_metric::instrument_metric;
/// /// Lists every item.
/// #[instrument_metric(name = "inventory_ops")]
/// fn list_items() {}
///
/// /// Stock per warehouse.
/// #[instrument_metric(name = "inventory_ops")]
/// fn stock() {}
///
/// # fn main() {
/// list_items();
/// stock();
/// let text = instrument_metric::render();
/// assert!(text.contains("# HELP inventory_ops_total Calls of the functions instrumented as `inventory_ops`."));
/// assert!(instrument_metric::check().is_ok());
/// # }
/// ```
///
/// ## `function = "..."`
///
/// The value of the `function` label, for a function whose name says little:
///
/// ```
/// # use instrument_metric::instrument_metric;
/// #[instrument_metric(name = "webhooks_handle", function = "stripe_webhook")]
/// fn handle() {}
///
/// handle();
/// assert!(instrument_metric::render().contains(r#"webhooks_handle_total{function="stripe_webhook""#));
/// ```
///
/// ## Labels: `labels(key = "value")` and `labels(key = argument)`
///
/// A label is static (`tier = "free"`: one value on every series), or dynamic: `key = argument`
/// takes the value of an argument whose type implements [`LabelValue`] (an enum deriving it,
/// `bool`, an `Option` of either, where `None` is `none`, or a reference to one). Its type lists
/// every value, so every series exists from start-up and no input can create more. A string or
/// a number is refused at compile time: every distinct value would be a new series.
///
/// ```
/// use instrument_metric::{LabelValue, instrument_metric};
///
/// #[derive(Clone, Copy, LabelValue)]
/// enum Provider { Twilio, Vonage }
///
/// /// Sends an SMS.
/// #[instrument_metric(
///     name = "texts_send",
///     labels(provider = provider, urgent = urgent, tier = "free")
/// )]
/// fn send(provider: Provider, urgent: bool, to: &str) -> usize {
///     to.len()
/// }
///
/// /// Looks a number up, with a provider or without.
/// #[instrument_metric(name = "texts_lookup", labels(provider = provider))]
/// fn lookup(provider: Option<&Provider>) {}
///
/// send(Provider::Vonage, true, "+15550100");
/// lookup(None);
/// // texts_send_total{function="send",module="...",tier="free",provider="vonage",urgent="true",result="ok"} 1
/// // texts_lookup_total{function="lookup",module="...",provider="none",result="ok"} 1
/// let text = instrument_metric::render();
/// let counted = |family: &str, labels: &[&str]| {
///     text.lines().any(|line| {
///         line.starts_with(family)
///             && labels.iter().all(|label| line.contains(label))
///             && line.ends_with(r#"result="ok"} 1"#)
///     })
/// };
/// assert!(counted("texts_send_total{", &[r#"tier="free""#, r#"provider="vonage""#, r#"urgent="true""#]));
/// assert!(counted("texts_lookup_total{", &[r#"provider="none""#]));
/// ```
///
/// ## `max_series = N`
///
/// The dynamic labels of a function make the product of the number of values of their types,
/// times the outcomes (3, or 4 for an `async fn`), counter series: above 10,000 the build fails
/// with an error that names the cap, since that many series are almost always a label that
/// should not be one. `max_series = N` raises the cap for this function.
///
/// ```no_run
/// # use instrument_metric::{LabelValue, instrument_metric};
/// #[derive(Clone, Copy, LabelValue)]
/// enum Shard { S0, S1, S2, S3, S4, S5, S6, S7, S8, S9 }
///
/// // 10 * 10 * 10 * 10 shard combinations, times 3 outcomes: 30,000 series, created at
/// // start-up. Without `max_series` this is a compile error.
/// #[instrument_metric(
///     name = "replicas_copy",
///     labels(from = from, to = to, via = via, region = region),
///     max_series = 30_000
/// )]
/// fn copy(from: Shard, to: Shard, via: Shard, region: Shard) {}
/// ```
///
/// ## `buckets = [...]` and `long_running`
///
/// The histogram's upper bounds, in seconds, finite and increasing (the default is
/// `0.005, 0.01, ... 10`). Bounds that look like milliseconds (all at least 1, the largest at
/// least 5000, that is 83 minutes) are refused with the list divided by 1000, and negative ones
/// too, and so are positive ones below `1e-9`: a call's duration is counted in whole
/// nanoseconds. `long_running` says that the work really takes that long.
///
/// ```
/// # use instrument_metric::instrument_metric;
/// #[instrument_metric(name = "thumbnails_render", buckets = [0.01, 0.05, 0.25, 1.0])]
/// fn render_thumbnail() {}
///
/// #[instrument_metric(name = "nightly_export", buckets = [600, 1800, 3600, 7200, 14400], long_running)]
/// fn export() {}
///
/// render_thumbnail();
/// assert!(instrument_metric::render().contains(r#"le="0.25"}"#));
/// ```
///
/// ## `in_flight` and `crate = path`
///
/// ```
/// # use instrument_metric::instrument_metric;
/// // `use instrument_metric as telemetry;` in a crate that renamed the dependency would be
/// // `crate = telemetry`.
/// #[instrument_metric(name = "uploads", in_flight, crate = instrument_metric)]
/// fn upload() {}
///
/// #[instrument_metric(name = "downloads", in_flight = "downloads_running")]
/// fn download() {}
///
/// upload();
/// download();
/// let text = instrument_metric::render();
/// assert!(text.contains("# TYPE uploads_in_flight gauge"));
/// assert!(text.contains("# TYPE downloads_running gauge"));
/// ```
///
/// ## `result`: `Result`s, responses, error kinds, `ok_if` and `error_if`
///
/// A returned value is split into its `Ok` side (a value that is not a `Result` is all `Ok`
/// side) and its `Err` side, and each is classified by its type:
///
/// - a response-shaped value (feature `axum`): a `StatusCode`, an `http::Response<B>` (axum's
///   `Response`), or a tuple starting with a `StatusCode` (`(StatusCode, String)`,
///   `(StatusCode, HeaderMap, Json<T>)`), on either side, by its status: `error` for a server
///   error (5xx), `ok` otherwise: a 4xx is the client's mistake, answered as it should be;
/// - an `Err` whose type derives [`ErrorKinds`]: by the class of its kind, `ok` for a kind
///   marked `#[error_kind(ok)]`, `error` otherwise; this is how an axum handler returning
///   `Result<Json<T>, AppError>` (with `AppError: IntoResponse`) says which of its errors are
///   the client's, once, on the type;
/// - an error type of your own that holds its status implements [`ResponseStatus`] and is
///   response-shaped too;
/// - any other `Err` (`String`, an error enum without `ErrorKinds`, `anyhow::Error`): `error`;
///   any other `Ok` side (`Json`, `Html`, `String`, `Option`): `ok`.
///
/// A function returning a future is classified by its output. An `impl IntoResponse` is
/// classified by the type the body returns. The HTTP layer ([`axum::HttpMetricsLayer`]) sees
/// every status whatever the handler returns. Every shape, with what it records:
///
#[doc = include_str!("../docs/outcomes.md")]
///
/// A predicate on the returned value (the output, for a future), `ok_if` or `error_if`,
/// decides over every rule above (an `Err` still counts by kind); a predicate that panics
/// makes the call `error`, and the caller still gets the value:
///
/// ```
/// # use instrument_metric::instrument_metric;
/// /// A cache miss is an error of this cache.
/// #[instrument_metric(name = "cache_lookups", ok_if = Option::is_some)]
/// fn lookup(key: u32) -> Option<u32> {
///     (key % 2 == 0).then_some(key)
/// }
///
/// /// A C library's status: negative is an error.
/// #[instrument_metric(name = "legacy_calls", error_if = |status| *status < 0)]
/// fn legacy(status: i32) -> i32 {
///     status
/// }
///
/// lookup(1);
/// legacy(-2);
/// let text = instrument_metric::render();
/// assert!(text.lines().any(|l| l.starts_with("cache_lookups_total{") && l.ends_with(r#"result="error"} 1"#)));
/// assert!(text.lines().any(|l| l.starts_with("legacy_calls_total{") && l.ends_with(r#"result="error"} 1"#)));
/// ```
///
/// ## `error_kinds = Type`
///
/// Counts the errors of a function returning `Result<_, Type>` by kind, `Type` deriving
/// [`ErrorKinds`] (an enum, its variants with or without data), in a family of its own beside
/// the calls: `stem_errors_total` with the function's labels and `kind` (or
/// `function_calls_errors_total` for the shared families). A separate family keeps every
/// family's label set fixed: the calls counter has no `kind`, the errors counter no `result`.
/// Every kind is exported at 0 from start-up. Every call that returns an `Err` counts one in
/// its kind, whatever its `result`: the kinds add up to the calls that returned an `Err`,
/// which are the `error` calls plus the `Err`s of kinds marked `#[error_kind(ok)]` (and
/// those an `ok_if`/`error_if` predicate decided otherwise). A kind of class `ok` is
/// counted, and burns no objective.
///
/// ```
/// use instrument_metric::{ErrorKinds, instrument_metric};
///
/// #[derive(Debug, ErrorKinds)]
/// enum SmsError {
///     Failed { code: u16 },
///     RateLimited,
/// }
///
/// /// Sends an SMS.
/// #[instrument_metric(name = "sms_deliver", error_kinds = SmsError)]
/// fn deliver(code: u16) -> Result<(), SmsError> {
///     if code == 429 { Err(SmsError::RateLimited) } else { Err(SmsError::Failed { code }) }
/// }
///
/// let _ = deliver(429);
/// let text = instrument_metric::render();
/// assert!(text.lines().any(|l| l.starts_with("sms_deliver_errors_total{") && l.ends_with(r#"kind="rate_limited"} 1"#)));
/// assert!(text.lines().any(|l| l.starts_with("sms_deliver_errors_total{") && l.ends_with(r#"kind="failed"} 0"#)));
/// ```
///
/// ## `objective(...)`
///
/// A service level objective over 30 days: `success = P`, the percent of calls that are not
/// `error` nor `panic` (`cancelled` ones count neither way), and `latency = (T, P)`, the percent
/// of calls no longer than `T` seconds, which must be a bound of the histogram: the default
/// buckets ([`DEFAULT_BUCKETS`]) or the function's `buckets`, checked at compile time. The
/// name is the family's stem unless `name = "..."` says otherwise; functions of one family that
/// declare one objective (an `impl` block's attribute) share it. The catalog lists it, and
/// `instrument_metric::export` (feature `export`) generates its recording rules, burn-rate alerts,
/// their promtool tests and a dashboard row.
///
/// ```
/// # use instrument_metric::instrument_metric;
/// /// Pays for an order.
/// #[instrument_metric(name = "orders_pay", objective(success = 99.9, latency = (0.25, 99.0)))]
/// fn pay() {}
///
/// let objective = instrument_metric::catalog().objectives.into_iter().find(|o| o.name == "orders_pay").unwrap();
/// assert_eq!(objective.latency, Some((0.25, 99.0)));
/// ```
///
/// ```compile_fail
/// # use instrument_metric::instrument_metric;
/// // error: the latency threshold of an objective must be a bound of the histogram, ...
/// #[instrument_metric(name = "orders_place", objective(latency = (0.3, 99.0)))]
/// fn place() {}
/// ```
///
/// ## On an `impl` block
///
/// The attribute on an `impl` block instruments every method with a body except `const fn`s,
/// with the block's arguments (each method's `function` label is its path, `Type::method`, as
/// wherever the attribute sits); a method's own
/// `#[instrument_metric(...)]` inside it replaces the block's arguments.
///
/// ```
/// # use instrument_metric::instrument_metric;
/// struct Cart;
///
/// #[instrument_metric(name = "cart")]
/// impl Cart {
///     fn add(&self) {}
///
///     #[instrument_metric(name = "cart_checkout")]
///     fn checkout(&self) {}
/// }
///
/// Cart.add();
/// Cart.checkout();
/// let text = instrument_metric::render();
/// assert!(text.contains(r#"cart_total{function="Cart::add""#));
/// assert!(text.contains(r#"cart_checkout_total{function="Cart::checkout""#));
/// ```
pub use instrument_metric_macros::instrument_metric;
/// Checks a metric name at compile time and gives it back as a `&'static str`.
///
/// For code that must spell a name: queries, recording rules, tests. Colons are allowed, as
/// recording rule names use them.
///
/// ```
/// const SENT: &str = instrument_metric::metric_name!("sms_messages_total");
/// const RATIO: &str = instrument_metric::metric_name!("job:sms_success:ratio_rate5m");
/// assert_eq!(SENT, "sms_messages_total");
/// assert_eq!(RATIO, "job:sms_success:ratio_rate5m");
/// ```
pub use instrument_metric_macros::metric_name;
#[cfg(feature = "axum")]
pub use integrations::axum;
#[cfg(feature = "export")]
pub use integrations::export;
#[cfg(feature = "health")]
pub use integrations::health;
#[cfg(feature = "push")]
pub use integrations::push;
#[cfg(feature = "sqlx")]
pub use integrations::sqlx;
pub use integrations::system;
pub use metrics::{
    Counter, CounterFamily, Family, Gauge, GaugeFamily, Histogram, HistogramFamily, HistogramTimer,
    IntCounter, IntCounterFamily, IntGauge, IntGaugeFamily, Metric,
};
pub use model::labels::{ErrorKinds, LabelSet, LabelValue, OptionLabelValue};
pub use model::{DEFAULT_BUCKETS, Ending, Location, MetricKind, Objective, Outcome, Shape};
pub use registry::collect;
pub use registry::crate_check::{CrateCheckError, check_crate};
pub use registry::{
    DEFAULT_COLLECT_TIMEOUT, MIN_COLLECT_TIMEOUT, MetricField, Registry, catalog, check, registry,
};
pub use render::{render, render_as};
pub use settings::{ConfigError, set_constant_labels, set_native_histograms};
pub use storage::native_histogram;

/// Exports `<package>_build_info{version, revision, rustc} 1`, the build of the program, in the
/// global registry: `version` is the calling crate's `CARGO_PKG_VERSION`, `revision` the
/// `GIT_REVISION` environment variable at build time (`unknown` when it is not set, so that the
/// label set does not depend on the build; set it in CI,
/// `GIT_REVISION=$(git rev-parse --short HEAD) cargo build`, and Cargo rebuilds when it changes),
/// `rustc` the compiler's version. `build_info!("prefix")` names the family
/// `prefix_build_info` instead of after the package (its `-` as `_`).
///
/// Join it to any series to label it with the version: `up * on (job, instance)
/// group_left (version) personal_assistant_build_info`.
///
/// ```
/// instrument_metric::build_info!("shop").unwrap();
/// let text = instrument_metric::render();
/// let line = text.lines().find(|line| line.starts_with("shop_build_info{")).unwrap();
/// assert!(line.contains(r#"version="0.1.0""#) && line.ends_with("} 1"));
/// ```
///
/// # Errors
///
/// A [`Conflict`] when the name is taken, or is not a metric name.
#[macro_export]
macro_rules! build_info {
    () => {
        $crate::register_build_info(
            &::core::env!("CARGO_PKG_NAME").replace('-', "_"),
            ::core::env!("CARGO_PKG_VERSION"),
            ::core::option_env!("GIT_REVISION"),
        )
    };
    ($prefix:expr) => {
        $crate::register_build_info(
            $prefix,
            ::core::env!("CARGO_PKG_VERSION"),
            ::core::option_env!("GIT_REVISION"),
        )
    };
}

/// What [`build_info!`] calls: `<prefix>_build_info{version, revision, rustc} 1` in the global
/// registry, `revision` `unknown` when it is `None`.
///
/// # Errors
///
/// A [`Conflict`] when the name is taken, or is not a metric name.
///
/// ```
/// instrument_metric::register_build_info("billing", "2.3.1", Some("4f2a9c1")).unwrap();
/// assert!(instrument_metric::render().contains(r#"billing_build_info{revision="4f2a9c1",rustc="#));
/// ```
#[track_caller]
pub fn register_build_info(
    prefix: &str,
    version: &str,
    revision: Option<&str>,
) -> Result<(), Conflict> {
    let labels = [
        ("revision", revision.unwrap_or("unknown")),
        ("rustc", env!("METRICS_RUNTIME_RUSTC_VERSION")),
        ("version", version),
    ];
    registry().info(
        &format!("{prefix}_build_info"),
        "The program's build: its version, source revision and compiler; always 1.",
        &labels,
    )
}

/// A struct of metrics, registered at start-up, with one process-wide instance.
///
/// Derive it: each field is a metric (`Counter`, `IntCounter`, `Gauge`, `IntGauge`,
/// `Histogram`) or a family of them labelled by [`LabelSet`] types. The family name is
/// `#[metrics(prefix = "...")]`, an underscore and the field name (or `#[metric(name = "...")]`);
/// the help text is the field's doc comment (or `#[metric(help = "...")]`). Every name is
/// checked at compile time, for the kind the field's type has (a type alias or a renamed
/// import is fine): a counter's ends in `_total`, a histogram's in its unit (`_seconds`,
/// `_bytes`, `_ratio`, `_meters`, `_grams`, `_celsius`, `_kelvin`, `_joules`, `_volts` or
/// `_amperes`). A histogram that observes negative values (a `_celsius` one below zero) has no
/// `_sum` and no `_count` in the OpenMetrics exposition while its sum is negative, as
/// OpenMetrics 1.0 requires (its `_bucket{le="+Inf"}` is the count; text and protobuf keep
/// both); a NaN observation is ignored ([`Histogram::observe`]).
///
/// A field takes these `#[metric(...)]` arguments besides `name` and `help`:
///
/// - `buckets = [...]`: a histogram's upper bounds; for a `_seconds` histogram, bounds that look
///   like milliseconds (all at least 1, the largest at least 5000) are refused, and so are
///   negative ones;
/// - `long_running`: those bounds are seconds on purpose (work that takes hours);
/// - `unitless`: a histogram of counts of things (items per batch), whose name has no unit;
/// - `max_series = N`: a family may have up to N series (the product of the number of values of
///   its label types), instead of 10,000; more is a compile error;
/// - `native_histogram`: the histogram is native too (sparse exponential buckets, in the
///   protobuf exposition), beside its classic buckets.
///
/// Two labels of one name in a family (a tuple of one `LabelValue` type twice) are refused at
/// compile time.
///
/// ```
/// use instrument_metric::{Gauge, GaugeFamily, Histogram, IntCounter, LabelValue, Metrics};
///
/// #[derive(Clone, Copy, LabelValue)]
/// enum Provider { Google, Microsoft }
///
/// #[derive(Metrics)]
/// #[metrics(prefix = "oauth")]
/// struct OAuthMetrics {
///     /// Active OAuth integrations, by provider.
///     integrations_active: GaugeFamily<Provider>,
///     /// OAuth token refreshes.
///     token_refresh_total: IntCounter,
///     /// Time taken by OAuth operations.
///     #[metric(buckets = [0.05, 0.25, 1.0, 5.0])]
///     operation_duration_seconds: Histogram,
///     /// Scopes granted per integration: a count, without a unit.
///     #[metric(unitless, buckets = [1.0, 2.0, 5.0, 10.0])]
///     granted_scopes: Histogram,
///     /// Share of users with at least one integration.
///     #[metric(name = "oauth_adoption_ratio")]
///     adoption: Gauge,
/// }
///
/// let metrics = OAuthMetrics::global();
/// metrics.integrations_active.with(Provider::Google).set(3.0);
/// metrics.token_refresh_total.inc();
/// let text = instrument_metric::render();
/// assert!(text.contains(r#"oauth_integrations_active{provider="google"} 3"#));
/// assert!(text.contains(r#"oauth_integrations_active{provider="microsoft"} 0"#));
/// assert!(text.contains("oauth_token_refresh_total 1"));
/// ```
///
/// The derive also gives the struct `Type::global()`, its process-wide instance in the global
/// [`registry`], whose series exist at zero from start-up. With `#[metrics(scoped)]` it has
/// none: the struct is kept out of the global registry, and only
/// [`Metrics::register_in`] makes an instance, in a registry of your own.
pub trait Metrics: Sized + 'static {
    /// Registers the struct's families in `registry` (or finds them, when the same struct is
    /// registered there again) and gives handles to them. A field whose family conflicts with
    /// one already there gets handles exported nowhere; [`Registry::check`] reports it.
    ///
    /// ```
    /// use instrument_metric::{IntCounter, Metrics, Registry};
    ///
    /// #[derive(Metrics)]
    /// #[metrics(scoped)]
    /// struct Batch {
    ///     /// Rows read.
    ///     batch_rows_total: IntCounter,
    /// }
    ///
    /// let registry = Registry::new();
    /// let first = Batch::register_in(&registry);
    /// let again = Batch::register_in(&registry);
    /// first.batch_rows_total.inc();
    /// assert_eq!(again.batch_rows_total.get(), 1, "the same series");
    /// registry.check().unwrap();
    /// ```
    fn register_in(registry: &Registry) -> Self;
}
