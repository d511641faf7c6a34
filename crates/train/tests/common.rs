//! Toy models and data shared by the tests.

use burn::module::{Module, Param};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor, TensorData};

/// The reference-value file written by `fixtures/gen_adamw_reference.py`.
pub fn reference() -> serde_json::Value {
    let text = include_str!("fixtures/adamw_reference.json");
    serde_json::from_str(text).expect("valid reference JSON")
}

/// A JSON array of numbers (any nesting) flattened to f64s.
pub fn flat(v: &serde_json::Value) -> Vec<f64> {
    match v {
        serde_json::Value::Array(items) => items.iter().flat_map(flat).collect(),
        serde_json::Value::Number(n) => vec![n.as_f64().unwrap()],
        other => panic!("not a number array: {other}"),
    }
}

/// A tensor's values as f64s.
pub fn values<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    t.into_data()
        .try_into_vec_as::<f32>()
        .unwrap()
        .into_iter()
        .map(f64::from)
        .collect()
}

/// Max |a - b|.
pub fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// Two plain parameters, for optimizer and clipping references.
#[derive(Module, Debug)]
pub struct Pair {
    pub w: Param<Tensor<2>>,
    pub b: Param<Tensor<1>>,
}

impl Pair {
    pub fn new(w: Vec<f32>, w_shape: [usize; 2], b: Vec<f32>, device: &Device) -> Self {
        let n = b.len();
        Self {
            w: Param::from_tensor(Tensor::from_data(TensorData::new(w, w_shape), device)),
            b: Param::from_tensor(Tensor::from_data(TensorData::new(b, [n]), device)),
        }
    }

    /// `sum(gw ⊙ w) + sum(gb ⊙ b)`: its gradient is exactly (gw, gb).
    pub fn linear_loss(&self, gw: Tensor<2>, gb: Tensor<1>) -> Tensor<1> {
        (self.w.val() * gw).sum() + (self.b.val() * gb).sum()
    }
}

/// A 4 → 8 → 1 MLP.
#[derive(Module, Debug)]
pub struct Mlp {
    pub l1: Linear,
    pub l2: Linear,
}

impl Mlp {
    pub fn new(device: &Device) -> Self {
        Self {
            l1: LinearConfig::new(4, 8).init(device),
            l2: LinearConfig::new(8, 1).init(device),
        }
    }

    /// # Shapes
    /// - `x`: `[n, 4]` → `[n, 1]`
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.l2.forward(relu(self.l1.forward(x)))
    }

    /// Mean squared error over the batch.
    pub fn mse(&self, x: Tensor<2>, y: Tensor<2>) -> Tensor<1> {
        (self.forward(x) - y).square().mean()
    }

    /// All parameter values, flattened in field order.
    pub fn flat_params(&self) -> Vec<f64> {
        let mut out = values(self.l1.weight.val());
        out.extend(values(self.l1.bias.as_ref().unwrap().val()));
        out.extend(values(self.l2.weight.val()));
        out.extend(values(self.l2.bias.as_ref().unwrap().val()));
        out
    }
}

/// A fixed regression data set of `n` examples: `x[i][j] = sin(0.7 i + 1.3 j)`, `y = Σ x² - 1`.
pub fn dataset(n: usize) -> (Vec<[f32; 4]>, Vec<f32>) {
    let xs: Vec<[f32; 4]> = (0..n)
        .map(|i| std::array::from_fn(|j| (0.7 * i as f32 + 1.3 * j as f32).sin()))
        .collect();
    let ys = xs
        .iter()
        .map(|x| x.iter().map(|v| v * v).sum::<f32>() - 1.0)
        .collect();
    (xs, ys)
}

/// Examples `start..start + len` (wrapping) as tensors.
pub fn batch(
    data: &(Vec<[f32; 4]>, Vec<f32>),
    start: usize,
    len: usize,
    device: &Device,
) -> (Tensor<2>, Tensor<2>) {
    let n = data.0.len();
    let idx: Vec<usize> = (0..len).map(|k| (start + k) % n).collect();
    let x: Vec<f32> = idx.iter().flat_map(|&i| data.0[i]).collect();
    let y: Vec<f32> = idx.iter().map(|&i| data.1[i]).collect();
    (
        Tensor::from_data(TensorData::new(x, [len, 4]), device),
        Tensor::from_data(TensorData::new(y, [len, 1]), device),
    )
}
