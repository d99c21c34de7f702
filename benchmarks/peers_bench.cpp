// libtp side by side with its peers, in one process and one run: `spawn` (a std::thread per job),
// `naive` (the seed's mutex + condition variable + queue pool), `tp` (the public C ABI, as users
// call it), `tbb` (oneTBB, as an expert TBB user would write it) and `omp` (OpenMP tasks,
// libgomp). Every pool gets the same number of workers (TP_BENCH_WORKERS, default: this
// machine's cores). Names are GROUP/peer, e.g. E_fib/tbb; benchmarks/report.py runs them all,
// interleaved, and prints the table. --quick shrinks every size for a run well under a minute.
//
// Groups: A_trivial (round trip of one no-op job), B_cpu_bound (the same with sum of i*i, i <
// 10000), C_burst (1,000 no-op jobs, then wait for all), D_throughput (2,000,000 no-op jobs from 1
// and from 4 outside threads), E_fib (fib(30), a fork at every level), F_wake (submit-to-start
// latency after 20 ms idle), G_idle_cpu (CPU burnt in 1 s of idleness after a burst, % of a core),
// H_parallel_for (dot product of two 10,000,000-element vectors), I_skynet (a tree of 10^6 leaves,
// 10 children per node), J_serial (100,000 jobs through one serial queue from one outside thread,
// then wait), K_serial_handoff (round trip of one job through an idle serial queue), L_priority
// (submit-to-start latency of one job behind a flood of 4,000 normal jobs: at high priority, and
// at normal priority as the baseline without priorities), Z_alloc
// (allocations per job on tp's hot paths). The serial groups' peers: `asio` (Boost.Asio's
// strand<thread_pool::executor_type>) and `mutex_queue` (a mutex-protected queue whose drainer is a
// job of the tp pool: what users write without serial queues).
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "naive_pool.hpp"
#include "tp/tp.h"

#if TP_BENCH_HAVE_TBB
#include <tbb/blocked_range.h>
#include <tbb/global_control.h>
#include <tbb/parallel_reduce.h>
#include <tbb/task_arena.h>
#include <tbb/task_group.h>
#endif
#if TP_BENCH_HAVE_OPENMP
#include <omp.h>
#endif

// ---- allocation counting (Z_alloc): every operator new in this binary, libtp's included ----
namespace {
std::atomic<std::uint64_t> allocations{0};
}
void *operator new(std::size_t size) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void *p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void *operator new[](std::size_t size) { return operator new(size); }
void operator delete(void *p) noexcept { std::free(p); }
void operator delete[](void *p) noexcept { std::free(p); }
void operator delete(void *p, std::size_t) noexcept { std::free(p); }
void operator delete[](void *p, std::size_t) noexcept { std::free(p); }

namespace {

using Clock = std::chrono::steady_clock;

// Sizes, shrunk by --quick.
struct Sizes {
  std::size_t burst = 1000;
  std::size_t throughput = 2000000;
  unsigned fib = 30;
  std::size_t dot = 10000000;
  std::size_t skynet = 1000000;
  double idle_seconds = 1.0;
  std::size_t serial = 100000;
  std::size_t flood = 4000;
} sizes;

std::size_t workers = 2;

// A one-shot signal from a job to the thread that waits for it (a futex underneath).
class Flag {
 public:
  void reset() { value_.store(0, std::memory_order_relaxed); }
  void set() {
    value_.store(1, std::memory_order_release);
    value_.notify_one();
  }
  void wait() {
    while (value_.load(std::memory_order_acquire) == 0) value_.wait(0, std::memory_order_acquire);
  }

 private:
  std::atomic<std::uint32_t> value_{0};
};

// A count of outstanding jobs a thread can wait on (for peers without a wait-for-all).
class Countdown {
 public:
  void add(std::int64_t n) { left_.fetch_add(n, std::memory_order_relaxed); }
  void done() {
    if (left_.fetch_sub(1, std::memory_order_acq_rel) == 1) left_.notify_all();
  }
  void wait() {
    for (auto n = left_.load(std::memory_order_acquire); n != 0;
         n = left_.load(std::memory_order_acquire)) {
      left_.wait(n, std::memory_order_acquire);
    }
  }

