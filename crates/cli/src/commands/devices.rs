//! `prefopt devices`: which backends this build has, and a smoke test of one.

use crate::device::DeviceChoice;

#[allow(clippy::print_stdout)] // the CLI's output is its product
pub(crate) fn run(choice: DeviceChoice) -> anyhow::Result<()> {
    for d in [
        DeviceChoice::Cpu,
        DeviceChoice::Wgpu(0),
        DeviceChoice::Vulkan(0),
        DeviceChoice::Metal(0),
        DeviceChoice::Cuda(0),
    ] {
        let state = if d.is_compiled() {
            "compiled in"
        } else {
            "not compiled in"
        };
        let feature = d
            .feature()
            .map_or("(default)".to_string(), |f| format!("--features {f}"));
        println!(
            "{:<10} {:<16} {}",
            d.to_string().split(':').next().unwrap_or(""),
            state,
            feature
        );
    }
    let device = choice.device()?;
    let t = burn::tensor::Tensor::<1>::from_floats([1.0, 2.0, 3.0], &device);
    let sum: f32 = t.sum().into_scalar();
    anyhow::ensure!(sum == 6.0, "device {choice} computed 1+2+3 = {sum}");
    println!("{choice}: ok (1+2+3 = {sum})");
    Ok(())
}
