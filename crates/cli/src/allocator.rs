//! Allocator tuning for a long-running server process.

/// Blocks of this size and more get mappings of their own, returned to the system when freed.
const MMAP_THRESHOLD_BYTES: i32 = 1024 * 1024;

/// glibc raises its mmap threshold each time a mapped block is freed (up to 32 MiB); from then on
/// the large read buffers of frames in progress come from the heap, and the memory a flood of
/// large frames took stays with the process after the connections are gone. A fixed threshold
/// (which also stops the adjustment) keeps them in mappings of their own.
pub fn keep_large_blocks_mapped() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; called once before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES);
    }
}
