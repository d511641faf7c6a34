//! Global-norm clipping against `torch.nn.utils.clip_grad_norm_`.

use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData};
use prefopt_train::{clip_grad_norm, global_grad_norm};

use crate::common::{Pair, flat, max_abs_diff, reference, values};

fn grads_for(case: &serde_json::Value, device: &Device) -> (Pair, GradientsParams) {
    let a: Vec<f32> = flat(&case["grad_a"])
        .into_iter()
        .map(|x| x as f32)
        .collect();
    let c: Vec<f32> = flat(&case["grad_c"])
        .into_iter()
        .map(|x| x as f32)
        .collect();
    let model = Pair::new(vec![0.0; 4], [2, 2], vec![0.0; 3], device);
    let loss = model.linear_loss(
        Tensor::from_data(TensorData::new(a, [2, 2]), device),
        Tensor::from_data(TensorData::new(c, [3]), device),
    );
    let grads = GradientsParams::from_grads(loss.backward(), &model);
    (model, grads)
}

#[test]
fn matches_torch_clip_grad_norm() {
    let device = Device::flex().autodiff();
    let reference = reference();
    for case in reference["clip"].as_array().unwrap() {
        let (model, mut grads) = grads_for(case, &device);
        let max_norm = case["max_norm"].as_f64().unwrap();
        let norm = clip_grad_norm(&model, &mut grads, max_norm);
        let want = case["total_norm"].as_f64().unwrap();
        assert!(
            (norm - want).abs() <= 1e-6 * want,
            "norm {norm} vs torch {want}"
        );
        let ga = values(grads.get::<2>(model.w.id).unwrap());
        let gc = values(grads.get::<1>(model.b.id).unwrap());
        assert!(
            max_abs_diff(&ga, &flat(&case["clipped_a"])) <= 1e-6,
            "{ga:?}"
        );
        assert!(
            max_abs_diff(&gc, &flat(&case["clipped_c"])) <= 1e-6,
            "{gc:?}"
        );
    }
}

#[test]
fn hand_values() {
    // Gradients (3, 4) and (12): total norm sqrt(9 + 16 + 144) = 13.
    let device = Device::flex().autodiff();
    let model = Pair::new(vec![0.0; 2], [1, 2], vec![0.0], &device);
    let loss = model.linear_loss(
        Tensor::from_data(TensorData::new(vec![3.0f32, 4.0], [1, 2]), &device),
        Tensor::from_data(TensorData::new(vec![12.0f32], [1]), &device),
    );
    let mut grads = GradientsParams::from_grads(loss.backward(), &model);
    assert_eq!(global_grad_norm(&model, &grads), 13.0);
    let norm = clip_grad_norm(&model, &mut grads, 6.5);
    assert_eq!(norm, 13.0);
    // Scaled by 6.5 / (13 + 1e-6): the new global norm is 6.5 (to f32 precision).
    let after = global_grad_norm(&model, &grads);
    assert!((after - 6.5).abs() < 1e-5, "{after}");
    let w = values(grads.get::<2>(model.w.id).unwrap());
    assert!(max_abs_diff(&w, &[1.5, 2.0]) < 1e-6, "{w:?}");
    // A norm under the threshold leaves the gradients bit-identical.
    let mut again = GradientsParams::new();
    again.register(model.w.id, grads.get::<2>(model.w.id).unwrap());
    let norm_w = clip_grad_norm(&model, &mut again, 100.0);
    assert!((norm_w - 2.5).abs() < 1e-6, "{norm_w}");
    assert_eq!(values(again.get::<2>(model.w.id).unwrap()), w);
}
