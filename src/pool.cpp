#include "pool.hpp"

#include <new>
#include <string>
#include <system_error>

#include "asymmetric_fence.hpp"
#include "machine.hpp"
#include "spin_wait.hpp"

namespace tp::detail {

namespace {
constexpr std::memory_order seq_cst = std::memory_order_seq_cst;
}  // namespace

Pool::Pool(const PoolConfig &config)
    : config_(config),
      asymmetric_fences_(asymmetric_fences()),
      injector_(config.workers, asymmetric_fences_),
      sleep_(config.workers),
      steal_epochs_(config.workers),
      trace_(Trace::open(config_)) {
  workers_.reserve(config.workers);
  for (std::size_t i = 0; i < config.workers; ++i) {
    workers_.push_back(std::make_unique<Worker>(*this, i, config.deque_capacity));
  }
}

Pool::~Pool() {
  // A pool is freed only after shutdown() drained it, or when create() failed before any job
  // could be accepted: a job still pending here would be lost with its deque.
  assert(stopped_ || quiescent());
  stop_workers();
  tsan::acquire(&tsan_edges_.allocated);  // see announce_allocations()
  // After the workers were joined: their records are complete and ordered before this. A pool
  // whose create failed ran nothing and writes nothing.
  if (trace_ != nullptr && stopped_) trace_->write();
}

Status Pool::create(const PoolConfig &config, std::unique_ptr<Pool> &out) noexcept {
  if (config.workers == 0) return Status::zero_workers;
  try {
    std::unique_ptr<Pool> pool(new Pool(config));
    pool->place_workers();
    if (const Status status = pool->start_workers(); status != Status::ok) return status;
    out = std::move(pool);
    return Status::ok;
  } catch (const std::bad_alloc &) {
    return Status::out_of_memory;
  } catch (const TopologyError &) {
    return Status::topology;
  } catch (...) {
    return Status::out_of_memory;  // nothing else throws here; resources were the problem
  }
}

void Pool::place_workers() {
  try {
    topology_ = Topology::machine();
  } catch (const TopologyError &) {
    if (config_.pin != Pin::none) throw;  // pinning needs hwloc; an unpinned pool does not
  }
  if (topology_ == nullptr) {
    usable_list_ = affinity_cpu_list();
    return;
  }
  const CpuSet usable = topology_->usable_by_new_threads();
  usable_list_ = usable.to_list();
  if (config_.pin == Pin::none) return;
  placement_ = plan_placement(*topology_, usable, workers_.size(), config_.pin);
  const std::vector<VictimOrder> victims = plan_victims(*topology_, placement_);
  for (std::size_t w = 0; w < workers_.size(); ++w) {
    placement_lists_.push_back(placement_[w].to_list());
    if (config_.ordered_victims) workers_[w]->set_victims(victims[w]);
  }
}

const std::string &Pool::worker_cpus(std::size_t worker) const noexcept {
  assert(worker < workers_.size());
  const bool pinned = workers_[worker]->stats().pinned.load(std::memory_order_relaxed);
  return pinned ? placement_lists_[worker] : usable_list_;
}

Status Pool::start_workers() noexcept {
  for (auto &worker : workers_) {
    try {
      if (worker->index() == config_.refuse_thread_of_worker) {
        throw std::system_error(std::make_error_code(std::errc::resource_unavailable_try_again));
      }
      worker->thread() = std::thread([w = worker.get()] { w->main(); });
    } catch (const std::system_error &) {
      stop_workers();
      return Status::thread_start;
    } catch (...) {
      stop_workers();
      return Status::out_of_memory;
    }
  }
  // Wait for every worker to be placed and hooked, so that a new pool's stats and placement are
  // settled and on_worker_start has run on every worker when create() returns.
  const auto count = static_cast<std::uint32_t>(workers_.size());
  for (std::uint32_t seen = started_.load(std::memory_order_acquire); seen != count;
       seen = started_.load(std::memory_order_acquire)) {
    started_.wait(seen, std::memory_order_acquire);
  }
  tsan::acquire(&started_);  // the start hooks before create() returns, for ThreadSanitizer
  return Status::ok;
}

void Pool::worker_started() noexcept {
  tsan::release(&started_);
  started_.fetch_add(1, std::memory_order_release);
  started_.notify_all();
}

void Pool::stop_workers() noexcept {
  sleep_.stop_all();
  for (auto &worker : workers_) {
    if (worker->thread().joinable()) worker->thread().join();
  }
}

inline void Pool::publish_in_lane(Lanes::Producer &lane, Job job) noexcept {
  const bool alone = lane.push(job);
  // Giving the lane back is a seq_cst store: a seq_cst load of the sleep state pairs with it
  // (sleep.md).
  lane.release();
  if (alone) {
    sleep_.notify_submitted_alone([&] { return lane.taken(); });
  } else {
    sleep_.notify_pushed();
  }
}

Status Pool::submit_from_outside(const Job *jobs, std::size_t count) noexcept {
  tsan::release(&tsan_edges_.submitted);
  if (count == 1) {
    // The fast path: a lane counts the job on its producer's line and publishes it by giving the
    // lane back; the ring's index is the one line the whole pool shares that this writes.
    if (Lanes::Producer lane = injector_.acquire_lane()) {
      lane.accept();
      // Dekker with shutdown(): it stores accepting_ and then reads every lane's count
      // (quiescent()); we count and then read accepting_ (seq_cst both).
      if (!accepting_.load(seq_cst)) {
        lane.unaccept();
        lane.release();
        count_changed();  // a waiter may have seen the count we took back
        return Status::shutdown;
      }
      publish_in_lane(lane, jobs[0]);
      return Status::ok;
    }
  }
  // Batches, and single jobs when every lane is busy or full: counted in admitted_.
  if (!admit_from_outside(count)) return Status::shutdown;
  try {
    if (count == 1) {
      injector_.push_to_shards(jobs[0]);
    } else {
      injector_.push_batch(jobs, count);  // one entry: all or nothing
    }
  } catch (...) {
    unadmit(count);
    return Status::out_of_memory;
  }
  announce_allocations();
  sleep_.notify_work();
  return Status::ok;
}

Status Pool::submit(Job job, Priority priority) noexcept {
  if (priority == Priority::normal) return submit(job);
  if (const Status status = admit(1); status != Status::ok) return status;
  tsan::release(&tsan_edges_.submitted);
  if (!priorities_.push(job, priority)) {
    unadmit_here(1);
    return Status::out_of_memory;
  }
  announce_allocations();
  // Every worker looks before its next job (the hint its per-job look reads); then, as after a
  // push into the injector, a searcher will find it, or a sleeper is woken.
  for (const auto &worker : workers_) worker->hint_priority_work();
  sleep_.notify_work();
  return Status::ok;
}

Status Pool::admit(std::uint64_t count) noexcept {
  if (Worker *self = Worker::current(this); self != nullptr && !self->exiting()) {
    self->admit(count);
    return Status::ok;
  }
  return admit_from_outside(count) ? Status::ok : Status::shutdown;
}

void Pool::unadmit_here(std::uint64_t count) noexcept {
  if (Worker *self = Worker::current(this); self != nullptr && !self->exiting()) {
    self->unadmit(count);
    return;
  }
  unadmit(count);
}

Status Pool::submit_carrier(Job carrier, bool behind_queued_work) noexcept {
  Worker *const self = Worker::current(this);
  if (self != nullptr && !self->exiting() && !behind_queued_work) {
    return self->spawn(carrier, /*counted=*/false);  // out_of_memory at worst: not exiting
  }
  tsan::release(&tsan_edges_.submitted);
  if (self == nullptr) {
    // From outside, through the thread's lane as a single submission goes (a queue's round trip
    // is then one, sleep.md "A lone job from outside"), but not counted in it: the carrier is no
    // job of its own.
    if (Lanes::Producer lane = injector_.acquire_lane()) {
      publish_in_lane(lane, carrier);
      return Status::ok;
    }
  }
  try {
    injector_.push_to_shards(carrier);
  } catch (...) {
    return Status::out_of_memory;
  }
  announce_allocations();
  sleep_.notify_work();
  return Status::ok;
}

bool Pool::admit_from_outside(std::uint64_t count) noexcept {
  // Count first, then look at accepting_: shutdown() stores accepting_ = false and then reads
  // the counts (quiescent()), so either it sees these jobs counted or we see it refuse (seq_cst
  // both).
  count_shared_write(SharedLine::admitted);
  admitted_.fetch_add(count, seq_cst);
  if (accepting_.load(seq_cst)) return true;
  unadmit(count);
  return false;
}

void Pool::unadmit(std::uint64_t count) noexcept {
  count_shared_write(SharedLine::admitted);
  admitted_.fetch_sub(count, seq_cst);
  count_changed();
}

bool Pool::quiescent() const noexcept {
  // Every finished count first, then every accepted count. Counts only grow (but for a refused
  // job's take-back, which was never visible), and a job is counted accepted before anyone can
  // finish it, so the finished total read first can equal the accepted total read after only if
  // at the moment of the last finished read every job accepted by then had finished, and none
  // was accepted between that moment and the accepted reads (sleep.md, "Counting jobs").
  std::uint64_t finished = 0;
  for (const auto &worker : workers_) finished += worker->finished_jobs();
  std::uint64_t accepted = admitted_.load(seq_cst) + injector_.accepted_through_lanes();
  for (const auto &worker : workers_) accepted += worker->spawned_jobs();
  assert(finished <= accepted && "more jobs finished than were accepted");
  return finished == accepted;
}

void Pool::count_changed() noexcept {
  // Dekker with wait_until_quiescent(): we changed a count and then look for waiters; a waiter
  // registers and then reads the counts. One of us sees the other.
  if (idle_waiters_.load(seq_cst) == 0 || !quiescent()) return;
  std::lock_guard lock(idle_mutex_);
  // Only quiescence seen under the lock counts: a waiter reads the epoch under the same lock, so
  // this moment came after the waiter started waiting, and every job accepted before then has
  // run. (One seen before a submission raced in would wrongly release the waiter.)
  if (!quiescent()) return;
  ++idle_epoch_;
  // Notified under the lock: once a waiter sees quiescence, shutdown and destroy may free the
  // pool, and this thread must not touch the condition variable after that.
  idle_cv_.notify_all();
}

bool Pool::wait_until_quiescent(Deadline deadline) noexcept {
  // Registered first: from now on workers report finished jobs as soon as they run dry (see
  // Worker::look_for_work), and each report checks for quiescence.
  idle_waiters_.fetch_add(1, seq_cst);
  std::uint64_t epoch;
  {
    std::lock_guard lock(idle_mutex_);
    epoch = idle_epoch_;
  }
  // A burst of short jobs usually drains within microseconds, while falling asleep and being
  // woken costs a futex round trip (tens of microseconds on a VM): spin as a worker would before
  // parking, then block. Quiescence seen after the call began means every job accepted before it
  // has run (the finished counts only lag behind the truth). seq_cst reads: in shutdown() they
  // are the second half of the Dekker pair with admission.
  SpinWait spin(config_.spin_limit);
  bool idle = spin.until([&] { return quiescent(); });
  if (!idle) {
    std::unique_lock lock(idle_mutex_);
    // The epoch lets a waiter leave after a moment of quiescence it was told about even if new
    // jobs arrived before it woke up: under a steady stream it would otherwise never return.
    const auto seen = [&] { return quiescent() || idle_epoch_ != epoch; };
    if (deadline.is_never()) {
      idle_cv_.wait(lock, seen);
      idle = true;
    } else {
      idle = idle_cv_.wait_until(lock, deadline.at(), seen);
    }
  }
  idle_waiters_.fetch_sub(1, seq_cst);
  if (idle) tsan::acquire(&tsan_edges_.finished);
  return idle;
}

Status Pool::wait_idle(Deadline deadline) noexcept {
  if (Worker::current(this) != nullptr) return Status::would_deadlock;
  return wait_until_quiescent(deadline) ? Status::ok : Status::timeout;
}

bool Pool::wait_for(Latch &latch, Deadline deadline) noexcept {
  if (Worker *self = Worker::current(this); self != nullptr && !self->exiting()) {
    return self->wait_until(latch, deadline);
  }
  return latch.wait(deadline);
}

Status Pool::shutdown() noexcept {
  if (Worker::current(this) != nullptr) return Status::would_deadlock;
  std::lock_guard lock(lifecycle_mutex_);
  if (stopped_) return Status::ok;
  accepting_.store(false, seq_cst);
  // The rare side of the admission pair: a lane's count may be a plain store still in its
  // submitter's store buffer (Lanes::Producer::accept()). After the fence, it is visible to the
  // reads of quiescent(), or that submitter's read of accepting_ sees false.
  if (asymmetric_fences_) heavy_fence();
  // Once the pool is seen quiescent after this point it stays so: outside submissions are refused
  // and no job is left to spawn more.
  wait_until_quiescent();
  stop_workers();
  stopped_ = true;
  return Status::ok;
}

bool Pool::work_visible() const noexcept {
  return !priorities_.looks_empty() || normal_work_visible();
}

bool Pool::normal_work_visible() const noexcept {
  if (!injector_.looks_empty()) return true;
  for (const auto &worker : workers_) {
    // Before its deque: jobs a worker takes along from the injector are in no queue until they
    // are on its deque (a low job taken meanwhile would overtake them).
    if (worker->carrying() || !worker->deque().looks_empty()) return true;
  }
  return false;
}

int Pool::current_worker() const noexcept {
  const Worker *self = Worker::current(this);
  return self == nullptr ? -1 : static_cast<int>(self->index());
}

StatsSnapshot Pool::worker_stats(std::size_t index) const noexcept {
  assert(index < workers_.size());
  const WorkerStats &stats = workers_[index]->stats();
  return StatsSnapshot{
      stats.executed.get(),      stats.stolen.get(),
      stats.from_injector.get(), stats.parks.get(),
      stats.exceptions.get(),    stats.pinned.load(std::memory_order_relaxed) ? 1u : 0u,
      stats.cancelled.get()};
}

StatsSnapshot Pool::stats() const noexcept {
  StatsSnapshot total;
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    const StatsSnapshot one = worker_stats(i);
    total.executed += one.executed;
    total.stolen += one.stolen;
    total.from_injector += one.from_injector;
    total.parks += one.parks;
    total.exceptions += one.exceptions;
    total.pinned += one.pinned;
    total.cancelled += one.cancelled;
  }
  return total;
}

}  // namespace tp::detail
