//! The layer's options, checked when it is built: [`GrpcMetricsLayer`], its builder, and the
//! errors a bad option gives.

use instrument_metric_rules as rules;

use crate::catalog::Conflict;
use crate::integrations::grpc::UNMATCHED;
use crate::integrations::grpc::descriptors::{method_name_problem, service_name_problem, services};
use crate::integrations::grpc::methods::{Layer, register};
use crate::model::{DEFAULT_BUCKETS, Location, MetricKind};

/// What a layer records and how: everything its builder was given.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Config {
    /// `""` or `prefix_`.
    pub(super) prefix: String,
    pub(super) buckets: Vec<f64>,
    pub(super) native: bool,
    /// The served methods, `(service, method)`, sorted.
    pub(super) methods: Vec<(String, String)>,
}

/// The family names of a configuration.
pub(super) struct Names {
    pub(super) handled: &'static str,
    pub(super) handling: &'static str,
    pub(super) in_flight: &'static str,
}

impl Config {
    pub(super) fn names(&self) -> Names {
        let name = |stem: &str| -> &'static str {
            Box::leak(format!("{}{stem}", self.prefix).into_boxed_str())
        };
        Names {
            handled: name("grpc_server_handled_total"),
            handling: name("grpc_server_handling_seconds"),
            in_flight: name("grpc_server_calls_in_flight"),
        }
    }
}

/// Why a layer could not be built: the builder's arguments, checked when it is built.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum GrpcLayerError {
    /// Bytes given as a `FileDescriptorSet` are not one.
    Descriptors(String),
    /// No method was given: every call would be `unmatched`.
    NoMethods(String),
    /// A service or method name is not a gRPC name (or is `unmatched`, which the layer keeps
    /// for paths it does not serve).
    Name(String),
    /// A service, or a method of a service, is given twice.
    Duplicate(String),
    /// The prefix is empty, ends in `_` (the layer adds the `_`) or would not make valid
    /// metric names.
    Prefix(String),
    /// The buckets are empty, not finite or not increasing, or have a bound below 1 ns.
    Buckets(String),
    /// The layer's families are declared by something else (another layer with other
    /// options and the same prefix, say); it is also reported by [`check`](crate::check).
    Conflict(Conflict),
}

impl std::fmt::Display for GrpcLayerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GrpcLayerError::Descriptors(message)
            | GrpcLayerError::NoMethods(message)
            | GrpcLayerError::Name(message)
            | GrpcLayerError::Duplicate(message)
            | GrpcLayerError::Prefix(message)
            | GrpcLayerError::Buckets(message) => f.write_str(message),
            GrpcLayerError::Conflict(conflict) => conflict.fmt(f),
        }
    }
}

impl std::error::Error for GrpcLayerError {}

/// Records `grpc_server_handled_total`, `grpc_server_handling_seconds` and
/// `grpc_server_calls_in_flight` for every call of the gRPC server it wraps (tonic's
/// `Server::builder().layer(...)`), by `grpc_service` and `grpc_method`, and the first by
/// `grpc_code`; see [`GrpcMetricsLayer::builder`] for its options and the module docs for
/// what a code is when the response never ends.
///
/// ```
/// use instrument_metric::grpc::GrpcMetricsLayer;
///
/// let layer = GrpcMetricsLayer::builder()
///     .service("helloworld.Greeter", &["SayHello", "SayHelloStream"])
///     .build()?;
/// // Every series of a served method exists from here on, at 0.
/// let text = instrument_metric::render();
/// assert!(text.contains(
///     r#"grpc_server_handled_total{grpc_method="SayHello",grpc_service="helloworld.Greeter",grpc_code="OK"} 0"#
/// ));
/// # Ok::<(), instrument_metric::grpc::GrpcLayerError>(())
/// ```
#[derive(Clone, Copy)]
pub struct GrpcMetricsLayer {
    pub(super) layer: &'static Layer,
}

impl std::fmt::Debug for GrpcMetricsLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcMetricsLayer")
            .field("config", &self.layer.config)
            .finish()
    }
}