 private:
  std::atomic<std::int64_t> left_{0};
};

// Read through a volatile so that the compiler cannot fold the sum into a constant.
volatile std::uint64_t squares_below = 10000;
std::uint64_t sum_of_squares() {
  const std::uint64_t below = squares_below;
  std::uint64_t sum = 0;
  for (std::uint64_t i = 0; i < below; ++i) sum += i * i;
  return sum;
}

// ---- the peers ----
tp_pool *tp_pool_ = nullptr;
std::unique_ptr<bench::NaivePool> naive_pool;
std::unique_ptr<boost::asio::thread_pool> asio_pool;
#if TP_BENCH_HAVE_TBB
std::unique_ptr<tbb::task_arena> arena;
// oneTBB at its defaults, as a user who writes `tbb::task_arena arena;` gets it: concurrency = the
// machine's parallelism, one slot kept for the calling thread, so one worker thread on 2 cores.
std::unique_ptr<tbb::task_arena> default_arena;
#endif

void no_op(void *) {}
void set_flag(void *arg) { static_cast<Flag *>(arg)->set(); }
void countdown_done(void *arg) { static_cast<Countdown *>(arg)->done(); }

// ---- A_trivial / B_cpu_bound: one job, there and back ----
template <bool kCpuBound>
struct RoundTrip {
  Flag flag;
  std::uint64_t result = 0;
  void work() {
    if constexpr (kCpuBound) result = sum_of_squares();
    flag.set();
  }
  static void run(void *self) { static_cast<RoundTrip *>(self)->work(); }
};

template <bool kCpuBound>
void round_trip_tp(benchmark::State &state) {
  RoundTrip<kCpuBound> trip;
  for (auto _ : state) {
    trip.flag.reset();
    tp_pool_execute(tp_pool_, &RoundTrip<kCpuBound>::run, &trip);
    trip.flag.wait();
  }
  benchmark::DoNotOptimize(trip.result);
}
template <bool kCpuBound>
void round_trip_naive(benchmark::State &state) {
  RoundTrip<kCpuBound> trip;
  for (auto _ : state) {
    trip.flag.reset();
    naive_pool->execute([&] { trip.work(); });
    trip.flag.wait();
  }
}
template <bool kCpuBound>
void round_trip_spawn(benchmark::State &state) {
  RoundTrip<kCpuBound> trip;
  for (auto _ : state) std::thread([&] { trip.work(); }).join();
}
#if TP_BENCH_HAVE_TBB
template <bool kCpuBound>
void round_trip_tbb(benchmark::State &state) {
  RoundTrip<kCpuBound> trip;
  for (auto _ : state) {
    trip.flag.reset();
    arena->enqueue([&] { trip.work(); });
    trip.flag.wait();
  }
}
template <bool kCpuBound>
void round_trip_tbb_default(benchmark::State &state) {
  RoundTrip<kCpuBound> trip;
  for (auto _ : state) {
    trip.flag.reset();
    default_arena->enqueue([&] { trip.work(); });
    trip.flag.wait();
  }
}
#endif

// ---- C_burst: many no-op jobs, then wait for all ----
void burst_tp(benchmark::State &state) {
  for (auto _ : state) {
    for (std::size_t i = 0; i < sizes.burst; ++i) tp_pool_execute(tp_pool_, no_op, nullptr);
    tp_pool_wait_idle(tp_pool_);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(sizes.burst));
}
// The same burst through tp_pool_execute_batch: one call, one injector entry.
void burst_tp_batch(benchmark::State &state) {
  const std::vector<tp_job> jobs(sizes.burst, tp_job{no_op, nullptr});
  for (auto _ : state) {
    tp_pool_execute_batch(tp_pool_, jobs.data(), jobs.size());
    tp_pool_wait_idle(tp_pool_);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(sizes.burst));
}
void burst_naive(benchmark::State &state) {
  for (auto _ : state) {
    for (std::size_t i = 0; i < sizes.burst; ++i) naive_pool->execute([] {});
    naive_pool->wait_idle();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(sizes.burst));
}
void burst_spawn(benchmark::State &state) {
  std::vector<std::thread> threads;
  threads.reserve(sizes.burst);
  for (auto _ : state) {
    for (std::size_t i = 0; i < sizes.burst; ++i) threads.emplace_back([] {});
    for (auto &thread : threads) thread.join();
    threads.clear();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(sizes.burst));
}
#if TP_BENCH_HAVE_TBB
void burst_tbb(benchmark::State &state) {
  for (auto _ : state) {
    arena->execute([] {
      tbb::task_group group;
      for (std::size_t i = 0; i < sizes.burst; ++i) group.run([] {});
      group.wait();
    });
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(sizes.burst));
}
#endif
#if TP_BENCH_HAVE_OPENMP
void burst_omp(benchmark::State &state) {
  for (auto _ : state) {
#pragma omp parallel num_threads(static_cast <int>(workers))
#pragma omp single
    for (std::size_t i = 0; i < sizes.burst; ++i) {
#pragma omp task
      benchmark::ClobberMemory();
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(sizes.burst));
}
#endif

// ---- D_throughput: many no-op jobs from `producers` outside threads ----
template <class Submit, class WaitAll>
void throughput(benchmark::State &state, Submit submit, WaitAll wait_all) {
  const auto producers = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    std::vector<std::thread> threads;
    for (std::size_t p = 0; p < producers; ++p) {
      threads.emplace_back([&] {
        for (std::size_t i = 0; i < sizes.throughput / producers; ++i) submit();
      });
    }
    for (auto &thread : threads) thread.join();
    wait_all();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(sizes.throughput));
}
void throughput_tp(benchmark::State &state) {
  throughput(
      state, [] { tp_pool_execute(tp_pool_, no_op, nullptr); },
      [] { tp_pool_wait_idle(tp_pool_); });
}
// Producers that submit in batches of 1,000 (tp_pool_execute_batch).
void throughput_tp_batch(benchmark::State &state) {
  const std::vector<tp_job> jobs(1000, tp_job{no_op, nullptr});
  const auto producers = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    std::vector<std::thread> threads;
    for (std::size_t p = 0; p < producers; ++p) {
      threads.emplace_back([&] {
        for (std::size_t i = 0; i < sizes.throughput / producers; i += jobs.size()) {
          tp_pool_execute_batch(tp_pool_, jobs.data(), jobs.size());
        }
      });
    }
    for (auto &thread : threads) thread.join();
    tp_pool_wait_idle(tp_pool_);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(sizes.throughput));
}
void throughput_naive(benchmark::State &state) {
  throughput(
      state, [] { naive_pool->execute([] {}); }, [] { naive_pool->wait_idle(); });
}
#if TP_BENCH_HAVE_TBB
void throughput_tbb(benchmark::State &state) {
  Countdown left;
  throughput(
      state,
      [&] {
        left.add(1);
        arena->enqueue([&] { left.done(); });
      },
      [&] { left.wait(); });
}
// oneTBB at its best and at its defaults: the producing thread runs a task_group inside the
// default arena (its jobs go to its own deque, the arena's worker steals them, and wait() helps).
void throughput_tbb_default(benchmark::State &state) {
  for (auto _ : state) {
    default_arena->execute([] {
      tbb::task_group group;
      for (std::size_t i = 0; i < sizes.throughput; ++i) group.run([] {});
      group.wait();
    });
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(sizes.throughput));
}
#endif
#if TP_BENCH_HAVE_OPENMP
void throughput_omp(benchmark::State &state) {  // one producer: the thread of the single region
  for (auto _ : state) {
#pragma omp parallel num_threads(static_cast <int>(workers))
#pragma omp single
    for (std::size_t i = 0; i < sizes.throughput; ++i) {
#pragma omp task
      benchmark::ClobberMemory();
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(sizes.throughput));
}
#endif

// ---- E_fib: a fork at every level ----
std::uint64_t fib_serial(unsigned n) { return n < 2 ? n : fib_serial(n - 1) + fib_serial(n - 2); }
struct TpFib {
  unsigned n;
  std::uint64_t result;
};
void tp_fib(void *arg) {
  auto *f = static_cast<TpFib *>(arg);
  if (f->n < 2) {
    f->result = f->n;
    return;
  }
  TpFib a{f->n - 1, 0}, b{f->n - 2, 0};
  tp_pool_join(tp_pool_, tp_fib, &a, tp_fib, &b);
  f->result = a.result + b.result;
}
void fib_tp(benchmark::State &state) {
  for (auto _ : state) {
    TpFib root{sizes.fib, 0}, none{0, 0};
    tp_pool_join(tp_pool_, tp_fib, &root, tp_fib, &none);
    benchmark::DoNotOptimize(root.result);
  }
}
void fib_serial_bench(benchmark::State &state) {
  for (auto _ : state) benchmark::DoNotOptimize(fib_serial(sizes.fib));
}
#if TP_BENCH_HAVE_TBB
std::uint64_t tbb_fib(unsigned n) {
  if (n < 2) return n;
  std::uint64_t a = 0, b = 0;
  tbb::task_group group;
  group.run([&] { a = tbb_fib(n - 1); });
  b = tbb_fib(n - 2);
  group.wait();
  return a + b;
}
void fib_tbb(benchmark::State &state) {
  for (auto _ : state) {
    std::uint64_t result = 0;
    arena->execute([&] { result = tbb_fib(sizes.fib); });
    benchmark::DoNotOptimize(result);
  }
}
#endif
#if TP_BENCH_HAVE_OPENMP
std::uint64_t omp_fib(unsigned n) {
  if (n < 2) return n;
  std::uint64_t a = 0, b = 0;
#pragma omp task shared(a)
  a = omp_fib(n - 1);
  b = omp_fib(n - 2);
#pragma omp taskwait
  return a + b;
}
void fib_omp(benchmark::State &state) {
  for (auto _ : state) {
    std::uint64_t result = 0;
#pragma omp parallel num_threads(static_cast <int>(workers))
#pragma omp single
    result = omp_fib(sizes.fib);
    benchmark::DoNotOptimize(result);
  }
}
#endif

// ---- F_wake: from submit to start, after 20 ms of idleness (manual time) ----
struct Wake {
  Flag flag;
  Clock::time_point started;
  void work() {
    started = Clock::now();
    flag.set();
  }
  static void run(void *self) { static_cast<Wake *>(self)->work(); }
};
template <class Submit>
void wake(benchmark::State &state, Submit submit) {
  Wake w;
  for (auto _ : state) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    w.flag.reset();
    const auto submitted = Clock::now();
    submit(w);
    w.flag.wait();
    state.SetIterationTime(std::chrono::duration<double>(w.started - submitted).count());
  }
}
void wake_tp(benchmark::State &state) {
  wake(state, [](Wake &w) { tp_pool_execute(tp_pool_, &Wake::run, &w); });
}
void wake_naive(benchmark::State &state) {
  wake(state, [](Wake &w) { naive_pool->execute([&w] { w.work(); }); });
}
void wake_spawn(benchmark::State &state) {
  wake(state, [](Wake &w) { std::thread([&w] { w.work(); }).detach(); });
}
#if TP_BENCH_HAVE_TBB
void wake_tbb(benchmark::State &state) {
  wake(state, [](Wake &w) { arena->enqueue([&w] { w.work(); }); });
}
#endif

