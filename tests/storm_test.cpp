// Park/wake storms: bursts of 1-4 jobs separated by idle gaps from nothing to beyond the spin phase
// (so that workers are caught spinning, yielding, parking and waking in every order), for
// TP_STORM_ROUNDS rounds (default 10^6). Each burst must complete with no further call from
// anyone; a watchdog turns a lost wake-up into a failure that prints every worker's counters.
// ctest label `soak`: not in the default run; .ci/run starts it.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <thread>

#include "pause.hpp"
#include "test_support.hpp"
#include "tp/tp.h"

namespace {

struct Burst {
  std::atomic<std::uint32_t> left{0};
};

void finish_one(void *arg) {
  auto *burst = static_cast<Burst *>(arg);
  if (burst->left.fetch_sub(1, std::memory_order_acq_rel) == 1) burst->left.notify_one();
}

}  // namespace

int main() {
  const char *text = std::getenv("TP_STORM_ROUNDS");
  const long rounds = text != nullptr ? std::atol(text) : 1000000;
  Burst burst;  // before the pool: the last job may still be notifying it while the pool ends
  tp_test::PoolPtr pool = tp_test::make_pool(2);
  std::mt19937 random(42);
  const auto start = std::chrono::steady_clock::now();
  long round = 0;
  {
    tp_test::Watchdog watchdog("park/wake storm", std::chrono::seconds(600), [&] {
      return "round " + std::to_string(round) + ", jobs left in it " +
             std::to_string(burst.left.load()) + "; " + tp_test::describe_workers(pool.get());
    });
    for (; round < rounds; ++round) {
      const std::uint32_t jobs = 1 + random() % 4;
      burst.left.store(jobs, std::memory_order_relaxed);
      for (std::uint32_t i = 0; i < jobs; ++i) {
        if (tp_pool_execute(pool.get(), finish_one, &burst) != TP_OK) {
          std::fprintf(stderr, "storm: refused a job\n");
          return 1;
        }
      }
      for (std::uint32_t left = burst.left.load(); left != 0; left = burst.left.load()) {
        burst.left.wait(left);
      }
      // An idle gap from nothing to a few thousand pause hints (tens to a few hundred
      // microseconds, by CPU): workers are caught spinning, yielding or parked.
      const std::uint32_t gap = random() % 4000;
      for (std::uint32_t i = 0; i < gap; ++i) tp::detail::cpu_pause();
      if (random() % 64 == 0) std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }
  tp_pool_stats stats{};
  stats.size = sizeof stats;
  tp_pool_get_stats(pool.get(), &stats);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("storm: %ld bursts in %.1f s, %llu jobs, %llu parks, no lost wake-up\n", rounds,
              seconds, static_cast<unsigned long long>(stats.executed),
              static_cast<unsigned long long>(stats.parks));
  return 0;
}
