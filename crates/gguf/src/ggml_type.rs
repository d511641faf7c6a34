//! ggml tensor types: their ids, block sizes and block byte sizes.

use std::fmt;

/// A ggml tensor storage type (`enum ggml_type` in ggml.h, `GGMLQuantizationType` in gguf-py).
///
/// Every type gguf-py 0.19 knows is listed, so the sizes of any tensor can be checked even when
/// its type cannot be dequantized ([`GgmlType::is_dequantizable`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[allow(non_camel_case_types)] // ggml's names, as every tool prints them
pub enum GgmlType {
    /// 32-bit float.
    F32,
    /// IEEE half.
    F16,
    /// 4-bit, 32 per block, one f16 scale.
    Q4_0,
    /// 4-bit, 32 per block, f16 scale and minimum.
    Q4_1,
    /// 5-bit, 32 per block, one f16 scale.
    Q5_0,
    /// 5-bit, 32 per block, f16 scale and minimum.
    Q5_1,
    /// 8-bit, 32 per block, one f16 scale.
    Q8_0,
    /// 8-bit, 32 per block, f32 scale and sum (an activation format).
    Q8_1,
    /// 2-bit k-quant, 256 per block.
    Q2_K,
    /// 3-bit k-quant, 256 per block.
    Q3_K,
    /// 4-bit k-quant, 256 per block.
    Q4_K,
    /// 5-bit k-quant, 256 per block.
    Q5_K,
    /// 6-bit k-quant, 256 per block.
    Q6_K,
    /// 8-bit k-quant (an activation format).
    Q8_K,
    /// Importance-matrix quant.
    IQ2_XXS,
    /// Importance-matrix quant.
    IQ2_XS,
    /// Importance-matrix quant.
    IQ3_XXS,
    /// Importance-matrix quant.
    IQ1_S,
    /// Importance-matrix quant.
    IQ4_NL,
    /// Importance-matrix quant.
    IQ3_S,
    /// Importance-matrix quant.
    IQ2_S,
    /// Importance-matrix quant.
    IQ4_XS,
    /// 8-bit integer.
    I8,
    /// 16-bit integer.
    I16,
    /// 32-bit integer.
    I32,
    /// 64-bit integer.
    I64,
    /// 64-bit float.
    F64,
    /// Importance-matrix quant.
    IQ1_M,
    /// bfloat16.
    BF16,
    /// Ternary quant.
    TQ1_0,
    /// Ternary quant.
    TQ2_0,
    /// Microscaling FP4.
    MXFP4,
    /// NVIDIA FP4.
    NVFP4,
    /// 1-bit quant.
    Q1_0,
}

/// `(type, id, elements per block, bytes per block)`, from gguf-py's `GGML_QUANT_SIZES`.
const TABLE: &[(GgmlType, u32, u64, u64)] = &[
    (GgmlType::F32, 0, 1, 4),
    (GgmlType::F16, 1, 1, 2),
    (GgmlType::Q4_0, 2, 32, 2 + 16),
    (GgmlType::Q4_1, 3, 32, 2 + 2 + 16),
    (GgmlType::Q5_0, 6, 32, 2 + 4 + 16),
    (GgmlType::Q5_1, 7, 32, 2 + 2 + 4 + 16),
    (GgmlType::Q8_0, 8, 32, 2 + 32),
    (GgmlType::Q8_1, 9, 32, 4 + 4 + 32),
    (GgmlType::Q2_K, 10, 256, 2 + 2 + 16 + 64),
    (GgmlType::Q3_K, 11, 256, 2 + 64 + 32 + 12),
    (GgmlType::Q4_K, 12, 256, 2 + 2 + 128 + 12),
    (GgmlType::Q5_K, 13, 256, 2 + 2 + 128 + 32 + 12),
    (GgmlType::Q6_K, 14, 256, 2 + 128 + 64 + 16),
    (GgmlType::Q8_K, 15, 256, 4 + 256 + 32),
    (GgmlType::IQ2_XXS, 16, 256, 2 + 64),
    (GgmlType::IQ2_XS, 17, 256, 2 + 64 + 8),
    (GgmlType::IQ3_XXS, 18, 256, 2 + 64 + 32),
    (GgmlType::IQ1_S, 19, 256, 2 + 32 + 16),
    (GgmlType::IQ4_NL, 20, 32, 2 + 16),
    (GgmlType::IQ3_S, 21, 256, 2 + 64 + 32 + 8 + 4),
    (GgmlType::IQ2_S, 22, 256, 2 + 64 + 16),
    (GgmlType::IQ4_XS, 23, 256, 2 + 2 + 128 + 4),
    (GgmlType::I8, 24, 1, 1),
    (GgmlType::I16, 25, 1, 2),
    (GgmlType::I32, 26, 1, 4),
    (GgmlType::I64, 27, 1, 8),
    (GgmlType::F64, 28, 1, 8),
    (GgmlType::IQ1_M, 29, 256, 32 + 16 + 8),
    (GgmlType::BF16, 30, 1, 2),
    (GgmlType::TQ1_0, 34, 256, 2 + 4 * 13),
    (GgmlType::TQ2_0, 35, 256, 2 + 64),
    (GgmlType::MXFP4, 39, 32, 1 + 16),
    (GgmlType::NVFP4, 40, 64, 4 + 32),
    (GgmlType::Q1_0, 41, 128, 2 + 16),
];

