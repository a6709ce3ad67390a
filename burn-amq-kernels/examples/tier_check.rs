//! Prints the active kernel tier and exits non-zero when `AMQ_KERNEL_TIER` names a tier this
//! machine cannot run (CI uses it to decide which forced-tier runs to do).

fn main() -> std::process::ExitCode {
    match burn_amq_kernels::Tier::env_override() {
        Ok(forced) => {
            println!(
                "active tier: {} (forced: {}); available: {:?}",
                burn_amq_kernels::Tier::active(),
                forced.map_or("no", |t| t.name()),
                burn_amq_kernels::Tier::available()
            );
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::ExitCode::from(2)
        }
    }
}
