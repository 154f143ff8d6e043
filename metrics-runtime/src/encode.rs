//! Rendering a registry: every family, whatever declared it, written through one
//! [`Writer`](crate::text::Writer) in the format asked for, collectors included (each waited
//! for until the scrape's deadline at most).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::cells::Readings;
use crate::model::MetricKind;
use crate::registry::{
    COLLECTOR_ERRORS_FAMILY, COLLECTOR_TIMEOUTS_FAMILY, CONFLICTS_FAMILY, EXPORTER_FAMILIES,
    FunctionFamily, FunctionKind, Global, Registry, SERIES_FAMILY, Snapshot, registry,
    valid_samples,
};
use crate::runner::{Source, finish_all, start_all};
use crate::text::{Format, Value, Writer, le_values, render_labels};

/// Renders the global registry in the Prometheus text exposition format 0.0.4.
///
/// ```
/// let text = metrics_runtime::render();
/// assert!(text.starts_with("# HELP"));
/// ```
#[must_use]
pub fn render() -> String {
    registry().render()
}

/// Renders the global registry in `format`.
///
/// ```
/// use metrics_runtime::Format;
///
/// let text = metrics_runtime::render_as(Format::OpenMetrics);
/// assert!(text.ends_with("# EOF\n"));
/// ```
#[must_use]
pub fn render_as(format: Format) -> String {
    registry().render_as(format)
}

/// The last exposition's size, so that the buffer is allocated once at the right size.
static LAST_SIZE: AtomicUsize = AtomicUsize::new(16 * 1024);

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
    /// use metrics_runtime::{Format, Registry};
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
        let started = Instant::now();
        let snapshot = self.snapshot();
        // Collectors run on threads of their own while the cells are written.
        let sources = snapshot.sources.as_slice();
        let runs = start_all(sources);
        let mut out = String::with_capacity(LAST_SIZE.load(Ordering::Relaxed) + 4096);
        let mut writer = Writer::new(&mut out, format);
        if let Some(global) = self.global() {
            write_functions(global, &mut writer);
            for builtin in &global.builtins {
                (builtin.write)(&mut writer);
            }
        }
        for write in snapshot.writers.iter() {
            write(&mut writer);
        }
        for family in snapshot.stored.iter() {
            writer.header(family.spec.name, family.spec.help, family.spec.shape.kind());
            family.storage.write(
                family.spec.name,
                family.spec.shape,
                &family.labels,
                self.constant(),
                &mut writer,
            );
        }
        // A timeout too long to add to an `Instant` (`Duration::MAX`) sets no deadline.
        let collected = finish_all(sources, &runs, started.checked_add(timeout));
        for (source, collected) in sources.iter().zip(collected) {
            if let Some(Ok(samples)) = collected.as_deref() {
                write_collected(source, samples, self.constant(), &mut writer);
            }
        }
        #[cfg(feature = "prometheus")]
        crate::gathered::write_attached(self, &snapshot, &mut writer);
        if self.global().is_some() {
            write_exporter(&snapshot, self.constant(), &mut writer);
        }
        writer.finish();
        LAST_SIZE.store(out.len(), Ordering::Relaxed);
        if let Some(global) = self.global() {
            global
                .scrape_duration
                .observe(started.elapsed().as_secs_f64());
            global
                .scrape_size
                .set(i64::try_from(out.len()).unwrap_or(i64::MAX));
        }
        out
    }
}

/// The families of instrumented functions, from one reading of their cells: a function's
/// counter rows and its histogram agree even while calls are recorded.
fn write_functions(global: &Global, writer: &mut Writer<'_>) {
    let readings = Readings::take(global.cells.iter().copied());
    for family in &global.functions {
        write_function_family(family, &readings, writer);
    }
}

fn write_function_family(family: &FunctionFamily, readings: &Readings, writer: &mut Writer<'_>) {
    let name = family.name;
    let kind = match family.kind {
        FunctionKind::Calls | FunctionKind::Errors => MetricKind::Counter,
        FunctionKind::Duration => MetricKind::Histogram,
        FunctionKind::InFlight => MetricKind::Gauge,
    };
    writer.header(name, family.help, kind);
    match family.kind {
        FunctionKind::Calls => {
            for series in &family.series {
                let reading = readings.get(series.cells);
                for outcome in series.outcomes {
                    let calls = Value::Unsigned(reading.calls(*outcome));
                    let result = Some(("result", outcome.as_str()));
                    writer.counter(name, &[&series.labels], result, calls);
                }
            }
        }
        FunctionKind::Errors => {
            for series in &family.series {
                let reading = readings.get(series.cells);
                for (index, kind) in series.kinds.iter().enumerate() {
                    let errors = Value::Unsigned(reading.kind(index));
                    writer.counter(name, &[&series.labels], Some(("kind", kind)), errors);
                }
            }
        }
        FunctionKind::InFlight => {
            for series in &family.series {
                let in_flight = Value::Signed(readings.get(series.cells).in_flight());
                writer.gauge(name, &[&series.labels], None, in_flight);
            }
        }
        FunctionKind::Duration => {
            let le = le_values(family.bounds, writer.format());
            for series in &family.series {
                let reading = readings.get(series.cells);
                #[allow(clippy::cast_precision_loss)] // nanosecond sums stay exact past a year
                let sum = reading.sum_nanos() as f64 / 1e9;
                writer.histogram(name, &[&series.labels], &le, reading.buckets(), sum);
            }
        }
    }
}

/// A collector's families, from what its run returned; a family whose samples do not fit its
/// declaration (a label missing, a negative count, a series twice) is left out and counted as
/// the collector's error.
fn write_collected(
    source: &Source,
    samples: &[crate::runner::Samples],
    constant: &str,
    writer: &mut Writer<'_>,
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
        writer.header(spec.name, spec.help, spec.shape.kind());
        for (values, value) in &samples.series {
            let labels = render_labels(
                spec.labels
                    .iter()
                    .copied()
                    .zip(values.iter().map(AsRef::as_ref)),
            );
            let value = Value::Float(*value);
            if spec.shape.kind() == MetricKind::Counter {
                writer.counter(spec.name, &[&labels, constant], None, value);
            } else {
                writer.gauge(spec.name, &[&labels, constant], None, value);
            }
        }
    }
}

/// The exporter's own families: conflicts, series per family of this exposition, collector
/// errors and timeouts. (Its scrape duration and size are ordinary families, written above.)
fn write_exporter(snapshot: &Snapshot, constant: &str, writer: &mut Writer<'_>) {
    let help = |name: &str| {
        EXPORTER_FAMILIES
            .iter()
            .find(|(family, ..)| *family == name)
            .map_or("", |(_, help, ..)| *help)
    };
    writer.header(CONFLICTS_FAMILY, help(CONFLICTS_FAMILY), MetricKind::Gauge);
    let conflicts = u64::try_from(snapshot.conflicts).unwrap_or(u64::MAX);
    writer.gauge(
        CONFLICTS_FAMILY,
        &[constant],
        None,
        Value::Unsigned(conflicts),
    );

    let counted = writer.series_counts();
    writer.header(SERIES_FAMILY, help(SERIES_FAMILY), MetricKind::Gauge);
    for (family, series) in counted {
        let label = render_labels([("family", family.as_str())]);
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
        writer.header(name, help(name), MetricKind::Counter);
        for source in snapshot.sources.iter() {
            let label = render_labels([("collector", source.name)]);
            let count = if errors {
                &source.errors
            } else {
                &source.timeouts
            };
            let value = Value::Unsigned(count.load(Ordering::Relaxed));
            writer.counter(name, &[&label, constant], None, value);
        }
    }
}
