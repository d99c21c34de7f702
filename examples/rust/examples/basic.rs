//! The seed crate's examples, ported: build(0) fails, 8 jobs, a result back over a channel.
use std::sync::mpsc;

fn main() {
    match tp::ThreadPool::build(0) {
        Err(error) => println!("build(0): {error}"),
        Ok(_) => panic!("a pool with zero workers"),
    }

    let pool = tp::ThreadPool::build(4).expect("a pool of 4 workers");
    for i in 0..8 {
        pool.execute(move || println!("job {i}")).expect("accepted");
    }

    let (sender, receiver) = mpsc::channel();
    pool.execute(move || {
        let sum: u64 = (0..10_000u64).map(|i| i * i).sum();
        sender.send(sum).expect("the receiver is alive");
    })
    .expect("accepted");
    println!("sum of squares below 10000: {}", receiver.recv().expect("a result"));

    pool.shutdown().expect("shut down");
    println!("execute after shutdown: {}", pool.execute(|| {}).unwrap_err());
}
