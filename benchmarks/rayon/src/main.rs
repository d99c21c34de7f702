//! rayon as libtp's benchmark peer: the groups of peers_bench that rayon can express, written as a
//! rayon user would write them, printed in Google Benchmark's JSON form (names GROUP/rayon) so that
//! benchmarks/report.py reads them like the other peers. Workers: TP_BENCH_WORKERS, else the
//! machine's parallelism. `--quick` shrinks every size as peers_bench's does.

use rayon::prelude::*;
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

struct Sizes {
    burst: usize,
    throughput: usize,
    fib: u32,
    dot: usize,
    skynet: u64,
    idle_seconds: f64,
    min_time: f64,
}

struct Row {
    name: String,
    value: f64, // microseconds, or % of a core for G_idle_cpu
    iterations: u64,
}

/// Runs `body` (one iteration) until `min_time` seconds have passed, at least once; the mean.
fn measure(min_time: f64, mut body: impl FnMut()) -> (f64, u64) {
    body(); // warm-up
    let start = Instant::now();
    let mut iterations = 0u64;
    loop {
        body();
        iterations += 1;
        let elapsed = start.elapsed().as_secs_f64();
        if elapsed >= min_time {
            return (elapsed * 1e6 / iterations as f64, iterations);
        }
    }
}

/// CPU time of every thread of this process so far, in seconds (/proc/self/task/*/schedstat).
fn process_cpu_seconds() -> f64 {
    let mut total = 0u64;
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for task in tasks.flatten() {
            if let Ok(text) = std::fs::read_to_string(task.path().join("schedstat")) {
                total += text.split_whitespace().next().and_then(|n| n.parse().ok()).unwrap_or(0);
            }
        }
    }
    total as f64 * 1e-9
}

/// Waits until `done` is set by a job (thread::park, a futex underneath: as peers_bench's Flag).
fn wait_for(done: &AtomicBool) {
    while !done.load(Ordering::Acquire) {
        thread::park();
    }
}

fn sum_of_squares() -> u64 {
    let below = black_box(10_000u64);
    (0..below).map(|i| i * i).sum()
}

fn fib(n: u32) -> u64 {
    if n < 2 {
        return n as u64;
    }
    let (a, b) = rayon::join(|| fib(n - 1), || fib(n - 2));
    a + b
}

fn skynet(num: u64, size: u64) -> u64 {
    if size == 1 {
        return num;
    }
    (0..10u64).into_par_iter().map(|i| skynet(num + i * (size / 10), size / 10)).sum()
}

