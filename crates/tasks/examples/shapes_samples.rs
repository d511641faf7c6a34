//! Writes a contact sheet of ground-truth renders of the first captions of a mini suite, and
//! the captions as a numbered markdown list, for docs/text-to-image.md:
//!
//! ```text
//! cargo run -p prefopt-tasks --example shapes_samples -- docs/images/shapes_samples.png [n] [seed]
//! ```

use prefopt_core::SplitMix64;
use prefopt_tasks::shapes::{World, contact_sheet, mini_suite, render};

#[allow(clippy::print_stdout)] // the caption list is the example's output
fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let out = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("usage: shapes_samples OUT.png [n] [seed]"))?;
    let n: usize = args.next().map_or(Ok(16), |a| a.parse())?;
    let seed: u64 = args.next().map_or(Ok(42), |a| a.parse())?;
    let world = World::default();
    let mut rng = SplitMix64::new(seed);
    let mut images = Vec::with_capacity(n);
    for (k, p) in mini_suite(&world, n, seed)?.iter().enumerate() {
        images.push(render(&p.caption, &world.config, &mut rng)?.image);
        println!("{}. `{}`", k + 1, p.caption);
    }
    contact_sheet(&images, 8, 4, 4, [128, 128, 128])?.write_png(std::path::Path::new(&out))?;
    Ok(())
}
