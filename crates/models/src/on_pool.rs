//! Running a loop of model calls on rayon's pool.

/// Runs `f` on a thread of rayon's global pool (in place when already on one) and returns its
/// result.
///
/// Every CPU kernel (flex's GEMM and element-wise operations, the fused and the quantized
/// kernels) splits its work over that pool. Called from a thread outside it, each operation
/// injects its tasks and puts the caller to sleep on a latch until they finish: hundreds of
/// futex waits and wake-ups per decoding step, and a third thread contending for the cores.
/// From a pool thread the caller takes part in the work instead. Measured on SmolLM2-135M
/// kept quantized (2 cores): greedy decoding 81 → 100 tokens/s at batch 1, 151 → 210 at batch
/// 8 (docs/benchmarks.md).
pub fn on_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    rayon::scope(|_| f())
}
