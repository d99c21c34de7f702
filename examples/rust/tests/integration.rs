//! The seed crate's integration test, ported, against the installed libtp.
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use tp::{PoolError, ThreadPool};

#[test]
fn zero_workers_is_an_error() {
    assert_eq!(ThreadPool::build(0).err(), Some(PoolError::ZeroWorkers));
}

#[test]
fn eight_jobs_all_run() {
    let counter = Arc::new(AtomicUsize::new(0));
    {
        let pool = ThreadPool::build(4).unwrap();
        for _ in 0..8 {
            let counter = Arc::clone(&counter);
            pool.execute(move || {
                counter.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap();
        }
    } // drop waits for every accepted job
    assert_eq!(counter.load(Ordering::SeqCst), 8);
}

#[test]
fn result_over_a_channel() {
    let pool = ThreadPool::build(2).unwrap();
    let (sender, receiver) = mpsc::channel();
    pool.execute(move || sender.send((0..10_000u64).map(|i| i * i).sum::<u64>()).unwrap())
        .unwrap();
    assert_eq!(receiver.recv().unwrap(), 333_283_335_000);
}

#[test]
fn four_jobs_run_concurrently_on_four_workers() {
    let pool = ThreadPool::build(4).unwrap();
    let barrier = Arc::new(Barrier::new(5));
    for _ in 0..4 {
        let barrier = Arc::clone(&barrier);
        pool.execute(move || {
            barrier.wait();
        })
        .unwrap();
    }
    barrier.wait(); // returns only if all four jobs are running at once
    pool.wait_idle().unwrap();
}

#[test]
fn errors_after_shutdown_and_for_null() {
    let pool = ThreadPool::build(2).unwrap();
    assert_eq!(tp::execute_null_job(&pool), Err(PoolError::Other(-3)));
    pool.shutdown().unwrap();
    assert_eq!(pool.execute(|| {}), Err(PoolError::SendError));
    assert!(tp::version() >= 100);
}

#[test]
fn global_pool_is_shared_and_never_shut_down() {
    let shared = tp::ThreadPool::global().expect("the default pool");
    let again = tp::ThreadPool::global().expect("the default pool");
    assert!(std::ptr::eq(shared, again));
    assert!(shared.workers() >= 1);
    assert_eq!(shared.shutdown(), Err(tp::PoolError::Other(-3)));
    let (tx, rx) = mpsc::channel();
    for i in 0..8 {
        let tx = tx.clone();
        shared.execute(move || tx.send(i).unwrap()).unwrap();
    }
    shared.wait_idle().unwrap();
    let mut got: Vec<i32> = rx.try_iter().collect();
    got.sort();
    assert_eq!(got, (0..8).collect::<Vec<_>>());
}
