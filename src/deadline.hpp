// When a timed wait gives up: a point on the monotonic clock (the clock futex timeouts count in),
// or never. Every wait in the pool takes one, so that a timed wait and an untimed one are the
// same code.
#pragma once

#include <chrono>
#include <cstdint>
#include <ctime>

namespace tp::detail {

class Deadline {
 public:
  using Clock = std::chrono::steady_clock;  // CLOCK_MONOTONIC in libstdc++, as futex timeouts

  static Deadline never() noexcept { return Deadline(Clock::time_point::max()); }

  // `timeout_ns` from now. A timeout too long to add to the clock (hundreds of years) is never.
  static Deadline after(std::uint64_t timeout_ns) noexcept {
    const Clock::time_point now = Clock::now();
    const auto room = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::time_point::max() - now)
            .count());
    if (timeout_ns >= room) return never();
    return Deadline(now + std::chrono::nanoseconds(static_cast<std::int64_t>(timeout_ns)));
  }

  bool is_never() const noexcept { return at_ == Clock::time_point::max(); }
  bool passed() const noexcept { return !is_never() && Clock::now() >= at_; }
  Clock::time_point at() const noexcept { return at_; }

  // What is left, for a futex's relative timeout; zero once passed. Only for a deadline that is
  // not never() (a futex without a deadline gets no timeout at all).
  timespec remaining() const noexcept {
    const auto left = at_ - Clock::now();
    timespec out{};
    if (left <= Clock::duration::zero()) return out;
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(left);
    out.tv_sec = static_cast<std::time_t>(seconds.count());
    out.tv_nsec = static_cast<long>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(left - seconds).count());
    return out;
  }

 private:
  explicit Deadline(Clock::time_point at) noexcept : at_(at) {}
  Clock::time_point at_;
};

}  // namespace tp::detail
