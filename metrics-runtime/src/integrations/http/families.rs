//! The layer's families: declared to the global registry (with its objectives) when the layer
//! is built, and written from one reading of its routes' cells at each scrape.

use std::sync::{Arc, PoisonError};

use crate::catalog::objectives::selector_text;
use crate::catalog::{Conflict, DeclaredObjective, FamilySpec, LabelMatch, Origin};
use crate::exposition::{Exposition, HistogramReading, Value};
use crate::integrations::http::routes::{Layer, METHODS, Route};
use crate::integrations::http::{CLIENT_CLOSED_STATUS, UNMATCHED_ENDPOINT};
use crate::model::{DEFAULT_BUCKETS, Location, MetricKind, Outcome, Shape};
use crate::storage::cells::{CallCells, Readings};
use crate::storage::exemplar::Exemplar;

const REQUESTS_HELP: &str = "HTTP requests served, by method, route and status.";
const DURATION_HELP: &str =
    "Time from receiving an HTTP request to sending its response headers, in seconds.";
const IN_FLIGHT_HELP: &str = "HTTP requests being served.";
const REQUEST_SIZE_HELP: &str = "Bytes of HTTP request bodies the application read.";
const RESPONSE_SIZE_HELP: &str = "Bytes of HTTP response bodies sent.";