// ---- G_idle_cpu: CPU time burnt by the process while idle after a burst ----
double process_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e-6;
}
template <class Burst>
void idle_cpu(benchmark::State &state, Burst burst) {
  for (auto _ : state) {
    burst();
    const double before = process_cpu_seconds();
    std::this_thread::sleep_for(std::chrono::duration<double>(sizes.idle_seconds));
    const double burnt = process_cpu_seconds() - before;
    state.counters["cpu_pct"] = 100.0 * burnt / sizes.idle_seconds;
  }
}
void idle_tp(benchmark::State &state) {
  idle_cpu(state, [] {
    for (std::size_t i = 0; i < sizes.burst; ++i) tp_pool_execute(tp_pool_, no_op, nullptr);
    tp_pool_wait_idle(tp_pool_);
  });
}
void idle_naive(benchmark::State &state) {
  idle_cpu(state, [] {
    for (std::size_t i = 0; i < sizes.burst; ++i) naive_pool->execute([] {});
    naive_pool->wait_idle();
  });
}
#if TP_BENCH_HAVE_TBB
void idle_tbb(benchmark::State &state) {
  idle_cpu(state, [] {
    arena->execute([] {
      tbb::task_group group;
      for (std::size_t i = 0; i < sizes.burst; ++i) group.run([] {});
      group.wait();
    });
  });
}
#endif
#if TP_BENCH_HAVE_OPENMP
void idle_omp(benchmark::State &state) {
  idle_cpu(state, [] {
#pragma omp parallel num_threads(static_cast <int>(workers))
#pragma omp single
    for (std::size_t i = 0; i < sizes.burst; ++i) {
#pragma omp task
      benchmark::ClobberMemory();
    }
  });
}
#endif

