//! Process and system metrics, read at each scrape by collectors of the global registry (or of
//! a registry of your own, with the `*_in` functions).

#[cfg(any(feature = "process", feature = "system", feature = "tokio-runtime"))]
use std::borrow::Cow;

#[cfg(any(feature = "process", feature = "system", feature = "tokio-runtime"))]
use crate::model::Shape;
#[cfg(any(feature = "process", feature = "system", feature = "tokio-runtime"))]
use crate::registry::Registry;
#[cfg(any(feature = "process", feature = "system", feature = "tokio-runtime"))]
use crate::registry::collect::CollectorError;
#[cfg(any(feature = "process", feature = "system", feature = "tokio-runtime"))]
use crate::registry::runner::Samples;

/// One series without labels.
#[cfg(any(feature = "process", feature = "system", feature = "tokio-runtime"))]
fn single(value: f64) -> Samples {
    Samples {
        series: vec![(Vec::new(), value)],
    }
}

/// Registers the process' metrics in the global registry, read from `/proc` at each scrape
/// (Linux): `process_cpu_seconds_total`, `process_resident_memory_bytes`,
/// `process_virtual_memory_bytes`, `process_open_fds`, `process_max_fds`,
/// `process_start_time_seconds` and `process_threads`, the names Prometheus' own clients use.
///
/// # Errors
///
/// When they are already registered.
///
/// ```
/// instrument_metric::system::register_process_metrics().unwrap();
/// assert!(instrument_metric::render().contains("process_resident_memory_bytes"));
/// ```
#[cfg(feature = "process")]
#[track_caller]
pub fn register_process_metrics() -> Result<(), CollectorError> {
    register_process_metrics_in(crate::registry())
}

/// Registers the process' metrics in `registry`; see [`register_process_metrics`].
///
/// # Errors
///
/// When they are already registered there.
#[cfg(feature = "process")]
#[track_caller]
pub fn register_process_metrics_in(registry: &Registry) -> Result<(), CollectorError> {
    let family =
        |name: &str, help: &str, shape| (name.to_owned(), help.to_owned(), shape, Vec::new());
    registry.add_source(
        "process",
        vec![
            family(
                "process_cpu_seconds_total",
                "CPU time the process has used, user and system, in seconds.",
                Shape::Counter,
            ),
            family(
                "process_resident_memory_bytes",
                "Resident memory of the process, in bytes.",
                Shape::Gauge,
            ),
            family(
                "process_virtual_memory_bytes",
                "Virtual memory of the process, in bytes.",
                Shape::Gauge,
            ),
            family(
                "process_open_fds",
                "File descriptors the process has open.",
                Shape::Gauge,
            ),
            family(
                "process_max_fds",
                "The most file descriptors the process may open.",
                Shape::Gauge,
            ),
            family(
                "process_start_time_seconds",
                "When the process started, in seconds since the Unix epoch.",
                Shape::Gauge,
            ),
            family("process_threads", "Threads of the process.", Shape::Gauge),
        ],
        Box::new(read_process),
    )
}

#[cfg(feature = "process")]
#[allow(clippy::cast_precision_loss)] // tick, page and descriptor counts stay far below 2^53
fn read_process() -> Result<Vec<Samples>, String> {
    use procfs::process::{LimitValue, Process};
    let failed = |what: &str, error: procfs::ProcError| format!("cannot read {what}: {error}");
    let process = Process::myself().map_err(|error| failed("/proc/self", error))?;
    let stat = process
        .stat()
        .map_err(|error| failed("/proc/self/stat", error))?;
    let ticks = procfs::ticks_per_second() as f64;
    let boot = procfs::boot_time_secs().map_err(|error| failed("the boot time", error))?;
    let fds = process
        .fd_count()
        .map_err(|error| failed("/proc/self/fd", error))?;
    let max_fds = match process
        .limits()
        .map_err(|error| failed("/proc/self/limits", error))?
        .max_open_files
        .soft_limit
    {
        LimitValue::Value(limit) => limit as f64,
        LimitValue::Unlimited => f64::INFINITY,
    };
    Ok(vec![
        single((stat.utime + stat.stime) as f64 / ticks),
        single(stat.rss as f64 * procfs::page_size() as f64),
        single(stat.vsize as f64),
        single(fds as f64),
        single(max_fds),
        single(boot as f64 + stat.starttime as f64 / ticks),
        single(f64::from(
            i32::try_from(stat.num_threads).unwrap_or(i32::MAX),
        )),
    ])
}

