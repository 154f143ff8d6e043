//! Objectives declared on `#[instrument_metric]` reach the catalog: default names, one
//! objective per family or per named functions, and the conflicts of two disagreeing
//! declarations.

#![allow(clippy::unused_self)] // methods that stand for real ones, recorded by their names

use instrument_metric::{DeclaredObjective, instrument_metric};

/// Places an order.
#[instrument_metric(name = "orders_place", objective(success = 99.9, latency = (0.25, 99.0)))]
fn place() {}

struct Payments;

/// Payment operations.
#[instrument_metric(
    name = "payments",
    buckets = [0.1, 0.5, 2.0],
    objective(name = "payments", latency = (0.5, 95.0))
)]
impl Payments {
    fn charge(&self) {}
    fn refund(&self) {}
}

struct Search;

/// Search operations: two of three functions share an objective.
#[instrument_metric(name = "search", help = "Search operations.")]
impl Search {
    #[instrument_metric(
        name = "search",
        help = "Search operations.",
        objective(name = "search_reads", success = 99.0)
    )]
    fn query(&self) {}
    #[instrument_metric(
        name = "search",
        help = "Search operations.",
        objective(name = "search_reads", success = 99.0)
    )]
    fn suggest(&self) {}
    fn reindex(&self) {}
}

/// Declares the objective name `orders_place` again, in another family.
#[instrument_metric(
    name = "orders_cancel",
    objective(name = "orders_place", success = 95.0)
)]
fn cancel() {}

fn objective(name: &str) -> DeclaredObjective {
    instrument_metric::catalog()
        .objectives
        .into_iter()
        .find(|objective| objective.name == name)
        .unwrap_or_else(|| panic!("no objective {name}"))
}

#[test]
fn a_function_objective_is_named_after_its_family() {
    let _ = (place, cancel, Payments.charge(), Payments.refund());
    let place = objective("orders_place");
    assert_eq!(place.requests, "orders_place_total");
    assert_eq!(place.histogram, "orders_place_duration_seconds");
    assert_eq!(place.success, Some(99.9));
    assert_eq!(place.latency, Some((0.25, 99.0)));
    assert_eq!(place.bounds, instrument_metric::DEFAULT_BUCKETS);
    assert_eq!(place.outcome_label, "result");
    assert_eq!((place.bad, place.ignored), ("error|panic", "cancelled"));
    assert_eq!(place.selector, "");
}

#[test]
fn an_impl_block_objective_covers_its_whole_family() {
    let payments = objective("payments");
    assert_eq!(payments.selector, "", "every series of payments_total");
    assert_eq!(payments.bounds, [0.1, 0.5, 2.0]);
    assert_eq!(payments.success, None);
}

#[test]
fn an_objective_of_some_functions_selects_them() {
    let _ = (Search.query(), Search.suggest(), Search.reindex());
    let reads = objective("search_reads");
    assert_eq!(
        reads.selector,
        r#"function=~"Search::query|Search::suggest",module="objectives""#
    );
}

#[test]
fn one_name_in_two_families_is_a_conflict() {
    let error = instrument_metric::check().unwrap_err();
    assert_eq!(error.conflicts.len(), 1, "{error}");
    let conflict = &error.conflicts[0];
    assert_eq!(conflict.family, "orders_cancel_total");
    assert!(
        conflict
            .problem
            .contains("the objective `orders_place`, which functions of the family `orders_place_total` declare too"),
        "{conflict}"
    );
    assert_eq!(conflict.locations.len(), 2);
    // The first declaration (by source location) is kept.
    assert_eq!(objective("orders_place").success, Some(99.9));
}