// ---- H_parallel_for: a dot product ----
std::vector<double> xs, ys;
double dot_serial_range(std::size_t lo, std::size_t hi) {
  double sum = 0;
  for (std::size_t i = lo; i < hi; ++i) sum += xs[i] * ys[i];
  return sum;
}
void dot_serial(benchmark::State &state) {
  for (auto _ : state) benchmark::DoNotOptimize(dot_serial_range(0, xs.size()));
}
void add_atomic(std::atomic<double> &total, double value) {
  double seen = total.load(std::memory_order_relaxed);
  while (!total.compare_exchange_weak(seen, seen + value, std::memory_order_relaxed)) {
  }
}
void dot_tp(benchmark::State &state) {
  for (auto _ : state) {
    std::atomic<double> total{0};
    tp_pool_parallel_for(
        tp_pool_, 0, xs.size(), 0,
        [](std::size_t lo, std::size_t hi, void *arg) {
          add_atomic(*static_cast<std::atomic<double> *>(arg), dot_serial_range(lo, hi));
        },
        &total);
    benchmark::DoNotOptimize(total.load());
  }
}
#if TP_BENCH_HAVE_TBB
void dot_tbb(benchmark::State &state) {
  for (auto _ : state) {
    double total = 0;
    arena->execute([&] {
      total = tbb::parallel_reduce(
          tbb::blocked_range<std::size_t>(0, xs.size()), 0.0,
          [](const tbb::blocked_range<std::size_t> &r, double sum) {
            return sum + dot_serial_range(r.begin(), r.end());
          },
          std::plus<>());
    });
    benchmark::DoNotOptimize(total);
  }
}
#endif
#if TP_BENCH_HAVE_OPENMP
void dot_omp(benchmark::State &state) {
  for (auto _ : state) {
    double sum = 0;
    const auto n = static_cast<std::int64_t>(xs.size());
#pragma omp parallel for reduction(+ : sum) num_threads(static_cast <int>(workers))
    for (std::int64_t i = 0; i < n; ++i) {
      sum += xs[static_cast<std::size_t>(i)] * ys[static_cast<std::size_t>(i)];
    }
    benchmark::DoNotOptimize(sum);
  }
}
#endif

