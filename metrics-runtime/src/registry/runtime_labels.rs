//! Registering a family whose labels take values given at run time ([`LabelValues`] sets):
//! [`Registry::family`] and its builder, and the shorthands for one run-time label
//! ([`Registry::int_counter_family`], ...). The label sets are checked together (names unique,
//! series within the cap), the family like any registered by hand, and the registry's count of
//! values outside the sets (`metrics_label_values_unknown_total`) is claimed with the first.

use std::sync::Arc;

use crate::catalog::{Conflict, FamilySpec, Origin};
use crate::metrics::{
    Counter, Gauge, Histogram, IntCounter, IntGauge, Metric, RuntimeFamily, RuntimeSets,
    UNKNOWN_VALUES_FAMILY, UNKNOWN_VALUES_HELP,
};
use crate::model::label_values::{LabelValues, Part, RuntimeLabels};
use crate::model::{Location, MetricKind, Shape};
use crate::registry::Registry;
use crate::registry::intern;
use crate::registry::register::{crate_location, registration_problem};

use instrument_metric_rules::DEFAULT_MAX_SERIES;

/// A family being registered with labels whose values are given at run time: made by
/// [`Registry::family`], given one [`LabelValues`] set per [`Runtime`](crate::Runtime) label with
/// [`FamilyBuilder::label`], then registered with [`FamilyBuilder::register`], whose type
/// (often inferred from the binding) says the metric and the label types.
///
/// ```
/// use instrument_metric::{Histogram, LabelValue, LabelValues, Registry, Runtime, RuntimeFamily};
///
/// #[derive(Clone, Copy, LabelValue)]
/// enum Carrier { Post, Courier }
///
/// let registry = Registry::new();
/// let warehouses = LabelValues::new("warehouse", ["north", "south"]).unwrap();
/// let tenants = LabelValues::new("tenant", ["acme", "globex"]).unwrap().with_other("other").unwrap();
/// let packing: RuntimeFamily<Histogram, (Runtime, Runtime, Carrier)> = registry
///     .family("parcel_packing_duration_seconds", "Time to pack a parcel.")
///     .label(&warehouses)
///     .label(&tenants)
///     .buckets(&[1.0, 10.0, 60.0])
///     .register()
///     .unwrap();
/// packing.with(("north", "acme", Carrier::Courier)).observe(4.0);
/// assert_eq!(packing.iter().count(), 2 * 3 * 2);
/// ```
#[derive(Debug)]
#[must_use = "a family is registered by `register()`"]
pub struct FamilyBuilder<'r> {
    registry: &'r Registry,
    name: String,
    help: String,
    sets: Vec<LabelValues>,
    buckets: Option<Vec<f64>>,
    max_series: usize,
    location: Location,
}