impl GrpcMetricsLayer {
    /// A layer's options: the served methods (at least one service), and optionally a name
    /// prefix, buckets and native histograms; every argument is checked by
    /// [`GrpcMetricsBuilder::build`].
    ///
    /// ```
    /// use instrument_metric::grpc::GrpcMetricsLayer;
    ///
    /// let layer = GrpcMetricsLayer::builder()
    ///     .service("shop.v1.Orders", &["Place", "Watch"])
    ///     .service("shop.v1.Admin", &["Reindex"])
    ///     .prefix("shop")                          // shop_grpc_server_handled_total, ...
    ///     .buckets(&[0.005, 0.05, 0.5, 5.0, 60.0]) // streams may last a minute
    ///     .native_histograms()
    ///     .build()?;
    ///
    /// // A path where the service belongs is refused when the layer is built, not on a call.
    /// let error = GrpcMetricsLayer::builder()
    ///     .service("/shop.v1.Orders", &["Place"])
    ///     .build()
    ///     .unwrap_err();
    /// assert!(error.to_string().contains("try `shop.v1.Orders`"));
    /// # Ok::<(), instrument_metric::grpc::GrpcLayerError>(())
    /// ```
    pub fn builder() -> GrpcMetricsBuilder {
        GrpcMetricsBuilder {
            prefix: String::new(),
            buckets: DEFAULT_BUCKETS.to_vec(),
            native: false,
            services: Vec::new(),
            sets: 0,
            problems: Vec::new(),
        }
    }
}

/// A service given to the builder, and how (for the messages about duplicates).
#[derive(Debug)]
struct Given {
    name: String,
    methods: Vec<String>,
    how: String,
    /// Read from a `FileDescriptorSet` (not listed with `.service`).
    described: bool,
}

/// The options of a [`GrpcMetricsLayer`]; see [`GrpcMetricsLayer::builder`].
#[derive(Debug)]
#[must_use]
pub struct GrpcMetricsBuilder {
    prefix: String,
    buckets: Vec<f64>,
    native: bool,
    services: Vec<Given>,
    /// The file descriptor sets given.
    sets: usize,
    /// Problems found as the options were given, reported by `build`.
    problems: Vec<GrpcLayerError>,
}

impl GrpcMetricsBuilder {
    /// Serves every method of every service of an encoded `FileDescriptorSet`: the bytes
    /// tonic's code generator writes with `file_descriptor_set_path` (which tonic-reflection
    /// serves, read with `include_bytes!`), or a crate's `FILE_DESCRIPTOR_SET` (tonic-health's,
    /// tonic-reflection's). Call it again for each set. A service in two sets with the same
    /// methods is served once; with other methods, or also given with
    /// [`service`](Self::service), it is refused by [`build`](Self::build).
    ///
    /// ```
    /// use instrument_metric::grpc::GrpcMetricsLayer;
    ///
    /// let error = GrpcMetricsLayer::builder()
    ///     .file_descriptor_set(b"not a descriptor set")
    ///     .build()
    ///     .unwrap_err();
    /// assert!(error.to_string().contains("not an encoded `FileDescriptorSet`"));
    /// ```
    pub fn file_descriptor_set(mut self, bytes: &[u8]) -> Self {
        self.sets += 1;
        match services(bytes) {
            Ok(described) => {
                self.services
                    .extend(described.into_iter().map(|service| Given {
                        how: format!(
                            "the file descriptor set's `{}` (declared in `{}`)",
                            service.name, service.file
                        ),
                        name: service.name,
                        methods: service.methods,
                        described: true,
                    }));
            }
            Err(problem) => self.problems.push(GrpcLayerError::Descriptors(problem)),
        }
        self
    }

    /// Serves the methods `methods` of the service `name`, its full name as tonic's
    /// `NamedService::NAME` spells it (`helloworld.Greeter`), the methods as the `.proto` file
    /// does (`SayHello`). A malformed name, a service given twice or a method listed twice is
    /// refused by [`build`](Self::build).
    ///
    /// ```
    /// use instrument_metric::grpc::GrpcMetricsLayer;
    ///
    /// let error = GrpcMetricsLayer::builder()
    ///     .service("helloworld.Greeter", &["SayHello"])
    ///     .service("helloworld.Greeter", &["SayGoodbye"])
    ///     .build()
    ///     .unwrap_err();
    /// assert!(error.to_string().contains("given twice"));
    /// ```
    pub fn service(mut self, name: &str, methods: &[&str]) -> Self {
        self.services.push(Given {
            name: name.to_owned(),
            methods: methods.iter().map(|method| (*method).to_owned()).collect(),
            how: format!("`.service({name:?}, {methods:?})`"),
            described: false,
        });
        self
    }