impl Layer {
    /// The families of this layer, as the catalog declares them.
    fn specs(&self) -> Vec<FamilySpec> {
        let here = Location {
            file: file!(),
            line: line!(),
            column: column!(),
        };
        let spec = |name, help, shape, labels: &[&'static str], buckets| FamilySpec {
            name,
            help,
            shape,
            labels: labels.to_vec(),
            buckets,
            location: here,
            origin: Origin::Crate,
            // A route's duration histogram is native when its layer asks (not a declaration).
            native: false,
        };
        let route = &["endpoint", "method"];
        let default_buckets: &'static [f64] = if self.bounds == DEFAULT_BUCKETS {
            &[]
        } else {
            self.bounds
        };
        let mut specs = vec![
            spec(
                self.names.requests,
                REQUESTS_HELP,
                Shape::IntCounter,
                &["endpoint", "method", "status"],
                &[],
            ),
            spec(
                self.names.duration,
                DURATION_HELP,
                Shape::Histogram,
                route,
                default_buckets,
            ),
            spec(
                self.names.in_flight,
                IN_FLIGHT_HELP,
                Shape::IntGauge,
                route,
                &[],
            ),
        ];
        if let Some(bounds) = self.body_bounds {
            specs.push(spec(
                self.names.request_size,
                REQUEST_SIZE_HELP,
                Shape::Histogram,
                route,
                bounds,
            ));
            specs.push(spec(
                self.names.response_size,
                RESPONSE_SIZE_HELP,
                Shape::Histogram,
                route,
                bounds,
            ));
        }
        specs
    }

    /// Writes the layer's families from one reading of its cells; nothing before the first
    /// request.
    fn write(&self, writer: &mut dyn Exposition) {
        let routes: Vec<&'static Route> = self
            .routes
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .copied()
            .collect();
        if routes.is_empty() {
            return;
        }
        // One reading of every status of every route, so that the requests by status add up
        // to the histogram's count.
        let mut readings = Readings::default();
        let mut statuses: Vec<Vec<(usize, usize, &CallCells)>> = Vec::with_capacity(routes.len());
        let mut next = 0;
        for route in &routes {
            let mut seen = Vec::new();
            for (status, cells) in route.by_status() {
                seen.push((status, next, cells));
                next += 1;
                readings.push(cells);
            }
            statuses.push(seen);
        }
        let mut integers = itoa::Buffer::new();
        let names = &self.names;
        writer.header(names.requests, REQUESTS_HELP, MetricKind::Counter.into());
        for (route, seen) in routes.iter().zip(&statuses) {
            for (status, reading, cells) in seen {
                let count = Value::Unsigned(readings.get(*reading).calls(Outcome::Ok));
                let class;
                let status = if self.config.status_classes {
                    class = format!("{status}xx");
                    class.as_str()
                } else {
                    integers.format(*status)
                };
                let exemplar = cells.outcome_exemplar(Outcome::Ok);
                let (labels, created) = (&[&route.labels], Some(cells.created));
                let status = Some(("status", status));
                writer.counter(
                    names.requests,
                    labels,
                    status,
                    count,
                    created,
                    exemplar.as_ref(),
                );
            }
        }
        self.write_durations(writer, &routes, &statuses, &readings);
        writer.header(names.in_flight, IN_FLIGHT_HELP, MetricKind::Gauge.into());
        for route in &routes {
            let value = Value::Signed(route.in_flight.in_flight());
            writer.gauge(names.in_flight, &[&route.labels], None, value);
        }
        self.write_sizes(writer, &routes);
    }

    /// The duration histogram of every route, its statuses summed from `readings`.
    fn write_durations(
        &self,
        writer: &mut dyn Exposition,
        routes: &[&'static Route],
        statuses: &[Vec<(usize, usize, &CallCells)>],
        readings: &Readings,
    ) {
        let names = &self.names;
        writer.header(names.duration, DURATION_HELP, MetricKind::Histogram.into());
        let buckets = writer.buckets(self.bounds);
        let mut total = Vec::new();
        let (mut exemplars, mut latest) = (Vec::new(), Vec::new());
        for (route, seen) in routes.iter().zip(statuses) {
            // Each bucket's latest exemplar, whatever the status.
            latest.clear();
            latest.resize(self.bounds.len() + 1, None::<Exemplar>);
            for (_, _, cells) in seen {
                cells.bucket_exemplars(&mut exemplars);
                for (kept, found) in latest.iter_mut().zip(&exemplars) {
                    if let Some(found) = found
                        && kept.is_none_or(|kept| kept.time <= found.time)
                    {
                        *kept = Some(*found);
                    }
                }
            }
            let labels = &[&route.labels];
            if writer.native_histograms()
                && let Some(native) = &route.native
            {
                let reading = native.scrape();
                let created = Some(reading.created);
                let reading = HistogramReading::Native(&reading);
                writer.histogram(names.duration, labels, &buckets, reading, created, &latest);
                continue;
            }
            let sum = readings.merged_durations(
                seen.iter().map(|(_, reading, _)| *reading),
                self.bounds.len(),
                &mut total,
            );
            let reading = HistogramReading::Classic {
                cumulative: &total,
                sum,
            };
            let created = Some(route.in_flight.created);
            writer.histogram(names.duration, labels, &buckets, reading, created, &latest);
        }
    }

    /// The body size histograms of every route, with `body_sizes`.
    fn write_sizes(&self, writer: &mut dyn Exposition, routes: &[&'static Route]) {
        let names = &self.names;
        if let Some(bounds) = self.body_bounds {
            let buckets = writer.buckets(bounds);
            let mut cumulative = Vec::new();
            for (name, help, request) in [
                (names.request_size, REQUEST_SIZE_HELP, true),
                (names.response_size, RESPONSE_SIZE_HELP, false),
            ] {
                writer.header(name, help, MetricKind::Histogram.into());
                for route in routes {
                    let cells = if request {
                        &route.request_sizes
                    } else {
                        &route.response_sizes
                    };
                    if let Some(cells) = cells {
                        let sum = cells.read(0, &mut cumulative);
                        let reading = HistogramReading::Classic {
                            cumulative: &cumulative,
                            sum,
                        };
                        let created = Some(route.in_flight.created);
                        let labels = &[&route.labels];
                        writer.histogram(name, labels, &buckets, reading, created, &[]);
                    }
                }
            }
        }
    }
}

/// Registers the families and objectives of `layer` in the global registry; the conflict that
/// refuses one, if any.
pub(super) fn declare(layer: &'static Layer) -> Option<Conflict> {
    let registry = crate::registry();
    let write = Arc::new(move |writer: &mut dyn Exposition| layer.write(writer));
    if let Err(conflict) = registry.add_writer(&layer.specs(), write) {
        return Some(conflict);
    }
    for declared in &layer.config.objectives {
        let objective = &declared.objective;
        let (bad, ignored) = if layer.config.status_classes {
            ("5xx", "")
        } else {
            ("5..", CLIENT_CLOSED_STATUS)
        };
        // The series of one route (and its methods), or of every route but `unmatched`.
        let (matchers, example, scope) = match &declared.route {
            None => (
                vec![(
                    "endpoint",
                    LabelMatch::NotEqual(UNMATCHED_ENDPOINT.to_owned()),
                )],
                vec![
                    ("endpoint", "/example".to_owned()),
                    ("method", "GET".to_owned()),
                ],
                String::new(),
            ),
            Some(route) => {
                let methods: Vec<String> = route
                    .methods
                    .iter()
                    .map(|slot| METHODS[*slot].to_owned())
                    .collect();
                let mut matchers = vec![("endpoint", LabelMatch::Equal(route.template.clone()))];
                match methods.as_slice() {
                    [] => {}
                    [method] => matchers.push(("method", LabelMatch::Equal(method.clone()))),
                    _ => matchers.push(("method", LabelMatch::OneOf(methods.clone()))),
                }
                let method = methods.first().map_or("GET", String::as_str).to_owned();
                (
                    matchers,
                    vec![("endpoint", route.template.clone()), ("method", method)],
                    route.describe(),
                )
            }
        };
        let declared = DeclaredObjective {
            name: objective.name.to_owned(),
            success: objective.success,
            latency: objective.latency,
            requests: layer.names.requests,
            outcome_label: "status",
            bad,
            ignored,
            histogram: layer.names.duration,
            bounds: layer.bounds,
            selector: selector_text(&matchers),
            matchers,
            example,
            scope,
            location: declared.location,
        };
        if let Err(conflict) = registry.add_objective(declared) {
            return Some(conflict);
        }
    }
    None
}
