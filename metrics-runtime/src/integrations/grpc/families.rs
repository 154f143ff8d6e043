//! The layer's families: declared to the global registry when the layer is built, and
//! written from one reading of its methods' cells at each scrape, every served method from
//! the first scrape on.

use std::sync::Arc;

use crate::catalog::{Conflict, FamilySpec, Origin};
use crate::exposition::{Exposition, HistogramReading, Value};
use crate::integrations::grpc::CODES;
use crate::integrations::grpc::methods::Layer;
use crate::model::{DEFAULT_BUCKETS, Location, MetricKind, Outcome, Shape};
use crate::storage::cells::Readings;
use crate::storage::exemplar::Exemplar;

const HANDLED_HELP: &str =
    "gRPC calls completed by the server, by service, method and gRPC status code.";
const HANDLING_HELP: &str = "Time from receiving a gRPC call to the end of its response (the end of the stream for a streaming response), in seconds.";
const IN_FLIGHT_HELP: &str = "gRPC calls being served.";

impl Layer {
    /// The families of this layer, as the catalog declares them, declared at `location`.
    fn specs(&self, location: Location) -> Vec<FamilySpec> {
        let spec = |name, help, shape, labels: &[&'static str], buckets| FamilySpec {
            name,
            help,
            shape,
            labels: labels.to_vec(),
            buckets,
            location,
            origin: Origin::Crate,
            // The histogram is native when its layer asks (not a declaration).
            native: false,
        };
        let method = &["grpc_service", "grpc_method"];
        let buckets: &'static [f64] = if self.bounds == DEFAULT_BUCKETS {
            &[]
        } else {
            self.bounds
        };
        vec![
            spec(
                self.names.handled,
                HANDLED_HELP,
                Shape::IntCounter,
                &["grpc_service", "grpc_method", "grpc_code"],
                &[],
            ),
            spec(
                self.names.handling,
                HANDLING_HELP,
                Shape::Histogram,
                method,
                buckets,
            ),
            spec(
                self.names.in_flight,
                IN_FLIGHT_HELP,
                Shape::IntGauge,
                method,
                &[],
            ),
        ]
    }

    /// Writes the layer's families from one reading of its cells.
    fn write(&self, writer: &mut dyn Exposition) {
        // One reading of every code of every method, so that the calls by code add up to the
        // histogram's count.
        let mut readings = Readings::default();
        let mut codes = Vec::with_capacity(self.methods.len());
        for method in &self.methods {
            let mut seen = Vec::new();
            for (code, cells) in method.by_code() {
                seen.push((code, cells));
                readings.push(cells);
            }
            codes.push(seen);
        }
        let names = &self.names;
        writer.header(names.handled, HANDLED_HELP, MetricKind::Counter.into());
        let mut next = 0;
        for (method, seen) in self.methods.iter().zip(&codes) {
            for (code, cells) in seen {
                let count = Value::Unsigned(readings.get(next).calls(Outcome::Ok));
                next += 1;
                let exemplar = cells.outcome_exemplar(Outcome::Ok);
                writer.counter(
                    names.handled,
                    &[&method.labels],
                    Some(("grpc_code", CODES[*code])),
                    count,
                    Some(cells.created),
                    exemplar.as_ref(),
                );
            }
        }
        writer.header(names.handling, HANDLING_HELP, MetricKind::Histogram.into());
        let buckets = writer.buckets(self.bounds);
        let mut total = Vec::new();
        let (mut exemplars, mut latest) = (Vec::new(), Vec::new());
        let mut next = 0;
        for (method, seen) in self.methods.iter().zip(&codes) {
            // Each bucket's latest exemplar, whatever the code.
            latest.clear();
            latest.resize(self.bounds.len() + 1, None::<Exemplar>);
            for (_, cells) in seen {
                cells.bucket_exemplars(&mut exemplars);
                for (kept, found) in latest.iter_mut().zip(&exemplars) {
                    if let Some(found) = found
                        && kept.is_none_or(|kept| kept.time <= found.time)
                    {
                        *kept = Some(*found);
                    }
                }
            }
            let labels = &[&method.labels];
            let first = next;
            next += seen.len();
            if writer.native_histograms()
                && let Some(native) = &method.native
            {
                let reading = native.scrape();
                let created = Some(reading.created);
                let reading = HistogramReading::Native(&reading);
                writer.histogram(names.handling, labels, &buckets, reading, created, &latest);
                continue;
            }
            let sum = readings.merged_durations(first..next, self.bounds.len(), &mut total);
            let reading = HistogramReading::Classic {
                cumulative: &total,
                sum,
            };
            let created = Some(method.in_flight.created);
            writer.histogram(names.handling, labels, &buckets, reading, created, &latest);
        }
        writer.header(names.in_flight, IN_FLIGHT_HELP, MetricKind::Gauge.into());
        for method in &self.methods {
            let value = Value::Signed(method.in_flight.in_flight());
            writer.gauge(names.in_flight, &[&method.labels], None, value);
        }
    }
}

/// Registers the families of `layer` in the global registry, declared at `location`; the
/// conflict that refuses them, if any.
pub(super) fn declare(layer: &'static Layer, location: Location) -> Option<Conflict> {
    let write = Arc::new(move |writer: &mut dyn Exposition| layer.write(writer));
    crate::registry()
        .add_writer(&layer.specs(location), write)
        .err()
}