// ---- I_skynet: 10 children per node down to single leaves; sums the leaf numbers ----
std::uint64_t skynet_serial(std::uint64_t num, std::uint64_t size) {
  if (size == 1) return num;
  std::uint64_t sum = 0;
  for (std::uint64_t i = 0; i < 10; ++i) sum += skynet_serial(num + i * (size / 10), size / 10);
  return sum;
}
struct TpSkynet {
  std::uint64_t num, size, result;
};
void tp_skynet(void *arg);
void tp_skynet_children(std::size_t lo, std::size_t hi, void *arg) {
  auto *node = static_cast<TpSkynet *>(arg);
  for (std::size_t i = lo; i < hi; ++i) {
    TpSkynet child{node->num + i * (node->size / 10), node->size / 10, 0};
    tp_skynet(&child);
    std::atomic_ref<std::uint64_t>(node->result).fetch_add(child.result, std::memory_order_relaxed);
  }
}
void tp_skynet(void *arg) {
  auto *node = static_cast<TpSkynet *>(arg);
  if (node->size == 1) {
    node->result = node->num;
    return;
  }
  // Grain 0, the default: split adaptively, as rayon's into_par_iter() does (with grain 1, every
  // child its own piece, 9 joins a node where about 3 do: 1.7x slower).
  tp_pool_parallel_for(tp_pool_, 0, 10, 0, tp_skynet_children, node);
}
void skynet_tp(benchmark::State &state) {
  for (auto _ : state) {
    TpSkynet root{0, sizes.skynet, 0};
    tp_pool_parallel_for(
        tp_pool_, 0, 1, 1, [](std::size_t, std::size_t, void *arg) { tp_skynet(arg); }, &root);
    if (root.result != sizes.skynet * (sizes.skynet - 1) / 2) state.SkipWithError("wrong sum");
  }
}
void skynet_serial_bench(benchmark::State &state) {
  for (auto _ : state) benchmark::DoNotOptimize(skynet_serial(0, sizes.skynet));
}
#if TP_BENCH_HAVE_TBB
std::uint64_t tbb_skynet(std::uint64_t num, std::uint64_t size) {
  if (size == 1) return num;
  std::uint64_t sums[10] = {};
  tbb::task_group group;
  for (std::uint64_t i = 0; i < 10; ++i) {
    group.run([&, i] { sums[i] = tbb_skynet(num + i * (size / 10), size / 10); });
  }
  group.wait();
  std::uint64_t sum = 0;
  for (std::uint64_t s : sums) sum += s;
  return sum;
}
void skynet_tbb(benchmark::State &state) {
  for (auto _ : state) {
    std::uint64_t result = 0;
    arena->execute([&] { result = tbb_skynet(0, sizes.skynet); });
    if (result != sizes.skynet * (sizes.skynet - 1) / 2) state.SkipWithError("wrong sum");
  }
}
#endif
#if TP_BENCH_HAVE_OPENMP
std::uint64_t omp_skynet(std::uint64_t num, std::uint64_t size) {
  if (size == 1) return num;
  std::uint64_t sums[10] = {};
  for (std::uint64_t i = 0; i < 10; ++i) {
#pragma omp task shared(sums)
    sums[i] = omp_skynet(num + i * (size / 10), size / 10);
  }
#pragma omp taskwait
  std::uint64_t sum = 0;
  for (std::uint64_t s : sums) sum += s;
  return sum;
}
void skynet_omp(benchmark::State &state) {
  for (auto _ : state) {
    std::uint64_t result = 0;
#pragma omp parallel num_threads(static_cast <int>(workers))
#pragma omp single
    result = omp_skynet(0, sizes.skynet);
    if (result != sizes.skynet * (sizes.skynet - 1) / 2) state.SkipWithError("wrong sum");
  }
}
#endif

// ---- J_serial / K_serial_handoff: one serial queue ----
// The jobs increment a plain counter: only the queue's serialisation makes that safe.
struct SerialCounter {
  std::uint64_t count = 0;
};
void serial_increment(void *arg) { ++static_cast<SerialCounter *>(arg)->count; }

// What a user writes without serial queues: a mutex around a deque, and a drainer job on the pool
// while it is not empty.
class MutexQueue {
 public:
  explicit MutexQueue(tp_pool *pool) : pool_(pool) {}
  void submit(void (*fn)(void *), void *arg) {
    std::unique_lock lock(mutex_);
    jobs_.push_back({fn, arg});
    if (running_) return;
    running_ = true;
    lock.unlock();
    tp_pool_execute(pool_, &MutexQueue::drain, this);
  }

 private:
  static void drain(void *self) {
    auto *queue = static_cast<MutexQueue *>(self);
    for (;;) {
      tp_job job;
      {
        std::lock_guard lock(queue->mutex_);
        if (queue->jobs_.empty()) {
          queue->running_ = false;
          return;
        }
        job = queue->jobs_.front();
        queue->jobs_.pop_front();
      }
      job.fn(job.arg);
    }
  }

  tp_pool *pool_;
  std::mutex mutex_;
  std::deque<tp_job> jobs_;  // guarded by mutex_
  bool running_ = false;     // guarded by mutex_: a drainer is queued or running
};

void serial_tp(benchmark::State &state) {
  tp_queue *queue = nullptr;
  tp_queue_create(tp_pool_, &queue);
  SerialCounter counter;
  for (auto _ : state) {
    for (std::size_t i = 0; i < sizes.serial; ++i)
      tp_queue_submit(queue, serial_increment, &counter);
    tp_queue_wait(queue);
  }
  tp_queue_destroy(queue);
  benchmark::DoNotOptimize(counter.count);
}
void serial_asio(benchmark::State &state) {
  auto strand = boost::asio::make_strand(asio_pool->get_executor());
  SerialCounter counter;
  for (auto _ : state) {
    for (std::size_t i = 0; i < sizes.serial; ++i) {
      boost::asio::post(strand, [&counter] { ++counter.count; });
    }
    Flag done;
    boost::asio::post(strand, [&done] { done.set(); });
    done.wait();
  }
  benchmark::DoNotOptimize(counter.count);
}
void serial_mutex(benchmark::State &state) {
  MutexQueue queue(tp_pool_);
  SerialCounter counter;
  for (auto _ : state) {
    for (std::size_t i = 0; i < sizes.serial; ++i) queue.submit(serial_increment, &counter);
    Flag done;
    queue.submit(set_flag, &done);
    done.wait();
  }
  benchmark::DoNotOptimize(counter.count);
}

