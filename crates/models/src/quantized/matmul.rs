//! `y = x · Wᵀ` with `W` a [`QuantizedWeight`], as a burn backend operation with its own
//! backward (`dx = dy · W`; the weight is a constant).

use std::ops::Range;

use burn::backend::autodiff::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::ops::FloatTensorOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, Flex, backend_extension};
use burn::prelude::*;
use burn::tensor::Shape;
use burn_flex::FlexTensor;
use rayon::prelude::*;

use super::{QuantizedPath, QuantizedWeight};
use crate::fused::flex_rows::{rows_per_task, tensor, values};
use crate::fused::{fused_kernels_apply, register_grads};

/// Input rows up to which [`QuantizedPath::Decode`] runs the integer kernels (one row per
/// sequence while decoding); above it the weight is dequantized chunk by chunk for flex's GEMM.
pub const INTEGER_KERNEL_MAX_ROWS: usize = 16;

/// Weight elements dequantized at a time (16 MiB of f32): the only f32 copy of a quantized
/// weight that ever exists.
const CHUNK_ELEMENTS: usize = 1 << 22;

/// The quantized product as one backend operation.
#[backend_extension(Flex, Autodiff)]
pub trait QuantizedMatmulOps: Backend {
    /// `x · Wᵀ`, on the integer kernels when `integer`, else exactly dequantized.
    ///
    /// # Shapes
    /// - x: `[n, in]`
    /// - output: `[n, out]`
    fn quantized_matmul(
        x: FloatTensor<Self>,
        weight: QuantizedWeight,
        integer: bool,
    ) -> FloatTensor<Self>;
}

/// The backward kernel of [`QuantizedMatmulOps`].
pub trait QuantizedMatmulBackward: Backend {
    /// `dy · W` (`[n, out]` → `[n, in]`).
    fn quantized_matmul_backward(
        grad: FloatTensor<Self>,
        weight: QuantizedWeight,
    ) -> FloatTensor<Self>;
}

/// `x · Wᵀ` for a quantized `W` (`[out, in]`, the `nn.Linear` layout), differentiable in `x`.
///
/// On the CPU backend in f32 this runs the kernels `path` names (see [`crate::quantized`]); on any
/// other device or dtype it dequantizes the whole weight for one burn matmul (correct, but
/// holding an f32 copy for the call: the loader keeps weights quantized on the CPU only).
///
/// # Shapes
/// - x: `[n, in]`
/// - output: `[n, out]`
///
/// # Panics
/// If `x`'s last dimension is not the weight's `in`.
pub fn quantized_matmul(x: Tensor<2>, weight: &QuantizedWeight, path: QuantizedPath) -> Tensor<2> {
    let [n, d_in] = x.dims();
    assert_eq!(
        d_in,
        weight.d_in(),
        "quantized matmul: input has {d_in} features, the weight {:?} expects {}",
        weight.matrix(),
        weight.d_in()
    );
    if !fused_kernels_apply(&x) {
        let w = Tensor::<2>::from_data(
            TensorData::new(weight.matrix().dequantize(), [weight.d_out(), d_in]),
            &x.device(),
        )
        .cast(x.dtype());
        return x.matmul(w.transpose());
    }
    let integer = path == QuantizedPath::Decode && n <= INTEGER_KERNEL_MAX_ROWS;
    Tensor::from_dispatch(<Dispatch as QuantizedMatmulOps>::quantized_matmul(
        x.into_dispatch(),
        weight.clone(),
        integer,
    ))
}

/// Row ranges of the weight dequantized together.
fn chunks(weight: &QuantizedWeight) -> impl Iterator<Item = Range<usize>> {
    let rows = weight.d_out();
    let step = (CHUNK_ELEMENTS / weight.d_in().max(1)).max(1);
    (0..rows)
        .step_by(step)
        .map(move |r| r..(r + step).min(rows))
}

