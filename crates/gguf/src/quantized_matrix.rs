//! A weight matrix kept in its GGUF block format, with matrix-vector and matrix-matrix products
//! that dequantize in registers (see the crate README, "Quantized matrix products").

use std::ops::Range;
use std::sync::OnceLock;

use rayon::prelude::*;

use crate::dequant::dequantize;
use crate::error::{GgufError, Result};
use crate::file::GgufFile;
use crate::ggml_type::GgmlType;
use crate::q8_activation::{BlockQ8, BlockQ8K, quantize_q8, quantize_q8k};
#[cfg(target_arch = "x86_64")]
use crate::qdot_avx2::Avx2;
use crate::qdot_scalar;

/// Multiply-adds below which a product stays on the calling thread; from here on it is split
/// over output rows into one rayon task per thread (batch-1 decoding of SmolLM2-135M: its
/// 576 × 576 and 192 × 576 matvecs split, 20 % more tokens/s than keeping them whole).
const SPLIT_WORK: usize = 1 << 15;

/// Multiply-adds per task from which a product gets more tasks than threads (up to four per
/// thread, a task costing a few µs).
const MIN_WORK_PER_TASK: usize = 1 << 20;

/// The types with integer (8-bit activation) kernels; the others go through
/// [`Kernel::DequantF32`].
pub const INTEGER_KERNEL_TYPES: [GgmlType; 7] = [
    GgmlType::Q8_0,
    GgmlType::Q4_0,
    GgmlType::Q4_1,
    GgmlType::Q5_0,
    GgmlType::Q5_1,
    GgmlType::Q4_K,
    GgmlType::Q6_K,
];

/// How [`QuantizedMatrix::matmul_with`] computes its dot products.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Kernel {
    /// [`Kernel::Avx512Vnni`] or [`Kernel::Avx2`], the first the CPU has, where the type has
    /// integer kernels, else
    /// [`Kernel::Scalar`] for those types, else [`Kernel::DequantF32`].
    #[default]
    Auto,
    /// Activations quantized to 8 bits per block (Q8_0-style for 32-element types, Q8_K-style
    /// for k-quants), integer dot products with the weight quants, one f32 scaling per block;
    /// portable Rust. Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K and Q6_K only.
    Scalar,
    /// The same arithmetic with AVX2 (x86-64 with `avx2`, `fma` and `f16c` detected at run time).
    Avx2,
    /// [`Kernel::Avx2`] with AVX-512 VNNI's `vpdpbusd` (on 256-bit registers) for the u8 × i8
    /// products of the 32-element types (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1): the same integers in one
    /// instruction instead of two. Where the CPU also has `avx512vl` and `avx512vnni`; Q4_K and
    /// Q6_K run their AVX2 kernels under it.
    Avx512Vnni,
    /// Each weight row dequantized to f32 (exactly, through [`crate::dequantize`]) and dotted
    /// with the unquantized input in f32: no activation rounding, slower. Every dequantizable
    /// type.
    DequantF32,
}

/// A kernel resolved for one matrix: what actually runs.
#[derive(Debug, Clone, Copy)]
enum Resolved {
    Scalar,
    #[cfg(target_arch = "x86_64")]
    Avx2(Avx2),
    DequantF32,
}

/// The inputs in the form a kernel reads: quantized blocks, `blocks` per input row, or f32.
#[derive(Debug)]
enum Activations<'x> {
    Q8(Vec<BlockQ8>, usize),
    Q8K(Vec<BlockQ8K>, usize),
    F32(&'x [f32]),
}

/// Which form of [`Activations`] a kernel reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ActivationFormat {
    Q8,
    Q8K,
    F32,
}

/// An owned `rows × cols` weight matrix in one ggml type, row-major blocks exactly as stored in
/// GGUF (each row is `cols / block_size` blocks), with products that dequantize on the fly.
///
/// `matvec` computes `y = W x`; `matmul` computes `y = x Wᵀ` for a batch of input rows (the
/// `nn.Linear` convention, weight `[out, in]`). Both run [`Kernel::Auto`]; see
/// [`QuantizedMatrix::matmul_with`] to choose.
#[derive(Clone)]
pub struct QuantizedMatrix {
    ggml_type: GgmlType,
    rows: usize,
    cols: usize,
    data: Vec<u8>,
}