void handoff_tp(benchmark::State &state) {
  tp_queue *queue = nullptr;
  tp_queue_create(tp_pool_, &queue);
  Flag flag;
  for (auto _ : state) {
    flag.reset();
    tp_queue_submit(queue, set_flag, &flag);
    flag.wait();
  }
  tp_queue_destroy(queue);
}
void handoff_asio(benchmark::State &state) {
  auto strand = boost::asio::make_strand(asio_pool->get_executor());
  Flag flag;
  for (auto _ : state) {
    flag.reset();
    boost::asio::post(strand, [&flag] { flag.set(); });
    flag.wait();
  }
}
void handoff_mutex(benchmark::State &state) {
  MutexQueue queue(tp_pool_);
  Flag flag;
  for (auto _ : state) {
    flag.reset();
    queue.submit(set_flag, &flag);
    flag.wait();
  }
}

// ---- L_priority: how soon an urgent job starts behind a flood of normal jobs ----
// Each iteration queues `sizes.flood` normal jobs of about a microsecond each from this thread
// (every worker busy, a backlog of a few milliseconds), then one probe job, and measures the time
// from the probe's submission to its start. `tp` submits the probe at TP_PRIORITY_HIGH: a worker
// takes it as soon as its current job ends. `tp_no_priority` is the same flood without priorities:
// the probe waits its turn behind the backlog.
volatile std::uint64_t flood_steps = 2000;
void flood_job(void *) {
  std::uint64_t sum = 0;
  for (std::uint64_t i = 0, n = flood_steps; i < n; ++i) sum += i * i;
  benchmark::DoNotOptimize(sum);
}

struct Probe {
  Clock::time_point started;
  Flag flag;
  static void run(void *self) {
    auto *probe = static_cast<Probe *>(self);
    probe->started = Clock::now();
    probe->flag.set();
  }
};

void probe_behind_flood(benchmark::State &state, tp_priority level) {
  Probe probe;
  for (auto _ : state) {
    for (std::size_t i = 0; i < sizes.flood; ++i) tp_pool_execute(tp_pool_, flood_job, nullptr);
    probe.flag.reset();
    const Clock::time_point submitted = Clock::now();
    tp_pool_execute_priority(tp_pool_, &Probe::run, &probe, level);
    probe.flag.wait();  // the flag's release orders `started` before this
    state.SetIterationTime(std::chrono::duration<double>(probe.started - submitted).count());
    tp_pool_wait_idle(tp_pool_);  // the rest of the flood, unmeasured
  }
}
void priority_high(benchmark::State &state) { probe_behind_flood(state, TP_PRIORITY_HIGH); }
void priority_normal(benchmark::State &state) { probe_behind_flood(state, TP_PRIORITY_NORMAL); }

// ---- Z_alloc: allocations per job on tp's hot paths, in steady state ----
// Warm-up: `jobs` submitted while every worker is held at a gate, so that the queues' node free
// lists hold at least that many nodes; the measured loops never have more in flight.
template <class Submit>
void warm_up_held(std::size_t jobs, Submit submit) {
  struct Gate {
    std::atomic<std::size_t> arrived{0};
    std::atomic<bool> open{false};
  } gate;
  auto hold = [](void *arg) {
    auto *g = static_cast<Gate *>(arg);
    g->arrived++;
    while (!g->open.load()) std::this_thread::yield();
  };
  for (std::size_t w = 0; w < workers; ++w) tp_pool_execute(tp_pool_, hold, &gate);
  while (gate.arrived.load() < workers) std::this_thread::yield();
  for (std::size_t i = 0; i < jobs; ++i) submit();
  gate.open = true;
  tp_pool_wait_idle(tp_pool_);
}