/// The types [`crate::dequantize`] implements.
const DEQUANTIZABLE: &[GgmlType] = &[
    GgmlType::F32,
    GgmlType::F16,
    GgmlType::BF16,
    GgmlType::Q4_0,
    GgmlType::Q4_1,
    GgmlType::Q5_0,
    GgmlType::Q5_1,
    GgmlType::Q8_0,
    GgmlType::Q2_K,
    GgmlType::Q3_K,
    GgmlType::Q4_K,
    GgmlType::Q5_K,
    GgmlType::Q6_K,
];

impl GgmlType {
    fn row(self) -> (GgmlType, u32, u64, u64) {
        // Every variant has a row; the fallback is never taken.
        TABLE
            .iter()
            .copied()
            .find(|r| r.0 == self)
            .unwrap_or((self, u32::MAX, 1, 1))
    }

    /// The type with ggml id `id`, if known.
    pub fn from_id(id: u32) -> Option<Self> {
        TABLE.iter().find(|r| r.1 == id).map(|r| r.0)
    }

    /// The ggml id.
    pub fn id(self) -> u32 {
        self.row().1
    }

    /// Elements per block (1 for plain types).
    pub fn block_size(self) -> u64 {
        self.row().2
    }

    /// Bytes per block.
    pub fn type_size(self) -> u64 {
        self.row().3
    }

    /// Whether [`crate::dequantize`] implements this type.
    pub fn is_dequantizable(self) -> bool {
        DEQUANTIZABLE.contains(&self)
    }

    /// The dequantizable types, comma separated (for messages).
    pub fn dequantizable_names() -> String {
        DEQUANTIZABLE
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Bytes taken by `n_elements` elements, `None` when `n_elements` is not a whole number of
    /// blocks or the size overflows.
    pub fn bytes_for(self, n_elements: u64) -> Option<u64> {
        let block = self.block_size();
        if !n_elements.is_multiple_of(block) {
            return None;
        }
        (n_elements / block).checked_mul(self.type_size())
    }
}

impl fmt::Display for GgmlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_are_unique() {
        for &(ty, id, _, _) in TABLE {
            assert_eq!(GgmlType::from_id(id), Some(ty));
            assert_eq!(ty.id(), id);
        }
        assert_eq!(GgmlType::from_id(4), None, "Q4_2 was removed from ggml");
        assert_eq!(GgmlType::from_id(99), None);
    }

    #[test]
    fn block_sizes_match_ggml_common() {
        assert_eq!(GgmlType::Q2_K.type_size(), 84);
        assert_eq!(GgmlType::Q3_K.type_size(), 110);
        assert_eq!(GgmlType::Q4_K.type_size(), 144);
        assert_eq!(GgmlType::Q5_K.type_size(), 176);
        assert_eq!(GgmlType::Q6_K.type_size(), 210);
        assert_eq!(GgmlType::Q4_1.bytes_for(64), Some(40));
        assert_eq!(GgmlType::Q4_1.bytes_for(48), None);
        assert_eq!(GgmlType::F32.bytes_for(u64::MAX), None);
    }
}
