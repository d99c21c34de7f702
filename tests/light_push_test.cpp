// Light pushes (deque.hpp, kLightPushes; sleep.md, "Light pushes"): a worker's push onto its own
// deque publishes with a plain store while every worker is awake, so a peer that goes to sleep at
// that moment may re-check before the push is visible to it. Such a sleeper looks once more after
// kLightPushRecheckNs. This test makes the worst case of that race on purpose: the job goes onto
// the deque with no notification at all, after the peer went to sleep, and its pusher then blocks
// outside the pool. Only the sleeper's second look can find it.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <thread>

#include "join.hpp"
#include "latch.hpp"
#include "pool.hpp"
#include "worker.hpp"

namespace {

using tp::detail::Job;
using tp::detail::Latch;
using tp::detail::Pin;
using tp::detail::Pool;
using tp::detail::PoolConfig;
using tp::detail::SecondHalf;
using tp::detail::Status;
using tp::detail::Worker;
using namespace std::chrono_literals;

struct Scene {
  Pool *pool;
  int attempts = 0;
  int taken_by_the_sleeper = 0;
};

void nothing(void *) {}
void mark(void *ran) { *static_cast<bool *>(ran) = true; }

// One attempt, on a worker: true when the sleeping peer ran the unannounced job.
bool push_unannounced_while_the_peer_sleeps(Scene &scene) {
  Worker *self = Worker::current(scene.pool);
  const std::size_t peer = 1 - self->index();
  // Wake the peer with an announced job, and wait until it has gone back to sleep while this
  // worker is awake (it registers with others_awake set).
  const std::uint64_t parks = scene.pool->worker_stats(peer).parks;
  if (self->spawn(Job{&nothing, nullptr}) != Status::ok) return false;
  while (scene.pool->worker_stats(peer).parks == parks || !self->deque().looks_empty()) {
    std::this_thread::yield();
  }
  Latch done(1, &scene.pool->sleep());
  bool ran = false;
  // A join's second half, pushed as a join pushes it (uncounted) but with no notification.
  SecondHalf record{&mark, &ran, &done};
  self->deque().push(record.job());
  // Block outside the pool, as a job waiting on a plain semaphore would.
  const auto give_up = std::chrono::steady_clock::now() + 200ms;
  while (!done.done() && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(100us);
  }
  if (done.done()) return ran;
  // Not taken in time (this thread may have been descheduled past the peer's second look): take
  // it back, unless a thief got it meanwhile.
  const Job back = self->deque().pop();
  if (back.arg == &record) return false;
  while (!done.done()) std::this_thread::yield();
  return ran;
}

TEST(LightPushes, ASleeperThatRegisteredWhileAPeerWasAwakeLooksAgainAndTakesWhatItMissed) {
  if constexpr (!tp::detail::kLightPushes) {
    GTEST_SKIP() << "this build publishes every push with seq_cst (ThreadSanitizer)";
  }
  PoolConfig config;
  config.workers = 2;
  config.pin = Pin::none;
  std::unique_ptr<Pool> pool;
  ASSERT_EQ(Pool::create(config, pool), Status::ok);
  Scene scene{pool.get()};
  const Job body{[](void *arg) {
                   auto &shared = *static_cast<Scene *>(arg);
                   // A few tries: one fails only if this thread lost its core for longer than
                   // the peer's wait before its second look.
                   while (shared.attempts < 20 && shared.taken_by_the_sleeper == 0) {
                     ++shared.attempts;
                     if (push_unannounced_while_the_peer_sleeps(shared))
                       ++shared.taken_by_the_sleeper;
                   }
                 },
                 &scene};
  ASSERT_EQ(pool->submit(body), Status::ok);
  ASSERT_EQ(pool->wait_idle(), Status::ok);
  EXPECT_EQ(scene.taken_by_the_sleeper, 1) << "in " << scene.attempts << " attempts";
}

}  // namespace
