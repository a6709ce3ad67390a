//! Explicit parallelism: a small persistent thread pool with work claiming.
//!
//! Why not rayon: a 2-bit product of a 4096×1024 matrix takes 13–23 µs (BENCHMARKS.md), and
//! handing a call to a parked rayon worker (`ThreadPool::install` from outside the pool) added
//! about 100 µs per call on the development machine; a pool whose workers spin forever
//! instead stalls for milliseconds when another process holds the second core. This pool is
//! built for that regime:
//!
//! - workers spin for a short while after each job ([`SPIN_BEFORE_PARK`]), then park;
//! - a call splits its work into tasks that *every* participant claims from one atomic
//!   counter, and the calling thread works too. A worker that was descheduled never blocks
//!   the caller on work it has not started: the caller simply claims those tasks itself and
//!   revokes the worker's ticket. At worst the caller waits for the single task a worker
//!   already claimed, so a busy second core costs little more than the one-thread path;
//! - concurrent or nested calls never wait for the pool: they run on the calling thread.

use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

/// How many threads a kernel call may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Par {
    /// All pool threads when the call has at least [`PAR_MIN_WORK`] units of work, else one.
    #[default]
    Auto,
    /// The calling thread only.
    Seq,
    /// Up to this many threads (the caller included), whatever the amount of work.
    Threads(usize),
}

/// Work (in kernel-defined units, roughly "64-bit word operations") below which
/// [`Par::Auto`] stays on one thread: below it, handing work to another core costs more
/// than it saves.
pub const PAR_MIN_WORK: usize = 1 << 15;

/// How long an idle worker keeps spinning before it parks.
pub const SPIN_BEFORE_PARK: Duration = Duration::from_micros(50);

impl Par {
    /// The number of threads to use for `work` units, at most `max_tasks` (never below 1).
    pub fn threads_for(self, work: usize, max_tasks: usize) -> usize {
        let t = match self {
            Par::Seq => 1,
            Par::Threads(t) => t.max(1),
            Par::Auto if work >= PAR_MIN_WORK => pool_threads(),
            Par::Auto => 1,
        };
        t.min(pool_threads()).min(max_tasks.max(1))
    }
}

/// Threads the pool can run at once, the caller included (the machine's available
/// parallelism).
pub fn pool_threads() -> usize {
    static N: OnceLock<usize> = OnceLock::new();
    *N.get_or_init(|| thread::available_parallelism().map_or(1, |n| n.get()))
}

/// A job on the caller's stack. Workers reach it only through a ticket (see [`Slot`]).
struct Job<'a> {
    task: &'a (dyn Fn(usize) + Sync),
    n_tasks: usize,
    next: AtomicUsize,
    finished_workers: AtomicUsize,
}

impl Job<'_> {
    fn work(&self) {
        loop {
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            if i >= self.n_tasks {
                break;
            }
            (self.task)(i);
        }
    }
}

/// One worker's mailbox. The caller stores a job pointer (a *ticket*); whoever swaps it out
/// first owns it: the worker (which then must report back) or the caller (which revokes it).
struct Slot {
    job: AtomicPtr<Job<'static>>,
    sleeping: AtomicBool,
    thread: OnceLock<Thread>,
}

struct Pool {
    slots: Vec<&'static Slot>,
    busy: Mutex<()>,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let workers = pool_threads().saturating_sub(1);
        let mut slots = Vec::with_capacity(workers);
        for i in 0..workers {
            let slot: &'static Slot = Box::leak(Box::new(Slot {
                job: AtomicPtr::new(std::ptr::null_mut()),
                sleeping: AtomicBool::new(false),
                thread: OnceLock::new(),
            }));
            let spawned = thread::Builder::new()
                .name(format!("amq-worker-{i}"))
                .spawn(move || worker_loop(slot));
            match spawned {
                Ok(handle) => {
                    let _ = slot.thread.set(handle.thread().clone());
                    slots.push(slot);
                }
                // No thread, no worker: the pool just has fewer threads.
                Err(_) => break,
            }
        }
        Pool {
            slots,
            busy: Mutex::new(()),
        }
    })
}

fn take_ticket(slot: &Slot) -> *mut Job<'static> {
    // Load first so an idle spinning worker does not keep stealing the cache line.
    if slot.job.load(Ordering::Relaxed).is_null() {
        return std::ptr::null_mut();
    }
    slot.job.swap(std::ptr::null_mut(), Ordering::AcqRel)
}

fn wait_for_ticket(slot: &Slot) -> *mut Job<'static> {
    let mut start = Instant::now();
    loop {
        let job = take_ticket(slot);
        if !job.is_null() {
            return job;
        }
        if start.elapsed() < SPIN_BEFORE_PARK {
            std::hint::spin_loop();
            continue;
        }
        // Announce the sleep before the last look, so a caller that publishes after that look
        // sees `sleeping` and unparks us (park tokens make an early unpark count too).
        slot.sleeping.store(true, Ordering::SeqCst);
        let job = slot.job.swap(std::ptr::null_mut(), Ordering::SeqCst);
        if !job.is_null() {
            slot.sleeping.store(false, Ordering::SeqCst);
            return job;
        }
        thread::park();
        slot.sleeping.store(false, Ordering::SeqCst);
        start = Instant::now();
    }
}

