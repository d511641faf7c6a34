//! A matrix product whose forward and backward run through [`super::gemm`].
//!
//! The forward keeps its two inputs; the backward computes `d_lhs = grad @ rhsᵀ` and
//! `d_rhs = lhsᵀ @ grad` from transposed views (no copies), and only for the inputs that are
//! tracked: a frozen base weight under a LoRA adapter gets no gradient product at all.

use burn::backend::autodiff::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::ops::FloatTensorOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, Flex, backend_extension};
use burn::prelude::*;
use burn_flex::FlexTensor;

use super::fused_kernels_apply;
use super::gemm::flex_matmul;

/// The matrix product as one backend operation.
#[backend_extension(Flex, Autodiff)]
pub trait MatmulOps: Backend {
    /// # Shapes
    /// - lhs: `[..., m, k]`, rhs: `[..., k, n]` (the same batch dimensions)
    /// - output: `[..., m, n]`
    fn fused_matmul(lhs: FloatTensor<Self>, rhs: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// The backward kernel of [`MatmulOps`] on a backend that has one.
pub trait MatmulBackward: Backend {
    /// `(d_lhs, d_rhs)` for the output gradient `grad`, each only when asked for.
    fn fused_matmul_backward(
        lhs: FloatTensor<Self>,
        rhs: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        want: [bool; 2],
    ) -> [Option<FloatTensor<Self>>; 2];
}

/// `lhs @ rhs`, on the CPU backend through the GEMM of [`super::gemm`] with its own backward;
/// elsewhere (and when the batch dimensions would broadcast) burn's `matmul`.
///
/// # Shapes
/// - lhs: `[..., m, k]`, rhs: `[..., k, n]`
/// - output: `[..., m, n]`
pub fn matmul<const D: usize>(lhs: Tensor<D>, rhs: Tensor<D>) -> Tensor<D> {
    let (l, r) = (lhs.dims(), rhs.dims());
    let same_batch = D >= 2 && l[..D - 2] == r[..D - 2] && l[D - 1] == r[D - 2];
    if !same_batch || !fused_kernels_apply(&lhs) || !fused_kernels_apply(&rhs) {
        return lhs.matmul(rhs);
    }
    Tensor::from_dispatch(<Dispatch as MatmulOps>::fused_matmul(
        lhs.into_dispatch(),
        rhs.into_dispatch(),
    ))
}

impl MatmulOps for Flex {
    fn fused_matmul(lhs: FlexTensor, rhs: FlexTensor) -> FlexTensor {
        flex_matmul(lhs, rhs)
    }
}

impl MatmulBackward for Flex {
    fn fused_matmul_backward(
        lhs: FlexTensor,
        rhs: FlexTensor,
        grad: FlexTensor,
        [want_lhs, want_rhs]: [bool; 2],
    ) -> [Option<FlexTensor>; 2] {
        let rank = lhs.layout().shape().num_dims();
        let d_lhs = want_lhs
            .then(|| flex_matmul(grad.clone(), Flex::float_swap_dims(rhs, rank - 2, rank - 1)));
        let d_rhs =
            want_rhs.then(|| flex_matmul(Flex::float_swap_dims(lhs, rank - 2, rank - 1), grad));
        [d_lhs, d_rhs]
    }
}

impl<B: Backend + MatmulOps + MatmulBackward, C: CheckpointStrategy> MatmulOps for Autodiff<B, C> {
    fn fused_matmul(lhs: FloatTensor<Self>, rhs: FloatTensor<Self>) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct MatmulStep;

        impl<B: Backend + MatmulBackward> Backward<B, 2> for MatmulStep {
            type State = (FloatTensor<B>, FloatTensor<B>);

            fn backward(
                self,
                ops: Ops<Self::State, 2>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let grad = grads.consume::<B>(&ops.node);
                let (lhs, rhs) = ops.state;
                let parents = ops.parents.map(|p| p.map(|node| node.id));
                let want = parents.map(|p| p.is_some());
                let [d_lhs, d_rhs] = B::fused_matmul_backward(lhs, rhs, grad, want);
                for (parent, value) in parents.into_iter().zip([d_lhs, d_rhs]) {
                    if let (Some(id), Some(value)) = (parent, value) {
                        grads.register::<B>(id, value);
                    }
                }
            }
        }

        match MatmulStep
            .prepare::<C>([lhs.node(), rhs.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (lhs, rhs) = (lhs.into_primitive(), rhs.into_primitive());
                let out = B::fused_matmul(lhs.clone(), rhs.clone());
                prep.finish((lhs, rhs), out)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(B::fused_matmul(lhs.into_primitive(), rhs.into_primitive()))
            }
        }
    }
}