impl std::fmt::Debug for QuantizedMatrix {
    /// The type and shape, not the (possibly large) bytes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuantizedMatrix")
            .field("ggml_type", &self.ggml_type)
            .field("rows", &self.rows)
            .field("cols", &self.cols)
            .field("bytes", &self.data.len())
            .finish()
    }
}

impl QuantizedMatrix {
    /// Takes `data`, the raw bytes of a `rows × cols` tensor of `ggml_type`.
    ///
    /// # Errors
    /// [`GgufError::QuantizedMatrix`] when the type cannot be dequantized, `cols` is not a
    /// multiple of its block size, or `data` is not exactly `rows × cols / block_size` blocks.
    pub fn new(ggml_type: GgmlType, rows: usize, cols: usize, data: Vec<u8>) -> Result<Self> {
        check_shape(ggml_type, rows, cols, data.len())?;
        Ok(Self {
            ggml_type,
            rows,
            cols,
            data,
        })
    }

    /// Copies `data` after checking its length, as [`QuantizedMatrix::new`].
    ///
    /// # Errors
    /// As [`QuantizedMatrix::new`].
    pub fn from_bytes(ggml_type: GgmlType, rows: usize, cols: usize, data: &[u8]) -> Result<Self> {
        check_shape(ggml_type, rows, cols, data.len())?;
        Ok(Self {
            ggml_type,
            rows,
            cols,
            data: data.to_vec(),
        })
    }

    /// Reads the 2-D tensor `name` of `file` (GGUF dims `[cols, rows]`) without dequantizing it.
    ///
    /// # Errors
    /// [`GgufError::MissingTensor`], a read error, [`GgufError::Malformed`] when the tensor is not
    /// 2-D, or [`GgufError::QuantizedMatrix`] when its type or shape does not fit (see
    /// [`QuantizedMatrix::new`]).
    pub fn from_tensor(file: &GgufFile, name: &str) -> Result<Self> {
        let info = file.require_tensor(name)?;
        let malformed = |message: String| GgufError::Malformed {
            path: file.path().to_path_buf(),
            context: format!("tensor `{name}`"),
            message,
        };
        let (cols, rows) = match info.dims[..] {
            [cols, rows] => (cols, rows),
            _ => {
                return Err(malformed(format!(
                    "dims {:?} are not 2-D, as a quantized matrix needs",
                    info.dims
                )));
            }
        };
        let to_usize = |v: u64| {
            usize::try_from(v).map_err(|_| malformed(format!("size {v} does not fit in usize")))
        };
        let (rows, cols) = (to_usize(rows)?, to_usize(cols)?);
        check_shape(info.ggml_type, rows, cols, to_usize(info.n_bytes)?)?;
        Self::new(info.ggml_type, rows, cols, file.tensor_bytes(name)?)
    }

    /// Output rows (`out_features`).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Input columns (`in_features`).
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The storage type.
    pub fn ggml_type(&self) -> GgmlType {
        self.ggml_type
    }

    /// The raw blocks, row-major.
    pub fn bytes(&self) -> &[u8] {
        &self.data
    }

    /// Bytes per row (`cols / block_size` blocks).
    pub fn row_bytes(&self) -> usize {
        self.data.len().checked_div(self.rows).unwrap_or(0)
    }

    /// Rows `rows` as f32 into `out` (`rows.len() × cols`, row-major), bit-identical to
    /// [`crate::dequantize`] of those rows.
    ///
    /// # Errors
    /// [`GgufError::QuantizedMatrix`] when `rows` is out of range or `out` has the wrong length.
    pub fn dequantize_rows(&self, rows: Range<usize>, out: &mut [f32]) -> Result<()> {
        if rows.start > rows.end || rows.end > self.rows {
            return Err(self.error(format!("dequantize_rows: rows {rows:?} out of range")));
        }
        if out.len() != rows.len() * self.cols {
            return Err(self.error(format!(
                "dequantize_rows: out has {} elements, expected {} rows × {} cols",
                out.len(),
                rows.len(),
                self.cols
            )));
        }
        let row_bytes = self.row_bytes();
        dequantize(
            self.ggml_type,
            &self.data[rows.start * row_bytes..rows.end * row_bytes],
            out,
        )
    }

