//! Rendering a registry: every family, whatever declared it, written through one writer
//! ([`Exposition`]) in the format asked for, collectors included (each waited for until the
//! scrape's deadline at most).

#[cfg(feature = "prometheus")]
pub(crate) mod gathered;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::exposition::text::{Format, Writer};
use crate::exposition::{Exposition, HistogramReading, Value};
use crate::metrics::{UNKNOWN_VALUES_FAMILY, UNKNOWN_VALUES_HELP};
use crate::model::MetricKind;
use crate::model::labels::Labels;
use crate::registry::runner::{Results, Source, finish_all, start_all};
use crate::registry::{
    COLLECTOR_ERRORS_FAMILY, COLLECTOR_TIMEOUTS_FAMILY, CONFLICTS_FAMILY, EXPORTER_FAMILIES,
    FunctionFamily, FunctionKind, Global, Registry, SERIES_FAMILY, Snapshot, registry,
    valid_samples,
};
use crate::storage::cells::Readings;

/// Renders the global registry in the Prometheus text exposition format 0.0.4.
///
/// ```
/// let text = instrument_metric::render();
/// assert!(text.starts_with("# HELP"));
/// ```
#[must_use]
pub fn render() -> String {
    registry().render()
}

/// Renders the global registry in `format`.
///
/// ```
/// use instrument_metric::Format;
///
/// let text = instrument_metric::render_as(Format::OpenMetrics);
/// assert!(text.ends_with("# EOF\n"));
/// ```
#[must_use]
pub fn render_as(format: Format) -> String {
    registry().render_as(format)
}

/// The last exposition's size, so that the buffer is allocated once at the right size.
static LAST_SIZE: AtomicUsize = AtomicUsize::new(16 * 1024);

/// The same for the protobuf exposition, whose size is not the text's: a classic histogram
/// takes a fifth of its text, a counter a little more (issue 25). A buffer sized from the
/// text grew while it was written (a copy of all written so far), or was five times too large.
#[cfg(feature = "protobuf")]
static LAST_PROTOBUF_SIZE: AtomicUsize = AtomicUsize::new(16 * 1024);

/// A scrape under way: what it writes, taken when it started, and the collector runs it
/// waits for until its deadline.
pub(crate) struct Scrape {
    snapshot: Snapshot,
    runs: Vec<u64>,
    started: Instant,
    /// `None`: no deadline (a timeout too long to add to an `Instant`, `Duration::MAX`).
    deadline: Option<Instant>,
}

impl Scrape {
    /// The collectors' results, awaited until the deadline without holding a thread; what
    /// [`Registry::render_scrape`] and [`Registry::encode_protobuf_scrape`] then write.
    #[cfg(feature = "axum")]
    pub(crate) async fn collect(&self) -> Results {
        let sources = self.snapshot.sources.as_slice();
        // A deadline beyond any `Instant` is as good as none: wait a year.
        let deadline = self
            .deadline
            .unwrap_or_else(|| self.started + Duration::from_secs(365 * 24 * 3600));
        crate::registry::runner::finish_all_async(sources, &self.runs, deadline).await
    }
}

impl Registry {
    /// Renders this registry in the Prometheus text exposition format 0.0.4.
    #[must_use]
    pub fn render(&self) -> String {
        self.render_as(Format::Text)
    }

    /// Renders this registry in `format`, waiting for its collectors up to
    /// [`Registry::collect_timeout`].
    #[must_use]
    pub fn render_as(&self, format: Format) -> String {
        self.render_within(format, self.collect_timeout())
    }

    /// Renders this registry in `format`, waiting for its collectors up to `timeout`: a
    /// collector that has not answered by then is left out of this exposition (and counted in
    /// `metrics_collector_timeouts_total`), so that a scrape never hangs. With
    /// `Duration::MAX` it waits for them as long as they take.
    ///
    /// ```
    /// use std::time::Duration;
    /// use instrument_metric::{Format, Registry};
    ///
    /// let registry = Registry::new();
    /// registry.collect_gauge("backlog_items", "Items waiting.", || {
    ///     std::thread::sleep(Duration::from_secs(2)); // stuck
    ///     7
    /// }).unwrap();
    /// let text = registry.render_within(Format::Text, Duration::from_millis(50));
    /// assert!(!text.contains("backlog_items 7"));
    /// ```
    #[must_use]
    pub fn render_within(&self, format: Format, timeout: Duration) -> String {
        self.render_scrape(format, self.start_scrape(timeout), None)
    }

