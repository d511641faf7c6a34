//! The allocator settings are accepted where they apply and are a no-op elsewhere.

#[test]
fn glibc_accepts_every_setting() {
    let accepted = prefopt_core::allocator::retain_freed_memory();
    assert_eq!(
        accepted,
        cfg!(all(target_os = "linux", target_env = "gnu")),
        "mallopt refused a setting (or ran where it should not)"
    );
    // Large blocks are still usable afterwards: one above the old and below the new threshold,
    // written and freed twice (the second time from the retained heap).
    for _ in 0..2 {
        let block = vec![1u8; 4 << 20];
        assert_eq!(block.iter().map(|&b| b as usize).sum::<usize>(), 4 << 20);
    }
}