impl Registry {
    /// Starts registering the family `name` whose labels include some whose values are given
    /// at run time: see [`FamilyBuilder`]. The family's location is the caller's.
    ///
    /// ```
    /// use instrument_metric::{IntGauge, LabelValues, Registry, Runtime, RuntimeFamily};
    ///
    /// let registry = Registry::new();
    /// let tenants = LabelValues::new("tenant", ["acme", "globex"]).unwrap();
    /// let regions = LabelValues::new("region", ["eu", "us"]).unwrap();
    /// let quota: RuntimeFamily<IntGauge, (Runtime, Runtime)> = registry
    ///     .family("tenant_quota_left", "Quota left, by tenant and region.")
    ///     .label(&tenants)
    ///     .label(&regions)
    ///     .register()
    ///     .unwrap();
    /// quota.with(("globex", "us")).set(12);
    /// assert!(registry.render().contains("tenant_quota_left{tenant=\"globex\",region=\"us\"} 12\n"));
    /// ```
    #[track_caller]
    pub fn family(&self, name: &str, help: &str) -> FamilyBuilder<'_> {
        FamilyBuilder {
            registry: self,
            name: name.to_owned(),
            help: help.to_owned(),
            sets: Vec::new(),
            buckets: None,
            max_series: DEFAULT_MAX_SERIES,
            location: crate_location(),
        }
    }

    /// Registers (or finds, when registered alike before) an integer counter family with one
    /// label whose values are `values`; every series exists at 0 from here on. See
    /// [`RuntimeFamily`] for a value outside the set.
    ///
    /// # Errors
    ///
    /// As [`FamilyBuilder::register`].
    ///
    /// ```
    /// use instrument_metric::{LabelValues, Registry};
    ///
    /// let registry = Registry::new();
    /// let tenants = LabelValues::new("tenant", ["acme", "globex"]).unwrap();
    /// let jobs = registry.int_counter_family("jobs_total", "Jobs, by tenant.", &tenants).unwrap();
    /// jobs.with("acme").inc();
    /// let text = registry.render();
    /// assert!(text.contains("jobs_total{tenant=\"acme\"} 1\n"));
    /// assert!(text.contains("jobs_total{tenant=\"globex\"} 0\n"));
    /// ```
    #[track_caller]
    pub fn int_counter_family(
        &self,
        name: &str,
        help: &str,
        values: &LabelValues,
    ) -> Result<RuntimeFamily<IntCounter>, Conflict> {
        self.family(name, help).label(values).register()
    }

    /// A float counter family with one run-time label; see [`Registry::int_counter_family`].
    ///
    /// # Errors
    ///
    /// As [`FamilyBuilder::register`].
    ///
    /// ```
    /// use instrument_metric::{LabelValues, Registry};
    ///
    /// let registry = Registry::new();
    /// let tenants = LabelValues::new("tenant", ["acme"]).unwrap();
    /// let billed = registry.counter_family("billed_euros_total", "Billed.", &tenants).unwrap();
    /// billed.with("acme").inc_by(2.5);
    /// assert_eq!(billed.with("acme").get(), 2.5);
    /// ```
    #[track_caller]
    pub fn counter_family(
        &self,
        name: &str,
        help: &str,
        values: &LabelValues,
    ) -> Result<RuntimeFamily<Counter>, Conflict> {
        self.family(name, help).label(values).register()
    }

    /// An integer gauge family with one run-time label; see [`Registry::int_counter_family`].
    ///
    /// # Errors
    ///
    /// As [`FamilyBuilder::register`].
    ///
    /// ```
    /// use instrument_metric::{LabelValues, Registry};
    ///
    /// let registry = Registry::new();
    /// let queues = LabelValues::new("queue", ["mail", "sms"]).unwrap();
    /// let depth = registry.int_gauge_family("queue_depth", "Items waiting.", &queues).unwrap();
    /// depth.try_with("sms").unwrap().set(4);
    /// assert_eq!(depth.with("sms").get(), 4);
    /// ```
    #[track_caller]
    pub fn int_gauge_family(
        &self,
        name: &str,
        help: &str,
        values: &LabelValues,
    ) -> Result<RuntimeFamily<IntGauge>, Conflict> {
        self.family(name, help).label(values).register()
    }

    /// A float gauge family with one run-time label; see [`Registry::int_counter_family`].
    ///
    /// # Errors
    ///
    /// As [`FamilyBuilder::register`].
    ///
    /// ```
    /// use instrument_metric::{LabelValues, Registry};
    ///
    /// let registry = Registry::new();
    /// let disks = LabelValues::new("disk", ["data"]).unwrap();
    /// let used = registry.gauge_family("disk_used_ratio", "Share of the disk used.", &disks).unwrap();
    /// used.with("data").set(0.5);
    /// assert_eq!(used.with("data").get(), 0.5);
    /// ```
    #[track_caller]
    pub fn gauge_family(
        &self,
        name: &str,
        help: &str,
        values: &LabelValues,
    ) -> Result<RuntimeFamily<Gauge>, Conflict> {
        self.family(name, help).label(values).register()
    }

    /// A histogram family with one run-time label and `buckets` (empty for the defaults); see
    /// [`Registry::int_counter_family`].
    ///
    /// # Errors
    ///
    /// As [`FamilyBuilder::register`].
    ///
    /// ```
    /// use instrument_metric::{LabelValues, Registry};
    ///
    /// let registry = Registry::new();
    /// let regions = LabelValues::new("region", ["eu-west"]).unwrap();
    /// let latency = registry
    ///     .histogram_family("upstream_duration_seconds", "Upstream latency.", &[0.1, 1.0], &regions)
    ///     .unwrap();
    /// latency.with("eu-west").observe(0.05);
    /// assert_eq!(latency.with("eu-west").get_sample_count(), 1);
    /// ```
    #[track_caller]
    pub fn histogram_family(
        &self,
        name: &str,
        help: &str,
        buckets: &[f64],
        values: &LabelValues,
    ) -> Result<RuntimeFamily<Histogram>, Conflict> {
        self.family(name, help)
            .label(values)
            .buckets(buckets)
            .register()
    }

    /// Declares `metrics_label_values_unknown_total` in this registry, if it is not yet: the
    /// count of values outside the sets of its run-time labels.
    fn claim_unknown_values(&self, location: Location) -> Result<(), Conflict> {
        let state = self.inner.state();
        if state
            .families
            .get(UNKNOWN_VALUES_FAMILY)
            .is_some_and(|family| family.origin == Origin::Crate)
        {
            return Ok(());
        }
        drop(state);
        self.claim(&FamilySpec {
            name: UNKNOWN_VALUES_FAMILY,
            help: UNKNOWN_VALUES_HELP,
            shape: Shape::IntCounter,
            labels: vec!["family", "label"],
            buckets: &[],
            native: false,
            location,
            origin: Origin::Crate,
        })?;
        self.inner.state_mut().unknown_values = true;
        Ok(())
    }
}

