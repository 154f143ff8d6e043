//! Each layer built and the routes it has seen: a request's `(endpoint, method)` resolved once
//! into cells of its own, found afterwards through a per-thread cache. The label values are
//! bounded by the application's routes: a request that matches none is `unmatched`, a method
//! outside the standard set `other`.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, OnceLock, PoisonError, RwLock};

use ::axum::http::Method;

use crate::catalog::Conflict;
use crate::integrations::http::UNMATCHED_ENDPOINT;
use crate::integrations::http::builder::{Config, Names};
use crate::integrations::http::families::declare;
use crate::model::labels::Labels;
use crate::storage::cells::{CallCells, HistogramCells};
use crate::storage::native_histogram::NativeHistogram;

/// The `method` label values; the index of one is its slot in a route's table.
pub(in crate::integrations) const METHODS: [&str; 10] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "other",
];

/// Status codes 0 to 999 each have a slot; HTTP only uses 100 to 599.
const STATUSES: usize = 1000;
/// Status classes `0xx` to `9xx` each have a slot.
const CLASSES: usize = 10;

/// One built configuration: its families and the routes it has seen. Kept for the process:
/// layers are built by the application's code, a bounded number of times.
pub(super) struct Layer {
    /// Its position in [`LAYERS`], which the per-thread caches follow.
    pub(super) id: usize,
    pub(super) config: Config,
    pub(super) names: Names,
    pub(super) bounds: &'static [f64],
    pub(super) body_bounds: Option<&'static [f64]>,
    /// Every route seen, by endpoint and method, for rendering in a stable order.
    pub(super) routes: RwLock<BTreeMap<(String, usize), &'static Route>>,
    /// Why its families (or objectives) were refused, if they were: building the same layer
    /// again gives the same error, never a layer that silently exports nothing.
    pub(super) refused: Mutex<Option<Conflict>>,
}

/// Every layer built, each configuration once.
static LAYERS: Mutex<Vec<&'static Layer>> = Mutex::new(Vec::new());

/// The cells of one `(endpoint, method)` of one layer.
pub(super) struct Route {
    /// `endpoint` and `method` and the constant labels, sorted by name.
    pub(super) labels: Labels,
    /// The `endpoint` label value, for a capture (`instrument_metric::testing`).
    pub(super) endpoint: Box<str>,
    pub(super) method: usize,
    /// Its in-flight count (only the in-flight slots are used).
    pub(super) in_flight: CallCells,
    /// Requests and durations by status (or status class), created on first use.
    pub(super) statuses: Box<[OnceLock<CallCells>]>,
    /// Body sizes, with `body_sizes`: one series each.
    pub(super) request_sizes: Option<HistogramCells>,
    pub(super) response_sizes: Option<HistogramCells>,
    /// The durations of every status in a native histogram, when the layer that first served
    /// the route asked for one (or every histogram is native).
    pub(super) native: Option<NativeHistogram>,
}

impl Route {
    pub(super) fn status(&self, slot: usize, bounds: &[f64]) -> &CallCells {
        let slot = slot.min(self.statuses.len() - 1);
        self.statuses[slot].get_or_init(|| CallCells::new(bounds, 0, None))
    }

    /// Each status (or class) seen, with its cells.
    pub(super) fn by_status(&self) -> impl Iterator<Item = (usize, &CallCells)> {
        self.statuses
            .iter()
            .enumerate()
            .filter_map(|(code, cells)| cells.get().map(|cells| (code, cells)))
    }
}