    /// The matrix whose row `i` is row `order[i]` of this one (blocks copied, not requantized).
    ///
    /// # Errors
    /// [`GgufError::QuantizedMatrix`] when `order` does not have `rows` entries or names a row
    /// out of range.
    pub fn reorder_rows(&self, order: &[usize]) -> Result<Self> {
        if order.len() != self.rows {
            return Err(self.error(format!(
                "reorder_rows: {} indices for {} rows",
                order.len(),
                self.rows
            )));
        }
        let row_bytes = self.row_bytes();
        let mut data = Vec::with_capacity(self.data.len());
        for &r in order {
            if r >= self.rows {
                return Err(self.error(format!("reorder_rows: row {r} out of range")));
            }
            data.extend_from_slice(&self.data[r * row_bytes..(r + 1) * row_bytes]);
        }
        Self::new(self.ggml_type, self.rows, self.cols, data)
    }

    /// The whole matrix as f32, row-major `rows × cols`, bit-identical to [`crate::dequantize`].
    pub fn dequantize(&self) -> Vec<f32> {
        let mut out = vec![0.0; self.rows * self.cols];
        // Type and lengths were checked at construction, so this cannot fail.
        if let Err(err) = dequantize(self.ggml_type, &self.data, &mut out) {
            unreachable!("shape checked at construction: {err}");
        }
        out
    }

    /// The kernel [`Kernel::Auto`] runs for this matrix on this CPU.
    pub fn auto_kernel(&self) -> Kernel {
        match self.resolve(Kernel::Auto) {
            Ok(Resolved::Scalar) => Kernel::Scalar,
            #[cfg(target_arch = "x86_64")]
            Ok(Resolved::Avx2(token)) if token.vnni() => Kernel::Avx512Vnni,
            Ok(Resolved::Avx2(_)) => Kernel::Avx2,
            Ok(Resolved::DequantF32) | Err(_) => Kernel::DequantF32,
        }
    }

    /// `y = W x`: `x` has `cols` elements, `y` gets `rows`.
    ///
    /// # Errors
    /// [`GgufError::QuantizedMatrix`] naming the sizes when `x` or `y` has the wrong length.
    pub fn matvec(&self, x: &[f32], y: &mut [f32]) -> Result<()> {
        if x.len() != self.cols {
            return Err(self.error(format!(
                "matvec: x has {} elements, expected cols = {}",
                x.len(),
                self.cols
            )));
        }
        if y.len() != self.rows {
            return Err(self.error(format!(
                "matvec: y has {} elements, expected rows = {}",
                y.len(),
                self.rows
            )));
        }
        self.matmul_with(Kernel::Auto, x, 1, y)
    }

    /// `y = x Wᵀ` for `n` input rows: `x` is `n × cols`, `y` gets `n × rows` (row-major).
    ///
    /// # Errors
    /// [`GgufError::QuantizedMatrix`] naming the sizes when `x` or `y` has the wrong length.
    pub fn matmul(&self, x: &[f32], n: usize, y: &mut [f32]) -> Result<()> {
        self.matmul_with(Kernel::Auto, x, n, y)
    }

    /// [`QuantizedMatrix::matmul`] with a chosen kernel (for tests, benchmarks and accuracy
    /// checks against [`Kernel::DequantF32`]).
    ///
    /// # Errors
    /// As [`QuantizedMatrix::matmul`], and [`GgufError::QuantizedMatrix`] when `kernel` cannot
    /// run for this type or on this CPU.
    pub fn matmul_with(&self, kernel: Kernel, x: &[f32], n: usize, y: &mut [f32]) -> Result<()> {
        let (rows, cols) = (self.rows, self.cols);
        let want_x = n.checked_mul(cols);
        let want_y = n.checked_mul(rows);
        if want_x != Some(x.len()) || want_y != Some(y.len()) {
            return Err(self.error(format!(
                "matmul of n = {n} inputs: x has {} elements and y {}, expected n × cols = \
                 {n} × {cols} and n × rows = {n} × {rows}",
                x.len(),
                y.len()
            )));
        }
        let resolved = self.resolve(kernel)?;
        if rows == 0 || cols == 0 || n == 0 {
            y.fill(0.0);
            return Ok(());
        }
        let acts = self.activations(resolved, x, n);
        run_products(&[(self, resolved, &acts)], n, y);
        Ok(())
    }

