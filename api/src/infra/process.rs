//! The standard `process_*` metrics (as Prometheus client libraries name
//! them) read from /proc, and `hsv_build_info`, so a dashboard shows memory,
//! CPU, open files and which build runs next to the request figures.

use std::fmt::Write;

/// Appends the process and build metrics; on systems without /proc only the build.
pub fn render(out: &mut String) {
    let _ = writeln!(out, "# HELP hsv_build_info The running build: version and commit (value 1).");
    let _ = writeln!(out, "# TYPE hsv_build_info gauge");
    let _ = writeln!(
        out,
        "hsv_build_info{{version=\"{}\",commit=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION"),
        crate::build::GIT_COMMIT
    );
    let Some(p) = read() else { return };
    let mut metric = |name: &str, kind: &str, help: &str, value: f64| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}");
    };
    metric("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", p.cpu_seconds);
    metric("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", p.resident_bytes);
    metric("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", p.virtual_bytes);
    metric("process_open_fds", "gauge", "Number of open file descriptors.", p.open_fds);
    if let Some(max) = p.max_fds {
        metric("process_max_fds", "gauge", "Maximum number of open file descriptors.", max);
    }
    metric("process_threads", "gauge", "Number of OS threads in the process.", p.threads);
    metric(
        "process_start_time_seconds",
        "gauge",
        "Start time of the process since unix epoch in seconds.",
        p.start_time_seconds,
    );
}

struct Process {
    cpu_seconds: f64,
    resident_bytes: f64,
    virtual_bytes: f64,
    open_fds: f64,
    max_fds: Option<f64>,
    threads: f64,
    start_time_seconds: f64,
}

/// Clock ticks per second and page size as Linux reports them for /proc on
/// every architecture we run on (USER_HZ is 100; pages of 4 KiB).
const TICKS: f64 = 100.0;
const PAGE: f64 = 4096.0;

fn read() -> Option<Process> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let num = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok());
    // Numbering from field 3 (state) = index 0: utime 14, stime 15, threads 20,
    // starttime 22, vsize 23, rss 24 in proc(5).
    let (utime, stime, threads, start, vsize, rss) = (num(11)?, num(12)?, num(17)?, num(19)?, num(20)?, num(21)?);
    let boot = std::fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("btime ").and_then(|v| v.trim().parse::<f64>().ok()))?;
    let open_fds = std::fs::read_dir("/proc/self/fd").map(|d| d.count() as f64).unwrap_or(0.0);
    let max_fds = std::fs::read_to_string("/proc/self/limits").ok().and_then(|t| {
        t.lines()
            .find(|l| l.starts_with("Max open files"))
            .and_then(|l| l.split_whitespace().nth(3))
            .and_then(|v| v.parse::<f64>().ok())
    });
    Some(Process {
        cpu_seconds: (utime + stime) / TICKS,
        resident_bytes: rss * PAGE,
        virtual_bytes: vsize,
        open_fds,
        max_fds,
        threads,
        start_time_seconds: boot + start / TICKS,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn process_figures_are_read_on_linux() {
        let mut out = String::new();
        super::render(&mut out);
        assert!(out.contains("hsv_build_info{version=\""), "{out}");
        if cfg!(target_os = "linux") {
            let rss: f64 = out
                .lines()
                .find_map(|l| l.strip_prefix("process_resident_memory_bytes "))
                .and_then(|v| v.parse().ok())
                .expect("resident memory");
            assert!(rss > 1e6, "{out}");
            assert!(out.contains("process_open_fds "), "{out}");
        }
    }
}