    /// Starts a scrape: takes what it writes and starts the collectors that are not running.
    pub(crate) fn start_scrape(&self, timeout: Duration) -> Scrape {
        let started = Instant::now();
        let snapshot = self.snapshot();
        let runs = start_all(snapshot.sources.as_slice());
        Scrape {
            snapshot,
            runs,
            started,
            deadline: started.checked_add(timeout),
        }
    }

    /// Renders `scrape` in `format`, with the collectors' results `collected` (waited for here,
    /// until the scrape's deadline, when `None`).
    pub(crate) fn render_scrape(
        &self,
        format: Format,
        scrape: Scrape,
        collected: Option<Results>,
    ) -> String {
        let mut out = String::with_capacity(LAST_SIZE.load(Ordering::Relaxed) + 4096);
        let mut writer = Writer::new(&mut out, format).with_created(self.created_samples());
        let started = scrape.started;
        self.write_all(&mut writer, scrape, collected);
        writer.finish();
        LAST_SIZE.store(out.len(), Ordering::Relaxed);
        self.scraped(started, out.len());
        out
    }

    /// Encodes this registry in the Prometheus protobuf exposition
    /// ([`PROTOBUF_CONTENT_TYPE`](crate::exposition::proto::PROTOBUF_CONTENT_TYPE): length-delimited
    /// `io.prometheus.client.MetricFamily` messages), waiting for its collectors up to
    /// `timeout` as [`Registry::render_within`] does. Native histograms have their native
    /// buckets and their classic ones; counters, summaries and histograms their created
    /// timestamps; with the `exemplars` feature, buckets and counters their exemplars.
    ///
    /// # Errors
    ///
    /// A series the protobuf writer refused (see [`ProtoError`](crate::exposition::proto::ProtoError)):
    /// a bug, reported rather than an exposition with a series missing.
    ///
    /// ```
    /// use std::time::Duration;
    /// use instrument_metric::Registry;
    /// use instrument_metric::proto::MetricFamily;
    /// use prost::Message;
    ///
    /// let registry = Registry::new();
    /// registry.int_counter("jobs_total", "Jobs.").unwrap().inc_by(3);
    /// let bytes = registry.encode_protobuf_within(Duration::from_secs(1)).unwrap();
    /// let family = MetricFamily::decode_length_delimited(bytes.as_slice()).unwrap();
    /// assert_eq!(family.name(), "jobs_total");
    /// assert_eq!(family.metric[0].counter.as_ref().unwrap().value(), 3.0);
    /// ```
    #[cfg(feature = "protobuf")]
    pub fn encode_protobuf_within(
        &self,
        timeout: Duration,
    ) -> Result<Vec<u8>, crate::exposition::proto::ProtoError> {
        self.encode_protobuf_scrape(self.start_scrape(timeout), None)
    }

    /// Encodes `scrape` in the protobuf exposition, with the collectors' results `collected`
    /// (waited for here when `None`), as [`Registry::render_scrape`] renders it.
    #[cfg(feature = "protobuf")]
    pub(crate) fn encode_protobuf_scrape(
        &self,
        scrape: Scrape,
        collected: Option<Results>,
    ) -> Result<Vec<u8>, crate::exposition::proto::ProtoError> {
        let mut out = Vec::with_capacity(LAST_PROTOBUF_SIZE.load(Ordering::Relaxed) + 4096);
        let mut writer = crate::exposition::proto::ProtoWriter::new(&mut out);
        let started = scrape.started;
        self.write_all(&mut writer, scrape, collected);
        let finished = writer.finish();
        LAST_PROTOBUF_SIZE.store(out.len(), Ordering::Relaxed);
        self.scraped(started, out.len());
        finished.map(|()| out)
    }

