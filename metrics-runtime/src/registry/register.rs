//! Registration at run time: metrics registered by hand ([`Registry::int_counter`], ...),
//! `Metrics` struct fields, the `*_build_info` gauge, the families and objectives of an HTTP
//! layer, and the families of attached tikv registries. Each is checked against what the
//! registry already holds; a refusal is reported ([`Registry::check`]) and returned.

use std::sync::Arc;

use crate::catalog::{Conflict, DeclaredObjective, FamilySpec, Origin};
use crate::metrics::{Histogram, IntGauge, LabelTable, Metric, RuntimeSets, Storage};
use crate::model::label_values::LabelValues;
use crate::model::{FieldDescriptor, Location, Shape, metric_name_problem};
use crate::registry::fields::MetricField;
use crate::registry::intern;
use crate::registry::{Registry, StoredFamily, WriteFamilies};

/// The location of the caller (through `#[track_caller]` functions): where a family
/// registered at run time is registered.
#[track_caller]
pub(super) fn crate_location() -> Location {
    let here = std::panic::Location::caller();
    Location {
        file: here.file(),
        line: here.line(),
        column: here.column(),
    }
}

impl Registry {
    /// Registers a gauge of one series, `labels`, at 1: the shape of `*_build_info`.
    #[track_caller]
    pub(crate) fn info(
        &self,
        name: &str,
        help: &str,
        labels: &[(&str, &str)],
    ) -> Result<(), Conflict> {
        let names: Vec<&'static str> = labels.iter().map(|(name, _)| intern::text(name)).collect();
        let values: Vec<&[&str]> = labels
            .iter()
            .map(|(_, value)| intern::single(value))
            .collect();
        let spec = FamilySpec {
            name: intern::text(name),
            help: intern::text(help),
            shape: Shape::IntGauge,
            labels: names,
            buckets: &[],
            location: crate_location(),
            origin: Origin::Registered,
            native: false,
        };
        if let Some(problem) = registration_problem(&spec) {
            return Err(self.inner.state_mut().report(problem));
        }
        // The values are the series: another set of them under one name would not be exported.
        let table = LabelTable::new(&spec.labels, &values);
        let existing = self
            .snapshot()
            .stored
            .iter()
            .find(|family| family.spec.name == spec.name)
            .map(|family| (family.labels == table, family.spec.location));
        if let Some((same, first)) = existing {
            if same {
                return Ok(());
            }
            return Err(self.inner.state_mut().report(Conflict {
                family: spec.name.to_owned(),
                problem: format!(
                    "registered twice with other label values ({labels:?}): only the first is exported"
                ),
                locations: vec![first, spec.location],
            }));
        }
        let storage = self.stored(&spec, 1, &values)?;
        <IntGauge as MetricField>::from_storage(&storage).set(1);
        Ok(())
    }

    /// Declares families that `write` writes at each scrape (an HTTP layer's), all or none:
    /// the conflict that refuses one is reported and returned.
    #[cfg_attr(not(any(feature = "axum", feature = "grpc")), allow(dead_code))]
    pub(crate) fn add_writer(
        &self,
        specs: &[FamilySpec],
        write: WriteFamilies,
    ) -> Result<(), Conflict> {
        let mut state = self.inner.state_mut();
        for spec in specs {
            if let Some(problem) = state.refusal(spec, &self.inner.constant) {
                return Err(state.report(problem));
            }
        }
        for spec in specs {
            state.insert(spec);
        }
        let mut writers = state.writers.as_ref().clone();
        writers.push(write);
        state.writers = Arc::new(writers);
        Ok(())
    }

    /// Declares an objective of families registered at run time (the HTTP layer's): `Ok` when
    /// its name is free, the conflict (reported) otherwise.
    #[cfg_attr(not(feature = "axum"), allow(dead_code))]
    pub(crate) fn add_objective(&self, objective: DeclaredObjective) -> Result<(), Conflict> {
        let taken = self
            .global()
            .into_iter()
            .flat_map(|global| global.objectives.iter())
            .chain(self.inner.state().objectives.iter())
            .find(|other| other.name == objective.name)
            .map(|other| (other.location, other == &objective));
        match taken {
            Some((_, true)) => Ok(()),
            Some((first, false)) => Err(self.inner.state_mut().report(Conflict {
                family: objective.requests.to_owned(),
                problem: format!(
                    "declared with the objective `{}`, a name another objective has: only the first is kept; rename one",
                    objective.name
                ),
                locations: vec![first, objective.location],
            })),
            None => {
                self.inner.state_mut().objectives.push(objective);
                Ok(())
            }
        }
    }

