// How every wait in the pool spins before it blocks: the worker looking for work before it parks,
// a worker waiting in a join or group wait, wait_idle() and shutdown(). One budget, spent the
// same way everywhere, so that a tuning of the spin is a change in one place.
#pragma once

#include <thread>

#include "pause.hpp"

namespace tp::detail {

// A budget of `limit` rounds (a pool's spin_limit). The first half of the rounds pause the core
// with the CPU's spin hint: the awaited event usually comes within microseconds, and a pause
// keeps the waiter's cache hot. The second half yields the core, so that a thread sharing it (a
// submitter, on a machine with as many workers as cores, or the very thread being waited for)
// runs instead of the one spinning. Once the budget is spent the caller blocks in the kernel.
class SpinWait {
 public:
  // `spent` rounds of the budget are gone already (a woken worker skips the quiet rounds).
  explicit SpinWait(unsigned limit, unsigned spent = 0) noexcept
      : limit_(limit), round_(spent < limit ? spent : limit) {}

  // One round of waiting; false (and no wait) once the budget is spent.
  bool spin() noexcept {
    if (round_ >= limit_) return false;
    if (round_ < limit_ / 2) {
      cpu_pause();
    } else {
      std::this_thread::yield();
    }
    ++round_;
    return true;
  }

  // Polls `ready` between rounds until it holds (true) or the budget is spent (false): the caller
  // then blocks. `ready` is polled once even with no budget.
  template <class Ready>
  bool until(Ready ready) {
    while (!ready()) {
      if (!spin()) return false;
    }
    return true;
  }

  unsigned rounds() const noexcept { return round_; }
  bool spent() const noexcept { return round_ >= limit_; }
  // The awaited thing made progress (a job was found): the next wait starts a fresh budget.
  void reset() noexcept { round_ = 0; }

 private:
  unsigned limit_;
  unsigned round_;
};

}  // namespace tp::detail