/// A route table entry of a per-thread cache.
#[derive(Clone, Copy)]
pub(super) enum Cached {
    Excluded,
    Recorded(&'static Route),
}

/// A route cache's key hasher. The keys are the application's own route templates, never a
/// client's input, so a fast unseeded hash is safe; std's hasher was a tenth of the layer's cost.
type RouteHasher = foldhash::fast::FixedState;

type RouteCache = HashMap<String, [Option<Cached>; METHODS.len()], RouteHasher>;

thread_local! {
    /// This thread's view of each layer's routes: by layer, endpoint, then a slot per method.
    static CACHE: RefCell<Vec<RouteCache>> = const { RefCell::new(Vec::new()) };
}

impl Layer {
    /// The route of `endpoint` and `method`, or `Excluded`; its durations are native too when
    /// `native` says so and the route is new.
    pub(super) fn route(&'static self, endpoint: &str, method: usize, native: bool) -> Cached {
        let cached = CACHE.with(|cache| {
            cache
                .borrow()
                .get(self.id)
                .and_then(|routes| routes.get(endpoint))
                .and_then(|slots| slots[method])
        });
        if let Some(cached) = cached {
            return cached;
        }
        let resolved = if endpoint != UNMATCHED_ENDPOINT && self.config.excluded(endpoint) {
            Cached::Excluded
        } else {
            Cached::Recorded(self.shared_route(endpoint, method, native))
        };
        CACHE.with(|cache| {
            let mut cache = cache.borrow_mut();
            if cache.len() <= self.id {
                cache.resize_with(self.id + 1, || HashMap::with_hasher(RouteHasher::default()));
            }
            cache[self.id]
                .entry(endpoint.to_owned())
                .or_insert([None; METHODS.len()])[method] = Some(resolved);
        });
        resolved
    }

    #[cold]
    fn shared_route(&self, endpoint: &str, method: usize, native: bool) -> &'static Route {
        let key = (endpoint.to_owned(), method);
        if let Some(route) = self
            .routes
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            return route;
        }
        let mut routes = self.routes.write().unwrap_or_else(PoisonError::into_inner);
        routes.entry(key).or_insert_with(|| {
            // The layer records into the global registry: its constant labels.
            let labels = crate::settings::freeze()
                .join(&[("endpoint", endpoint), ("method", METHODS[method])], true);
            let slots = if self.config.status_classes {
                CLASSES
            } else {
                STATUSES
            };
            let sizes = || {
                self.body_bounds
                    .map(|bounds| HistogramCells::new(1, bounds, None))
            };
            // A configuration is checked when it is set, the bounds when the layer is built.
            let native = crate::settings::native_config(native)
                .and_then(|config| NativeHistogram::new(&config, self.bounds).ok());
            // Routes are bounded by the application's routes and methods: kept for the process.
            Box::leak(Box::new(Route {
                labels,
                endpoint: endpoint.into(),
                method,
                in_flight: CallCells::new(&[], 0, None),
                statuses: (0..slots).map(|_| OnceLock::new()).collect(),
                request_sizes: sizes(),
                response_sizes: sizes(),
                native,
            }))
        })
    }

    /// The slot of `status` in a route's table.
    pub(super) fn status_slot(&self, status: u16) -> usize {
        if self.config.status_classes {
            usize::from(status / 100)
        } else {
            usize::from(status)
        }
    }
}

/// The layer of `config`: the one built before with it, or a new one whose families and
/// objectives are registered in the global registry (with the conflict, if one is refused).
pub(super) fn register(config: Config) -> (&'static Layer, Option<Conflict>) {
    let mut layers = LAYERS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(layer) = layers.iter().find(|layer| layer.config == config) {
        let refused = layer
            .refused
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        return (layer, refused);
    }
    let names = config.names();
    let bounds: &'static [f64] = Box::leak(config.buckets.clone().into_boxed_slice());
    let body_bounds = config
        .body_sizes
        .clone()
        .map(|bounds| &*Box::leak(bounds.into_boxed_slice()));
    let layer: &'static Layer = Box::leak(Box::new(Layer {
        id: layers.len(),
        config,
        names,
        bounds,
        body_bounds,
        routes: RwLock::new(BTreeMap::new()),
        refused: Mutex::new(None),
    }));
    layers.push(layer);
    // Registered under the lock: a second build of this configuration waits for the verdict.
    let refused = declare(layer);
    layer
        .refused
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone_from(&refused);
    drop(layers);
    (layer, refused)
}

/// The `method` label: the standard methods by name, anything else `other`.
pub(in crate::integrations) fn method_index(method: &Method) -> usize {
    match *method {
        Method::GET => 0,
        Method::HEAD => 1,
        Method::POST => 2,
        Method::PUT => 3,
        Method::DELETE => 4,
        Method::CONNECT => 5,
        Method::OPTIONS => 6,
        Method::TRACE => 7,
        Method::PATCH => 8,
        _ => 9,
    }
}

