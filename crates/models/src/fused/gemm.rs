//! Matrix products on flex tensors written straight into their output.
//!
//! burn-flex's matmul allocates its output as zeroed bytes and then, to meet cubecl's buffer
//! alignment, copies them into a second allocation (`Bytes::from_bytes_vec`) before the GEMM
//! overwrites every element: a `memset` and a `memcpy` of the whole output on the calling
//! thread while the other cores wait, about 5 % of the tiny DPO step. [`matmul`] calls the
//! same `gemm` crate (the same kernels, the same strided operands, no copy of a transposed
//! view) into an output that only the GEMM writes.
//!
//! The one `unsafe` module of this crate: `gemm::gemm` takes raw pointers with strides, and
//! the output is allocated uninitialised. Every block states why it is sound.

use std::mem::MaybeUninit;

use burn::backend::Flex;
use burn::backend::ops::FloatTensorOps;
use burn::tensor::{DType, Shape};
use burn_flex::FlexTensor;
use rayon::prelude::*;

use super::flex_rows::tensor;

/// Multiply-adds of one product from which the GEMM splits it across rayon's pool (burn-flex's
/// threshold, so both paths parallelise alike).
const PARALLEL_THRESHOLD: usize = 192 * 192 * 192;
/// Multiply-adds of a whole batch from which its products are spread across the pool instead.
const BATCH_PARALLEL_THRESHOLD: usize = 128 * 128 * 128;

/// `lhs @ rhs` on flex, through [`matmul`] where it applies and flex's own matmul otherwise.
///
/// # Shapes
/// - lhs: `[..., m, k]`, rhs: `[..., k, n]`
/// - output: `[..., m, n]`
pub(crate) fn flex_matmul(lhs: FlexTensor, rhs: FlexTensor) -> FlexTensor {
    match matmul(&lhs, &rhs) {
        Some(out) => out,
        None => Flex::float_matmul(lhs, rhs),
    }
}

/// One operand: its storage, where it starts, and the strides of every dimension.
struct Operand<'a> {
    data: &'a [f32],
    start: usize,
    strides: &'a [isize],
}

impl<'a> Operand<'a> {
    /// The operand, when its strides are non-negative and every element it addresses lies
    /// inside its storage (checked here, so the GEMM's pointer arithmetic stays in bounds).
    fn read(t: &'a FlexTensor, dims: &[usize]) -> Option<Self> {
        let layout = t.layout();
        let strides = layout.strides();
        if strides.len() != dims.len() || strides.iter().any(|&s| s < 0) {
            return None;
        }
        let data = t.storage::<f32>();
        let start = layout.start_offset();
        let last = dims.iter().zip(strides).try_fold(start, |acc, (&d, &s)| {
            acc.checked_add((d.checked_sub(1)?).checked_mul(s as usize)?)
        })?;
        (last < data.len()).then_some(Self {
            data,
            start,
            strides,
        })
    }

    /// Offset of the `b`-th matrix of the batch (`batch` the batch dimensions).
    fn matrix_offset(&self, b: usize, batch: &[usize]) -> usize {
        let mut rest = b;
        let mut offset = self.start;
        for (i, &d) in batch.iter().enumerate().rev() {
            offset += (rest % d) * self.strides[i] as usize;
            rest /= d;
        }
        offset
    }

    /// `(row stride, column stride)` of each matrix.
    fn matrix_strides(&self) -> (isize, isize) {
        let r = self.strides.len();
        (self.strides[r - 2], self.strides[r - 1])
    }
}