    /// Declares `spec` for a family that the crate or a collector writes: `Ok` when it takes
    /// its names, the conflict (reported) otherwise.
    pub(super) fn claim(&self, spec: &FamilySpec) -> Result<(), Conflict> {
        let mut state = self.inner.state_mut();
        if let Some(problem) = state.refusal(spec, &self.inner.constant) {
            return Err(state.report(problem));
        }
        state.insert(spec);
        Ok(())
    }

    /// The storage of the family of a `Metrics` struct field: the family's cells when this
    /// declaration is (or agrees with) the one registered, cells exported nowhere otherwise
    /// (the conflict is reported).
    pub(crate) fn field_storage(&self, field: &'static FieldDescriptor) -> Storage {
        let spec = field.spec();
        let series = field
            .label_values
            .iter()
            .map(|values| values.len())
            .product();
        self.stored(&spec, series, field.label_values)
            .unwrap_or_else(|_| Storage::with_native(spec.shape, series, spec.buckets, spec.native))
    }

    /// Registers (or finds, for an identical declaration) a family with cells of its own.
    pub(super) fn stored(
        &self,
        spec: &FamilySpec,
        series: usize,
        label_values: &[&'static [&'static str]],
    ) -> Result<Storage, Conflict> {
        self.stored_with(spec, series, label_values, None)
            .map(|(storage, _)| storage)
    }

    /// Registers (or finds, for an identical declaration) a family with cells of its own, and
    /// with `runtime` labels (run-time label sets): those of the family found, when it is.
    pub(super) fn stored_with(
        &self,
        spec: &FamilySpec,
        series: usize,
        label_values: &[&'static [&'static str]],
        runtime: Option<(Arc<RuntimeSets>, &[LabelValues])>,
    ) -> Result<(Storage, Option<Arc<RuntimeSets>>), Conflict> {
        let values: Vec<Vec<&'static str>> = label_values.iter().map(|v| v.to_vec()).collect();
        let mut state = self.inner.state_mut();
        if let Some(existing) = state
            .stored
            .iter()
            .find(|family| family.spec.name == spec.name)
            && existing.spec.disagreement(spec).is_none()
        {
            let problem = if existing.values == values {
                match (&existing.runtime, &runtime) {
                    (Some(first), Some((_, sets))) if !first.same(sets) => format!(
                        "declared with the `other` values {:?} and with the `other` values {:?}",
                        first.others(),
                        sets.iter().map(LabelValues::other).collect::<Vec<_>>()
                    ),
                    (Some(_), None) | (None, Some(_)) => {
                        "declared with label values given at run time and with label value types"
                            .to_owned()
                    }
                    _ => return Ok((existing.storage.clone(), existing.runtime.clone())),
                }
            } else {
                format!(
                    "declared with label values {:?} and with label values {values:?}",
                    existing.values
                )
            };
            let conflict = Conflict {
                family: spec.name.to_owned(),
                problem: format!("{problem}: only the first declaration is exported"),
                locations: vec![existing.spec.location, spec.location],
            };
            return Err(state.report(conflict));
        }
        if let Some(problem) = state.refusal(spec, &self.inner.constant) {
            return Err(state.report(problem));
        }
        let storage = Storage::with_native(spec.shape, series, spec.buckets, spec.native);
        let runtime = runtime.map(|(sets, _)| sets);
        let family = StoredFamily {
            spec: spec.clone(),
            storage: storage.clone(),
            labels: LabelTable::new(&spec.labels, label_values),
            values,
            runtime: runtime.clone(),
        };
        let mut stored = state.stored.as_ref().clone();
        let at = stored.partition_point(|other| other.spec.name < spec.name);
        stored.insert(at, family);
        state.stored = Arc::new(stored);
        state.insert(spec);
        Ok((storage, runtime))
    }

    /// Registers a metric without labels by hand, at the caller's location.
    #[track_caller]
    fn single<M: Metric>(&self, name: &str, help: &str, buckets: &[f64]) -> Result<M, Conflict> {
        let location = crate_location();
        let name = intern::text(name);
        let spec = FamilySpec {
            name,
            help: intern::text(help),
            shape: M::SHAPE,
            labels: Vec::new(),
            buckets: intern::bounds(buckets),
            native: false,
            location,
            origin: Origin::Registered,
        };
        if let Some(problem) = registration_problem(&spec) {
            return Err(self.inner.state_mut().report(problem));
        }
        let storage = self.stored(&spec, 1, &[])?;
        Ok(M::from_storage(&storage, 0))
    }

    /// Registers an integer counter by hand: for families that exist only at run time (a
    /// derive struct is the compile-time checked way).
    ///
    /// # Errors
    ///
    /// When the name is not a counter's (`[a-zA-Z_][a-zA-Z0-9_]*_total`), conflicts with a
    /// family already in the registry, or is one the global registry keeps for the default HTTP
    /// layer (see [`registry()`](crate::registry())); the conflict is also reported by [`Registry::check`].
    ///
    /// ```
    /// let registry = instrument_metric::Registry::new();
    /// let retries = registry.int_counter("sync_retries_total", "Sync retries.").unwrap();
    /// retries.inc();
    /// assert!(registry.render().contains("sync_retries_total 1"));
    /// assert!(registry.int_counter("sync_retries", "Not a counter's name.").is_err());
    /// ```
    #[track_caller]
    pub fn int_counter(&self, name: &str, help: &str) -> Result<crate::IntCounter, Conflict> {
        self.single(name, help, &[])
    }

    /// Registers a float counter by hand; see [`Registry::int_counter`].
    ///
    /// # Errors
    ///
    /// As [`Registry::int_counter`].
    #[track_caller]
    pub fn counter(&self, name: &str, help: &str) -> Result<crate::Counter, Conflict> {
        self.single(name, help, &[])
    }

    /// Registers an integer gauge by hand; see [`Registry::int_counter`].
    ///
    /// # Errors
    ///
    /// When the name is not a gauge's or conflicts with a family already in the registry.
    #[track_caller]
    pub fn int_gauge(&self, name: &str, help: &str) -> Result<IntGauge, Conflict> {
        self.single(name, help, &[])
    }

    /// Registers a float gauge by hand; see [`Registry::int_counter`].
    ///
    /// # Errors
    ///
    /// When the name is not a gauge's or conflicts with a family already in the registry.
    #[track_caller]
    pub fn gauge(&self, name: &str, help: &str) -> Result<crate::Gauge, Conflict> {
        self.single(name, help, &[])
    }

    /// Registers a histogram by hand, with `buckets` (empty for the defaults); see
    /// [`Registry::int_counter`].
    ///
    /// # Errors
    ///
    /// When the name is a counter's or a histogram series', the buckets are not finite and
    /// strictly increasing, or it conflicts with a family already in the registry.
    #[track_caller]
    pub fn histogram(
        &self,
        name: &str,
        help: &str,
        buckets: &[f64],
    ) -> Result<Histogram, Conflict> {
        if !buckets.windows(2).all(|pair| pair[0] < pair[1])
            || buckets.iter().any(|b| !b.is_finite())
        {
            let conflict = Conflict {
                family: name.to_owned(),
                problem: "registered with buckets that are not finite and strictly increasing"
                    .to_owned(),
                locations: vec![crate_location()],
            };
            return Err(self.inner.state_mut().report(conflict));
        }
        self.single(name, help, buckets)
    }

    /// Gathers the metrics registered by hand in a tikv `prometheus::Registry` at each scrape,
    /// and writes them with this registry's. A family named like one of this registry's is
    /// left out and reported as a conflict. Only with the `prometheus` feature.
    ///
    /// ```
    /// let hand_made = prometheus::Registry::new();
    /// let legacy = prometheus::IntCounter::new("legacy_jobs_total", "Jobs.").unwrap();
    /// hand_made.register(Box::new(legacy.clone())).unwrap();
    /// legacy.inc();
    /// let registry = instrument_metric::Registry::new();
    /// registry.attach_prometheus(hand_made);
    /// assert!(registry.render().contains("legacy_jobs_total 1"));
    /// ```
    #[cfg(feature = "prometheus")]
    pub fn attach_prometheus(&self, registry: prometheus::Registry) {
        let mut state = self.inner.state_mut();
        let mut attached = state.attached.as_ref().clone();
        attached.push(registry);
        state.attached = Arc::new(attached);
    }

    /// Why a family gathered from an attached tikv registry, named `name`, taking the names
    /// `taken` in an exposition and carrying the labels `labels`, cannot be written beside this
    /// registry's families, if it cannot: it is named like one of them, it takes a name one of
    /// them takes (see `catalog::taken_names`), or one of its labels is a constant label (its
    /// series would carry it twice).
    #[cfg(feature = "prometheus")]
    pub(crate) fn gathered_refusal(
        &self,
        name: &str,
        taken: &[String],
        labels: &[&str],
    ) -> Option<String> {
        let state = self.inner.state();
        if state.families.contains_key(name) {
            return Some("named like a family of this registry".to_owned());
        }
        if let Some((shown, first)) = taken
            .iter()
            .find_map(|taken| state.taken.get(taken.as_str()).map(|first| (taken, first)))
        {
            return Some(format!(
                "takes the name `{shown}` in an exposition, which this registry's `{first}` takes too (a scraper would read the two as one family)"
            ));
        }
        labels
            .iter()
            .find(|label| self.inner.constant.contains(label))
            .map(|label| format!("labelled `{label}`, which is also a constant label"))
    }

    /// Reports, once per family, a family gathered from an attached tikv registry that is left
    /// out of the exposition, and why (`problem`).
    #[cfg(feature = "prometheus")]
    pub(crate) fn report_gathered(&self, family: &str, problem: &str) {
        let mut state = self.inner.state_mut();
        let known = state
            .conflicts
            .iter()
            .any(|conflict| conflict.family == family && conflict.locations.is_empty());
        if !known {
            state.report(Conflict {
                family: family.to_owned(),
                problem: format!(
                    "registered in an attached `prometheus::Registry` and {problem}: it is left out of the exposition"
                ),
                locations: Vec::new(),
            });
        }
    }
}

