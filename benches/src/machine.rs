//! What machine a report ran on.

/// CPU model name from `/proc/cpuinfo` (or "unknown").
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".to_string())
}

/// Logical CPUs available to this process.
pub fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// A one-paragraph markdown header: CPU, cores, kernel tier, available tiers.
pub fn header() -> String {
    let tiers: Vec<&str> = burn_amq_kernels::Tier::available()
        .into_iter()
        .map(|t| t.name())
        .collect();
    format!(
        "CPU: {} ({} logical CPUs); kernel tier: {} (available: {})\n",
        cpu_model(),
        cpus(),
        burn_amq_kernels::Tier::active(),
        tiers.join(", ")
    )
}
