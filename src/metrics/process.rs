//! Prometheus' standard process metrics, read from `/proc/self` at each scrape (Linux only):
//! `process_cpu_seconds_total`, `process_resident_memory_bytes`, `process_open_fds` and
//! `process_start_time_seconds`. A value that cannot be read is left out.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::TypedMetric;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

/// Clock ticks per second in `/proc`'s times (`USER_HZ`): 100 on every Linux architecture
/// this runs on; reading `sysconf(_SC_CLK_TCK)` would take `unsafe` code.
const TICKS_PER_SECOND: f64 = 100.0;

#[derive(Debug, Default)]
pub struct ProcessCollector;

impl ProcessCollector {
    pub fn new() -> Self {
        Self
    }
}

/// What `/proc/self/stat` says, in seconds: CPU time (user + system), and the start time
/// since boot.
struct Stat {
    cpu: f64,
    started_after_boot: f64,
}

fn stat() -> Option<Stat> {
    let text = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: fields are counted
    // after its closing one, from field 3.
    let fields: Vec<&str> = text.rsplit_once(')')?.1.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3)?.parse::<f64>().ok();
    Some(Stat {
        cpu: (field(14)? + field(15)?) / TICKS_PER_SECOND,
        started_after_boot: field(22)? / TICKS_PER_SECOND,
    })
}

fn resident_bytes() -> Option<i64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?;
    let kib = line.trim().strip_suffix("kB")?.trim().parse::<i64>().ok()?;
    Some(kib * 1024)
}

fn open_fds() -> Option<i64> {
    let count = std::fs::read_dir("/proc/self/fd").ok()?.count();
    // The directory's own handle was open while it was read.
    i64::try_from(count.saturating_sub(1)).ok()
}

fn boot_time() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find_map(|l| l.strip_prefix("btime "))?;
    line.trim().parse().ok()
}

/// Writes one metric that has no labels, when there is a value.
fn encode_one<M: EncodeMetric + TypedMetric>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    metric: Option<M>,
) -> Result<(), std::fmt::Error> {
    match metric {
        Some(metric) => metric.encode(encoder.encode_descriptor(name, help, None, M::TYPE)?),
        None => Ok(()),
    }
}

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let stat = stat();
        let e = &mut encoder;
        encode_one(
            e,
            "process_cpu_seconds",
            "Total user and system CPU time spent in seconds",
            stat.as_ref().map(|stat| ConstCounter::new(stat.cpu)),
        )?;
        encode_one(
            e,
            "process_resident_memory_bytes",
            "Resident memory size in bytes",
            resident_bytes().map(ConstGauge::new),
        )?;
        encode_one(
            e,
            "process_open_fds",
            "Number of open file descriptors",
            open_fds().map(ConstGauge::new),
        )?;
        let start = stat
            .zip(boot_time())
            .map(|(stat, boot)| ConstGauge::new(boot + stat.started_after_boot));
        encode_one(
            e,
            "process_start_time_seconds",
            "Start time of the process since unix epoch in seconds",
            start,
        )
    }
}

#[cfg(test)]
mod tests {
    use crate::metrics::Metrics;

    fn value(text: &str, name: &str) -> f64 {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} in {text}"));
        line[name.len() + 1..].parse().expect("a number")
    }

    #[test]
    fn the_process_metrics_are_read_from_proc() {
        let text = Metrics::default().render();
        assert!(value(&text, "process_resident_memory_bytes") > 1024.0 * 1024.0);
        assert!(value(&text, "process_open_fds") >= 3.0);
        assert!(value(&text, "process_cpu_seconds_total") >= 0.0);
        // Started after 2020 and not in the future.
        let start = value(&text, "process_start_time_seconds");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs_f64();
        assert!(start > 1_577_836_800.0 && start <= now + 1.0, "{start}");
        assert!(text.contains("# TYPE process_cpu_seconds_total counter\n"));
    }
}
