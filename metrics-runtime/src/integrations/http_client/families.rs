//! The families: declared to the global registry when the metrics are built, and written
//! from one reading of their cells at each scrape, every series from the start.

use std::sync::Arc;

use crate::catalog::{Conflict, FamilySpec, Origin};
use crate::exposition::{Exposition, HistogramReading, Value};
use crate::integrations::http::METHODS;
use crate::integrations::http_client::client::{Client, MethodCells, PeerCells};
use crate::integrations::http_client::{ERROR_KINDS, ERROR_STATUS};
use crate::model::labels::Labels;
use crate::model::{DEFAULT_BUCKETS, MetricKind, Outcome, Shape};
use crate::storage::cells::{CallCells, Readings};
use crate::storage::exemplar::Exemplar;

const REQUESTS_HELP: &str = "HTTP calls made to other services, by peer, method and status of the response (error: none came).";
const DURATION_HELP: &str =
    "Time from sending an HTTP call to receiving its response head (or its error), in seconds.";
const IN_FLIGHT_HELP: &str = "HTTP calls sent whose response head has not come yet.";
const ERRORS_HELP: &str = "HTTP calls that failed, by peer and kind: timeout, connect, redirect, body, request, cancelled, other.";

/// A method of a peer with its statuses: `(status slot, its reading, its cells)`.
type MethodReading<'a> = (
    &'a PeerCells,
    &'a MethodCells,
    Vec<(usize, usize, &'a CallCells)>,
);

