//! Rotary position embedding in the rotate-half convention, in one pass each way.
//!
//! `y = x cos + rotate_half(x) sin` with `rotate_half(x) = (−x[h..], x[..h])`, `h = d / 2`. The
//! map is a rotation of each pair `(x_j, x_{j+h})` by the angle whose cosine and sine the tables
//! hold, so its backward is the rotation by the opposite angle: the same kernel with the sine
//! negated. The tables are constants (no gradient).

use burn::backend::autodiff::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, Flex, backend_extension};
use burn::prelude::*;
use burn_flex::FlexTensor;
use rayon::prelude::*;

use super::flex_rows::{rows_per_task, tensor, values, zeroed};
use super::fused_kernels_apply;

/// Rotate-half RoPE as one backend operation.
#[backend_extension(Flex, Autodiff)]
pub trait RopeOps: Backend {
    /// The rotation by the tables' angles, or by their opposites when `inverse`.
    ///
    /// # Shapes
    /// - x: `[b, heads, t, d]`, cos, sin: `[b, 1, t, d]` (each half repeating the other)
    /// - output: as x
    fn fused_rope(
        x: FloatTensor<Self>,
        cos: FloatTensor<Self>,
        sin: FloatTensor<Self>,
        inverse: bool,
    ) -> FloatTensor<Self>;
}

/// `x cos + rotate_half(x) sin`, fused on the CPU backend.
///
/// # Shapes
/// - x: `[b, heads, t, d]`, cos, sin: `[b, 1, t, d]`, output: as x
pub fn rope(x: Tensor<4>, cos: Tensor<4>, sin: Tensor<4>) -> Tensor<4> {
    let [b, h, t, d] = x.dims();
    if !fused_kernels_apply(&x) || cos.dims() != [b, 1, t, d] || d % 2 != 0 {
        let half = d / 2;
        let x1 = x.clone().slice([0..b, 0..h, 0..t, 0..half]);
        let x2 = x.clone().slice([0..b, 0..h, 0..t, half..d]);
        let rotated = Tensor::cat(vec![x2.neg(), x1], 3);
        return x * cos + rotated * sin;
    }
    Tensor::from_dispatch(<Dispatch as RopeOps>::fused_rope(
        x.into_dispatch(),
        cos.into_dispatch(),
        sin.into_dispatch(),
        false,
    ))
}

impl RopeOps for Flex {
    fn fused_rope(x: FlexTensor, cos: FlexTensor, sin: FlexTensor, inverse: bool) -> FlexTensor {
        let shape = x.layout().shape().clone();
        let [_, h, t, d] = shape.dims();
        let half = d / 2;
        let (xs, c, s) = (values(&x), values(&cos), values(&sin));
        let sign = if inverse { -1.0f32 } else { 1.0 };
        let mut out = zeroed(xs.len());
        let rows = xs.len() / d.max(1);
        out.par_chunks_mut(d)
            .zip(xs.par_chunks(d))
            .enumerate()
            .with_min_len(rows_per_task(rows, d))
            .for_each(|(row, (o, x))| {
                // Row `row` is (batch, head, position); the tables have no head axis.
                let (bi, ti) = (row / (h * t), row % t);
                let base = (bi * t + ti) * d;
                let (c, s) = (&c[base..base + d], &s[base..base + d]);
                let (x1, x2) = x.split_at(half);
                let (o1, o2) = o.split_at_mut(half);
                for j in 0..half {
                    o1[j] = x1[j] * c[j] - sign * x2[j] * s[j];
                    o2[j] = x2[j] * c[j + half] + sign * x1[j] * s[j + half];
                }
            });
        tensor(out, shape)
    }
}

impl<B: Backend + RopeOps, C: CheckpointStrategy> RopeOps for Autodiff<B, C> {
    fn fused_rope(
        x: FloatTensor<Self>,
        cos: FloatTensor<Self>,
        sin: FloatTensor<Self>,
        inverse: bool,
    ) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct RopeStep {
            inverse: bool,
        }

        impl<B: Backend + RopeOps> Backward<B, 1> for RopeStep {
            type State = (FloatTensor<B>, FloatTensor<B>);

            fn backward(
                self,
                ops: Ops<Self::State, 1>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let [node_x] = ops.parents;
                let grad = grads.consume::<B>(&ops.node);
                let (cos, sin) = ops.state;
                if let Some(node) = node_x {
                    grads.register::<B>(node.id, B::fused_rope(grad, cos, sin, !self.inverse));
                }
            }
        }

        let (cos, sin) = (cos.into_primitive(), sin.into_primitive());
        match (RopeStep { inverse })
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let out = B::fused_rope(x.into_primitive(), cos.clone(), sin.clone(), inverse);
                prep.finish((cos, sin), out)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(B::fused_rope(x.into_primitive(), cos, sin, inverse))
            }
        }
    }
}
