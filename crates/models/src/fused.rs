//! Fused operations with their own backward pass (issue 18).
//!
//! burn's `flex` backend runs every tensor operation as its own pass over memory, on one core
//! for element-wise work, and its autodiff records each of them: an RMSNorm is five passes
//! forward and more backward, a log-softmax followed by a gather keeps a `[tokens, vocab]`
//! tensor alive for the backward. The operations here do the same arithmetic in one pass per
//! direction, with the rows split across rayon's pool.
//!
//! Each operation is a burn backend extension (`#[backend_extension(Flex, Autodiff)]`, burn
//! 0.22's way to add an operation to its runtime dispatch): a forward implemented for `Flex`,
//! and for `Autodiff<B, C>` a hand-written [`Backward`](burn::backend::autodiff::ops::Backward)
//! that calls the backend's fused backward kernel. The public functions take and return
//! ordinary [`Tensor`]s and fall back to the composition of burn operations they replace on
//! every other device (wgpu, CUDA) and for non-`f32` tensors, so the models stay
//! device-agnostic; tests compare the two paths, values and gradients.

mod adamw;
mod attention;
pub(crate) mod flex_rows;
mod gemm;
mod matmul;
mod rms_norm;
mod rope;
mod simd_math;
mod swiglu;
mod token_logprobs;

use burn::backend::autodiff::NodeId;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, DispatchDevice};
use burn::prelude::*;
use burn::tensor::DType;

pub use adamw::{AdamWScalars, adamw_update};
pub use attention::attention;
pub use matmul::matmul;
pub use rms_norm::rms_norm;
pub use rope::rope;
pub use swiglu::swiglu;
pub use token_logprobs::token_logprobs;

/// Whether `tensor` lives on the `flex` backend (directly or under autodiff) as `f32`: the case
/// the fused kernels handle (elsewhere the functions of this module compose burn operations).
pub fn fused_kernels_apply<const D: usize>(tensor: &Tensor<D>) -> bool {
    tensor.dtype() == DType::F32 && on_flex(tensor.device().as_dispatch())
}

/// Whether `device` is the `flex` CPU backend (directly or under autodiff).
pub(crate) fn device_is_flex(device: &Device) -> bool {
    on_flex(device.as_dispatch())
}

fn on_flex(device: &DispatchDevice) -> bool {
    match device {
        DispatchDevice::Flex(_) => true,
        DispatchDevice::Autodiff(inner) => matches!(**inner, DispatchDevice::Flex(_)),
        #[allow(unreachable_patterns)]
        _ => false,
    }
}

/// Registers each gradient for its parent, skipping parents that are not tracked (a backward
/// step's last act).
pub(crate) fn register_grads<B: Backend, const N: usize>(
    grads: &mut Gradients,
    parents: [Option<NodeId>; N],
    values: [FloatTensor<B>; N],
) {
    for (parent, value) in parents.into_iter().zip(values) {
        if let Some(id) = parent {
            grads.register::<B>(id, value);
        }
    }
}
