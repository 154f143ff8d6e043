//! Collectors: registering one (its families are checked like any other declaration) and
//! checking the samples its read function returns before a scrape writes them. The runner
//! (`runner.rs`) reads them; `collect.rs` is the public way to register one.

use std::collections::HashSet;
use std::sync::Arc;

use crate::catalog::{Conflict, FamilySpec, Origin};
use crate::model::{MetricKind, Shape};
use crate::registry::Registry;
use crate::registry::intern;
use crate::registry::register::{crate_location, registration_problem};
use crate::registry::runner::{Read, Samples, Source};

impl Registry {
    /// Registers a collector writing `families`, read by `read` at each scrape.
    #[track_caller]
    pub(crate) fn add_source(
        &self,
        name: &str,
        families: Vec<(String, String, Shape, Vec<&'static str>)>,
        read: Read,
    ) -> Result<(), Conflict> {
        let location = crate_location();
        let specs: Vec<FamilySpec> = families
            .into_iter()
            .map(|(family, help, shape, labels)| FamilySpec {
                name: intern::text(&family),
                help: intern::text(&help),
                shape,
                labels,
                buckets: &[],
                native: false,
                location,
                origin: Origin::Collector,
            })
            .collect();
        let mut state = self.inner.state_mut();
        for spec in &specs {
            let problem = registration_problem(spec)
                .or_else(|| state.refusal(spec, &self.inner.constant))
                .or_else(|| {
                    let others = specs.iter().filter(|other| other.name == spec.name).count();
                    (others > 1).then(|| Conflict {
                        family: spec.name.to_owned(),
                        problem: "written twice by one collector".to_owned(),
                        locations: vec![location],
                    })
                });
            if let Some(problem) = problem {
                return Err(state.report(problem));
            }
        }
        for spec in &specs {
            state.insert(spec);
        }
        let mut sources = state.sources.as_ref().clone();
        sources.push(Arc::new(Source::new(intern::text(name), specs, read)));
        state.sources = Arc::new(sources);
        Ok(())
    }
}

/// A collector's samples are checked against its families before they are written: a read
/// function may return anything.
pub(crate) fn valid_samples(spec: &FamilySpec, samples: &Samples) -> bool {
    let labels = spec.labels.len();
    let mut seen = HashSet::new();
    samples.series.iter().all(|(values, value)| {
        values.len() == labels
            // A counter's value is a count: never negative, never NaN.
            && (spec.shape.kind() != MetricKind::Counter || *value >= 0.0)
            && seen.insert(values)
    })
}