/// Registers the machine's metrics in the global registry, read with `sysinfo` at each
/// scrape (never on a timer):
///
/// | metric | type | labels |
/// |---|---|---|
/// | `system_cpu_usage_percent` | gauge: CPU busy since the previous scrape, 0 to 100 | |
/// | `system_memory_usage_bytes` | gauge: memory in use | |
/// | `system_memory_total_bytes` | gauge | |
/// | `system_disk_usage_percent` | gauge: share of the file system in use | `mountpoint` |
/// | `system_network_io_bytes_total` | counter | `interface`, `direction` (`received`, `transmitted`) |
///
/// # Errors
///
/// When they are already registered.
///
/// ```
/// instrument_metric::system::register_system_metrics().unwrap();
/// let text = instrument_metric::render();
/// assert!(text.contains("# TYPE system_memory_usage_bytes gauge"));
/// assert!(text.contains("# TYPE system_cpu_usage_percent gauge"));
/// ```
#[cfg(feature = "system")]
#[track_caller]
pub fn register_system_metrics() -> Result<(), CollectorError> {
    register_system_metrics_in(crate::registry())
}

/// Registers the machine's metrics in `registry`; see [`register_system_metrics`].
///
/// # Errors
///
/// When they are already registered there.
#[cfg(feature = "system")]
#[track_caller]
pub fn register_system_metrics_in(registry: &Registry) -> Result<(), CollectorError> {
    use std::sync::Mutex;

    let family = |name: &str, help: &str, shape, labels: &[&'static str]| {
        (name.to_owned(), help.to_owned(), shape, labels.to_vec())
    };
    let state: Mutex<Option<State>> = Mutex::new(None);
    registry.add_source(
        "system",
        vec![
            family(
                "system_cpu_usage_percent",
                "CPU time spent busy since the previous scrape, in percent of all CPUs.",
                Shape::Gauge,
                &[],
            ),
            family(
                "system_memory_usage_bytes",
                "Memory in use, in bytes.",
                Shape::Gauge,
                &[],
            ),
            family(
                "system_memory_total_bytes",
                "Memory installed, in bytes.",
                Shape::Gauge,
                &[],
            ),
            family(
                "system_disk_usage_percent",
                "Share of each file system in use, in percent.",
                Shape::Gauge,
                &["mountpoint"],
            ),
            family(
                "system_network_io_bytes_total",
                "Bytes received and transmitted by each network interface.",
                Shape::Counter,
                &["interface", "direction"],
            ),
        ],
        Box::new(move || {
            let mut guard = state
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if guard.is_none() {
                *guard = Some(State::new().map_err(|error| error.to_string())?);
            }
            let Some(state) = guard.as_mut() else {
                return Err("sysinfo cannot read this machine".to_owned());
            };
            Ok(state.read())
        }),
    )
}

#[cfg(feature = "system")]
struct State {
    system: sysinfo::System,
    disks: sysinfo::Disks,
    networks: sysinfo::Networks,
}

#[cfg(feature = "system")]
impl State {
    fn new() -> Result<State, sysinfo::Error> {
        Ok(State {
            system: sysinfo::System::new()?,
            disks: sysinfo::Disks::new_with_refreshed_list()?,
            networks: sysinfo::Networks::new_with_refreshed_list()?,
        })
    }

    #[allow(clippy::cast_precision_loss)] // byte counts stay far below 2^53
    fn read(&mut self) -> Vec<Samples> {
        self.system.refresh_cpu_usage();
        self.system.refresh_memory();
        self.disks.refresh(true);
        self.networks.refresh(true);
        let mut disks = Samples::default();
        for disk in &self.disks {
            let total = disk.total_space();
            if total == 0 {
                continue;
            }
            let used = total.saturating_sub(disk.available_space());
            let mountpoint = disk.mount_point().to_string_lossy().into_owned();
            // Two disks mounted at one point (a bind mount) are one series: the first.
            if disks
                .series
                .iter()
                .any(|(values, _)| values[0] == mountpoint.as_str())
            {
                continue;
            }
            disks.series.push((
                vec![Cow::Owned(mountpoint)],
                used as f64 * 100.0 / total as f64,
            ));
        }
        let mut network = Samples::default();
        for (interface, data) in &self.networks {
            let interface = interface.to_string_lossy().into_owned();
            network.series.push((
                vec![Cow::Owned(interface.clone()), Cow::Borrowed("received")],
                data.total_received() as f64,
            ));
            network.series.push((
                vec![Cow::Owned(interface), Cow::Borrowed("transmitted")],
                data.total_transmitted() as f64,
            ));
        }
        vec![
            single(f64::from(self.system.global_cpu_usage())),
            single(self.system.used_memory() as f64),
            single(self.system.total_memory() as f64),
            disks,
            network,
        ]
    }
}

