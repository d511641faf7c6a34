//! A terminal progress bar with loss, learning rate and tokens per second.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Progress of a training run over optimizer steps, drawn on stderr with `indicatif`.
///
/// Hidden (every call is a cheap no-op) when stderr is not a terminal, so logs and tests stay
/// clean; [`TrainProgress::hidden`] forces that.
#[derive(Debug)]
pub struct TrainProgress {
    bar: ProgressBar,
    last_update: Instant,
    tokens_since: u64,
    tokens_per_second: f64,
}

impl TrainProgress {
    /// A bar for `total_steps` optimizer steps, starting at `start_step` (non-zero on resume).
    pub fn new(total_steps: u64, start_step: u64) -> Self {
        let target = if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        Self::with_target(total_steps, start_step, target)
    }

    /// A bar that never draws.
    pub fn hidden(total_steps: u64) -> Self {
        Self::with_target(total_steps, 0, ProgressDrawTarget::hidden())
    }

    fn with_target(total_steps: u64, start_step: u64, target: ProgressDrawTarget) -> Self {
        let bar = ProgressBar::with_draw_target(Some(total_steps), target);
        let style = ProgressStyle::with_template(
            "{elapsed_precise} [{wide_bar}] {pos}/{len} steps ({eta} left) {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        bar.set_style(style);
        bar.set_position(start_step);
        if !bar.is_hidden() {
            bar.enable_steady_tick(Duration::from_millis(500));
        }
        Self {
            bar,
            last_update: Instant::now(),
            tokens_since: 0,
            tokens_per_second: 0.0,
        }
    }

    /// Records that optimizer step `step` (1-based count of completed steps) finished after
    /// processing `tokens` tokens; `loss`/`lr` are shown if given (pass them on logging steps,
    /// when they were read back anyway, to avoid an extra host sync).
    pub fn step(&mut self, step: u64, tokens: u64, loss: Option<f64>, lr: Option<f64>) {
        self.tokens_since += tokens;
        let elapsed = self.last_update.elapsed().as_secs_f64();
        if elapsed >= 1.0 || loss.is_some() {
            if elapsed > 0.0 {
                self.tokens_per_second = self.tokens_since as f64 / elapsed;
            }
            self.tokens_since = 0;
            self.last_update = Instant::now();
        }
        self.bar.set_position(step);
        if let (Some(loss), Some(lr)) = (loss, lr) {
            self.bar.set_message(format!(
                "loss {loss:.4} lr {lr:.2e} {:.0} tok/s",
                self.tokens_per_second
            ));
        }
    }

    /// Tokens per second over the last measured interval.
    pub fn tokens_per_second(&self) -> f64 {
        self.tokens_per_second
    }

    /// True when nothing is drawn.
    pub fn is_hidden(&self) -> bool {
        self.bar.is_hidden()
    }

    /// Writes a line above the bar (or to the log when hidden).
    pub fn println(&self, line: impl AsRef<str>) {
        if self.bar.is_hidden() {
            tracing::info!("{}", line.as_ref());
        } else {
            self.bar.println(line);
        }
    }

    /// Leaves the final bar on screen.
    pub fn finish(&self) {
        self.bar.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_bar_tracks_position() {
        let mut p = TrainProgress::hidden(10);
        assert!(p.is_hidden());
        p.step(1, 100, None, None);
        p.step(2, 100, Some(0.5), Some(1e-3));
        assert_eq!(p.bar.position(), 2);
        assert!(p.tokens_per_second() > 0.0);
        p.finish();
    }
}
