//! The scheduler thread: takes queued requests, up to `max_batch` rows at a time, splits them
//! into compatible batches ([`plan`]), runs one `generate` call per batch and answers each
//! request.
//!
//! The queue in front of it is a bounded channel: the HTTP threads `try_send` into it and
//! answer 429 at once when it is full. After the first request of a round arrives the
//! scheduler waits up to `batch_wait` for more, so requests sent together are generated
//! together; requests that arrive while a batch runs wait in the queue for the next round.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossbeam::channel::{Receiver, RecvTimeoutError, Sender, TryRecvError};
use prefopt_core::SplitMix64;

use crate::api_error::ApiError;
use crate::batch_plan::{BatchKey, plan, rows};
use crate::engine::{Engine, Prepared};
use crate::request::ChatRequest;
use crate::response::Completion;
use crate::stats::Counters;

/// How often an idle scheduler looks at the stop flag.
const POLL: Duration = Duration::from_millis(50);

/// One queued request and where its answer goes.
#[derive(Debug)]
pub(crate) struct Job {
    pub(crate) prepared: Prepared,
    pub(crate) reply: Sender<Result<Completion, ApiError>>,
}

/// The scheduler's state; [`Scheduler::run`] is the thread's body.
#[derive(Debug)]
pub(crate) struct Scheduler {
    pub(crate) engine: Engine,
    pub(crate) jobs: Receiver<Job>,
    pub(crate) max_batch: usize,
    pub(crate) batch_wait: Duration,
    pub(crate) stopping: Arc<AtomicBool>,
    pub(crate) counters: Arc<Counters>,
    /// Seeds of the batches of unseeded sampled requests.
    pub(crate) seeds: SplitMix64,
}

impl Scheduler {
    /// Serves rounds until the stop flag is set or every sender is gone; then answers what is
    /// still queued with 503.
    pub(crate) fn run(mut self) {
        let mut carried: Option<Job> = None;
        while !self.stopping.load(Ordering::SeqCst) {
            let first = match carried.take() {
                Some(job) => job,
                None => match self.jobs.recv_timeout(POLL) {
                    Ok(job) => job,
                    Err(RecvTimeoutError::Timeout) => continue,
                    Err(RecvTimeoutError::Disconnected) => break,
                },
            };
            let (round, next) = self.collect(first);
            carried = next;
            self.serve(&round);
        }
        let refused: Vec<Job> = carried.into_iter().chain(self.jobs.try_iter()).collect();
        if !refused.is_empty() {
            tracing::info!(
                requests = refused.len(),
                "refusing queued requests: shutting down"
            );
        }
        for job in refused {
            Counters::add(&self.counters.failed, 1);
            let _ = job.reply.send(Err(ApiError::shutting_down()));
        }
    }

    /// `first` plus whatever else is queued (waiting up to `batch_wait`), up to `max_batch`
    /// rows; a request that does not fit is handed back for the next round.
    fn collect(&self, first: Job) -> (Vec<Job>, Option<Job>) {
        let mut used = rows(&first.prepared.request);
        let mut round = vec![first];
        let deadline = Instant::now() + self.batch_wait;
        while used < self.max_batch {
            let job = match self.jobs.try_recv() {
                Ok(job) => job,
                Err(TryRecvError::Disconnected) => break,
                Err(TryRecvError::Empty) => match self.jobs.recv_deadline(deadline) {
                    Ok(job) => job,
                    Err(_) => break,
                },
            };
            let r = rows(&job.prepared.request);
            if used + r > self.max_batch {
                return (round, Some(job));
            }
            used += r;
            round.push(job);
        }
        (round, None)
    }

    /// Runs one `generate` per compatible batch of `round` and answers every request.
    fn serve(&mut self, round: &[Job]) {
        let requests: Vec<&ChatRequest> = round.iter().map(|j| &j.prepared.request).collect();
        for (key, members) in plan(&requests) {
            let seed = match key {
                BatchKey::Alone(i) => requests[i].seed.unwrap_or_default(),
                BatchKey::Greedy { .. } => 0,
                BatchKey::Shared { .. } => self.seeds.next_u64(),
            };
            let batch: Vec<&Prepared> = members.iter().map(|&i| &round[i].prepared).collect();
            let batch_rows: usize = batch.iter().map(|p| rows(&p.request)).sum();
            self.counters.batch(batch_rows);
            let started = Instant::now();
            let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
                self.engine.complete(&batch, key, seed)
            }));
            tracing::debug!(
                requests = batch.len(),
                rows = batch_rows,
                seconds = started.elapsed().as_secs_f64(),
                "generated one batch"
            );
            let answers: Vec<Result<Completion, ApiError>> = match result {
                Ok(Ok(completions)) => completions.into_iter().map(Ok).collect(),
                Ok(Err(e)) => {
                    tracing::error!("generation failed: {e}");
                    vec![Err(ApiError::internal(format!("generation failed: {e}"))); batch.len()]
                }
                Err(_) => {
                    tracing::error!("generation panicked");
                    vec![Err(ApiError::internal("generation panicked")); batch.len()]
                }
            };
            for (&i, answer) in members.iter().zip(answers) {
                match &answer {
                    Ok(c) => {
                        Counters::add(&self.counters.completed, 1);
                        let tokens: usize = c.choices.iter().map(|c| c.tokens).sum();
                        Counters::add(&self.counters.completion_tokens, tokens as u64);
                    }
                    Err(_) => Counters::add(&self.counters.failed, 1),
                }
                // The HTTP thread may have gone (client closed): nothing to answer then.
                let _ = round[i].reply.send(answer);
            }
        }
    }
}