impl Client {
    /// The families, as the catalog declares them.
    fn specs(&self) -> Vec<FamilySpec> {
        let here = self.built_at;
        let spec = |name, help, shape, labels: &[&'static str], buckets| FamilySpec {
            name,
            help,
            shape,
            labels: labels.to_vec(),
            buckets,
            native: self.config.native,
            location: here,
            origin: Origin::Crate,
        };
        let buckets: &'static [f64] = if self.bounds == DEFAULT_BUCKETS {
            &[]
        } else {
            self.bounds
        };
        let names = &self.names;
        vec![
            spec(
                names.requests,
                REQUESTS_HELP,
                Shape::IntCounter,
                &["peer", "method", "status"],
                &[],
            ),
            spec(
                names.duration,
                DURATION_HELP,
                Shape::Histogram,
                &["peer", "method"],
                buckets,
            ),
            spec(
                names.in_flight,
                IN_FLIGHT_HELP,
                Shape::IntGauge,
                &["peer"],
                &[],
            ),
            spec(
                names.errors,
                ERRORS_HELP,
                Shape::IntCounter,
                &["peer", "kind"],
                &[],
            ),
        ]
    }

    /// Writes the families from one reading of the cells.
    fn write(&self, writer: &mut dyn Exposition) {
        // One reading of every status of every method, so that the calls by status add up to
        // the histogram's count, and of every peer's in-flight count and errors.
        let mut readings = Readings::default();
        let mut next = 0;
        let mut read = |cells: &CallCells| {
            readings.push(cells);
            next += 1;
            next - 1
        };
        let mut peer_readings = Vec::with_capacity(self.peers.len());
        let mut methods: Vec<MethodReading<'_>> = Vec::new();
        for peer in &*self.peers {
            peer_readings.push(read(&peer.calls));
            for method in &*peer.methods {
                let statuses = method
                    .by_status()
                    .map(|(status, cells)| (status, read(cells), cells))
                    .collect();
                methods.push((peer, method, statuses));
            }
        }
        let names = &self.names;
        let mut integers = itoa::Buffer::new();
        writer.header(names.requests, REQUESTS_HELP, MetricKind::Counter.into());
        for (peer, method, statuses) in &methods {
            let labels = method_labels(peer, method);
            for (status, reading, cells) in statuses {
                let count = Value::Unsigned(readings.get(*reading).calls(Outcome::Ok));
                let class;
                let status = if *status == usize::MAX {
                    ERROR_STATUS
                } else if self.config.status_classes {
                    class = format!("{status}xx");
                    class.as_str()
                } else {
                    integers.format(*status)
                };
                let exemplar = cells.outcome_exemplar(Outcome::Ok);
                writer.counter(
                    names.requests,
                    &[labels],
                    Some(("status", status)),
                    count,
                    Some(cells.created),
                    exemplar.as_ref(),
                );
            }
        }
        self.write_durations(writer, &methods, &readings);
        writer.header(names.in_flight, IN_FLIGHT_HELP, MetricKind::Gauge.into());
        for (peer, reading) in self.peers.iter().zip(&peer_readings) {
            let value = Value::Signed(readings.get(*reading).in_flight());
            writer.gauge(names.in_flight, &[peer_labels(peer)], None, value);
        }
        writer.header(names.errors, ERRORS_HELP, MetricKind::Counter.into());
        for (peer, reading) in self.peers.iter().zip(&peer_readings) {
            for (index, kind) in ERROR_KINDS.iter().enumerate() {
                let count = Value::Unsigned(readings.get(*reading).kind(index));
                writer.counter(
                    names.errors,
                    &[peer_labels(peer)],
                    Some(("kind", kind)),
                    count,
                    Some(peer.calls.created),
                    None,
                );
            }
        }
    }

    /// The duration histogram of every peer and method, its statuses summed from `readings`.
    fn write_durations(
        &self,
        writer: &mut dyn Exposition,
        methods: &[MethodReading<'_>],
        readings: &Readings,
    ) {
        let names = &self.names;
        writer.header(names.duration, DURATION_HELP, MetricKind::Histogram.into());
        let buckets = writer.buckets(self.bounds);
        let mut total = Vec::new();
        let (mut exemplars, mut latest) = (Vec::new(), Vec::new());
        for (peer, method, statuses) in methods {
            // Each bucket's latest exemplar, whatever the status.
            latest.clear();
            latest.resize(self.bounds.len() + 1, None::<Exemplar>);
            for (_, _, cells) in statuses {
                cells.bucket_exemplars(&mut exemplars);
                for (kept, found) in latest.iter_mut().zip(&exemplars) {
                    if let Some(found) = found
                        && kept.is_none_or(|kept| kept.time <= found.time)
                    {
                        *kept = Some(*found);
                    }
                }
            }
            let labels = &[method_labels(peer, method)];
            let created = Some(peer.calls.created);
            if writer.native_histograms()
                && let Some(native) = method.native(self.config.native, self.bounds)
            {
                let reading = native.scrape();
                let reading = HistogramReading::Native(&reading);
                writer.histogram(names.duration, labels, &buckets, reading, created, &latest);
                continue;
            }
            let sum = readings.merged_durations(
                statuses.iter().map(|(_, reading, _)| *reading),
                self.bounds.len(),
                &mut total,
            );
            let reading = HistogramReading::Classic {
                cumulative: &total,
                sum,
            };
            writer.histogram(names.duration, labels, &buckets, reading, created, &latest);
        }
    }
}

/// `peer` and the constant labels (the metrics record into the global registry).
fn peer_labels(peer: &PeerCells) -> &Labels {
    peer.labels
        .get_or_init(|| crate::settings::freeze().join(&[("peer", &peer.name)], true))
}

/// `peer`, `method` and the constant labels.
fn method_labels<'a>(peer: &PeerCells, method: &'a MethodCells) -> &'a Labels {
    method.labels.get_or_init(|| {
        crate::settings::freeze().join(
            &[("peer", &peer.name), ("method", METHODS[method.method])],
            true,
        )
    })
}

/// Registers the families of `client` in the global registry; the conflict that refuses
/// them, if any.
pub(super) fn declare(client: &'static Client) -> Option<Conflict> {
    let write = Arc::new(move |writer: &mut dyn Exposition| client.write(writer));
    crate::registry().add_writer(&client.specs(), write).err()
}