fn worker_loop(slot: &'static Slot) {
    loop {
        let job = wait_for_ticket(slot);
        // SAFETY: we swapped the ticket out of the slot, so the caller that published it is
        // still inside `run`, waiting for `finished_workers` to count us; the job outlives
        // this use, and we touch it for the last time with the `fetch_add` below.
        let job = unsafe { &*job };
        job.work();
        job.finished_workers.fetch_add(1, Ordering::Release);
    }
}

/// Runs `task(i)` for every `i in 0..n_tasks` on up to `threads` threads (the caller
/// included) and returns when all have finished. Tasks must be independent: they run in any
/// order, each exactly once.
///
/// Falls back to the calling thread alone when `threads <= 1`, `n_tasks <= 1`, the pool has
/// no workers, or another call is using the pool (this also makes nested calls safe).
pub fn run(threads: usize, n_tasks: usize, task: &(dyn Fn(usize) + Sync)) {
    if threads <= 1 || n_tasks <= 1 {
        (0..n_tasks).for_each(task);
        return;
    }
    let pool = pool();
    let Ok(_guard) = pool.busy.try_lock() else {
        (0..n_tasks).for_each(task);
        return;
    };
    let job = Job {
        task,
        n_tasks,
        next: AtomicUsize::new(0),
        finished_workers: AtomicUsize::new(0),
    };
    let helpers = &pool.slots[..(threads - 1).min(pool.slots.len())];
    // The pointer's 'static lifetime is a lie the protocol keeps: every ticket is either taken
    // back below or reported finished before this function returns.
    let ticket = (&job as *const Job<'_>).cast_mut().cast::<Job<'static>>();
    for slot in helpers {
        slot.job.store(ticket, Ordering::SeqCst);
        if slot.sleeping.load(Ordering::SeqCst)
            && let Some(t) = slot.thread.get()
        {
            t.unpark();
        }
    }
    job.work();
    let mut taken = 0;
    for slot in helpers {
        // A ticket still in the slot was never picked up: revoke it, nobody will use it.
        if slot
            .job
            .swap(std::ptr::null_mut(), Ordering::AcqRel)
            .is_null()
        {
            taken += 1;
        }
    }
    let mut spins = 0u32;
    while job.finished_workers.load(Ordering::Acquire) < taken {
        spins += 1;
        if spins < 1 << 12 {
            std::hint::spin_loop();
        } else {
            thread::yield_now();
        }
    }
}

/// A raw pointer that may be shared between the tasks of one [`run`] call, for writing
/// disjoint parts of one output buffer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SharedMut<T>(pub(crate) *mut T);
// SAFETY: users only write disjoint, in-bounds ranges from different tasks of one `run` call,
// which returns only after every task has finished.
unsafe impl<T: Send> Send for SharedMut<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for SharedMut<T> {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;

    #[test]
    fn every_task_runs_exactly_once() {
        for threads in [1, 2, 4] {
            for n in [0, 1, 2, 3, 17, 100] {
                let hits: Vec<AtomicU64> = (0..n).map(|_| AtomicU64::new(0)).collect();
                run(threads, n, &|i| {
                    hits[i].fetch_add(1, Ordering::Relaxed);
                });
                assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 1));
            }
        }
    }

    #[test]
    fn nested_and_repeated_calls_complete() {
        let total = AtomicU64::new(0);
        for _ in 0..200 {
            run(2, 4, &|_| {
                run(2, 3, &|_| {
                    total.fetch_add(1, Ordering::Relaxed);
                });
            });
        }
        assert_eq!(total.load(Ordering::Relaxed), 200 * 12);
    }

    #[test]
    fn concurrent_callers_complete() {
        let total = AtomicU64::new(0);
        thread::scope(|s| {
            for _ in 0..3 {
                s.spawn(|| {
                    for _ in 0..100 {
                        run(2, 8, &|_| {
                            total.fetch_add(1, Ordering::Relaxed);
                        });
                    }
                });
            }
        });
        assert_eq!(total.load(Ordering::Relaxed), 3 * 100 * 8);
    }

    #[test]
    fn par_thread_counts() {
        assert_eq!(Par::Seq.threads_for(usize::MAX, 8), 1);
        assert_eq!(Par::Auto.threads_for(1, 8), 1);
        assert!(Par::Auto.threads_for(PAR_MIN_WORK, 8) <= pool_threads());
        assert_eq!(Par::Threads(8).threads_for(0, 1), 1);
    }
}