    /// Prefixes every family name with `prefix` and `_`: `.prefix("api")` gives
    /// `api_grpc_server_handled_total`. A prefix that is empty or ends in `_` is refused by
    /// [`build`](Self::build).
    ///
    /// ```
    /// use instrument_metric::grpc::GrpcMetricsLayer;
    ///
    /// let error = GrpcMetricsLayer::builder()
    ///     .service("a.B", &["C"])
    ///     .prefix("api_")
    ///     .build()
    ///     .unwrap_err();
    /// assert!(error.to_string().contains("try `api`"));
    /// ```
    pub fn prefix(mut self, prefix: &str) -> Self {
        if prefix.is_empty() {
            self.problems.push(GrpcLayerError::Prefix(
                "an empty prefix would give `_grpc_server_handled_total`; leave `.prefix` out for the unprefixed names"
                    .to_owned(),
            ));
        } else if let Err(problem) = rules::prefix(prefix) {
            self.problems.push(GrpcLayerError::Prefix(format!(
                "the prefix `{prefix}`: {problem}"
            )));
        }
        self.prefix = format!("{prefix}_");
        self
    }

    /// The bucket bounds of the duration histogram, in seconds (default: [`DEFAULT_BUCKETS`]):
    /// finite, increasing, and 0 or at least `1e-9`. A streaming call's duration is the whole
    /// stream's: give bounds as long as the streams last.
    pub fn buckets(mut self, bounds: &[f64]) -> Self {
        self.buckets = bounds.to_vec();
        self
    }

    /// Makes the duration histogram a native histogram (with the configuration of
    /// [`set_native_histograms`](crate::set_native_histograms), or the defaults), beside its
    /// classic buckets: the protobuf exposition carries both, the text formats the classic
    /// ones.
    pub fn native_histograms(mut self) -> Self {
        self.native = true;
        self
    }

    /// The layer, its families registered in the global registry at the caller's location
    /// (the same layer again when one was built with the same options), every series of its
    /// methods at 0.
    ///
    /// # Errors
    ///
    /// [`GrpcLayerError`] for bytes that are not a `FileDescriptorSet`, no service given, a
    /// malformed service or method name (or a service named `unmatched`), a service or method
    /// given twice, a prefix that is empty, ends in `_` or makes invalid names, buckets that
    /// are not finite and increasing (or a bound below 1 ns), and family names that something
    /// else declared.
    #[track_caller]
    pub fn build(self) -> Result<GrpcMetricsLayer, GrpcLayerError> {
        let caller = std::panic::Location::caller();
        let location = Location {
            file: caller.file(),
            line: caller.line(),
            column: caller.column(),
        };
        if let Some(problem) = self.problems.into_iter().next() {
            return Err(problem);
        }
        let handled = format!("{}grpc_server_handled_total", self.prefix);
        if let Some(problem) = crate::model::metric_name_problem(&handled, MetricKind::Counter) {
            let given = self.prefix.strip_suffix('_').unwrap_or_default();
            return Err(GrpcLayerError::Prefix(format!(
                "the prefix `{given}` gives `{handled}`: {problem}"
            )));
        }
        let mut problems = rules::buckets(&self.buckets, true, false);
        problems.extend(
            rules::nanosecond_buckets(&self.buckets)
                .into_iter()
                .map(|(at, problem)| (Some(at), problem)),
        );
        if let Some((_, problem)) = problems.into_iter().next() {
            return Err(GrpcLayerError::Buckets(format!(
                "the duration buckets {:?}: {problem}",
                self.buckets
            )));
        }
        let methods = served(&self.services, self.sets)?;
        let config = Config {
            prefix: self.prefix,
            buckets: self.buckets,
            native: self.native,
            methods,
        };
        match register(config, location) {
            (layer, None) => Ok(GrpcMetricsLayer { layer }),
            (_, Some(conflict)) => Err(GrpcLayerError::Conflict(conflict)),
        }
    }
}

