//! Process and system metrics, read on scrape.

#[cfg(feature = "system")]
use std::sync::Mutex;

#[cfg(feature = "system")]
use prometheus::core::{Collector, Desc};
#[cfg(feature = "system")]
use prometheus::proto::MetricFamily;
#[cfg(feature = "system")]
use prometheus::{CounterVec, GaugeVec, Opts};

#[cfg(any(feature = "process", feature = "system"))]
use crate::collect::CollectorError;

/// Registers tikv `prometheus`' process collector: `process_cpu_seconds_total`,
/// `process_resident_memory_bytes`, `process_virtual_memory_bytes`, `process_open_fds`,
/// `process_max_fds`, `process_start_time_seconds` and `process_threads`, read from `/proc`
/// on every scrape (Linux).
///
/// # Errors
///
/// When it is already registered.
///
/// ```
/// metrics_runtime::system::register_process_metrics().unwrap();
/// assert!(metrics_runtime::render().contains("process_resident_memory_bytes"));
/// ```
#[cfg(feature = "process")]
pub fn register_process_metrics() -> Result<(), CollectorError> {
    let collector = prometheus::process_collector::ProcessCollector::for_self();
    crate::registry().register(Box::new(collector))?;
    Ok(())
}

/// Registers the machine's metrics, read with `sysinfo` on every scrape (never on a timer):
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
/// When it is already registered.
///
/// ```
/// metrics_runtime::system::register_system_metrics().unwrap();
/// let text = metrics_runtime::render();
/// assert!(text.contains("# TYPE system_memory_usage_bytes gauge"));
/// assert!(text.contains("# TYPE system_cpu_usage_percent gauge"));
/// ```
#[cfg(feature = "system")]
pub fn register_system_metrics() -> Result<(), CollectorError> {
    crate::registry().register(Box::new(SystemCollector::new()?))?;
    Ok(())
}

#[cfg(feature = "system")]
struct SystemCollector {
    cpu: GaugeVec,
    memory: GaugeVec,
    memory_total: GaugeVec,
    disk: GaugeVec,
    network: CounterVec,
    descs: Vec<Desc>,
    state: Mutex<Option<State>>,
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
}

#[cfg(feature = "system")]
impl SystemCollector {
    fn new() -> Result<Self, prometheus::Error> {
        let gauge =
            |name: &str, help: &str, labels: &[&str]| GaugeVec::new(Opts::new(name, help), labels);
        let cpu = gauge(
            "system_cpu_usage_percent",
            "CPU time spent busy since the previous scrape, in percent of all CPUs.",
            &[],
        )?;
        let memory = gauge("system_memory_usage_bytes", "Memory in use, in bytes.", &[])?;
        let memory_total = gauge(
            "system_memory_total_bytes",
            "Memory installed, in bytes.",
            &[],
        )?;
        let disk = gauge(
            "system_disk_usage_percent",
            "Share of each file system in use, in percent.",
            &["mountpoint"],
        )?;
        let network = CounterVec::new(
            Opts::new(
                "system_network_io_bytes_total",
                "Bytes received and transmitted by each network interface.",
            ),
            &["interface", "direction"],
        )?;
        let descs = [
            cpu.desc(),
            memory.desc(),
            memory_total.desc(),
            disk.desc(),
            network.desc(),
        ]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
        Ok(SystemCollector {
            cpu,
            memory,
            memory_total,
            disk,
            network,
            descs,
            state: Mutex::new(None),
        })
    }
}

#[cfg(feature = "system")]
impl Collector for SystemCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let mut guard = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if guard.is_none() {
            *guard = State::new().ok();
        }
        // sysinfo cannot read this machine: no system series this scrape, the rest goes on.
        let Some(state) = guard.as_mut() else {
            return Vec::new();
        };
        state.system.refresh_cpu_usage();
        state.system.refresh_memory();
        state.disks.refresh(true);
        state.networks.refresh(true);

        self.cpu
            .with_label_values::<&str>(&[])
            .set(f64::from(state.system.global_cpu_usage()));
        #[allow(clippy::cast_precision_loss)] // byte counts stay far below 2^53
        {
            self.memory
                .with_label_values::<&str>(&[])
                .set(state.system.used_memory() as f64);
            self.memory_total
                .with_label_values::<&str>(&[])
                .set(state.system.total_memory() as f64);
            self.disk.reset();
            for disk in &*state.disks {
                let total = disk.total_space();
                if total == 0 {
                    continue;
                }
                let used = total.saturating_sub(disk.available_space());
                let mountpoint = disk.mount_point().to_string_lossy();
                self.disk
                    .with_label_values(&[&*mountpoint])
                    .set(used as f64 * 100.0 / total as f64);
            }
            self.network.reset();
            for (interface, data) in &*state.networks {
                let interface = interface.to_string_lossy();
                let received = self.network.with_label_values(&[&*interface, "received"]);
                received.inc_by(data.total_received() as f64);
                let transmitted = self
                    .network
                    .with_label_values(&[&*interface, "transmitted"]);
                transmitted.inc_by(data.total_transmitted() as f64);
            }
        }
        let mut families = Vec::new();
        for collector in [
            &self.cpu as &dyn Collector,
            &self.memory,
            &self.memory_total,
            &self.disk,
            &self.network,
        ] {
            families.extend(collector.collect());
        }
        families
    }
}
