//! The process's allocator: mimalloc, tuned for a long-running server.
//!
//! A send allocates and frees a few dozen small objects (the decoded header fields, the
//! properties, the answer); with glibc malloc that took about a tenth of the broker's CPU per
//! message (`_int_malloc`, `_int_free`, `malloc_consolidate`). mimalloc's per-thread free lists
//! cut the broker's CPU per 1 KB send by about 11 % (docs/PERFORMANCE.md, "CommitLog writer
//! thread, connection task, mimalloc").

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc 2.x option number of `mi_option_purge_delay` (`mi_option_t` in mimalloc.h; the
/// bindings do not name it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Makes freed memory go back to the system at once.
///
/// By default mimalloc keeps freed pages for 10 ms (100 ms in arenas). A flood of large frames then
/// left the buffers it grew through resident until the purge: the peak exceeded the bound of
/// `stalled_16_mib_frames_stay_under_the_memory_bound_and_memory_is_released` by 45 MiB. An idle
/// broker holds 29 MiB with mimalloc against 17 MiB with glibc malloc: mimalloc reserves and commits
/// its first arena when the process starts, before `main` could change that
/// (`MIMALLOC_ARENA_EAGER_COMMIT=0` in the environment brings it back to 19 MiB).
pub fn tune() {
    // SAFETY: a plain option setter, called once at start before any other thread exists.
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0);
    }
}
