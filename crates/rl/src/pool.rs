//! A bounded worker pool for blocking calls (judge requests, reward services).
//!
//! `crossbeam` channels feed job indices to at most `workers` scoped threads through a queue of
//! `workers` slots; results are put back in job order, so the output does not depend on thread
//! scheduling. The first error stops the hand-out of further jobs and the call returns an error
//! (the one with the lowest job index among those that ran), never partial results.

use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam::channel;

use crate::error::Result;

/// Runs `job(0..n)` on at most `workers` threads and returns the results in index order.
///
/// With `workers <= 1` (or a single job) everything runs on the calling thread.
///
/// # Errors
/// The error of a failed job (lowest index among the jobs that ran).
///
/// # Panics
/// If a job panics (the panic is propagated).
pub fn run_bounded<T, F>(workers: usize, n: usize, job: F) -> Result<Vec<T>>
where
    T: Send,
    F: Fn(usize) -> Result<T> + Sync,
{
    let workers = workers.min(n);
    if workers <= 1 {
        return (0..n).map(&job).collect();
    }
    let (job_tx, job_rx) = channel::bounded::<usize>(workers);
    let (result_tx, result_rx) = channel::bounded::<(usize, Result<T>)>(n);
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let job_rx = job_rx.clone();
            let result_tx = result_tx.clone();
            let (job, stop) = (&job, &stop);
            scope.spawn(move || {
                for i in job_rx {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let result = job(i);
                    if result.is_err() {
                        stop.store(true, Ordering::Relaxed);
                    }
                    // The receiver outlives the scope and has room for every job.
                    let _ = result_tx.send((i, result));
                }
            });
        }
        drop(job_rx);
        drop(result_tx);
        for i in 0..n {
            if stop.load(Ordering::Relaxed) || job_tx.send(i).is_err() {
                break;
            }
        }
        drop(job_tx);
    });
    let mut slots: Vec<Option<T>> = (0..n).map(|_| None).collect();
    let mut first_error: Option<(usize, crate::Error)> = None;
    for (i, result) in result_rx.try_iter() {
        match result {
            Ok(v) => slots[i] = Some(v),
            Err(e) => {
                if first_error.as_ref().is_none_or(|(j, _)| i < *j) {
                    first_error = Some((i, e));
                }
            }
        }
    }
    if let Some((_, e)) = first_error {
        return Err(e);
    }
    Ok(slots
        .into_iter()
        .map(|s| s.expect("every job ran when none failed"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn results_in_order_and_concurrency_bounded() {
        let running = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let out = run_bounded(3, 40, |i| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis((i % 3) as u64));
            running.fetch_sub(1, Ordering::SeqCst);
            Ok(i * i)
        })
        .unwrap();
        assert_eq!(out, (0..40).map(|i| i * i).collect::<Vec<_>>());
        assert!(peak.load(Ordering::SeqCst) <= 3);
    }

    #[test]
    fn an_error_fails_the_whole_call() {
        let err = run_bounded(4, 20, |i| {
            if i == 7 {
                Err(Error::Judge(format!("job {i}")))
            } else {
                Ok(i)
            }
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "judge failed: job 7");
        let err = run_bounded(1, 5, |i| {
            if i >= 2 {
                Err(Error::Judge(format!("job {i}")))
            } else {
                Ok(i)
            }
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "judge failed: job 2");
    }
}
