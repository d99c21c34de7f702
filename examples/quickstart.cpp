// The seed's quick start in C++ (tp.hpp): 8 jobs, a result back to the caller, fork-join, and the
// errors. Needs C++17.
#include <cstdio>
#include <future>
#include <tp/tp.hpp>
#include <vector>

int main() {
  auto pool = tp::ThreadPool::build(4);
  if (!pool) {
    std::fprintf(stderr, "build: %s\n", tp::to_string(pool.error()));
    return 1;
  }

  for (int i = 0; i < 8; ++i) {
    pool->execute([i] { std::printf("job %d\n", i); });
  }
  pool->wait_idle();

  // A result back to the caller, through a future.
  std::future<unsigned long long> sum = pool->submit([] {
    unsigned long long total = 0;
    for (unsigned long long i = 0; i < 10000; ++i) total += i * i;
    return total;
  });
  std::printf("sum of squares below 10000: %llu\n", sum.get());

  // Fork-join: both halves run, possibly in parallel; parallel_for splits a range.
  std::vector<double> v(1000000, 1.5);
  double left = 0, right = 0;
  pool->join(
      [&] {
        for (std::size_t i = 0; i < v.size() / 2; ++i) left += v[i];
      },
      [&] {
        for (std::size_t i = v.size() / 2; i < v.size(); ++i) right += v[i];
      });
  pool->parallel_for(0, v.size(), [&](std::size_t i) { v[i] *= 2; });
  std::printf("join: %.1f, after parallel_for: v[0] = %.1f\n", left + right, v[0]);

  // The errors, as values.
  std::printf("build(0): %s\n", tp::to_string(tp::ThreadPool::build(0).error()));
  pool->shutdown();
  tp::Result<void> late = pool->execute([] {});
  std::printf("execute after shutdown: %s\n", late ? "accepted?!" : tp::to_string(late.error()));
  return late ? 1 : 0;
}