    /// `y = x [W_1; W_2; …]ᵀ` for matrices of the same `cols` (q/k/v, gate/up): each output row
    /// holds the products with `mats[0]`'s rows, then `mats[1]`'s, … (`n × Σ rows`,
    /// row-major), as [`QuantizedMatrix::matmul`] of each would give them side by side. The
    /// inputs are quantized once per activation format, and one set of tasks covers the rows of
    /// all the matrices.
    ///
    /// # Errors
    /// [`GgufError::QuantizedMatrix`] naming the sizes when `mats` is empty, their `cols`
    /// differ, or `x` or `y` has the wrong length.
    pub fn matmul_many(
        mats: &[&QuantizedMatrix],
        x: &[f32],
        n: usize,
        y: &mut [f32],
    ) -> Result<()> {
        let Some(first) = mats.first() else {
            return Err(GgufError::QuantizedMatrix {
                ggml_type: GgmlType::F32,
                rows: 0,
                cols: 0,
                message: "matmul_many of no matrices".to_owned(),
            });
        };
        let cols = first.cols;
        if let Some(m) = mats.iter().find(|m| m.cols != cols) {
            return Err(m.error(format!(
                "matmul_many: {} columns where the first matrix has {cols}",
                m.cols
            )));
        }
        let rows: usize = mats.iter().map(|m| m.rows).sum();
        if n.checked_mul(cols) != Some(x.len()) || n.checked_mul(rows) != Some(y.len()) {
            return Err(first.error(format!(
                "matmul_many of n = {n} inputs: x has {} elements and y {}, expected n × cols = \
                 {n} × {cols} and n × Σ rows = {n} × {rows}",
                x.len(),
                y.len()
            )));
        }
        let resolved: Vec<Resolved> = mats
            .iter()
            .map(|m| m.resolve(Kernel::Auto))
            .collect::<Result<_>>()?;
        if rows == 0 || cols == 0 || n == 0 {
            y.fill(0.0);
            return Ok(());
        }
        // One quantization of the inputs per format (32- or 256-element blocks, or f32).
        let mut formats: Vec<(ActivationFormat, Activations<'_>)> = Vec::new();
        for (m, &kernel) in mats.iter().zip(&resolved) {
            let format = m.activation_format(kernel);
            if !formats.iter().any(|(f, _)| *f == format) {
                formats.push((format, m.activations(kernel, x, n)));
            }
        }
        let mut parts: Vec<(&QuantizedMatrix, Resolved, &Activations<'_>)> = Vec::new();
        for (m, &kernel) in mats.iter().zip(&resolved) {
            let format = m.activation_format(kernel);
            if let Some((_, acts)) = formats.iter().find(|(f, _)| *f == format) {
                parts.push((m, kernel, acts));
            }
        }
        run_products(&parts, n, y);
        Ok(())
    }

    fn error(&self, message: String) -> GgufError {
        GgufError::QuantizedMatrix {
            ggml_type: self.ggml_type,
            rows: self.rows,
            cols: self.cols,
            message,
        }
    }

    fn resolve(&self, kernel: Kernel) -> Result<Resolved> {
        let integer = INTEGER_KERNEL_TYPES.contains(&self.ggml_type);
        let no_integer = || {
            self.error(format!(
                "{kernel:?} kernel: no integer kernel for this type (have: {}); \
                 use Kernel::DequantF32",
                INTEGER_KERNEL_TYPES
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        };
        match kernel {
            Kernel::DequantF32 => Ok(Resolved::DequantF32),
            Kernel::Scalar if integer => Ok(Resolved::Scalar),
            Kernel::Scalar => Err(no_integer()),
            Kernel::Avx2 if !integer => Err(no_integer()),
            Kernel::Avx2 => avx2().map(Into::into).ok_or_else(|| {
                self.error("Avx2 kernel: this CPU lacks avx2, fma or f16c".to_owned())
            }),
            Kernel::Avx512Vnni if !integer => Err(no_integer()),
            Kernel::Avx512Vnni => avx512_vnni().map(Into::into).ok_or_else(|| {
                self.error(
                    "Avx512Vnni kernel: this CPU lacks avx2, fma, f16c, avx512vl or avx512vnni"
                        .to_owned(),
                )
            }),
            Kernel::Auto if !integer => Ok(Resolved::DequantF32),
            Kernel::Auto => Ok(avx512_vnni()
                .or_else(avx2)
                .map_or(Resolved::Scalar, Into::into)),
        }
    }

    /// The form [`QuantizedMatrix::activations`] gives the inputs for `kernel`.
    fn activation_format(&self, kernel: Resolved) -> ActivationFormat {
        match kernel {
            Resolved::DequantF32 => ActivationFormat::F32,
            _ if self.ggml_type.block_size() == 256 => ActivationFormat::Q8K,
            _ => ActivationFormat::Q8,
        }
    }

    /// Quantizes (or borrows) the inputs for `kernel`.
    fn activations<'x>(&self, kernel: Resolved, x: &'x [f32], n: usize) -> Activations<'x> {
        if matches!(kernel, Resolved::DequantF32) {
            return Activations::F32(x);
        }
        let blocks = self.cols / self.ggml_type.block_size() as usize;
        if self.ggml_type.block_size() == 256 {
            let mut out = Vec::with_capacity(n * blocks);
            quantize_q8k(x, &mut out);
            Activations::Q8K(out, blocks)
        } else {
            let mut out = Vec::with_capacity(n * blocks);
            quantize_q8(x, &mut out);
            Activations::Q8(out, blocks)
        }
    }

    /// `out[i * stride + (r - rows.start)]` = row `r` · input `i`, for `r` in `rows`, `i < n`.
    fn rows_into(
        &self,
        kernel: Resolved,
        acts: &Activations<'_>,
        n: usize,
        rows: Range<usize>,
        out: &mut [f32],
        stride: usize,
    ) {
        let row_bytes = self.data.len() / self.rows;
        let start = rows.start;
        let mut scratch = Vec::new();
        for r in rows {
            let w = &self.data[r * row_bytes..(r + 1) * row_bytes];
            if let Activations::F32(x) = acts {
                scratch.resize(self.cols, 0.0);
                if let Err(err) = dequantize(self.ggml_type, w, &mut scratch) {
                    unreachable!("shape checked at construction: {err}");
                }
                for (i, xi) in x.chunks_exact(self.cols).enumerate() {
                    out[i * stride + r - start] = dot_f32(&scratch, xi);
                }
                continue;
            }
            // Four inputs at a time where AVX2 runs: each weight block unpacked once for all four.
            #[cfg(target_arch = "x86_64")]
            let grouped = match kernel {
                Resolved::Avx2(avx2) => {
                    let grouped = n - n % 4;
                    for i in (0..grouped).step_by(4) {
                        let y = dot_row4(self.ggml_type, avx2, w, acts, i);
                        for (k, y) in y.into_iter().enumerate() {
                            out[(i + k) * stride + r - start] = y;
                        }
                    }
                    grouped
                }
                _ => 0,
            };
            #[cfg(not(target_arch = "x86_64"))]
            let grouped = 0;
            for i in grouped..n {
                out[i * stride + r - start] = dot_row(self.ggml_type, kernel, w, acts, i);
            }
        }
    }
}

/// Fills `y` (`n × Σ rows`: each input's products with the first matrix's rows, then the
/// second's, …) from matrices with their kernels and quantized inputs, splitting the rows of all
/// of them over rayon's pool when the product is large enough (the pool the CPU backend's
/// kernels run on, so a product never competes with idle workers of a second pool).
fn run_products(mats: &[(&QuantizedMatrix, Resolved, &Activations<'_>)], n: usize, y: &mut [f32]) {
    let rows: usize = mats.iter().map(|(m, _, _)| m.rows).sum();
    let cols = mats.first().map_or(0, |(m, _, _)| m.cols);
    let work = rows.saturating_mul(cols).saturating_mul(n);
    let threads = max_threads();
    // One task per thread from SPLIT_WORK on; large products in tasks of MIN_WORK_PER_TASK, up
    // to four per thread, so that work stealing evens out a slow thread.
    let tasks = (work / SPLIT_WORK)
        .clamp(1, threads)
        .max((work / MIN_WORK_PER_TASK).min(4 * threads))
        .min(rows.max(1));
    // Rows `range` of the stacked matrices into `out` (`n × range.len()`, row stride `stride`).
    let fill = |range: Range<usize>, out: &mut [f32], stride: usize| {
        let mut start = 0;
        for &(m, kernel, acts) in mats {
            let end = start + m.rows;
            let (lo, hi) = (range.start.max(start), range.end.min(end));
            if lo < hi {
                let out = &mut out[lo - range.start..];
                m.rows_into(kernel, acts, n, lo - start..hi - start, out, stride);
            }
            start = end;
        }
    };
    if tasks == 1 {
        fill(0..rows, y, rows);
        return;
    }
    let chunk = rows.div_ceil(tasks);
    tracing::trace!(rows, cols, n, tasks, "quantized matmul");
    if n == 1 {
        y.par_chunks_mut(chunk).enumerate().for_each(|(t, part)| {
            let range = t * chunk..t * chunk + part.len();
            fill(range, part, 0);
        });
        return;
    }
    // Each task fills an `n × chunk` buffer of its rows, copied into place afterwards.
    let ranges: Vec<Range<usize>> = (0..rows)
        .step_by(chunk)
        .map(|r| r..(r + chunk).min(rows))
        .collect();
    let parts: Vec<Vec<f32>> = ranges
        .par_iter()
        .map(|range| {
            let mut part = vec![0.0; n * range.len()];
            fill(range.clone(), &mut part, range.len());
            part
        })
        .collect();
    for (range, part) in ranges.iter().zip(&parts) {
        for (i, src) in part.chunks_exact(range.len()).enumerate() {
            y[i * rows + range.start..i * rows + range.end].copy_from_slice(src);
        }
    }
}

#[cfg(target_arch = "x86_64")]
impl From<Avx2> for Resolved {
    fn from(token: Avx2) -> Self {
        Resolved::Avx2(token)
    }
}

/// The AVX2 token where this CPU has the features.
#[cfg(target_arch = "x86_64")]
fn avx2() -> Option<Avx2> {
    static FOUND: OnceLock<Option<Avx2>> = OnceLock::new();
    *FOUND.get_or_init(|| {
        let found = Avx2::detect();
        tracing::debug!(avx2 = found.is_some(), "quantized matrix kernels");
        found
    })
}

#[cfg(not(target_arch = "x86_64"))]
impl From<std::convert::Infallible> for Resolved {
    fn from(never: std::convert::Infallible) -> Self {
        match never {}
    }
}

/// No AVX2 off x86-64.
#[cfg(not(target_arch = "x86_64"))]
fn avx2() -> Option<std::convert::Infallible> {
    None
}

/// The AVX2 token with VNNI products, where this CPU has AVX-512 VL and VNNI as well.
#[cfg(target_arch = "x86_64")]
fn avx512_vnni() -> Option<Avx2> {
    static FOUND: OnceLock<Option<Avx2>> = OnceLock::new();
    *FOUND.get_or_init(|| {
        let found = Avx2::detect_vnni();
        tracing::debug!(avx512_vnni = found.is_some(), "quantized matrix kernels");
        found
    })
}

/// No AVX-512 off x86-64.
#[cfg(not(target_arch = "x86_64"))]
fn avx512_vnni() -> Option<std::convert::Infallible> {
    None
}

/// Threads a product may use: the size of rayon's global pool.
fn max_threads() -> usize {
    static THREADS: OnceLock<usize> = OnceLock::new();
    *THREADS.get_or_init(|| rayon::current_num_threads().max(1))
}

/// Weight row `w` · quantized input `i`.
fn dot_row(ty: GgmlType, kernel: Resolved, w: &[u8], acts: &Activations<'_>, i: usize) -> f32 {
    match (acts, kernel) {
        (Activations::Q8(all, blocks), Resolved::Scalar) => {
            let a = &all[i * blocks..(i + 1) * blocks];
            match ty {
                GgmlType::Q8_0 => qdot_scalar::dot_q8_0(w, a),
                GgmlType::Q4_0 => qdot_scalar::dot_q4_0(w, a),
                GgmlType::Q4_1 => qdot_scalar::dot_q4_1(w, a),
                GgmlType::Q5_0 => qdot_scalar::dot_q5_0(w, a),
                _ => qdot_scalar::dot_q5_1(w, a),
            }
        }
        (Activations::Q8K(all, blocks), Resolved::Scalar) => {
            let a = &all[i * blocks..(i + 1) * blocks];
            match ty {
                GgmlType::Q4_K => qdot_scalar::dot_q4_k(w, a),
                _ => qdot_scalar::dot_q6_k(w, a),
            }
        }
        #[cfg(target_arch = "x86_64")]
        (Activations::Q8(all, blocks), Resolved::Avx2(avx2)) => {
            let a = &all[i * blocks..(i + 1) * blocks];
            match ty {
                GgmlType::Q8_0 => avx2.dot_q8_0(w, a),
                GgmlType::Q4_0 => avx2.dot_q4_0(w, a),
                GgmlType::Q4_1 => avx2.dot_q4_1(w, a),
                GgmlType::Q5_0 => avx2.dot_q5_0(w, a),
                _ => avx2.dot_q5_1(w, a),
            }
        }
        #[cfg(target_arch = "x86_64")]
        (Activations::Q8K(all, blocks), Resolved::Avx2(avx2)) => {
            let a = &all[i * blocks..(i + 1) * blocks];
            match ty {
                GgmlType::Q4_K => avx2.dot_q4_k(w, a),
                _ => avx2.dot_q6_k(w, a),
            }
        }
        // `activations` pairs F32 with DequantF32 only, handled by the caller.
        _ => unreachable!("activations do not match the kernel"),
    }
}

/// Weight row `w` · quantized inputs `i..i + 4`, with AVX2.
#[cfg(target_arch = "x86_64")]
fn dot_row4(ty: GgmlType, avx2: Avx2, w: &[u8], acts: &Activations<'_>, i: usize) -> [f32; 4] {
    match acts {
        Activations::Q8(all, blocks) => {
            let a: [&[BlockQ8]; 4] =
                std::array::from_fn(|k| &all[(i + k) * blocks..(i + k + 1) * blocks]);
            match ty {
                GgmlType::Q8_0 => avx2.dot4_q8_0(w, a),
                GgmlType::Q4_0 => avx2.dot4_q4_0(w, a),
                GgmlType::Q4_1 => avx2.dot4_q4_1(w, a),
                GgmlType::Q5_0 => avx2.dot4_q5_0(w, a),
                _ => avx2.dot4_q5_1(w, a),
            }
        }
        Activations::Q8K(all, blocks) => {
            let a: [&[BlockQ8K]; 4] =
                std::array::from_fn(|k| &all[(i + k) * blocks..(i + k + 1) * blocks]);
            match ty {
                GgmlType::Q4_K => avx2.dot4_q4_k(w, a),
                _ => avx2.dot4_q6_k(w, a),
            }
        }
        Activations::F32(_) => unreachable!("activations do not match the kernel"),
    }
}

/// `Σ a b` in f32 with eight partial sums (vectorizable, and less rounding than one chain).
fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for j in 0..8 {
            acc[j] += x[j] * y[j];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// Checks, before anything is allocated, that `len` bytes are a `rows × cols` matrix of `ty`.
fn check_shape(ty: GgmlType, rows: usize, cols: usize, len: usize) -> Result<()> {
    let err = |message: String| GgufError::QuantizedMatrix {
        ggml_type: ty,
        rows,
        cols,
        message,
    };
    if !ty.is_dequantizable() {
        return Err(err(format!(
            "{ty} cannot be dequantized (supported: {})",
            GgmlType::dequantizable_names()
        )));
    }
    let block = ty.block_size() as usize;
    if !cols.is_multiple_of(block) {
        return Err(err(format!(
            "cols = {cols} is not a multiple of {ty}'s block size {block}"
        )));
    }
    let expected = (cols / block)
        .checked_mul(rows)
        .and_then(|b| b.checked_mul(ty.type_size() as usize));
    if expected != Some(len) {
        return Err(err(format!(
            "{len} bytes given, expected rows × cols / {block} blocks of {} bytes = {}",
            ty.type_size(),
            expected.map_or("more than usize::MAX".to_owned(), |e| e.to_string())
        )));
    }
    Ok(())
}
