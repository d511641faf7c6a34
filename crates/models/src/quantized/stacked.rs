//! Several quantized layers that read the same input (q/k/v, gate/up) in one call of the
//! integer kernels during a cached decoding step: the input is quantized once and one set of
//! tasks covers all their rows ([`prefopt_gguf::QuantizedMatrix::matmul_many`]).

use burn::prelude::*;
use prefopt_gguf::QuantizedMatrix;

use super::{INTEGER_KERNEL_MAX_ROWS, QuantizedLinear};
use crate::base_linear::BaseLinear;
use crate::fused::fused_kernels_apply;

/// `x · W_iᵀ (+ b_i)` for every layer of `layers`, each `[n, out_i]`, on the integer kernels —
/// what [`QuantizedLinear::forward`] gives each on [`super::QuantizedPath::Decode`], in one
/// product. `None` where that path does not apply: a layer not quantized, more than
/// [`INTEGER_KERNEL_MAX_ROWS`] rows, a device other than the CPU backend in f32, or an autodiff
/// one (this product has no backward; the layers' own products do).
///
/// # Shapes
/// - x: `[n, in]`
/// - output: `[n, out_i]` per layer
pub(crate) fn decode_stacked<const N: usize>(
    layers: [&BaseLinear; N],
    x: &Tensor<2>,
) -> Option<[Tensor<2>; N]> {
    let [n, _] = x.dims();
    if n > INTEGER_KERNEL_MAX_ROWS || !fused_kernels_apply(x) || x.is_autodiff() {
        return None;
    }
    let quantized: Vec<&QuantizedLinear> = layers
        .iter()
        .map(|l| match l {
            BaseLinear::Quantized(q) => Some(q),
            BaseLinear::Dense(_) => None,
        })
        .collect::<Option<_>>()?;
    let mats: Vec<&QuantizedMatrix> = quantized.iter().map(|q| q.weight.matrix()).collect();
    let total: usize = mats.iter().map(|m| m.rows()).sum();
    let input = x.clone().into_data();
    let input = input.as_slice::<f32>().ok()?;
    let mut y = vec![0f32; n * total];
    QuantizedMatrix::matmul_many(&mats, input, n, &mut y).ok()?;
    let device = x.device();
    let mut offset = 0;
    Some(std::array::from_fn(|i| {
        let rows = mats[i].rows();
        let mut part = Vec::with_capacity(n * rows);
        for row in y.chunks_exact(total) {
            part.extend_from_slice(&row[offset..offset + rows]);
        }
        offset += rows;
        let out = Tensor::<2>::from_data(TensorData::new(part, [n, rows]), &device);
        match &quantized[i].bias {
            Some(b) => out + b.val().unsqueeze_dim(0),
            None => out,
        }
    }))
}

#[cfg(test)]
mod tests {
    use burn::module::Param;
    use prefopt_core::SplitMix64;
    use prefopt_gguf::GgmlType;

    use super::*;
    use crate::quantized::{QuantizedPath, QuantizedWeight};

    /// Random Q8_0 blocks (scale bytes set to small finite f16s).
    fn layer(rng: &mut SplitMix64, rows: usize, cols: usize, bias: bool) -> BaseLinear {
        let blocks = rows * cols / 32;
        let mut data: Vec<u8> = (0..blocks * 34).map(|_| rng.next_u64() as u8).collect();
        for block in data.chunks_exact_mut(34) {
            block[..2].copy_from_slice(&half::f16::from_f32(0.01).to_le_bytes());
        }
        let matrix = QuantizedMatrix::new(GgmlType::Q8_0, rows, cols, data).unwrap();
        let device = Device::flex();
        let bias = bias.then(|| {
            let b: Vec<f32> = (0..rows).map(|i| i as f32 * 0.1).collect();
            Param::from_data(TensorData::new(b, [rows]), &device)
        });
        BaseLinear::Quantized(QuantizedLinear::new(QuantizedWeight::new(matrix), bias))
    }

    #[test]
    fn stacked_equals_each_layer_on_the_decode_path() {
        let mut rng = SplitMix64::new(5);
        let device = Device::flex();
        let (q, k, v) = (
            layer(&mut rng, 96, 64, false),
            layer(&mut rng, 32, 64, true),
            layer(&mut rng, 32, 64, false),
        );
        for n in [1, 5] {
            let x: Vec<f32> = (0..n * 64)
                .map(|i| ((i * 37 % 23) as f32 - 11.0) / 7.0)
                .collect();
            let x = Tensor::<2>::from_data(TensorData::new(x, [n, 64]), &device);
            let stacked = decode_stacked([&q, &k, &v], &x).expect("all quantized, flex, f32");
            for (got, l) in stacked.into_iter().zip([&q, &k, &v]) {
                let want = l.forward(x.clone(), QuantizedPath::Decode);
                assert_eq!(
                    got.into_data().try_to_vec::<f32>().unwrap(),
                    want.into_data().try_to_vec::<f32>().unwrap()
                );
            }
        }
        // Not applicable: too many rows, or an autodiff input.
        let big = Tensor::<2>::zeros([INTEGER_KERNEL_MAX_ROWS + 1, 64], &device);
        assert!(decode_stacked([&q, &k], &big).is_none());
        let tracked = Tensor::<2>::zeros([1, 64], &device.clone().autodiff());
        assert!(decode_stacked([&q, &k], &tracked).is_none());
    }
}
