//! The `api` binary: the command line over the library.

use clap::Parser;

/// mimalloc gives freed memory back to the system; with glibc's allocator a
/// county's entry run left the process at over a gigabyte (docs/benchmarks.md).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Give freed pages back 50 ms after they fall empty, and commit arena memory
/// only as it is used: the service's heap is small between bursts (a photo's
/// decode buffers, a sign-in's Argon2 block), so holding on to each burst's
/// pages is what made its footprint grow. Not at once (0): under load that
/// spent a sixth of the CPU in madvise and the page faults after it
/// (docs/benchmarks.md, issue 17). `MIMALLOC_PURGE_DELAY` /
/// `MIMALLOC_ARENA_EAGER_COMMIT` still override.
#[cfg(feature = "mimalloc")]
fn tune_allocator() {
    // Option numbers of mimalloc v3's `mi_option_e` (include/mimalloc.h).
    const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    // `mi_option_set`, not `_set_default`: mimalloc may have read its
    // options already while the runtime allocated before `main`.
    for (option, var, value) in
        [(PURGE_DELAY, "MIMALLOC_PURGE_DELAY", 50), (ARENA_EAGER_COMMIT, "MIMALLOC_ARENA_EAGER_COMMIT", 0)]
    {
        if std::env::var_os(var).is_none() {
            // SAFETY: a plain option setter, called before any other thread starts.
            unsafe { libmimalloc_sys::mi_option_set(option, value) };
        }
    }
}

fn main() {
    #[cfg(feature = "mimalloc")]
    tune_allocator();
    match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt.block_on(run()),
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            std::process::exit(1);
        }
    }
}

async fn run() {
    let cli = api::cli::Cli::parse();
    if let Err(e) = api::cli::run(cli).await {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
