//! The one place where a `--device` string becomes a burn [`Device`].
//!
//! `cpu` is burn's `flex` backend and is always compiled in. GPU backends are cargo features of
//! this crate (`wgpu`, `vulkan`, `cuda`, `metal`) that forward to burn's; asking for one that is
//! not compiled in is an error that says which feature to enable, never a panic.

use std::fmt;
use std::str::FromStr;

use burn::prelude::Device;

/// A device the user asked for on the command line or in a config file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceChoice {
    /// burn's pure-Rust CPU backend (`flex`); the default.
    Cpu,
    /// WebGPU through `wgpu`, letting wgpu pick the graphics API; `n` is the discrete GPU index.
    Wgpu(usize),
    /// `wgpu` pinned to Vulkan (SPIR-V); `n` is the discrete GPU index.
    Vulkan(usize),
    /// `wgpu` pinned to Metal; `n` is the discrete GPU index.
    Metal(usize),
    /// CUDA device `n`.
    Cuda(usize),
}

/// Why a device string could not be turned into a device.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DeviceError {
    /// The string is not one of the accepted forms.
    #[error("unknown device `{0}`: expected one of cpu, wgpu[:N], vulkan[:N], metal[:N], cuda[:N]")]
    Unknown(String),
    /// The backend exists but this binary was built without its cargo feature.
    #[error(
        "device `{device}` needs the `{feature}` cargo feature, which this build of prefopt does \
         not have; rebuild with `cargo build --release -p prefopt-cli --features {feature}`"
    )]
    NotCompiled {
        /// The device string as given.
        device: String,
        /// The cargo feature that enables it.
        feature: &'static str,
    },
}

impl FromStr for DeviceChoice {
    type Err = DeviceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let unknown = || DeviceError::Unknown(s.to_string());
        let (name, index) = match s.split_once(':') {
            Some((name, idx)) => (name, Some(idx.parse::<usize>().map_err(|_| unknown())?)),
            None => (s, None),
        };
        let n = index.unwrap_or(0);
        Ok(match name.to_ascii_lowercase().as_str() {
            "cpu" | "flex" if index.is_none() => Self::Cpu,
            "wgpu" => Self::Wgpu(n),
            "vulkan" => Self::Vulkan(n),
            "metal" => Self::Metal(n),
            "cuda" => Self::Cuda(n),
            _ => return Err(unknown()),
        })
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cpu => write!(f, "cpu"),
            Self::Wgpu(n) => write!(f, "wgpu:{n}"),
            Self::Vulkan(n) => write!(f, "vulkan:{n}"),
            Self::Metal(n) => write!(f, "metal:{n}"),
            Self::Cuda(n) => write!(f, "cuda:{n}"),
        }
    }
}

impl DeviceChoice {
    /// The cargo feature this device needs (`None` for the always-present CPU backend).
    pub fn feature(&self) -> Option<&'static str> {
        match self {
            Self::Cpu => None,
            Self::Wgpu(_) => Some("wgpu"),
            Self::Vulkan(_) => Some("vulkan"),
            Self::Metal(_) => Some("metal"),
            Self::Cuda(_) => Some("cuda"),
        }
    }

    /// Whether this binary was built with the backend for this device.
    pub fn is_compiled(&self) -> bool {
        match self {
            Self::Cpu => true,
            Self::Wgpu(_) => cfg!(feature = "wgpu"),
            Self::Vulkan(_) => cfg!(feature = "vulkan"),
            Self::Metal(_) => cfg!(feature = "metal"),
            Self::Cuda(_) => cfg!(feature = "cuda"),
        }
    }

    /// The burn device (without autodiff; call `.autodiff()` on it to train).
    pub fn device(&self) -> Result<Device, DeviceError> {
        if !self.is_compiled() {
            return Err(DeviceError::NotCompiled {
                device: self.to_string(),
                feature: self.feature().unwrap_or("flex"),
            });
        }
        Ok(self.build())
    }

    #[allow(unreachable_code, unused_variables)] // which arms are reachable depends on features
    fn build(&self) -> Device {
        match *self {
            Self::Cpu => Device::flex(),
            Self::Wgpu(n) => {
                #[cfg(feature = "wgpu")]
                return Device::wgpu(burn::tensor::DeviceKind::DiscreteGpu(n));
                unreachable!("checked by is_compiled")
            }
            Self::Vulkan(n) => {
                #[cfg(feature = "vulkan")]
                return Device::vulkan(burn::tensor::DeviceKind::DiscreteGpu(n));
                unreachable!("checked by is_compiled")
            }
            Self::Metal(n) => {
                #[cfg(feature = "metal")]
                return Device::metal(burn::tensor::DeviceKind::DiscreteGpu(n));
                unreachable!("checked by is_compiled")
            }
            Self::Cuda(n) => {
                #[cfg(feature = "cuda")]
                return Device::cuda(n);
                unreachable!("checked by is_compiled")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form() {
        assert_eq!("cpu".parse(), Ok(DeviceChoice::Cpu));
        assert_eq!("flex".parse(), Ok(DeviceChoice::Cpu));
        assert_eq!("wgpu".parse(), Ok(DeviceChoice::Wgpu(0)));
        assert_eq!("vulkan:1".parse(), Ok(DeviceChoice::Vulkan(1)));
        assert_eq!("cuda:3".parse(), Ok(DeviceChoice::Cuda(3)));
        assert_eq!("CUDA".parse(), Ok(DeviceChoice::Cuda(0)));
        for bad in ["gpu", "cuda:x", "cpu:1", "", "cuda:-1"] {
            assert_eq!(
                bad.parse::<DeviceChoice>(),
                Err(DeviceError::Unknown(bad.into()))
            );
        }
    }

    #[test]
    fn display_round_trips() {
        for d in [
            DeviceChoice::Cpu,
            DeviceChoice::Wgpu(2),
            DeviceChoice::Vulkan(0),
            DeviceChoice::Metal(1),
            DeviceChoice::Cuda(7),
        ] {
            assert_eq!(d.to_string().parse(), Ok(d));
        }
    }

    #[test]
    fn cpu_device_computes() {
        let device = DeviceChoice::Cpu
            .device()
            .expect("cpu is always compiled in");
        let t = burn::tensor::Tensor::<1>::from_floats([1.0, 2.0, 3.0], &device);
        let sum: f32 = t.sum().into_scalar();
        assert_eq!(sum, 6.0);
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn missing_feature_is_an_error_naming_it() {
        let err = DeviceChoice::Cuda(0).device().unwrap_err();
        assert!(err.to_string().contains("`cuda` cargo feature"), "{err}");
    }
}
