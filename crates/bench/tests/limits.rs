//! Size limits on the UniGenBench files a user downloads: the suite CSV and its rows.

use prefopt_bench::unigenbench::{MAX_SUITE_BYTES, MAX_SUITE_ROW_BYTES, Suite, SuiteOptions};

use crate::common::write_suite;

#[test]
fn a_suite_file_over_the_limit_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.csv");
    // Sparse: the size is checked, the bytes are never read.
    std::fs::File::create(&path)
        .unwrap()
        .set_len(MAX_SUITE_BYTES + 1)
        .unwrap();
    let err = Suite::load(&path, SuiteOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("huge.csv") && err.contains(&format!("more than {MAX_SUITE_BYTES}")),
        "{err}"
    );
}

#[test]
fn a_row_over_the_limit_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_suite(dir.path());
    let mut text = std::fs::read_to_string(&path).unwrap();
    text = text.replacen(
        "Prompt number 1,",
        &format!("Prompt number 1 {},", "x".repeat(MAX_SUITE_ROW_BYTES)),
        1,
    );
    std::fs::write(&path, text).unwrap();
    let err = Suite::load(&path, SuiteOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("line 3") && err.contains(&format!("longer than {MAX_SUITE_ROW_BYTES}")),
        "{err}"
    );
}