/// The served `(service, method)`s of the services given, sorted; the first problem, if any.
fn served(services: &[Given], sets: usize) -> Result<Vec<(String, String)>, GrpcLayerError> {
    if services.is_empty() && sets == 0 {
        return Err(GrpcLayerError::NoMethods(
            "a gRPC layer needs the methods it serves, or every call would be `unmatched`: give them with `.file_descriptor_set(...)` (the descriptors tonic's code generator writes) or `.service(\"pkg.Service\", &[\"Method\", ...])`".to_owned(),
        ));
    }
    let mut methods = Vec::new();
    for (at, service) in services.iter().enumerate() {
        if let Some(problem) = service_name_problem(&service.name) {
            return Err(GrpcLayerError::Name(format!(
                "{problem} (in {})",
                service.how
            )));
        }
        if service.name == UNMATCHED {
            return Err(GrpcLayerError::Name(format!(
                "a service named `{UNMATCHED}` (in {}) cannot be told from the layer's `unmatched` series of paths it does not serve; its methods cannot be recorded under that name",
                service.how
            )));
        }
        if let Some(first) = services[..at]
            .iter()
            .find(|first| first.name == service.name)
        {
            // The same descriptors in two sets (a file both import, say) describe one service.
            if first.described && service.described && first.methods == service.methods {
                continue;
            }
            return Err(GrpcLayerError::Duplicate(format!(
                "the service `{}` is given twice, in {} and in {}: give each service once, with all its methods",
                service.name, first.how, service.how
            )));
        }
        if service.methods.is_empty() && !service.described {
            return Err(GrpcLayerError::NoMethods(format!(
                "{} gives no method: list the methods of `{}` that the server serves",
                service.how, service.name
            )));
        }
        for (index, method) in service.methods.iter().enumerate() {
            if let Some(problem) = method_name_problem(&service.name, method) {
                return Err(GrpcLayerError::Name(format!(
                    "{problem} (in {})",
                    service.how
                )));
            }
            if service.methods[..index].contains(method) {
                return Err(GrpcLayerError::Duplicate(format!(
                    "the method `{method}` of `{}` is given twice in {}: list it once",
                    service.name, service.how
                )));
            }
            methods.push((service.name.clone(), method.clone()));
        }
    }
    if methods.is_empty() {
        return Err(GrpcLayerError::NoMethods(format!(
            "the {sets} file descriptor set(s) given declare no method (only messages, or services without methods): give the set of the files that declare the served services, or list them with `.service(\"pkg.Service\", &[\"Method\", ...])`"
        )));
    }
    methods.sort();
    Ok(methods)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(builder: GrpcMetricsBuilder) -> String {
        builder.build().unwrap_err().to_string()
    }

    #[test]
    fn every_bad_option_is_an_error_that_says_what_to_do() {
        let greeter = || GrpcMetricsLayer::builder().service("hello.Greeter", &["SayHello"]);
        let cases = [
            (
                GrpcMetricsLayer::builder(),
                "a gRPC layer needs the methods it serves",
            ),
            (
                GrpcMetricsLayer::builder().service("hello.Greeter", &[]),
                "gives no method: list the methods of `hello.Greeter`",
            ),
            (
                GrpcMetricsLayer::builder().service("hello.Greeter", &["Say.Hello"]),
                "`Say.Hello` (of `hello.Greeter`) is not a gRPC method name",
            ),
            (
                GrpcMetricsLayer::builder().service("hello.Greeter", &["SayHello", "SayHello"]),
                "the method `SayHello` of `hello.Greeter` is given twice",
            ),
            (
                greeter().service("hello.Greeter", &["Other"]),
                "the service `hello.Greeter` is given twice, in `.service(\"hello.Greeter\", [\"SayHello\"])` and in `.service(\"hello.Greeter\", [\"Other\"])`",
            ),
            (
                GrpcMetricsLayer::builder().service("unmatched", &["unmatched"]),
                "a service named `unmatched`",
            ),
            (
                GrpcMetricsLayer::builder().file_descriptor_set(&[]),
                "the 1 file descriptor set(s) given declare no method",
            ),
            (
                GrpcMetricsLayer::builder().file_descriptor_set(
                    &super::super::descriptors::tests::encoded_service("empty.Svc", &[]),
                ),
                "the 1 file descriptor set(s) given declare no method",
            ),
            (greeter().prefix(""), "an empty prefix"),
            (
                greeter().prefix("9x"),
                "the prefix `9x`: metric names must start with a letter",
            ),
            (greeter().buckets(&[]), "must not be empty"),
            (greeter().buckets(&[0.5, 0.1]), "strictly increasing"),
            (greeter().buckets(&[0.1, f64::INFINITY]), "finite"),
            (greeter().buckets(&[1e-10, 0.1]), "whole nanoseconds"),
        ];
        for (builder, expected) in cases {
            let message = error(builder);
            assert!(message.contains(expected), "{message:?} lacks {expected:?}");
        }
    }

    #[test]
    fn the_methods_are_sorted_and_the_same_options_give_the_same_layer() {
        let build = || {
            GrpcMetricsLayer::builder()
                .service("z.Last", &["B", "A"])
                .service("a.First", &["Only"])
                .prefix("unit_sorted")
                .build()
                .unwrap()
        };
        let (first, again) = (build(), build());
        assert!(std::ptr::eq(first.layer, again.layer));
        let methods: Vec<(&str, &str)> = first
            .layer
            .config
            .methods
            .iter()
            .map(|(service, method)| (service.as_str(), method.as_str()))
            .collect();
        assert_eq!(
            methods,
            [("a.First", "Only"), ("z.Last", "A"), ("z.Last", "B")]
        );
        assert_eq!(
            first.layer.method("/z.Last/A").labels,
            first.layer.methods[1].labels
        );
        assert!(std::ptr::eq(
            first.layer.method("/z.Last/C"),
            first.layer.unmatched()
        ));
        assert!(std::ptr::eq(
            first.layer.method("z.Last/A"),
            first.layer.unmatched()
        ));
    }

    #[test]
    fn a_service_in_two_descriptor_sets_is_served_once_unless_they_disagree() {
        let set = |methods: &[&str]| {
            super::super::descriptors::tests::encoded_service("dup.Svc", methods)
        };
        let layer = GrpcMetricsLayer::builder()
            .file_descriptor_set(&set(&["A", "B"]))
            .file_descriptor_set(&set(&["A", "B"]))
            .prefix("unit_dup_same")
            .build()
            .unwrap();
        assert_eq!(layer.layer.config.methods.len(), 2);
        let message = error(
            GrpcMetricsLayer::builder()
                .file_descriptor_set(&set(&["A", "B"]))
                .file_descriptor_set(&set(&["A"])),
        );
        assert!(message.contains("the service `dup.Svc` is given twice, in the file descriptor set's `dup.Svc` (declared in `dup.proto`) and in"), "{message}");
        let message = error(
            GrpcMetricsLayer::builder()
                .file_descriptor_set(&set(&["A"]))
                .service("dup.Svc", &["A"]),
        );
        assert!(
            message.contains("and in `.service(\"dup.Svc\", [\"A\"])`"),
            "{message}"
        );
    }

    #[test]
    fn another_layer_with_the_same_prefix_is_a_conflict_naming_both_builds() {
        GrpcMetricsLayer::builder()
            .service("a.B", &["C"])
            .prefix("unit_clash")
            .build()
            .unwrap();
        let error = GrpcMetricsLayer::builder()
            .service("a.B", &["D"])
            .prefix("unit_clash")
            .build()
            .unwrap_err();
        let GrpcLayerError::Conflict(conflict) = error else {
            panic!("{error:?}")
        };
        assert_eq!(conflict.locations.len(), 2);
        assert!(
            conflict
                .locations
                .iter()
                .all(|at| at.file.ends_with("builder.rs"))
        );
        assert_ne!(conflict.locations[0].line, conflict.locations[1].line);
    }
}
