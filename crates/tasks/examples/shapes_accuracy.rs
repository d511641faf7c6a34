//! Prints the shapes checker's accuracy table (ground-truth renders, clean and corrupted) as
//! markdown, for docs/text-to-image.md:
//!
//! ```text
//! cargo run -p prefopt-tasks --example shapes_accuracy -- [captions] [seed]
//! ```

use prefopt_tasks::shapes::{
    Corruption, World, accuracy_table, checker_accuracy, checker_specificity,
};

#[allow(clippy::print_stdout)] // the table is the example's output
fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(Ok(2000), |a| a.parse())?;
    let seed: u64 = args.next().map_or(Ok(1), |a| a.parse())?;
    let world = World::default();
    let corruptions = [
        Corruption::None,
        Corruption::Gaussian(8.0),
        Corruption::Gaussian(16.0),
        Corruption::Gaussian(32.0),
        Corruption::Blur,
        Corruption::BlurGaussian(16.0),
    ];
    let mut rows = Vec::new();
    for c in corruptions {
        rows.push(checker_accuracy(&world, n, seed, c)?);
    }
    for c in corruptions {
        rows.push(checker_specificity(&world, n, seed, c)?);
    }
    print!("{}", accuracy_table(&rows));
    Ok(())
}