#[cfg(test)]
mod tests {
    use ::axum::Router;
    use ::axum::body::Body;
    use ::axum::http::Request;
    use ::axum::routing::{any, get};
    use tower::ServiceExt as _;

    use super::*;
    use crate::integrations::http::builder::HttpMetricsLayer;
    use crate::testing::{Captured, capture_future};

    /// The requests `(method, path)` through `layer`, in a router with three routes, captured.
    async fn serve(layer: HttpMetricsLayer, requests: &[(&str, &str)]) -> Captured {
        let app = Router::new()
            .route("/users/{id}", get(|| async { "user" }))
            .route("/health/{component}", get(|| async { "ok" }))
            .route("/any", any(|| async { "any" }))
            .layer(layer);
        let ((), captured) = capture_future(async {
            for (method, path) in requests {
                let request = Request::builder()
                    .method(*method)
                    .uri(*path)
                    .body(Body::empty())
                    .unwrap();
                app.clone().oneshot(request).await.unwrap();
            }
        })
        .await;
        captured
    }

    fn seen(captured: &Captured, endpoint: &str) -> Vec<(&'static str, u16)> {
        captured
            .requests(endpoint)
            .into_iter()
            .map(|(method, status, _)| (method, status))
            .collect()
    }

    #[tokio::test]
    async fn a_request_is_labelled_by_its_route_template_unmatched_or_left_out() {
        let layer = HttpMetricsLayer::builder()
            .prefix("unit_routes")
            .exclude("/health/*")
            .build()
            .unwrap();
        let captured = serve(
            layer,
            &[
                ("GET", "/users/7"),
                ("GET", "/users/8"),
                ("GET", "/nowhere/9"),
                ("GET", "/health/db"),
                ("PURGE", "/any"),
                ("PATCH", "/any"),
            ],
        )
        .await;
        // Two paths, one series: the template, never the path.
        assert_eq!(seen(&captured, "/users/{id}"), [("GET", 200), ("GET", 200)]);
        assert_eq!(seen(&captured, "/users/7"), []);
        assert_eq!(seen(&captured, UNMATCHED_ENDPOINT), [("GET", 404)]);
        assert_eq!(seen(&captured, "/health/{component}"), []);
        assert_eq!(seen(&captured, "/any"), [("other", 200), ("PATCH", 200)]);
        let routes: Vec<(String, &str)> = layer
            .layer
            .routes
            .read()
            .unwrap()
            .keys()
            .map(|(endpoint, method)| (endpoint.clone(), METHODS[*method]))
            .collect();
        assert_eq!(
            routes,
            [
                ("/any".to_owned(), "PATCH"),
                ("/any".to_owned(), "other"),
                ("/users/{id}".to_owned(), "GET"),
                (UNMATCHED_ENDPOINT.to_owned(), "GET"),
            ]
        );
    }

    #[tokio::test]
    async fn an_unmatched_request_is_recorded_whatever_is_excluded() {
        let layer = HttpMetricsLayer::builder()
            .prefix("unit_unmatched")
            .exclude("/*")
            .build()
            .unwrap();
        let captured = serve(layer, &[("GET", "/users/7"), ("DELETE", "/nowhere")]).await;
        assert_eq!(seen(&captured, "/users/{id}"), []);
        assert_eq!(seen(&captured, UNMATCHED_ENDPOINT), [("DELETE", 404)]);
    }

    #[test]
    fn the_standard_methods_are_named_and_every_other_is_other() {
        let name =
            |method: &str| METHODS[method_index(&Method::from_bytes(method.as_bytes()).unwrap())];
        for standard in [
            "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
        ] {
            assert_eq!(name(standard), standard);
        }
        for other in ["PURGE", "get", "PROPFIND", "X-ANYTHING"] {
            assert_eq!(name(other), "other", "{other}");
        }
    }

    #[test]
    fn an_exclusion_is_a_template_or_a_prefix_ending_in_a_star() {
        let config = Config {
            exclude: vec!["/metrics".to_owned(), "/health/*".to_owned()],
            ..Config::default()
        };
        assert!(config.excluded("/metrics"));
        assert!(!config.excluded("/metrics/extra"));
        assert!(config.excluded("/health/"));
        assert!(config.excluded("/health/{component}"));
        assert!(!config.excluded("/healthz"));
        assert!(!config.excluded("/users/{id}"));
    }
}