    /// Writes every family of `scrape`, collectors included: `collected`, or (when `None`)
    /// their results waited for here until the scrape's deadline.
    pub(crate) fn write_all(
        &self,
        writer: &mut dyn Exposition,
        scrape: Scrape,
        collected: Option<Results>,
    ) {
        let Scrape {
            snapshot,
            runs,
            deadline,
            ..
        } = scrape;
        // Collectors run on threads of their own while the cells are written.
        let sources = snapshot.sources.as_slice();
        if let Some(global) = self.global() {
            write_functions(global, writer);
        }
        for write in snapshot.writers.iter() {
            write(writer);
        }
        for family in snapshot.stored.iter() {
            writer.header(
                family.spec.name,
                family.spec.help,
                family.spec.shape.kind().into(),
            );
            family.storage.write(
                family.spec.name,
                family.spec.shape,
                &family.labels,
                self.constant(),
                writer,
            );
        }
        if snapshot.unknown_values {
            write_unknown_values(&snapshot, self.constant(), writer);
        }
        let collected = collected.unwrap_or_else(|| finish_all(sources, &runs, deadline));
        for (source, collected) in sources.iter().zip(collected) {
            if let Some(Ok(samples)) = collected.as_deref() {
                write_collected(source, samples, self.constant(), writer);
            }
        }
        #[cfg(feature = "prometheus")]
        crate::render::gathered::write_attached(self, &snapshot, writer);
        if self.global().is_some() {
            write_exporter(&snapshot, self.constant(), writer);
        }
    }

    /// Records a scrape that took since `started` and wrote `size` bytes.
    fn scraped(&self, started: Instant, size: usize) {
        if let Some(global) = self.global() {
            global
                .scrape_duration
                .observe(started.elapsed().as_secs_f64());
            global
                .scrape_size
                .set(i64::try_from(size).unwrap_or(i64::MAX));
        }
    }
}

/// `metrics_label_values_unknown_total`: for each family with run-time labels, a series per
/// run-time label.
fn write_unknown_values(snapshot: &Snapshot, constant: &Labels, writer: &mut dyn Exposition) {
    writer.header(
        UNKNOWN_VALUES_FAMILY,
        UNKNOWN_VALUES_HELP,
        MetricKind::Counter.into(),
    );
    for sets in snapshot
        .stored
        .iter()
        .filter_map(|family| family.runtime.as_ref())
    {
        sets.write_unknown(constant, writer);
    }
}

/// The families of instrumented functions, from one reading of their cells: a function's
/// counter rows and its histogram agree even while calls are recorded.
fn write_functions(global: &Global, writer: &mut dyn Exposition) {
    let readings = Readings::take(global.cells.iter().copied());
    for family in &global.functions {
        write_function_family(family, global, &readings, writer);
    }
}

fn write_function_family(
    family: &FunctionFamily,
    global: &Global,
    readings: &Readings,
    writer: &mut dyn Exposition,
) {
    let name = family.name;
    let kind = match family.kind {
        FunctionKind::Calls | FunctionKind::Errors => MetricKind::Counter,
        FunctionKind::Duration => MetricKind::Histogram,
        FunctionKind::InFlight => MetricKind::Gauge,
    };
    writer.header(name, family.help, kind.into());
    match family.kind {
        FunctionKind::Calls => {
            for series in &family.series {
                let reading = readings.get(series.cells);
                let recorded = global.cells[series.cells];
                for outcome in series.outcomes {
                    let calls = Value::Unsigned(reading.calls(*outcome));
                    let result = Some(("result", outcome.as_str()));
                    let exemplar = recorded.outcome_exemplar(*outcome);
                    let (labels, created) = (&[&*series.labels], Some(recorded.created));
                    writer.counter(name, labels, result, calls, created, exemplar.as_ref());
                }
            }
        }
        FunctionKind::Errors => {
            for series in &family.series {
                let reading = readings.get(series.cells);
                let (labels, created) =
                    (&[&*series.labels], Some(global.cells[series.cells].created));
                for (index, kind) in series.kinds.iter().enumerate() {
                    let errors = Value::Unsigned(reading.kind(index));
                    let kind = Some(("kind", *kind));
                    writer.counter(name, labels, kind, errors, created, None);
                }
            }
        }
        FunctionKind::InFlight => {
            for series in &family.series {
                let in_flight = Value::Signed(readings.get(series.cells).in_flight());
                writer.gauge(name, &[&*series.labels], None, in_flight);
            }
        }
        FunctionKind::Duration => {
            let buckets = writer.buckets(family.bounds);
            let mut exemplars = Vec::new();
            for series in &family.series {
                let cells = global.cells[series.cells];
                cells.bucket_exemplars(&mut exemplars);
                let labels = &[&*series.labels];
                // The protobuf writer takes the native histogram, the text formats the classic
                // buckets read with the counter rows (so that they add up to its count).
                if writer.native_histograms()
                    && let Some(native) = cells.native()
                {
                    let reading = HistogramReading::Native(&native);
                    let created = Some(native.created);
                    writer.histogram(name, labels, &buckets, reading, created, &exemplars);
                    continue;
                }
                let reading = readings.get(series.cells);
                #[allow(clippy::cast_precision_loss)] // nanosecond sums stay exact past a year
                let sum = reading.sum_nanos() as f64 / 1e9;
                let reading = HistogramReading::Classic {
                    cumulative: reading.buckets(),
                    sum,
                };
                let created = Some(cells.created);
                writer.histogram(name, labels, &buckets, reading, created, &exemplars);
            }
        }
    }
}

