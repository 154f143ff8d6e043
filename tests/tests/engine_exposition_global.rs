//! Never an invalid exposition, in the global registry: the property of
//! `engine_exposition_scoped`, with constant labels set for the whole process, instrumented
//! functions and `Metrics` structs of the global registry, and registrations that take the
//! names of the crate's own families (`http_requests_total`, `metrics_exporter_series`,
//! `function_calls_total`, a series of theirs): refused with an error value, listed by
//! `check()` and counted by `metrics_catalog_conflicts`.
//!
//! Registrations accumulate over the cases (the global registry keeps them): the model does
//! too, and every case checks all of them. No shrinking: a shrunk case would run on a registry
//! that already holds the failing one.

mod declarations;

use std::sync::{Mutex, MutexGuard, Once, PoisonError};

use declarations::{
    Model, Region, apply, catalog_families, check_registry, conflicts, decl, quiet_collector_panics,
};
use instrument_metric::{IntCounterFamily, IntGauge, Metrics, instrument_metric};
use integration_tests::Exposition;
use proptest::prelude::*;

const CONSTANT: [(&str, &str); 2] = [("env", "prod \"one\"\\"), ("region", "eu")];

/// Declared in the global registry; its family by region is refused (`region` is a constant
/// label).
#[derive(Metrics)]
struct ServiceMetrics {
    /// Requests by region.
    requests_by_region_total: IntCounterFamily<Region>,
    /// Sessions open now.
    open_sessions: IntGauge,
}

/// Its families, `jobs_total` and `jobs_duration_seconds`, clash with a gauge `jobs`.
#[instrument_metric(name = "jobs")]
fn job() {}

/// Refused: `region` is a constant label.
#[instrument_metric(name = "regional_jobs", labels(region = "us"))]
fn regional_job() {}

static MODEL: Mutex<Option<Model>> = Mutex::new(None);

/// The model of the global registry, built once the constant labels are set.
fn model() -> MutexGuard<'static, Option<Model>> {
    static CONSTANT_LABELS: Once = Once::new();
    CONSTANT_LABELS.call_once(|| {
        instrument_metric::set_constant_labels(CONSTANT).unwrap();
    });
    quiet_collector_panics();
    let mut model = MODEL.lock().unwrap_or_else(PoisonError::into_inner);
    if model.is_none() {
        // The global registry keeps the default layer's names whether it is built or not;
        // built, its families are in the catalog the model starts from.
        let _ = instrument_metric::axum::HttpMetricsLayer::default();
        job();
        regional_job();
        ServiceMetrics::global().open_sessions.set(3);
        // Recorded into cells exported nowhere.
        ServiceMetrics::global()
            .requests_by_region_total
            .with(Region::Us)
            .inc();
        let constant = CONSTANT
            .iter()
            .map(|(k, v)| (*k, (*v).to_owned()))
            .collect();
        *model = Some(Model::new(constant, &catalog_families()));
    }
    model
}

/// What holds of the global registry's exposition whatever was registered.
fn global_families(exposition: &Exposition) -> Result<(), TestCaseError> {
    let labels = [
        ("env", CONSTANT[0].1),
        ("region", CONSTANT[1].1),
        ("function", "job"),
        ("module", "engine_exposition_global"),
        ("result", "ok"),
    ];
    prop_assert_eq!(exposition.get("jobs_total", &labels), Some(1.0));
    prop_assert_eq!(exposition.get("open_sessions", &labels[..2]), Some(3.0));
    prop_assert_eq!(exposition.series("regional_jobs_total").count(), 0);
    prop_assert_eq!(exposition.series("requests_by_region_total").count(), 0);
    Ok(())
}

proptest! {
    // Each case runs Python twice and promtool once on the whole global exposition.
    #![proptest_config(ProptestConfig {
        cases: 16,
        failure_persistence: None,
        max_shrink_iters: 0,
        ..ProptestConfig::default()
    })]

    #[test]
    fn any_declarations_keep_the_global_exposition_valid(
        decls in proptest::collection::vec(decl(true), 1..6)
    ) {
        let mut model = model();
        let model = model.as_mut().expect("built");
        let registry = instrument_metric::registry();
        for decl in &decls {
            apply(registry, model, decl)?;
        }
        check_registry(registry, model, true, |exposition, format| {
            if format == instrument_metric::Format::Text {
                global_families(exposition)?;
            }
            Ok(())
        })?;
        // Conflicts of gathered tikv families are found by the first scrape after they are
        // attached: the next one counts them.
        let exposition = Exposition::parse(&instrument_metric::render()).unwrap();
        let conflicts = conflicts(registry).len();
        let gauge = exposition.series("metrics_catalog_conflicts").next().map(|s| s.value);
        prop_assert_eq!(gauge, Some(f64::from(u32::try_from(conflicts).unwrap())));
    }
}