/// What the `metrics` facade's recorder asks of a registry: families whose names, labels and
/// help come at run time, claimed one at a time and written by the recorder's own writer.
#[cfg(feature = "metrics-facade")]
impl Registry {
    /// Claims the family `name` for a writer registered with [`Registry::add_writer`]: `Ok`
    /// when its names are free, the conflict (reported) otherwise. `from` names the code that
    /// recorded it first (a module path), kept as the file of its location.
    #[allow(clippy::too_many_arguments)] // one family's declaration, field by field
    pub(crate) fn claim_at_run_time(
        &self,
        name: &str,
        help: &str,
        shape: Shape,
        labels: &[String],
        buckets: &[f64],
        native: bool,
        from: &str,
        origin: Origin,
    ) -> Result<(), Conflict> {
        let spec = FamilySpec {
            name: intern::text(name),
            help: intern::text(help),
            shape,
            labels: labels.iter().map(|label| intern::text(label)).collect(),
            buckets: intern::bounds(buckets),
            native,
            location: Location {
                file: intern::text(from),
                line: 0,
                column: 0,
            },
            origin,
        };
        if let Some(problem) = registration_problem(&spec) {
            return Err(self.inner.state_mut().report(problem));
        }
        self.claim(&spec)
    }

    /// What declared family `name`, if a declaration has it.
    pub(crate) fn origin_of(&self, name: &str) -> Option<Origin> {
        self.inner
            .state()
            .families
            .get(name)
            .map(|spec| spec.origin)
    }

