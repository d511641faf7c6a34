//! The prefetching loader over a tokenized data set.

use std::sync::Arc;

use prefopt_data::{
    Collator, Cursor, DatasetOptions, Loader, LoaderConfig, TokenBatch, load_preference_dataset,
};

use crate::common::{jsonl, tiny_tokenizer};

fn loader(config: LoaderConfig, start: Cursor) -> Loader<TokenBatch> {
    let t = tiny_tokenizer();
    let data = load_preference_dataset(
        &jsonl("pairs_standard.jsonl"),
        &t,
        &DatasetOptions::default(),
        None,
    )
    .unwrap();
    let collator = Collator::new(t.pad().unwrap().id);
    Loader::new(Arc::new(data.examples), config, start, move |xs| {
        collator.pairs(xs)
    })
    .unwrap()
}

#[test]
fn resume_reproduces_the_remaining_batches() {
    let config = LoaderConfig {
        batch_size: 2,
        shuffle: true,
        seed: 42,
        drop_last: false,
        prefetch: 2,
        epochs: Some(4),
    };
    let all: Vec<_> = loader(config, Cursor::default())
        .map(Result::unwrap)
        .collect();
    assert_eq!(all.len(), 8);
    for b in &all {
        assert_eq!(b.data.rows, 2 * b.indices.len());
    }
    let mut first = loader(config, Cursor::default());
    let mut cursor = Cursor::default();
    for _ in 0..3 {
        cursor = first.next().unwrap().unwrap().next;
    }
    drop(first);
    assert_eq!(cursor, Cursor { epoch: 1, batch: 1 });
    let rest: Vec<_> = loader(config, cursor).map(Result::unwrap).collect();
    assert_eq!(rest, all[3..].to_vec());
}