/// Registers the metrics of a tokio runtime in the global registry, read from
/// `handle.metrics()` at each scrape, on the collectors' own thread (so a runtime whose workers
/// are all stuck still reports it). Only what tokio's API has stable:
///
/// | metric | type | labels |
/// |---|---|---|
/// | `tokio_workers` | gauge: worker threads | |
/// | `tokio_alive_tasks` | gauge: tasks spawned and not finished | |
/// | `tokio_global_queue_depth` | gauge: tasks waiting in the shared queue | |
/// | `tokio_worker_busy_seconds_total` | counter: time each worker spent running tasks | `worker` |
/// | `tokio_worker_parks_total` | counter: times each worker went idle | `worker` |
///
/// A runtime whose busy time grows as fast as the time itself, with a global queue that keeps
/// growing, is saturated: `rate(tokio_worker_busy_seconds_total[1m])` near 1 on every worker.
/// The metrics of a second runtime need a registry of their own
/// ([`register_tokio_metrics_in`]): their names would repeat.
///
/// # Errors
///
/// When they are already registered.
///
/// ```
/// let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
/// instrument_metric::system::register_tokio_metrics(runtime.handle()).unwrap();
/// let text = instrument_metric::render();
/// assert!(text.contains("\ntokio_workers 2\n"));
/// assert!(text.contains(r#"tokio_worker_busy_seconds_total{worker="1"}"#));
/// ```
#[cfg(feature = "tokio-runtime")]
#[track_caller]
pub fn register_tokio_metrics(handle: &tokio::runtime::Handle) -> Result<(), CollectorError> {
    register_tokio_metrics_in(crate::registry(), handle)
}

/// Registers the metrics of a tokio runtime in `registry`; see [`register_tokio_metrics`].
///
/// # Errors
///
/// When they are already registered there.
#[cfg(feature = "tokio-runtime")]
#[track_caller]
pub fn register_tokio_metrics_in(
    registry: &Registry,
    handle: &tokio::runtime::Handle,
) -> Result<(), CollectorError> {
    let family = |name: &str, help: &str, shape, labels: &[&'static str]| {
        (name.to_owned(), help.to_owned(), shape, labels.to_vec())
    };
    let metrics = handle.metrics();
    registry.add_source(
        "tokio",
        vec![
            family(
                "tokio_workers",
                "Worker threads of the tokio runtime.",
                Shape::Gauge,
                &[],
            ),
            family(
                "tokio_alive_tasks",
                "Tasks of the tokio runtime spawned and not finished.",
                Shape::Gauge,
                &[],
            ),
            family(
                "tokio_global_queue_depth",
                "Tasks waiting in the tokio runtime's shared queue.",
                Shape::Gauge,
                &[],
            ),
            family(
                "tokio_worker_busy_seconds_total",
                "Time each worker of the tokio runtime spent running tasks, in seconds.",
                Shape::Counter,
                &["worker"],
            ),
            family(
                "tokio_worker_parks_total",
                "Times each worker of the tokio runtime went idle.",
                Shape::Counter,
                &["worker"],
            ),
        ],
        Box::new(move || {
            let workers = metrics.num_workers();
            #[allow(clippy::cast_precision_loss)] // counts far below 2^53
            let per_worker = |read: &dyn Fn(usize) -> f64| Samples {
                series: (0..workers)
                    .map(|worker| (vec![Cow::Owned(worker.to_string())], read(worker)))
                    .collect(),
            };
            #[allow(clippy::cast_precision_loss)] // counts far below 2^53
            Ok(vec![
                single(workers as f64),
                single(metrics.num_alive_tasks() as f64),
                single(metrics.global_queue_depth() as f64),
                per_worker(&|worker| metrics.worker_total_busy_duration(worker).as_secs_f64()),
                per_worker(&|worker| metrics.worker_park_count(worker) as f64),
            ])
        }),
    )?;
    Ok(())
}