/// A collector's families, from what its run returned; a family whose samples do not fit its
/// declaration (a label missing, a negative count, a series twice) is left out and counted as
/// the collector's error.
fn write_collected(
    source: &Source,
    samples: &[crate::registry::runner::Samples],
    constant: &Labels,
    writer: &mut dyn Exposition,
) {
    if samples.len() != source.families.len()
        || !source
            .families
            .iter()
            .zip(samples)
            .all(|(spec, samples)| valid_samples(spec, samples))
    {
        source.errors.fetch_add(1, Ordering::Relaxed);
        return;
    }
    for (spec, samples) in source.families.iter().zip(samples) {
        writer.header(spec.name, spec.help, spec.shape.kind().into());
        for (values, value) in &samples.series {
            let labels = Labels::new(
                spec.labels
                    .iter()
                    .copied()
                    .zip(values.iter().map(AsRef::as_ref)),
            );
            let value = Value::Float(*value);
            if spec.shape.kind() == MetricKind::Counter {
                writer.counter(spec.name, &[&labels, constant], None, value, None, None);
            } else {
                writer.gauge(spec.name, &[&labels, constant], None, value);
            }
        }
    }
}

/// The exporter's own families: conflicts, series per family of this exposition, collector
/// errors and timeouts. (Its scrape duration and size are ordinary families, written above.)
fn write_exporter(snapshot: &Snapshot, constant: &Labels, writer: &mut dyn Exposition) {
    let help = |name: &str| {
        EXPORTER_FAMILIES
            .iter()
            .find(|(family, ..)| *family == name)
            .map_or("", |(_, help, ..)| *help)
    };
    writer.header(
        CONFLICTS_FAMILY,
        help(CONFLICTS_FAMILY),
        MetricKind::Gauge.into(),
    );
    let conflicts = u64::try_from(snapshot.conflicts).unwrap_or(u64::MAX);
    writer.gauge(
        CONFLICTS_FAMILY,
        &[constant],
        None,
        Value::Unsigned(conflicts),
    );

    let counted = writer.series_counts();
    writer.header(SERIES_FAMILY, help(SERIES_FAMILY), MetricKind::Gauge.into());
    for (family, series) in counted {
        let label = Labels::new([("family", family.as_str())]);
        writer.gauge(
            SERIES_FAMILY,
            &[&label, constant],
            None,
            Value::Unsigned(series),
        );
    }
    for (name, errors) in [
        (COLLECTOR_ERRORS_FAMILY, true),
        (COLLECTOR_TIMEOUTS_FAMILY, false),
    ] {
        writer.header(name, help(name), MetricKind::Counter.into());
        for source in snapshot.sources.iter() {
            let label = Labels::new([("collector", source.name)]);
            let count = if errors {
                &source.errors
            } else {
                &source.timeouts
            };
            let value = Value::Unsigned(count.load(Ordering::Relaxed));
            writer.counter(name, &[&label, constant], None, value, None, None);
        }
    }
}
