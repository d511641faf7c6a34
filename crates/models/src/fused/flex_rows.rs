//! Reading and writing `f32` rows of flex tensors, and splitting rows across rayon's pool.

use std::borrow::Cow;

use burn::tensor::{Shape, TensorData};
use burn_flex::FlexTensor;
use rayon::prelude::*;

/// The tensor's elements in row-major order (a copy only when it is not contiguous).
pub(crate) fn values(tensor: &FlexTensor) -> Cow<'_, [f32]> {
    if let Some(s) = tensor.as_slice::<f32>() {
        return Cow::Borrowed(s);
    }
    let dense = tensor.to_contiguous();
    match dense.as_slice::<f32>() {
        Some(s) => Cow::Owned(s.to_vec()),
        None => panic!("fused kernels take f32 tensors; got {:?}", tensor.dtype()),
    }
}

/// `t` as a dense `f32` tensor starting at offset 0 (its storage is exactly its elements, ready
/// for `storage_mut`), copied only when it is a view.
pub(crate) fn dense(t: FlexTensor) -> FlexTensor {
    let n = t.layout().num_elements();
    if t.is_contiguous() && t.layout().start_offset() == 0 && t.bytes().len() == n * 4 {
        t
    } else {
        t.to_contiguous()
    }
}

/// A contiguous `f32` flex tensor of `shape` holding `data`.
pub(crate) fn tensor(data: Vec<f32>, shape: Shape) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(data, shape))
}

/// `n` zeros, written by rayon's pool (a fused kernel's output buffer: a plain `vec![0; n]` is
/// one `memset` on the calling thread while the other cores wait).
pub(crate) fn zeroed(n: usize) -> Vec<f32> {
    let mut v = Vec::with_capacity(n);
    v.par_extend(rayon::iter::repeat_n(0f32, n).with_min_len(1 << 16));
    v
}

/// Rows per rayon task: a few tasks per thread, and none smaller than about 16 K elements.
pub(crate) fn rows_per_task(rows: usize, width: usize) -> usize {
    let threads = rayon::current_num_threads().max(1);
    let by_threads = rows.div_ceil(threads * 4);
    let by_size = (16_384 / width.max(1)).max(1);
    by_threads.max(by_size).max(1)
}
