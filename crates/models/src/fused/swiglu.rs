//! The SwiGLU gate of a Llama MLP, `silu(gate) · up`, in one pass each way.
//!
//! Backward, with `σ = sigmoid(gate)`: `d_up = dy · gate σ`,
//! `d_gate = dy · up · σ (1 + gate (1 − σ))`. The forward keeps only its inputs.

use burn::backend::autodiff::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, Flex, backend_extension};
use burn::prelude::*;
use burn::tensor::activation::silu;
use burn_flex::FlexTensor;
use rayon::prelude::*;

use super::flex_rows::{tensor, values, zeroed};
use super::{fused_kernels_apply, register_grads, simd_math};

/// Elements per rayon task.
const CHUNK: usize = 16_384;

/// SwiGLU as one backend operation.
#[backend_extension(Flex, Autodiff)]
pub trait SwigluOps: Backend {
    /// # Shapes
    /// - gate, up, output: the same shape
    fn fused_swiglu(gate: FloatTensor<Self>, up: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// The backward kernel of [`SwigluOps`] on a backend that has one.
pub trait SwigluBackward: Backend {
    /// `(d_gate, d_up)` for the output gradient `grad`.
    fn fused_swiglu_backward(
        gate: FloatTensor<Self>,
        up: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>);
}

/// `silu(gate) · up`, fused on the CPU backend.
///
/// # Shapes
/// - gate, up, output: the same shape
pub fn swiglu<const D: usize>(gate: Tensor<D>, up: Tensor<D>) -> Tensor<D> {
    if !fused_kernels_apply(&gate) || gate.dims() != up.dims() {
        return silu(gate) * up;
    }
    Tensor::from_dispatch(<Dispatch as SwigluOps>::fused_swiglu(
        gate.into_dispatch(),
        up.into_dispatch(),
    ))
}

/// `1 / (1 + e^-x)`.
#[inline(always)]
fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + simd_math::exp(-x))
}

impl SwigluOps for Flex {
    fn fused_swiglu(gate: FlexTensor, up: FlexTensor) -> FlexTensor {
        let shape = gate.layout().shape().clone();
        let (g, u) = (values(&gate), values(&up));
        let mut out = zeroed(g.len());
        out.par_chunks_mut(CHUNK)
            .zip(g.par_chunks(CHUNK).zip(u.par_chunks(CHUNK)))
            .for_each(|(o, (g, u))| {
                for ((o, &g), &u) in o.iter_mut().zip(g).zip(u) {
                    *o = g * sigmoid(g) * u;
                }
            });
        tensor(out, shape)
    }
}

impl SwigluBackward for Flex {
    fn fused_swiglu_backward(
        gate: FlexTensor,
        up: FlexTensor,
        grad: FlexTensor,
    ) -> (FlexTensor, FlexTensor) {
        let shape = gate.layout().shape().clone();
        let (g, u, dy) = (values(&gate), values(&up), values(&grad));
        let mut d_gate = zeroed(g.len());
        let mut d_up = zeroed(g.len());
        d_gate
            .par_chunks_mut(CHUNK)
            .zip(d_up.par_chunks_mut(CHUNK))
            .zip(g.par_chunks(CHUNK).zip(u.par_chunks(CHUNK)))
            .zip(dy.par_chunks(CHUNK))
            .for_each(|(((dg, du), (g, u)), dy)| {
                for ((((dg, du), &g), &u), &dy) in
                    dg.iter_mut().zip(du.iter_mut()).zip(g).zip(u).zip(dy)
                {
                    let s = sigmoid(g);
                    *du = dy * g * s;
                    *dg = dy * u * s * (1.0 + g * (1.0 - s));
                }
            });
        (tensor(d_gate, shape.clone()), tensor(d_up, shape))
    }
}

impl<B: Backend + SwigluOps + SwigluBackward, C: CheckpointStrategy> SwigluOps for Autodiff<B, C> {
    fn fused_swiglu(gate: FloatTensor<Self>, up: FloatTensor<Self>) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct SwigluStep;

        impl<B: Backend + SwigluBackward> Backward<B, 2> for SwigluStep {
            type State = (FloatTensor<B>, FloatTensor<B>);

            fn backward(
                self,
                ops: Ops<Self::State, 2>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let grad = grads.consume::<B>(&ops.node);
                let (gate, up) = ops.state;
                let (d_gate, d_up) = B::fused_swiglu_backward(gate, up, grad);
                let parents = ops.parents.map(|p| p.map(|node| node.id));
                register_grads::<B, 2>(grads, parents, [d_gate, d_up]);
            }
        }

        match SwigluStep
            .prepare::<C>([gate.node(), up.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (gate, up) = (gate.into_primitive(), up.into_primitive());
                let out = B::fused_swiglu(gate.clone(), up.clone());
                prep.finish((gate, up), out)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(B::fused_swiglu(gate.into_primitive(), up.into_primitive()))
            }
        }
    }
}