impl FamilyBuilder<'_> {
    /// The set of the next [`Runtime`](crate::Runtime) label, in the order of the label types.
    pub fn label(mut self, values: &LabelValues) -> Self {
        self.sets.push(values.clone());
        self
    }

    /// The bucket bounds of a histogram family (the defaults without).
    pub fn buckets(mut self, bounds: &[f64]) -> Self {
        self.buckets = Some(bounds.to_vec());
        self
    }

    /// The most series the labels may make (the product of their numbers of values), 10,000
    /// unless raised here, as `max_series = N` raises it at compile time: every series is
    /// created at registration.
    ///
    /// ```
    /// use instrument_metric::{LabelValues, Registry};
    ///
    /// let registry = Registry::new();
    /// let shops = LabelValues::new("shop", (0..20_000).map(|n| format!("s{n}"))).unwrap();
    /// assert!(registry.int_counter_family("orders_total", "Orders.", &shops).is_err());
    /// let orders = registry
    ///     .family("shop_orders_total", "Orders, by shop.")
    ///     .label(&shops)
    ///     .max_series(20_000)
    ///     .register::<instrument_metric::IntCounter, instrument_metric::Runtime>()
    ///     .unwrap();
    /// assert_eq!(orders.iter().count(), 20_000);
    /// ```
    pub fn max_series(mut self, cap: usize) -> Self {
        self.max_series = cap;
        self
    }

    /// Registers the family of `M` labelled by `S`, or finds it when it is registered alike
    /// (same kind, help, labels, sets and `other` values), every series at 0 from here on.
    ///
    /// # Errors
    ///
    /// A [`Conflict`] (also reported by [`Registry::check`]) naming the family and where it is
    /// registered: a name that is not one of a family of `M`'s kind, as many sets given as `S`
    /// has [`Runtime`](crate::Runtime) labels, a label named twice, more series than the cap, buckets that are
    /// not finite and strictly increasing (or given to another kind than a histogram), a label
    /// that is a constant label, a family registered before with another kind, help, labels,
    /// values or `other` values (naming both places), or a name another family takes.
    ///
    /// ```
    /// use instrument_metric::{IntCounter, LabelValues, Registry, RuntimeFamily};
    ///
    /// let registry = Registry::new();
    /// let regions = LabelValues::new("region", ["eu-west"]).unwrap();
    /// let sent = registry.int_counter_family("sms_sent_total", "SMS sent.", &regions).unwrap();
    /// let again = registry.int_counter_family("sms_sent_total", "SMS sent.", &regions).unwrap();
    /// again.with("eu-west").inc();
    /// assert_eq!(sent.with("eu-west").get(), 1, "the same family");
    ///
    /// let more = LabelValues::new("region", ["eu-west", "us-east"]).unwrap();
    /// let conflict = registry.int_counter_family("sms_sent_total", "SMS sent.", &more).unwrap_err();
    /// assert_eq!(conflict.locations.len(), 2);
    /// assert!(registry.check().is_err());
    /// ```
    pub fn register<M: Metric, S: RuntimeLabels>(self) -> Result<RuntimeFamily<M, S>, Conflict> {
        let location = self.location;
        let refuse = |problem: String| Conflict {
            family: self.name.clone(),
            problem: format!("refused: {problem}"),
            locations: vec![location],
        };
        let checked = self.check::<M, S>().map_err(refuse);
        let (names, values, buckets) = match checked {
            Ok(checked) => checked,
            Err(conflict) => return Err(self.registry.inner.state_mut().report(conflict)),
        };
        let spec = FamilySpec {
            name: intern::text(&self.name),
            help: intern::text(&self.help),
            shape: M::SHAPE,
            labels: names,
            buckets,
            native: false,
            location,
            origin: Origin::Registered,
        };
        if let Some(problem) = registration_problem(&spec) {
            return Err(self.registry.inner.state_mut().report(problem));
        }
        self.registry.claim_unknown_values(location)?;
        let series = values.iter().map(|values| values.len()).product();
        let sets = Arc::new(RuntimeSets::new(spec.name, location, &self.sets));
        let (storage, sets) = self.registry.stored_with(
            &spec,
            series,
            &values,
            Some((sets, self.sets.as_slice())),
        )?;
        let sets = sets.unwrap_or_else(|| unreachable!("a run-time family has run-time sets"));
        Ok(RuntimeFamily::new(&storage, series, sets))
    }

    /// The label names, the values of each label and the buckets of the family, or what is
    /// wrong with them.
    #[allow(clippy::type_complexity)]
    fn check<M: Metric, S: RuntimeLabels>(
        &self,
    ) -> Result<
        (
            Vec<&'static str>,
            Vec<&'static [&'static str]>,
            &'static [f64],
        ),
        String,
    > {
        let parts = S::parts();
        let runtime = parts
            .iter()
            .filter(|part| matches!(part, Part::Runtime))
            .count();
        if runtime != self.sets.len() {
            return Err(format!(
                "its label types have {runtime} run-time label(s) (`Runtime`) and {} set(s) of values are given with `label(...)`: give one `LabelValues` per `Runtime`, in order",
                self.sets.len()
            ));
        }
        let mut sets = self.sets.iter();
        let mut names: Vec<&'static str> = Vec::with_capacity(parts.len());
        let mut values: Vec<&'static [&'static str]> = Vec::with_capacity(parts.len());
        for part in parts {
            let (name, label_values) = match part {
                Part::Static(name, label_values) => (name, label_values),
                Part::Runtime => {
                    let set = sets.next().unwrap_or_else(|| unreachable!("counted above"));
                    (intern::text(set.name()), intern::list(set.values()))
                }
            };
            if names.contains(&name) {
                return Err(format!(
                    "the label `{name}` is given twice: name each label of a family once"
                ));
            }
            names.push(name);
            values.push(label_values);
        }
        let series = values
            .iter()
            .try_fold(1_usize, |series, values| series.checked_mul(values.len()));
        if series.is_none_or(|series| series > self.max_series) {
            let counts: Vec<String> = names
                .iter()
                .zip(&values)
                .map(|(name, values)| format!("{name}: {}", values.len()))
                .collect();
            return Err(format!(
                "its labels ({}) make more than {} series, each created at registration; use fewer values, or raise the cap with `FamilyBuilder::max_series(N)` (N at least the number of series) if that many are intended",
                counts.join(", "),
                self.max_series
            ));
        }
        let buckets = match &self.buckets {
            None => &[][..],
            Some(_) if M::SHAPE.kind() != MetricKind::Histogram => {
                return Err(format!(
                    "given buckets, but it is {}: only a histogram has buckets",
                    M::SHAPE.describe()
                ));
            }
            Some(bounds) => {
                if !bounds.windows(2).all(|pair| pair[0] < pair[1])
                    || bounds.iter().any(|bound| !bound.is_finite())
                {
                    return Err(format!(
                        "given the buckets {bounds:?}, which are not finite and strictly increasing"
                    ));
                }
                intern::bounds(bounds)
            }
        };
        Ok((names, values, buckets))
    }
}

#[cfg(test)]
mod tests;