/// `lhs @ rhs` for `f32` tensors of the same rank with the same batch dimensions (no
/// broadcasting) and non-negative strides; `None` for anything else.
///
/// # Shapes
/// - lhs: `[..., m, k]`, rhs: `[..., k, n]`
/// - output: `[..., m, n]`, contiguous
pub(crate) fn matmul(lhs: &FlexTensor, rhs: &FlexTensor) -> Option<FlexTensor> {
    if lhs.dtype() != DType::F32 || rhs.dtype() != DType::F32 {
        return None;
    }
    let l = lhs.layout().shape().to_vec();
    let r = rhs.layout().shape().to_vec();
    let rank = l.len();
    if rank < 2 || r.len() != rank || l[..rank - 2] != r[..rank - 2] || l[rank - 1] != r[rank - 2] {
        return None;
    }
    let (m, k, n) = (l[rank - 2], l[rank - 1], r[rank - 1]);
    let batch = &l[..rank - 2];
    let count: usize = batch.iter().product();
    let mut out_dims = batch.to_vec();
    out_dims.extend([m, n]);
    let shape = Shape::from(out_dims);
    let size = m.checked_mul(n)?;
    let len = count.checked_mul(size)?;
    if len == 0 {
        return Some(tensor(Vec::new(), shape));
    }
    if k == 0 {
        return Some(tensor(vec![0.0; len], shape));
    }
    let (a, b) = (Operand::read(lhs, &l)?, Operand::read(rhs, &r)?);
    let ((a_rs, a_cs), (b_rs, b_cs)) = (a.matrix_strides(), b.matrix_strides());

    let mut out: Vec<f32> = Vec::with_capacity(len);
    let product = |i: usize, dst: &mut [MaybeUninit<f32>], parallelism: gemm::Parallelism| {
        debug_assert_eq!(dst.len(), size);
        let (a_off, b_off) = (a.matrix_offset(i, batch), b.matrix_offset(i, batch));
        // SAFETY: `dst` is `m × n` elements, written row-major (column stride 1, row stride n)
        // and only written: `read_dst` is false, so the GEMM never reads the uninitialised
        // output. The operands' offsets and strides address only elements inside their
        // storage (`Operand::read` checked the last one for non-negative strides, and every
        // batch offset is below it). `k > 0`, so the GEMM writes every output element.
        #[allow(unsafe_code)]
        unsafe {
            gemm::gemm(
                m,
                n,
                k,
                dst.as_mut_ptr().cast::<f32>(),
                1,
                n as isize,
                false,
                a.data.as_ptr().add(a_off),
                a_cs,
                a_rs,
                b.data.as_ptr().add(b_off),
                b_cs,
                b_rs,
                0.0,
                1.0,
                false,
                false,
                false,
                parallelism,
            );
        }
    };
    let spare = &mut out.spare_capacity_mut()[..len];
    let per_matrix = size.saturating_mul(k);
    let total = count.saturating_mul(per_matrix);
    let spread_batch = count >= 4 && total >= BATCH_PARALLEL_THRESHOLD;
    if per_matrix >= PARALLEL_THRESHOLD && !spread_batch {
        spare
            .chunks_mut(size)
            .enumerate()
            .for_each(|(i, dst)| product(i, dst, gemm::Parallelism::Rayon(0)));
    } else if spread_batch {
        spare
            .par_chunks_mut(size)
            .enumerate()
            .for_each(|(i, dst)| product(i, dst, gemm::Parallelism::None));
    } else {
        spare
            .chunks_mut(size)
            .enumerate()
            .for_each(|(i, dst)| product(i, dst, gemm::Parallelism::None));
    }
    // SAFETY: the loops above ran one product per `size`-element chunk of the first `len`
    // elements of the spare capacity, and each product wrote all of its chunk.
    #[allow(unsafe_code)]
    unsafe {
        out.set_len(len);
    }
    Some(tensor(out, shape))
}

#[cfg(test)]
mod tests {
    use burn::tensor::TensorData;

    use super::*;

    fn flex(values: Vec<f32>, dims: Vec<usize>) -> FlexTensor {
        FlexTensor::from_data(TensorData::new(values, dims))
    }

    #[test]
    fn takes_views_and_refuses_broadcasting() {
        let a = flex((0..6).map(|x| x as f32).collect(), vec![2, 3]);
        let b = flex((0..12).map(|x| x as f32).collect(), vec![3, 4]);
        let out = matmul(&a, &b).expect("contiguous operands");
        let want: Vec<f32> = Flex::float_matmul(a.clone(), b.clone())
            .storage::<f32>()
            .to_vec();
        assert_eq!(out.storage::<f32>(), &want[..]);
        // aᵀᵀ: a transposed view of a `[3, 2]` tensor, used without a copy.
        let at = flex(vec![0., 3., 1., 4., 2., 5.], vec![3, 2]);
        let view = Flex::float_swap_dims(at, 0, 1);
        assert!(!view.is_contiguous());
        assert_eq!(
            matmul(&view, &b).expect("a view").storage::<f32>(),
            &want[..]
        );
        // Batch dimensions that would broadcast are left to flex.
        let batched = flex(vec![0.0; 2 * 3 * 4], vec![2, 3, 4]);
        let single = flex(vec![0.0; 3 * 4], vec![1, 3, 4]);
        assert!(matmul(&flex(vec![0.0; 2 * 2 * 3], vec![2, 2, 3]), &single).is_none());
        assert!(matmul(&flex(vec![0.0; 2 * 2 * 3], vec![2, 2, 3]), &batched).is_some());
    }
}
