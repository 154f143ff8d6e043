//! Functions that share a family through `name = "..."` and document themselves differently
//! (natural code: each doc comment says what its function does) build one family with one help,
//! by the documented rule: the one given with `help = "..."`, else a help that names the
//! family; real disagreements (labels, buckets, two given helps) are still refused.

use instrument_metric::{Outcome, instrument_metric, testing};
use integration_tests::Exposition;

/// Lists every item.
#[instrument_metric(name = "inventory")]
fn list_items() -> usize {
    3
}

/// Stock per warehouse.
#[instrument_metric(name = "inventory")]
fn stock() -> usize {
    7
}

/// Reserves stock for an order.
#[instrument_metric(name = "orders", help = "Order operations.")]
fn reserve() {}

/// Cancels a reservation.
#[instrument_metric(name = "orders")]
fn cancel() {}

/// Packs a box.
#[instrument_metric(name = "packing", in_flight)]
fn pack() {}

/// Ships an order.
#[instrument_metric(name = "shipping", help = "Shipping operations.")]
fn ship() {}

/// Tracks a parcel.
#[instrument_metric(name = "shipping", help = "Parcel tracking.")]
fn track() {}

fn help_of(family: &str) -> String {
    let catalog = instrument_metric::catalog();
    catalog
        .families
        .iter()
        .find(|declared| declared.name == family)
        .unwrap_or_else(|| panic!("{family} is not in the catalog"))
        .help
        .to_owned()
}

#[test]
fn doc_comments_that_differ_give_the_family_a_help_of_its_own() {
    let ((), captured) = testing::capture(|| {
        list_items();
        stock();
    });
    assert_eq!(captured.outcomes("list_items", Outcome::Ok), 1);
    assert_eq!(captured.outcomes("stock", Outcome::Ok), 1);
    assert_eq!(
        help_of("inventory_total"),
        "Calls of the functions instrumented as `inventory`."
    );
    assert_eq!(
        help_of("inventory_duration_seconds"),
        "Calls of the functions instrumented as `inventory` (duration in seconds)."
    );
    // Both functions' series are exported, in one family, with no conflict over them.
    let text = instrument_metric::render();
    let exposition = Exposition::parse(&text).unwrap();
    for function in ["list_items", "stock"] {
        assert_eq!(
            exposition.count(
                "inventory_total",
                &[
                    ("function", function),
                    ("module", "shared_family_help"),
                    ("result", "ok")
                ]
            ),
            1,
            "{function}"
        );
    }
    let conflicts = instrument_metric::check().unwrap_err().conflicts;
    assert!(
        conflicts
            .iter()
            .all(|conflict| !conflict.family.starts_with("inventory")
                && !conflict.family.starts_with("orders")),
        "{conflicts:#?}"
    );
}

#[test]
fn a_given_help_wins_over_doc_comments() {
    reserve();
    cancel();
    assert_eq!(help_of("orders_total"), "Order operations.");
    assert_eq!(
        help_of("orders_duration_seconds"),
        "Order operations (duration in seconds)."
    );
}

#[test]
fn two_given_helps_that_differ_are_still_a_conflict() {
    let conflicts = instrument_metric::check().unwrap_err().conflicts;
    let shipping: Vec<_> = conflicts
        .iter()
        .filter(|conflict| conflict.family == "shipping_total")
        .collect();
    assert_eq!(shipping.len(), 1, "{conflicts:#?}");
    assert!(
        shipping[0].to_string().contains("Parcel tracking."),
        "{}",
        shipping[0]
    );
    // The first declaration's help stays the family's.
    assert!(
        ["Shipping operations.", "Parcel tracking."].contains(&help_of("shipping_total").as_str())
    );
    let _ = (ship, track);
}

#[test]
fn the_runtime_derives_helps_as_the_attribute_does() {
    // One function, so the helps are what the attribute derived at compile time; the registry
    // derives them the same way when it picks a family's help.
    let derived = instrument_metric::__private::own_helps("Packs a box.");
    assert_eq!(derived[0], help_of("packing_total"));
    assert_eq!(derived[1], help_of("packing_duration_seconds"));
    assert_eq!(derived[2], help_of("packing_in_flight"));
    pack();
}
