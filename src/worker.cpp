#include "worker.hpp"

#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <string>
#include <thread>

#include "group.hpp"
#include "injector.hpp"
#include "join.hpp"
#include "pool.hpp"

namespace tp::detail {

namespace {

// How many rounds of the spin phase a worker that ran out of jobs spends looking for more before
// it reports its finished jobs and registers as searching. A worker fed by a steady stream of
// submissions finds the next job within these rounds, and then the sleep state (a line every
// submission reads) does not hear from it: each write there would cost the next submitter a cache
// miss. The price: a job submitted meanwhile may wake a parked peer that this worker then beats
// to it, and its finished count hears of the last jobs these rounds later (after the first look
// while a thread waits in wait_idle() or shutdown()). See sleep.md.
constexpr unsigned kQuietRounds = 32;

void name_this_thread(const std::string &prefix, std::size_t index) noexcept {
  try {
    pthread_setname_np(pthread_self(), worker_thread_name(prefix, index).c_str());
  } catch (...) {
    // An unnamed worker works just as well.
  }
}

void call_hook(void (*hook)(std::size_t, void *), std::size_t index, void *user) noexcept {
  if (hook == nullptr) return;
  try {
    hook(index, user);
  } catch (...) {
    // A hook's exception must not kill the worker (and with it the process).
  }
}

}  // namespace

Worker::Worker(Pool &pool, std::size_t index, std::size_t deque_capacity)
    : pool_(pool),
      sleep_(pool.sleep_),
      index_(index),
      observed_(tsan::announcing() || pool.trace_ != nullptr),
      trace_(pool.trace_ != nullptr ? &pool.trace_->buffer(index) : nullptr),
      tsan_edges_(tsan::announcing() ? &pool.tsan_edges_ : nullptr),
      deque_(deque_capacity, &pool.steal_epochs_) {}

const void *traced_function(Job job) noexcept {
  // A join's half may itself be a wrapper (a parallel loop's piece): named after what it wraps.
  if (job.fn == &SecondHalf::run) {
    const auto *half = static_cast<const SecondHalf *>(job.arg);
    return traced_function(Job{half->fn, half->arg});
  }
  if (job.fn == &LatchedJob::run) {
    const auto *latched = static_cast<const LatchedJob *>(job.arg);
    return traced_function(Job{latched->fn, latched->arg});
  }
  if (const void *wrapped = Group::function_of(job)) return wrapped;
  if (const void *wrapped = parallel_for_body_of(job)) return wrapped;
  return reinterpret_cast<const void *>(job.fn);
}

void Worker::run_inline_traced(JobFn fn, void *arg) noexcept {
  const void *const traced = traced_function(Job{fn, arg});  // while its record exists
  const std::uint64_t start = trace_now();
  invoke(fn, arg);
  trace_->span(TraceEvent::Kind::job, traced, start);
}

void Worker::run_observed(Job job) noexcept {
  if (tsan_edges_ != nullptr) tsan::acquire(&tsan_edges_->submitted);
  const void *const traced = trace_ != nullptr ? traced_function(job) : nullptr;
  const std::uint64_t start = trace_ != nullptr ? trace_now() : 0;
  const Group *const outer = std::exchange(running_group_, nullptr);
  invoke(job.fn, job.arg);
  running_group_ = outer;
  if (trace_ != nullptr) trace_->span(TraceEvent::Kind::job, traced, start);
  // Before the job is counted finished (report_finished(), later on this thread), which a waiter
  // for the pool's quiescence must see before it acquires.
  if (tsan_edges_ != nullptr) tsan::release(&tsan_edges_->finished);
  stats_.executed.add();
  ++unreported_;
}

bool Worker::wait_until(Latch &latch, Deadline deadline) noexcept {
  assert(tls_worker == this);
  SpinWait spin(pool_.config_.spin_limit);
  assert(!searching_ && "a job runs only once its worker stopped searching");
  while (!latch.done()) {
    if (deadline.passed()) {
      stop_searching();
      return false;
    }
    Job job = take_before_normal();
    if (!job) job = pop_own();  // first the jobs this worker pushed: usually the one we wait for
    if (!job) {
      job = take_from_injector();
      if (job && !deque_.looks_empty()) sleep_.notify_pushed_light(deque_);  // a refill: share it
    }
    if (!job) job = steal_from_peers();
    if (!job) job = take_low_if_nothing_else();
    if (job) {
      stop_searching();
      run(job);
      spin.reset();
      continue;
    }
    if (spin.spin()) continue;
    // Nothing to help with: the jobs we wait for run on peers. Sleep like a parked worker until
    // new work arrives or the latch opens.
    switch (sleep_until_work_or(latch, deadline)) {
      case Sleep::Wake::work:
        searching_ = true;  // the waker counted us as searching
        spin.reset();
        break;
      case Sleep::Wake::latch:    // the opener counted us as awake, not searching
      case Sleep::Wake::timeout:  // we withdrew: awake, not searching; the loop sees the deadline
        searching_ = false;
        break;
      case Sleep::Wake::none:  // the latch opened before we slept, or our mark was cleared since:
                               // nothing changed
      case Sleep::Wake::stop:  // (never while a job waits: the pool stops once no job is left)
        break;
    }
  }
  stop_searching();
  tsan::acquire(&latch);  // the finishers' releases (Latch::finish()), for ThreadSanitizer
  return true;
}

Sleep::Wake Worker::sleep_until_work_or(Latch &latch, Deadline deadline) noexcept {
  deque_.trim();  // empty (nothing to help with): its memory comes back while we sleep
  if (!latch.announce_sleeper()) return Sleep::Wake::none;
  bool others_awake = false;
  if (!sleep_.prepare_wait(
          index_, &latch, searching_, [&] { return !latch.sleeper_announced(); }, others_awake)) {
    return Sleep::Wake::none;
  }
  searching_ = false;  // registered: no longer counted as searching (if we were)
  // We no longer count as awake: work published before our registration may have found us awake
  // and woken nobody. Look again, as the last searcher does before it parks (sleep.md), and if
  // there is work, stay awake for it rather than wake a peer.
  if (pool_.work_visible() && sleep_.unpark_self(index_)) return Sleep::Wake::work;
  stats_.parks.add();
  return sleep_recorded([&] { return wait_for_token(others_awake, deadline); });
}

Sleep::Wake Worker::wait_for_token(bool others_awake, Deadline deadline) noexcept {
  if (kLightPushes && others_awake) {
    // A peer awake when we registered may have pushed a job with a light push that our re-check
    // could not see yet, having read the state before we registered (sleep.md, "Light pushes").
    // A store is visible to every thread long before kLightPushRecheckNs: look once more then.
    const Deadline recheck = Deadline::after(kLightPushRecheckNs);
    if (recheck.at() < deadline.at()) {
      const Sleep::Wake why = sleep_.wait_at_most(index_, recheck);
      if (why != Sleep::Wake::none) return why;
      if (pool_.work_visible() && sleep_.unpark_self(index_)) return Sleep::Wake::work;
    }
  }
  return sleep_.wait(index_, deadline);
}

bool Worker::start_searching() noexcept {
  if (searching_) return true;
  searching_ = sleep_.try_start_searching();
  return searching_;
}

void Worker::stop_searching() noexcept {
  if (!searching_) return;
  searching_ = false;
  // The last searcher to find work hands the search on if there is more to find: this is how a
  // burst wakes workers without waking all of them for one job. If what it found came from a
  // backlog (it moved jobs from the injector onto its deque: a full refill, a batch), it wakes two:
  // a burst then reaches W workers in about log2(W) rounds of wake-ups rather than W - 1 one after
  // another (sleep.md, "Waking for a backlog").
  if (sleep_.stop_searching() && pool_.work_visible()) {
    sleep_.notify_work(took_along_ ? 2 : 1);
  }
}

Job Worker::pop_own() noexcept {
  if (own_turns_left_ != 0) {
    --own_turns_left_;
  } else {
    own_turns_left_ = kInjectorInterval;
    deque_.shrink_if_mostly_empty();  // a ring that grew for a burst gives memory back as it drains
    took_along_ = false;
    if (Job job = take_from_injector(Take::one)) {
      // A batch came with it, onto our deque: announce it, as a quiet worker does (sleep.md).
      if (took_along_) sleep_.notify_pushed_light(deque_);
      return job;
    }
  }
  return deque_.pop();
}

Job Worker::take_prioritized() noexcept {
  std::uint64_t waiting = pool_.priorities_.waiting();
  if (waiting == 0) {
    // Nothing waits: drop the hint, then look once more (seq_cst, the second half of the Dekker
    // pair in hint_priority_work()), so that a submission between the two looks is not missed.
    priority_hint_.store(false, std::memory_order_seq_cst);
    if (pool_.priorities_.looks_empty()) {
      looked_while_low_waits_ = 0;  // no low job waits: the next one ages from zero
      return Job{};
    }
    priority_hint_.store(true, std::memory_order_relaxed);
    waiting = pool_.priorities_.waiting();
  }
  if (!PriorityQueues::low_waits(waiting)) {
    looked_while_low_waits_ = 0;
  } else if (++looked_while_low_waits_ >= PriorityQueues::kLowAgeing) {
    if (Job job = take_low()) return job;  // aged: ahead of everything else, once
  }
  if (PriorityQueues::high_waits(waiting)) return pool_.priorities_.take_high();
  return Job{};
}

Job Worker::take_high() noexcept {
  // The hint first, as per job: a spinning worker reads only its own line while none waits.
  if (!priority_hint_.load(std::memory_order_relaxed)) return Job{};
  if (!PriorityQueues::high_waits(pool_.priorities_.waiting())) return Job{};
  return pool_.priorities_.take_high();
}

Job Worker::take_low_if_nothing_else() noexcept {
  if (!priority_hint_.load(std::memory_order_relaxed)) return Job{};
  if (!PriorityQueues::low_waits(pool_.priorities_.waiting())) return Job{};
  // A steal that lost its race, or a lane another worker was emptying, looks like no normal work
  // here: take a low job only when none is visible anywhere (a look that costs a read per worker,
  // paid only while a low job waits and this worker found nothing else).
  if (pool_.normal_work_visible()) return Job{};
  return take_low();
}

Job Worker::take_low() noexcept {
  Job job = pool_.priorities_.take_low();
  if (job) looked_while_low_waits_ = 0;
  return job;
}

Status Worker::spawn(const Job *jobs, std::size_t count) noexcept {
  assert(tls_worker == this && "only the worker's own thread pushes onto its deque");
  assert(count >= 2);
  if (exiting_) return Status::shutdown;
  try {
    deque_.reserve(count);  // after this, the pushes cannot fail
  } catch (...) {
    return Status::out_of_memory;
  }
  count_spawned(count);
  if (tsan_edges_ != nullptr) [[unlikely]]
    tsan::release(&tsan_edges_->submitted);
  deque_.push_many(jobs, count);
  sleep_.notify_pushed_light(deque_);
  return Status::ok;
}

void Worker::count_spawned_beyond_unreported(std::uint64_t count) noexcept {
  // On this worker's own line; before the job becomes visible (its push is a release store).
  counts_.spawned.store(counts_.spawned.load(std::memory_order_relaxed) + (count - unreported_),
                        std::memory_order_release);
  unreported_ = 0;
}

void Worker::report_finished() noexcept {
  if (unreported_ == 0) return;
  // On this worker's own line: no counter that every job writes (pool.hpp, "Counting jobs").
  // seq_cst: the first half of the Dekker pair with a waiter's registration (count_changed()).
  counts_.finished.store(counts_.finished.load(std::memory_order_relaxed) + unreported_,
                         std::memory_order_seq_cst);
  unreported_ = 0;
  pool_.count_changed();
}

void Worker::main() noexcept {
  tls_worker = this;
  victim_seed_ = (index_ + 1) * 0x9E3779B97F4A7C15ull;
  const PoolConfig &config = pool_.config_;
  name_this_thread(config.thread_name, index_);
  if (const CpuSet *cpus = pool_.placement(index_)) {
    stats_.pinned.store(pool_.topology_->bind_current_thread(*cpus), std::memory_order_relaxed);
  }
  call_hook(config.on_worker_start, index_, config.user);
  pool_.worker_started();

  for (;;) {
    took_lone_ = false;  // (a take inside a wait may have set it)
    Job job = take_before_normal();
    if (!job) job = pop_own();
    if (!job) job = look_for_work();
    if (!job) {
      if (!park()) break;  // the pool stops
      continue;            // woken up: the waker counted us as searching
    }
    stop_searching();
    if (took_lone_) [[unlikely]] {
      run_lone(job);
    } else {
      run(job);
    }
  }

  exiting_ = true;
  call_hook(config.on_worker_stop, index_, config.user);
  tls_worker = nullptr;
}

Job Worker::look_for_work() noexcept {
  const PoolConfig &config = pool_.config_;
  const unsigned quiet_rounds = std::min(config.spin_limit, kQuietRounds);
  // One budget for the whole spin phase; a worker woken as a searcher has no quiet rounds.
  SpinWait spin(config.spin_limit, searching_ ? quiet_rounds : 0);
  if (!searching_) {
    if (Job job = look_quietly(spin, quiet_rounds)) return job;
  }
  report_finished();  // before searching, and so before parking
  // At most half the workers search (sleep.md, "The searcher cap"); the others spend their budget
  // on the injector alone, reading no peer's deque, then sleep.
  return start_searching() ? search(spin) : poll_injector(spin);
}

Job Worker::look_quietly(SpinWait &spin, unsigned quiet_rounds) noexcept {
  for (;;) {
    if (Job job = take_high()) return job;  // each round, as each job: high work first
    // A quiet worker has just run out of jobs, often in the middle of a producer's stream: it
    // gathers (Take::gather), so that the stream's jobs cross between cores a refill at a time.
    if (Job job = take_from_injector(Take::gather)) {
      // Jobs taken along as a refill sat in no queue between the take and the push onto our
      // deque, where the last searcher's re-check can miss them and park, and a quiet worker is
      // no searcher whose hand-off would cover them: announce them (sleep.md, "Light pushes").
      if (!deque_.looks_empty()) sleep_.notify_pushed_light(deque_);
      return job;
    }
    if (Job job = steal_from_peers()) return job;
    if (Job job = take_low_if_nothing_else()) return job;
    // A waiter for the pool to drain must not wait on our quiet rounds, which a steady stream of
    // submissions with gaps would keep going for ever: once a look found nothing (a gap, when the
    // pool may be quiescent), report. Not before the first look: a worker that finds its next job
    // at once was not at a gap, and a report per job (with a waiter) cost a burst of 1,000 jobs
    // a third of its time (C_burst tp_batch, 8.9 -> 12.4 us).
    if (spin.rounds() == 0 && pool_.has_idle_waiters()) report_finished();
    if (spin.rounds() >= quiet_rounds || !spin.spin()) return Job{};
  }
}

Job Worker::poll_injector(SpinWait &spin) noexcept {
  for (;;) {
    if (Job job = take_high()) return job;
    took_along_ = false;
    if (Job job = take_from_injector()) {
      // Not a searcher: what it took along onto its deque is announced, as a quiet worker's is.
      if (took_along_) sleep_.notify_pushed_light(deque_);
      return job;
    }
    if (Job job = take_low_if_nothing_else()) return job;
    if (!spin.spin()) return Job{};
  }
}

Job Worker::search(SpinWait &spin) noexcept {
  for (;;) {
    if (Job job = take_high()) return job;
    if (Job job = take_from_injector()) return job;
    if (Job job = steal_from_peers()) return job;
    if (Job job = take_low_if_nothing_else()) return job;
    if (!spin.spin()) return Job{};
  }
}

Job Worker::take_from_injector(Take take) noexcept {
  // What this take moves along (a refill, a batch) is in no queue until it is on our deque: say so
  // for that long (carrying()). seq_cst, before the take's writes to the injector.
  carrying_.store(true, std::memory_order_seq_cst);
  const Job job = take_from_lanes_or_shards(take);
  carrying_.store(false, std::memory_order_release);
  return job;
}

Job Worker::take_from_lanes_or_shards(Take take) noexcept {
  const std::size_t home = index_ % pool_.injector_.shards();
  ++injector_turns_;
  // Lanes and shards take turns going first, so that a steady stream through one of them cannot
  // starve the jobs waiting in the other. Likewise the lane looked at first moves on every 16
  // turns: a lane its producer keeps full cannot starve the other lanes.
  const std::size_t first_lane = index_ + injector_turns_ / 16;
  if (injector_turns_ % 2 == 0) {
    if (Job job = take_from_lanes(first_lane, take)) return job;
    return take_from_shards(home, take);
  }
  if (Job job = take_from_shards(home, take)) return job;
  return take_from_lanes(first_lane, take);
}

Job Worker::take_from_lanes(std::size_t home, Take take) noexcept {
  Job taken[kRefill];
  const std::size_t most = take == Take::one ? 1 : kRefill;
  const std::size_t count = pool_.injector_.pop_from_lanes(taken, most, home, take == Take::gather);
  if (count == 0) return Job{};
  stats_.from_injector.add(count);
  note_injector_take(count);
  // One job where up to a refill could have come: the lane held it alone, as a round trip's does
  // (a take of one at a time, the own-deque turns' look, says nothing about the lane).
  took_lone_ = count == 1 && take != Take::one;
  spill(taken + 1, count - 1);
  return taken[0];
}

void Worker::run_lone(Job job) noexcept {
  using Clock = Deadline::Clock;
  const bool after_long_one = last_long_lone_end_ != Clock::time_point{};
  if (!after_long_one && ++lone_jobs_untimed_ < kLoneJobTimedEvery) {
    run(job);
    return;
  }
  lone_jobs_untimed_ = 0;
  const Clock::time_point start = Clock::now();
  run(job);
  const Clock::time_point end = Clock::now();
  const auto ns = [](Clock::duration d) {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
  };
  const std::uint64_t took = ns(end - start);
  const bool long_one = took >= kCompanyFromNs && took <= kCompanyUpToNs;
  if (long_one && after_long_one && ns(start - last_long_lone_end_) <= kCompanyWithinNs) {
    sleep_.keep_company();
  }
  last_long_lone_end_ = long_one ? end : Clock::time_point{};
}

Job Worker::take_from_shards(std::size_t home, Take take) noexcept {
  const std::size_t refill = take == Take::refill ? kRefill : 1;
  Injector &injector = pool_.injector_;
  Job first;
  if (!injector.pop(first, home)) return Job{};
  if (Injector::is_batch(first)) {
    unpack(Injector::as_batch(first));
    return deque_.pop();  // empty only if peers already stole the whole batch
  }
  stats_.from_injector.add();
  if (refill == 1) {
    note_injector_take(1);
    return first;
  }
  try {
    deque_.reserve(refill - 1);
  } catch (...) {
    note_injector_take(1);
    return first;  // no room to refill; the others stay in the injector
  }
  std::size_t taken = 1;
  for (; taken < refill; ++taken) {
    Job next;
    if (!injector.pop(next, home)) break;
    if (Injector::is_batch(next)) {
      unpack(Injector::as_batch(next));  // notes its own jobs
      break;
    }
    stats_.from_injector.add();
    deque_.push(next);  // within the reserved room: cannot throw
  }
  note_injector_take(taken);
  return first;
}

void Worker::unpack(Batch *batch) noexcept {
  stats_.from_injector.add(batch->count);
  note_injector_take(batch->count);
  spill(batch->jobs(), batch->count);
  Batch::release(batch);
}

void Worker::spill(const Job *jobs, std::size_t count) noexcept {
  if (count == 0) return;
  // These are outside jobs: the next look at the injector for fairness's sake can wait until the
  // worker has run them too (a worker that just unpacked a batch of 1,000 pulled the next batch
  // every 61 jobs, and its deque swelled with the whole backlog).
  own_turns_left_ = static_cast<std::uint32_t>(
      std::min<std::size_t>(kInjectorInterval + count, std::numeric_limits<std::uint32_t>::max()));
  took_along_ = true;
  try {
    deque_.reserve(count);
  } catch (...) {
    // The deque cannot grow. These jobs were accepted, so they run here rather than get lost. As
    // jobs, not as a searcher: one that waits would otherwise sleep still counted as searching,
    // and submissions would wake nobody.
    stop_searching();
    for (std::size_t i = 0; i < count; ++i) run(jobs[i]);
    return;
  }
  deque_.push_many(jobs, count);
}

Job Worker::steal_from_peers() noexcept {
  const std::size_t workers = pool_.workers();
  if (workers == 1) return Job{};
  // The rings this pass loads stay allocated until it ends (steal_epochs.hpp). Entered only at the
  // first victim that looks non-empty (a look reads top and bottom, never the ring): a spinning
  // worker that finds every deque empty writes nothing (its announcement, one locked instruction
  // per round, made the spin before yielding the core longer: B_cpu_bound 4.8 -> 5.5 us).
  StealEpochs::LazyPass pass(pool_.steal_epochs_, index_);
  // A varying first victim in each level keeps thieves from all queueing up on the same deque.
  victim_seed_ ^= victim_seed_ << 13;
  victim_seed_ ^= victim_seed_ >> 7;
  victim_seed_ ^= victim_seed_ << 17;
  // A lost race means another thief took that job or holds a claim on it, or the owner took it;
  // the next round looks again.
  auto try_steal = [&](std::size_t victim, Job &job) {
    StealingDeque &deque = pool_.workers_[victim]->deque();
    if (deque.steal(job, [&] { pass.enter(); }) != StealingDeque::StealResult::success) {
      return false;
    }
    stats_.stolen.add();
    if (trace_ != nullptr) [[unlikely]]
      trace_->instant(TraceEvent::Kind::steal, static_cast<std::uint32_t>(victim));
    return true;
  };
  Job job;
  if (victims_.peers.empty()) {  // unpinned: every peer, from a varying start
    const std::size_t peers = workers - 1;
    const auto first = static_cast<std::size_t>(victim_seed_ % peers);
    for (std::size_t i = 0; i < peers; ++i) {
      if (try_steal((index_ + 1 + (first + i) % peers) % workers, job)) return job;
    }
    return Job{};
  }
  std::size_t begin = 0;
  for (const std::uint32_t end : victims_.level_ends) {  // nearest level first
    const std::size_t size = end - begin;
    const auto first = static_cast<std::size_t>(victim_seed_ % size);
    for (std::size_t i = 0; i < size; ++i) {
      if (try_steal(victims_.peers[begin + (first + i) % size], job)) return job;
    }
    begin = end;
  }
  return Job{};
}

bool Worker::park() noexcept {
  deque_.trim();  // empty (the search found nothing): its memory comes back while we sleep
  const Sleep::ParkTicket ticket = sleep_.prepare_park(index_, searching_);
  if (ticket.stopping) return false;
  searching_ = false;
  // The last searcher to give up, and a worker that never searched (the cap), re-check everything
  // after registering as parked: a job published before a submitter could see us parked is found
  // here (see sleep.md).
  // What it finds, it takes itself: waking a peer instead would leave one worker woken for
  // nothing (sleep.md).
  if (ticket.must_recheck && pool_.work_visible() && sleep_.unpark_self(index_)) {
    searching_ = true;  // counted as a worker woken for work
    return true;
  }
  stats_.parks.add();
  const Sleep::Wake why =
      sleep_recorded([&] { return wait_for_token(ticket.others_awake, Deadline::never()); });
  searching_ = why == Sleep::Wake::work;  // the waker counted us as searching
  return why != Sleep::Wake::stop;
}

}  // namespace tp::detail
