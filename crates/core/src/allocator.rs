//! Keeping freed memory in the process, so that a training loop's steps reuse it.
//!
//! A training step allocates and frees the same large tensors every time (activations, their
//! gradients, matmul outputs of a few MiB each). glibc's `malloc` serves such blocks with fresh
//! `mmap` pages once they exceed its threshold and gives the top of the heap back to the kernel
//! when more than its trim threshold is free, so by default each step page-faults its memory in
//! again and the kernel clears every page first. [`retain_freed_memory`] fixes the `mmap`
//! threshold at glibc's 64-bit maximum (32 MiB) and raises the trim threshold to 1 GiB: freed
//! blocks stay in the heap for the next step. Peak memory is unchanged (the same blocks are
//! live at the peak); the process keeps up to 1 GiB of free heap instead of returning it.
//! Measured on the tiny DPO step (docs/benchmarks.md): about 8 % less time per step.
//!
//! Process-wide, so binaries call it first thing in `main` (the `prefopt` CLI and the
//! benchmarks do); a library never calls it on its user's behalf.

/// glibc's largest accepted `M_MMAP_THRESHOLD` on 64-bit targets (`HEAP_MAX_SIZE / 2`).
pub const MMAP_THRESHOLD_BYTES: i32 = 32 << 20;
/// Free heap kept before glibc trims the top of the heap back to the kernel.
pub const TRIM_THRESHOLD_BYTES: i32 = 1 << 30;
/// Extra heap requested from the kernel whenever the heap grows.
pub const TOP_PAD_BYTES: i32 = 64 << 20;

/// Tunes glibc's `malloc` to keep freed memory for reuse (see the module docs). Returns whether
/// every setting was accepted; on targets other than Linux with glibc it does nothing and
/// returns false.
pub fn retain_freed_memory() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // Every setting is tried (an array's `map` runs them all), then all must be accepted.
        [
            (libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES),
            (libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES),
            (libc::M_TOP_PAD, TOP_PAD_BYTES),
        ]
        .map(|(param, value)| {
            // SAFETY: `mallopt` takes two integers and touches only malloc's own parameters,
            // under malloc's lock; it has no pointer arguments and no precondition.
            #[allow(unsafe_code)]
            let accepted = unsafe { libc::mallopt(param, value) };
            accepted == 1
        })
        .iter()
        .all(|&accepted| accepted)
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}