/// Rows `rows` of the weight as a dense `[rows.len(), in]` flex tensor.
fn dequantized(weight: &QuantizedWeight, rows: Range<usize>) -> FlexTensor {
    let cols = weight.d_in();
    let mut out = vec![0f32; rows.len() * cols];
    let per_task = rows_per_task(rows.len(), cols);
    out.par_chunks_mut(per_task * cols)
        .enumerate()
        .for_each(|(i, part)| {
            let start = rows.start + i * per_task;
            let range = start..start + part.len() / cols;
            if let Err(err) = weight.matrix().dequantize_rows(range, part) {
                unreachable!("rows within the matrix: {err}");
            }
        });
    tensor(out, Shape::new([rows.len(), cols]))
}

/// The `[n, d]` dimensions of a 2-d flex tensor.
fn dims2(t: &FlexTensor) -> [usize; 2] {
    t.layout().shape().dims::<2>()
}

impl QuantizedMatmulOps for Flex {
    fn quantized_matmul(x: FlexTensor, weight: QuantizedWeight, integer: bool) -> FlexTensor {
        let [n, _] = dims2(&x);
        let d_out = weight.d_out();
        if integer {
            let mut y = vec![0f32; n * d_out];
            if let Err(err) = weight.matrix().matmul(&values(&x), n, &mut y) {
                unreachable!("shapes checked by quantized_matmul: {err}");
            }
            return tensor(y, Shape::new([n, d_out]));
        }
        let ranges: Vec<Range<usize>> = chunks(&weight).collect();
        if let [range] = &ranges[..] {
            let w = dequantized(&weight, range.clone());
            return Flex::float_matmul(x, Flex::float_swap_dims(w, 0, 1));
        }
        let mut y = vec![0f32; n * d_out];
        for range in ranges {
            let w = dequantized(&weight, range.clone());
            let part = Flex::float_matmul(x.clone(), Flex::float_swap_dims(w, 0, 1));
            let part = values(&part);
            let width = range.len();
            y.par_chunks_mut(d_out)
                .zip(part.par_chunks(width))
                .for_each(|(row, src)| row[range.clone()].copy_from_slice(src));
        }
        tensor(y, Shape::new([n, d_out]))
    }
}

impl QuantizedMatmulBackward for Flex {
    fn quantized_matmul_backward(grad: FlexTensor, weight: QuantizedWeight) -> FlexTensor {
        let [n, d_out] = dims2(&grad);
        let ranges: Vec<Range<usize>> = chunks(&weight).collect();
        if let [range] = &ranges[..] {
            return Flex::float_matmul(grad, dequantized(&weight, range.clone()));
        }
        let dy = values(&grad);
        let mut dx: Option<FlexTensor> = None;
        for range in ranges {
            let width = range.len();
            let mut cols = vec![0f32; n * width];
            cols.par_chunks_mut(width)
                .zip(dy.par_chunks(d_out))
                .for_each(|(dst, row)| dst.copy_from_slice(&row[range.clone()]));
            let part = Flex::float_matmul(
                tensor(cols, Shape::new([n, width])),
                dequantized(&weight, range),
            );
            dx = Some(match dx {
                None => part,
                Some(acc) => Flex::float_add(acc, part),
            });
        }
        match dx {
            Some(dx) => dx,
            None => tensor(
                vec![0f32; n * weight.d_in()],
                Shape::new([n, weight.d_in()]),
            ),
        }
    }
}

impl<B, C> QuantizedMatmulOps for Autodiff<B, C>
where
    B: Backend + QuantizedMatmulOps + QuantizedMatmulBackward,
    C: CheckpointStrategy,
{
    fn quantized_matmul(
        x: FloatTensor<Self>,
        weight: QuantizedWeight,
        integer: bool,
    ) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct QuantizedMatmulStep;

        impl<B: Backend + QuantizedMatmulBackward> Backward<B, 1> for QuantizedMatmulStep {
            type State = QuantizedWeight;

            fn backward(
                self,
                ops: Ops<Self::State, 1>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let grad = grads.consume::<B>(&ops.node);
                let dx = B::quantized_matmul_backward(grad, ops.state);
                let parents = ops.parents.map(|p| p.map(|node| node.id));
                register_grads::<B, 1>(grads, parents, [dx]);
            }
        }

        match QuantizedMatmulStep
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let out = B::quantized_matmul(x.into_primitive(), weight.clone(), integer);
                prep.finish(weight, out)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(B::quantized_matmul(x.into_primitive(), weight, integer))
            }
        }
    }
}