    /// Gives family `name`, claimed with [`Registry::claim_at_run_time`], the help `help` in the
    /// catalog (a facade's `describe_*` may come after the first record).
    pub(crate) fn set_help(&self, name: &str, help: &str) {
        let mut state = self.inner.state_mut();
        if let Some(spec) = state.families.get_mut(name) {
            spec.help = intern::text(help);
        }
    }

    /// Records the conflict of family `family`, `problem`, found in a record made by `from` (a
    /// module path), as [`Registry::check`] and `metrics_catalog_conflicts` report the others,
    /// and logs it.
    pub(crate) fn report_at_run_time(&self, family: &str, problem: String, from: &str) {
        let location = Location {
            file: intern::text(from),
            line: 0,
            column: 0,
        };
        self.inner.state_mut().report(Conflict {
            family: family.to_owned(),
            problem,
            locations: vec![location],
        });
    }
}

/// Why a family registered at run time is refused on its own, if it is.
pub(super) fn registration_problem(spec: &FamilySpec) -> Option<Conflict> {
    let problem = metric_name_problem(spec.name, spec.shape.kind()).or_else(|| {
        spec.labels.iter().find_map(|label| {
            crate::model::label_name_problem(label)
                .map(|problem| format!("registered with the label `{label}`: {problem}"))
        })
    })?;
    Some(Conflict {
        family: spec.name.to_owned(),
        problem: format!("refused: {problem}"),
        locations: vec![spec.location],
    })
}