void alloc_execute(benchmark::State &state) {
  warm_up_held(1100, [] { tp_pool_execute(tp_pool_, no_op, nullptr); });
  std::uint64_t jobs = 0;
  const std::uint64_t before = allocations.load();
  for (auto _ : state) {
    for (int i = 0; i < 100; ++i) tp_pool_execute(tp_pool_, no_op, nullptr);
    tp_pool_wait_idle(tp_pool_);
    jobs += 100;
  }
  state.counters["allocs_per_job"] =
      static_cast<double>(allocations.load() - before) / static_cast<double>(jobs);
}
struct JoinLoop {
  int count;
  std::uint64_t allocated;
};
void join_loop(void *arg) {
  auto *loop = static_cast<JoinLoop *>(arg);
  for (int i = 0; i < 100; ++i) tp_pool_join(tp_pool_, no_op, nullptr, no_op, nullptr);
  const std::uint64_t before = allocations.load();
  for (int i = 0; i < loop->count; ++i) tp_pool_join(tp_pool_, no_op, nullptr, no_op, nullptr);
  loop->allocated = allocations.load() - before;
}
void alloc_join(benchmark::State &state) {
  std::uint64_t joins = 0, allocated = 0;
  for (auto _ : state) {
    JoinLoop loop{1000, 0};
    tp_pool_execute(tp_pool_, join_loop, &loop);  // joins from inside a job, as fork-join does
    tp_pool_wait_idle(tp_pool_);
    joins += 1000;
    allocated += loop.allocated;
  }
  state.counters["allocs_per_job"] = static_cast<double>(allocated) / static_cast<double>(joins);
}
void alloc_group(benchmark::State &state) {
  tp_group *group = nullptr;
  tp_group_create(tp_pool_, &group);
  warm_up_held(1100, [group] { tp_group_spawn(group, no_op, nullptr); });
  tp_group_wait(group);
  std::uint64_t spawns = 0;
  const std::uint64_t before = allocations.load();
  for (auto _ : state) {
    for (int i = 0; i < 100; ++i) tp_group_spawn(group, no_op, nullptr);
    tp_group_wait(group);
    spawns += 100;
  }
  state.counters["allocs_per_job"] =
      static_cast<double>(allocations.load() - before) / static_cast<double>(spawns);
  tp_group_destroy(group);
}

void alloc_queue(benchmark::State &state) {
  tp_queue *queue = nullptr;
  tp_queue_create(tp_pool_, &queue);
  warm_up_held(1100, [queue] { tp_queue_submit(queue, no_op, nullptr); });
  tp_queue_wait(queue);
  std::uint64_t submissions = 0;
  const std::uint64_t before = allocations.load();
  for (auto _ : state) {
    for (int i = 0; i < 100; ++i) tp_queue_submit(queue, no_op, nullptr);
    tp_queue_wait(queue);
    submissions += 100;
  }
  state.counters["allocs_per_job"] =
      static_cast<double>(allocations.load() - before) / static_cast<double>(submissions);
  tp_queue_destroy(queue);
}

using Fn = void (*)(benchmark::State &);

#if TP_BENCH_HAVE_TBB
#define TBB_ONLY(registration) registration
#else
#define TBB_ONLY(registration)
#endif
#if TP_BENCH_HAVE_OPENMP
#define OMP_ONLY(registration) registration
#else
#define OMP_ONLY(registration)
#endif

void add(const char *name, Fn fn, bool microseconds = true) {
  benchmark::RegisterBenchmark(name, fn)->UseRealTime()->Unit(
      microseconds ? benchmark::kMicrosecond : benchmark::kMillisecond);
}
// F_wake: the latency is measured inside the benchmark, around 20 ms sleeps that do not count.
void add_wake(const char *name, Fn fn) {
  benchmark::RegisterBenchmark(name, fn)
      ->UseManualTime()
      ->Unit(benchmark::kMicrosecond)
      ->Iterations(20);
}
// L_priority: a latency measured inside the benchmark, around a flood that does not count.
void add_latency(const char *name, Fn fn) {
  benchmark::RegisterBenchmark(name, fn)
      ->UseManualTime()
      ->Unit(benchmark::kMicrosecond)
      ->Iterations(100);
}
// One long iteration: D_throughput (range = producers) and G_idle_cpu.
void add_once(const char *name, Fn fn, int producers = 0) {
  auto *b = benchmark::RegisterBenchmark(name, fn)
                ->UseRealTime()
                ->Unit(benchmark::kMillisecond)
                ->Iterations(1);
  if (producers > 0) b->Arg(producers);
}