fn round_trip(pool: &rayon::ThreadPool, cpu_bound: bool, min_time: f64) -> (f64, u64) {
    let main = thread::current();
    measure(min_time, || {
        let done = Arc::new(AtomicBool::new(false));
        let (job_done, job_main) = (done.clone(), main.clone());
        pool.spawn(move || {
            if cpu_bound {
                black_box(sum_of_squares());
            }
            job_done.store(true, Ordering::Release);
            job_main.unpark();
        });
        wait_for(&done);
    })
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let sizes = if quick {
        Sizes { burst: 200, throughput: 200_000, fib: 25, dot: 1_000_000, skynet: 100_000,
                idle_seconds: 0.2, min_time: 0.05 }
    } else {
        Sizes { burst: 1000, throughput: 2_000_000, fib: 30, dot: 10_000_000, skynet: 1_000_000,
                idle_seconds: 1.0, min_time: 0.5 }
    };
    let workers: usize = std::env::var("TP_BENCH_WORKERS")
        .ok()
        .and_then(|w| w.parse().ok())
        .unwrap_or_else(|| thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    let pool = rayon::ThreadPoolBuilder::new().num_threads(workers).build().expect("rayon pool");
    let mut rows: Vec<Row> = Vec::new();
    let mut add = |name: &str, (value, iterations): (f64, u64)| {
        rows.push(Row { name: name.to_string(), value, iterations })
    };

    add("A_trivial/rayon", round_trip(&pool, false, sizes.min_time));
    add("B_cpu_bound/rayon", round_trip(&pool, true, sizes.min_time));

    // C_burst: as a rayon user writes a burst and its wait, a scope (run on a worker, like
    // oneTBB's task_group inside its arena).
    add("C_burst/rayon", measure(sizes.min_time, || {
        pool.scope(|s| {
            for _ in 0..sizes.burst {
                s.spawn(|_| {});
            }
        })
    }));

    // D_throughput_1p: 2,000,000 no-op jobs from one outside thread (rayon's injector), then a
    // wait for all of them.
    {
        let left = Arc::new(AtomicUsize::new(0));
        let main = thread::current();
        let start = Instant::now();
        left.store(sizes.throughput, Ordering::Relaxed);
        for _ in 0..sizes.throughput {
            let (l, m) = (left.clone(), main.clone());
            pool.spawn(move || {
                if l.fetch_sub(1, Ordering::AcqRel) == 1 {
                    m.unpark();
                }
            });
        }
        while left.load(Ordering::Acquire) != 0 {
            thread::park();
        }
        add("D_throughput_1p/rayon", (start.elapsed().as_secs_f64() * 1e6, 1));
    }

    add("E_fib/rayon", measure(sizes.min_time, || {
        black_box(pool.install(|| fib(sizes.fib)));
    }));

    // F_wake: from submit to start, after 20 ms of idleness (20 samples, the mean).
    {
        let main = thread::current();
        let mut total = 0.0;
        for _ in 0..20 {
            thread::sleep(Duration::from_millis(20));
            let started = Arc::new(std::sync::Mutex::new(None));
            let done = Arc::new(AtomicBool::new(false));
            let (s, d, m) = (started.clone(), done.clone(), main.clone());
            let submitted = Instant::now();
            pool.spawn(move || {
                *s.lock().unwrap() = Some(Instant::now());
                d.store(true, Ordering::Release);
                m.unpark();
            });
            wait_for(&done);
            let at = started.lock().unwrap().expect("started");
            total += at.duration_since(submitted).as_secs_f64() * 1e6;
        }
        add("F_wake/rayon", (total / 20.0, 20));
    }

    // G_idle_cpu: CPU burnt during the idle time after a burst, % of one core.
    {
        pool.scope(|s| {
            for _ in 0..sizes.burst {
                s.spawn(|_| {});
            }
        });
        let before = process_cpu_seconds();
        thread::sleep(Duration::from_secs_f64(sizes.idle_seconds));
        let burnt = process_cpu_seconds() - before;
        add("G_idle_cpu/rayon", (100.0 * burnt / sizes.idle_seconds, 1));
    }

    {
        let xs = vec![1.5f64; sizes.dot];
        let ys = vec![2.0f64; sizes.dot];
        add("H_parallel_for/rayon", measure(sizes.min_time, || {
            let dot: f64 =
                pool.install(|| xs.par_iter().zip(ys.par_iter()).map(|(x, y)| x * y).sum());
            black_box(dot);
        }));
    }

    add("I_skynet/rayon", measure(sizes.min_time, || {
        let sum = pool.install(|| skynet(0, sizes.skynet));
        assert_eq!(sum, sizes.skynet * (sizes.skynet - 1) / 2);
    }));

    // Google Benchmark's JSON, as much of it as report.py reads.
    let mut out = String::from("{\n  \"context\": {\"workers\": \"");
    out += &workers.to_string();
    out += "\", \"library\": \"rayon\"},\n  \"benchmarks\": [\n";
    for (i, row) in rows.iter().enumerate() {
        let idle = row.name.starts_with("G_idle_cpu");
        out += &format!(
            "    {{\"name\": \"{}/real_time\", \"iterations\": {}, \"real_time\": {}, \"time_unit\": \"us\"{}}}{}\n",
            row.name,
            row.iterations,
            if idle { 0.0 } else { row.value },
            if idle { format!(", \"cpu_pct\": {}", row.value) } else { String::new() },
            if i + 1 < rows.len() { "," } else { "" }
        );
    }
    out += "  ]\n}\n";
    print!("{}", out);
}
