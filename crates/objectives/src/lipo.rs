//! LiPO: listwise preference optimisation through learning-to-rank (Liu et al. 2024,
//! arXiv:2402.01878), and the ranking losses it compares.
//!
//! Each example is a prompt with K responses y_1…y_K and real labels ψ ∈ [0, 1]^K (higher is
//! better). The policy's score for a response is the DPO implicit reward (Eq. 2)
//! s_i = β·(log π_θ(y_i) − log π_ref(y_i)), and the objective (Eq. 3) is a ranking loss
//! l(ψ, s) averaged over lists. [`LipoLossType`] lists the losses, LiPO-λ (Eq. 8) first.
//!
//! # Data layout
//!
//! Lists are padded to a common width K: scores or log-probs `[batch, K]`, labels `[batch, K]`
//! and a **`Bool` mask** `[batch, K]` that is `true` for real responses. Padded slots may hold
//! any value (even NaN): they never form pairs, never shift the ranks of real responses, never
//! enter a sum and receive a zero gradient. A list with no valid slot is ignored.
//!
//! # Conventions
//!
//! The paper's printed formulas and the Rax code that produced its numbers differ (natural-log
//! vs base-2 discount, a ×K factor on the λ weights, sums vs means, normalised vs raw softmax
//! labels). [`LipoConvention`] picks one set; each knob can be overridden on its own. The
//! default is [`LipoConvention::Rax`], which reproduces the paper's training runs.
//!
//! # Example
//!
//! ```
//! use burn::prelude::*;
//! use prefopt_objectives::lipo::{LipoConfig, LipoConvention, LipoLossType};
//!
//! let device = Device::flex();
//! let lipo = LipoConfig::new()
//!     .with_loss_type(LipoLossType::Lambda)
//!     .with_convention(LipoConvention::Paper)
//!     .init()?;
//! // One list of K = 4 scores (already β-scaled) and labels, all valid.
//! let scores = Tensor::<2>::from_data([[0.2, 0.5, -0.1, 0.0]], &device);
//! let labels = Tensor::<2>::from_data([[0.8, 0.6, 0.5, 0.1]], &device);
//! let mask = Tensor::<2, Bool>::from_data([[true, true, true, true]], &device);
//! let out = lipo.forward_scores(scores, labels, mask)?;
//! let loss: f32 = out.loss.into_scalar();
//! assert!((loss - 0.444290).abs() < 1e-5);
//! # Ok::<(), prefopt_objectives::Error>(())
//! ```

mod config;
mod labels;
mod lambda;
mod list;
mod listwise;
mod loss_type;
mod masked;
mod objective;
mod output;
mod pairwise;
mod pointwise;
mod ranks;
mod reduction;

pub use config::{
    LambdaDiscount, LambdaScale, LipoConfig, LipoConvention, LipoReduction, SoftmaxLabels,
};
pub use labels::aggregate_win_probabilities;
pub use lambda::lambda_weights;
pub use loss_type::LipoLossType;
pub use objective::Lipo;
pub use output::{LipoMetrics, LipoOutput};
pub use ranks::score_ranks;
