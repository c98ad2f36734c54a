//! The process every command runs in: the allocator's arenas and the async
//! runtime, set up the same way for the binary and for the benches that
//! measure it.

/// glibc gives every thread that allocates its own malloc arena, and keeps
/// what each arena once held: with the runtime's workers, the blocking pool
/// and SQLite's threads, that was a quarter of the daemon's memory. Two
/// arenas cost nothing measurable in CPU (see benches/README.md). Call it
/// before any thread is started.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn limit_malloc_arenas() {
    extern "C" {
        fn mallopt(param: std::os::raw::c_int, value: std::os::raw::c_int) -> std::os::raw::c_int;
    }
    /// `M_ARENA_MAX` and `M_MMAP_THRESHOLD` in glibc's `<malloc.h>`.
    const M_ARENA_MAX: std::os::raw::c_int = -8;
    const M_MMAP_THRESHOLD: std::os::raw::c_int = -3;
    // SAFETY: mallopt only sets an allocator tunable; the caller calls it
    // before any thread is started.
    unsafe {
        mallopt(M_ARENA_MAX, 2);
        // A fixed threshold: glibc otherwise raises it to the size of every
        // mapped block freed, so that after the first 10 MB body the next
        // ones came from the arenas and stayed resident once freed
        // (3 MB of a 10 MB page's check). Blocks of a megabyte and more
        // are bodies, snapshots and dictionaries, few per check.
        mallopt(M_MMAP_THRESHOLD, 1 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn limit_malloc_arenas() {}

/// The async runtime: one thread drives every task. What runs on it waits
/// for sockets and runs statements of microseconds, while the CPU-heavy
/// stages (extraction, diff, composing) run on the blocking pool, so
/// worker threads would only add wake-ups between them. Measured on the
/// shared bench's 304 cycle, with 304s observed on this thread as well
/// (`watch::check`): 0.25 s of CPU per 1,000 checks, against 0.35 s with
/// worker threads (ARCHITECTURE.md, "Why one async thread"). A few
/// blocking threads are enough (checks in flight are bounded anyway) and
/// each thread costs memory.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(8)
        .build()
}