// Each group's peers are registered next to each other, so that within one run they are measured
// minutes apart at most, not a whole run apart.
void register_all() {
  add("A_trivial/tp", round_trip_tp<false>);
  TBB_ONLY(add("A_trivial/tbb", round_trip_tbb<false>));
  TBB_ONLY(add("A_trivial/tbb_default", round_trip_tbb_default<false>));
  add("A_trivial/naive", round_trip_naive<false>);
  add("A_trivial/spawn", round_trip_spawn<false>);

  add("B_cpu_bound/tp", round_trip_tp<true>);
  TBB_ONLY(add("B_cpu_bound/tbb", round_trip_tbb<true>));
  TBB_ONLY(add("B_cpu_bound/tbb_default", round_trip_tbb_default<true>));
  add("B_cpu_bound/naive", round_trip_naive<true>);
  add("B_cpu_bound/spawn", round_trip_spawn<true>);

  add("C_burst/tp", burst_tp);
  add("C_burst/tp_batch", burst_tp_batch);
  TBB_ONLY(add("C_burst/tbb", burst_tbb));
  OMP_ONLY(add("C_burst/omp", burst_omp));
  add("C_burst/naive", burst_naive);
  add("C_burst/spawn", burst_spawn);

  add_once("D_throughput_1p/tp", throughput_tp, 1);
  add_once("D_throughput_1p/tp_batch", throughput_tp_batch, 1);
  TBB_ONLY(add_once("D_throughput_1p/tbb", throughput_tbb, 1));
  TBB_ONLY(add_once("D_throughput_1p/tbb_default", throughput_tbb_default, 1));
  OMP_ONLY(add_once("D_throughput_1p/omp", throughput_omp));
  add_once("D_throughput_1p/naive", throughput_naive, 1);
  add_once("D_throughput_4p/tp", throughput_tp, 4);
  add_once("D_throughput_4p/tp_batch", throughput_tp_batch, 4);
  TBB_ONLY(add_once("D_throughput_4p/tbb", throughput_tbb, 4));
  add_once("D_throughput_4p/naive", throughput_naive, 4);

  add("E_fib/tp", fib_tp, false);
  TBB_ONLY(add("E_fib/tbb", fib_tbb, false));
  OMP_ONLY(add("E_fib/omp", fib_omp, false));
  add("E_fib/serial", fib_serial_bench, false);

  add_wake("F_wake/tp", wake_tp);
  TBB_ONLY(add_wake("F_wake/tbb", wake_tbb));
  add_wake("F_wake/naive", wake_naive);
  add_wake("F_wake/spawn", wake_spawn);

  add_once("G_idle_cpu/tp", idle_tp);
  TBB_ONLY(add_once("G_idle_cpu/tbb", idle_tbb));
  OMP_ONLY(add_once("G_idle_cpu/omp", idle_omp));
  add_once("G_idle_cpu/naive", idle_naive);

  add("H_parallel_for/tp", dot_tp, false);
  TBB_ONLY(add("H_parallel_for/tbb", dot_tbb, false));
  OMP_ONLY(add("H_parallel_for/omp", dot_omp, false));
  add("H_parallel_for/serial", dot_serial, false);

  add("I_skynet/tp", skynet_tp, false);
  TBB_ONLY(add("I_skynet/tbb", skynet_tbb, false));
  OMP_ONLY(add("I_skynet/omp", skynet_omp, false));
  add("I_skynet/serial", skynet_serial_bench, false);

  add("J_serial/tp", serial_tp, false);
  add("J_serial/asio", serial_asio, false);
  add("J_serial/mutex_queue", serial_mutex, false);

  add("K_serial_handoff/tp", handoff_tp);
  add("K_serial_handoff/asio", handoff_asio);
  add("K_serial_handoff/mutex_queue", handoff_mutex);

  add_latency("L_priority/tp", priority_high);
  add_latency("L_priority/tp_no_priority", priority_normal);

  add("Z_alloc/execute", alloc_execute);
  add("Z_alloc/join", alloc_join);
  add("Z_alloc/group_spawn", alloc_group);
  add("Z_alloc/queue_submit", alloc_queue);
}

}  // namespace

int main(int argc, char **argv) {
  std::vector<char *> args;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      sizes = Sizes{200, 200000, 25, 1000000, 100000, 0.2, 10000, 1000};
    } else {
      args.push_back(argv[i]);
    }
  }
  workers = tp_default_workers();
  if (const char *text = std::getenv("TP_BENCH_WORKERS")) workers = std::strtoul(text, nullptr, 10);
  {
    // TP_BENCH_PIN=none: tp's workers unpinned (the scaling mode's oversubscribed runs).
    tp_pool_options options;
    tp_pool_options_init(&options);
    options.workers = workers;
    if (const char *pin = std::getenv("TP_BENCH_PIN");
        pin != nullptr && std::strcmp(pin, "none") == 0) {
      options.pin = TP_PIN_NONE;
    }
    if (tp_pool_create_with(&options, &tp_pool_) != TP_OK) return 1;
  }
  naive_pool = std::make_unique<bench::NaivePool>(workers);
  asio_pool = std::make_unique<boost::asio::thread_pool>(workers);
#if TP_BENCH_HAVE_TBB
  // As many TBB worker threads as the other pools have workers: no slot reserved for the
  // application thread (which still joins in where TBB lets it, in execute() and wait()).
  static tbb::global_control allow_workers(tbb::global_control::max_allowed_parallelism,
                                           workers + 1);
  arena = std::make_unique<tbb::task_arena>(static_cast<int>(workers), 0);
  arena->initialize();
  default_arena = std::make_unique<tbb::task_arena>();
  default_arena->initialize();
#else
  std::fprintf(stderr, "oneTBB not found at configure time: the tbb rows are skipped\n");
#endif
#if !TP_BENCH_HAVE_OPENMP
  std::fprintf(stderr, "OpenMP not found at configure time: the omp rows are skipped\n");
#endif
  xs.assign(sizes.dot, 1.5);
  ys.assign(sizes.dot, 2.0);
  benchmark::AddCustomContext("workers", std::to_string(workers));
  benchmark::AddCustomContext("quick", sizes.fib == 25 ? "yes" : "no");
  register_all();
  int count = static_cast<int>(args.size());
  benchmark::Initialize(&count, args.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  naive_pool.reset();
  asio_pool->join();
  asio_pool.reset();
  tp_pool_destroy(tp_pool_);
  return 0;
}
