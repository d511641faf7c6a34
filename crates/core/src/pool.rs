//! The one bounded worker pool for blocking calls (judge requests, reward services, image
//! judging).
//!
//! At most `workers` scoped threads take jobs from a `crossbeam` queue of `workers` slots, so
//! no more than that many calls are in flight and the queue never holds the whole job list.
//! Two ways to use it:
//!
//! - [`for_each_bounded`]: results are handed to a sink on the calling thread as they arrive
//!   (a verdict store appends each one at once, a progress bar moves); the sink may stop the
//!   hand-out of further jobs, and still receives the results of jobs already running, so
//!   nothing that ran is lost.
//! - [`run_ordered`]: results in job order, independent of thread scheduling; the first error
//!   stops the hand-out and the call returns an error (the one with the lowest job index among
//!   those that ran), never partial results.

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam::channel;

/// Runs `work` on every job on at most `workers` threads (at least one) and hands each result
/// to `sink` on the calling thread, in completion order.
///
/// When `sink` returns [`ControlFlow::Break`], no further job is started; results of jobs that
/// were already running are still passed to `sink` (its answer is then ignored).
///
/// # Panics
/// If `work` panics (the panic is propagated once the other threads have finished).
pub fn for_each_bounded<J, R, I, W, S>(workers: usize, jobs: I, work: W, mut sink: S)
where
    I: IntoIterator<Item = J>,
    I::IntoIter: Send,
    J: Send,
    R: Send,
    W: Fn(J) -> R + Sync,
    S: FnMut(R) -> ControlFlow<()>,
{
    let workers = workers.max(1);
    let stop = AtomicBool::new(false);
    let (job_tx, job_rx) = channel::bounded::<J>(workers);
    let (result_tx, result_rx) = channel::bounded::<R>(workers);
    let jobs = jobs.into_iter();
    std::thread::scope(|scope| {
        let stop = &stop;
        let work = &work;
        scope.spawn(move || {
            for job in jobs {
                if stop.load(Ordering::Relaxed) || job_tx.send(job).is_err() {
                    break;
                }
            }
        });
        for _ in 0..workers {
            let job_rx = job_rx.clone();
            let result_tx = result_tx.clone();
            scope.spawn(move || {
                for job in job_rx {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    if result_tx.send(work(job)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(job_rx);
        drop(result_tx);
        for result in result_rx {
            if sink(result).is_break() {
                stop.store(true, Ordering::Relaxed);
            }
        }
    });
}

/// Runs `job(0..n)` on at most `workers` threads and returns the results in index order.
///
/// With `workers <= 1` (or a single job) everything runs on the calling thread.
///
/// # Errors
/// The error of a failed job (lowest index among the jobs that ran).
///
/// # Panics
/// If a job panics (the panic is propagated).
pub fn run_ordered<T, E, F>(workers: usize, n: usize, job: F) -> Result<Vec<T>, E>
where
    T: Send,
    E: Send,
    F: Fn(usize) -> Result<T, E> + Sync,
{
    let workers = workers.min(n);
    if workers <= 1 {
        return (0..n).map(&job).collect();
    }
    let mut slots: Vec<Option<T>> = (0..n).map(|_| None).collect();
    let mut first_error: Option<(usize, E)> = None;
    for_each_bounded(
        workers,
        0..n,
        |i| (i, job(i)),
        |(i, result)| match result {
            Ok(v) => {
                slots[i] = Some(v);
                ControlFlow::Continue(())
            }
            Err(e) => {
                if first_error.as_ref().is_none_or(|(j, _)| i < *j) {
                    first_error = Some((i, e));
                }
                ControlFlow::Break(())
            }
        },
    );
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
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn results_in_order_and_concurrency_bounded() {
        let running = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let out: Result<Vec<usize>, String> = run_ordered(3, 40, |i| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis((i % 3) as u64));
            running.fetch_sub(1, Ordering::SeqCst);
            Ok(i * i)
        });
        assert_eq!(out.unwrap(), (0..40).map(|i| i * i).collect::<Vec<_>>());
        assert!(peak.load(Ordering::SeqCst) <= 3);
        assert!(
            peak.load(Ordering::SeqCst) >= 2,
            "the jobs ran one at a time"
        );
    }

    #[test]
    fn an_error_fails_the_whole_call() {
        let err = run_ordered(4, 20, |i| {
            if i == 7 {
                Err(format!("job {i}"))
            } else {
                Ok(i)
            }
        })
        .unwrap_err();
        assert_eq!(err, "job 7");
        let err = run_ordered(1, 5, |i| {
            if i >= 2 {
                Err(format!("job {i}"))
            } else {
                Ok(i)
            }
        })
        .unwrap_err();
        assert_eq!(err, "job 2");
    }

    #[test]
    fn a_stopped_stream_starts_no_more_jobs_but_delivers_running_ones() {
        let started = AtomicUsize::new(0);
        let mut delivered = Vec::new();
        for_each_bounded(
            2,
            0..100usize,
            |i| {
                started.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(2));
                i
            },
            |i| {
                delivered.push(i);
                if delivered.len() == 3 {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            },
        );
        let started = started.load(Ordering::SeqCst);
        // Every job that started was delivered; few beyond the third started (the queue holds 2).
        assert_eq!(delivered.len(), started);
        assert!(started < 10, "{started} jobs started after the stop");
    }
}
