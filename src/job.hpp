// The job record: what travels through the injector and the deques.
#pragma once

#include <type_traits>

namespace tp::detail {

using JobFn = void (*)(void *);

// Two words, trivially copyable, so that Boost.Lockfree can hold it and a deque slot can hold it
// as two relaxed atomics (see deque.hpp). A job never owns its argument.
struct Job {
  JobFn fn = nullptr;
  void *arg = nullptr;

  explicit operator bool() const noexcept { return fn != nullptr; }
};

static_assert(std::is_trivially_copyable_v<Job>);

}  // namespace tp::detail
