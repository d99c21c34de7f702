#include "trace.hpp"

#include <cxxabi.h>
#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <map>

#include "config.hpp"
#include "tp/tp.h"

namespace tp::detail {

namespace {

// Numbers the traced pools of the process for their file names.
std::atomic<std::uint64_t> traced_pools{0};

const char *pin_name(Pin pin) noexcept {
  switch (pin) {
    case Pin::none:
      return "none";
    case Pin::cores:
      return "cores";
    case Pin::spread:
      return "spread";
  }
  return "?";
}

// The symbol a job's function is known by: its dynamic symbol (demangled) when the function is
// exported (dladdr sees only those: a static function, or one of an executable linked without
// -rdynamic, has none), else its address.
std::string symbol_of(const void *function) {
  Dl_info info{};
  if (dladdr(function, &info) != 0 && info.dli_sname != nullptr && info.dli_saddr == function) {
    int status = -1;
    char *demangled = abi::__cxa_demangle(info.dli_sname, nullptr, nullptr, &status);
    std::string name = status == 0 && demangled != nullptr ? demangled : info.dli_sname;
    std::free(demangled);
    return name;
  }
  char text[2 + 16 + 1];
  std::snprintf(text, sizeof text, "%#" PRIxPTR, reinterpret_cast<std::uintptr_t>(function));
  return text;
}

// `text` as a JSON string, quotes included.
std::string json_string(const std::string &text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[7];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
      out += escaped;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// Nanoseconds since `origin_ns` as microseconds with three decimals, the unit of "ts" and "dur".
// Written with integers: printf's %f follows the program's LC_NUMERIC, and a decimal comma would
// make the file invalid JSON.
struct Micros {
  char text[32];
};
Micros micros_since(std::uint64_t origin_ns, std::uint64_t ns) noexcept {
  const std::uint64_t elapsed = ns < origin_ns ? 0 : ns - origin_ns;
  Micros micros;
  std::snprintf(micros.text, sizeof micros.text, "%" PRIu64 ".%03u", elapsed / 1000,
                static_cast<unsigned>(elapsed % 1000));
  return micros;
}

}  // namespace

TraceBuffer::TraceBuffer(std::size_t capacity)
    : events_(new TraceEvent[capacity]), mask_(capacity - 1) {}

std::unique_ptr<Trace> Trace::open(const PoolConfig &config) {
  std::string path;
  if (!config.traceable) return nullptr;
  if (!config.trace_path.empty()) {
    path = config.trace_path;
  } else if (const char *prefix = secure_getenv("TP_TRACE");  // none in a setuid program, where
             prefix != nullptr && *prefix != '\0') {          // a user would pick the file
    path = std::string(prefix) + "." + std::to_string(getpid()) + "." +
           std::to_string(traced_pools.fetch_add(1, std::memory_order_relaxed)) + ".json";
  } else {
    return nullptr;
  }
  return std::make_unique<Trace>(std::move(path), config);
}

Trace::Trace(std::string path, const PoolConfig &config)
    : path_(std::move(path)), config_(config), origin_ns_(trace_now()) {
  buffers_.reserve(config.workers);
  for (std::size_t i = 0; i < config.workers; ++i) buffers_.emplace_back(kTraceEventsPerWorker);
}

bool Trace::write() const noexcept {
  try {
    const std::unique_ptr<std::FILE, int (*)(std::FILE *)> owned(std::fopen(path_.c_str(), "w"),
                                                                 &std::fclose);
    std::FILE *const file = owned.get();
    if (file == nullptr) return false;
    const long pid = static_cast<long>(getpid());
    std::uint64_t recorded = 0;
    std::uint64_t dropped = 0;
    for (const TraceBuffer &buffer : buffers_) {
      recorded += buffer.recorded();
      dropped += buffer.dropped();
    }
    std::fprintf(file, "{\"displayTimeUnit\":\"ns\",\n");
    // The pool's options and what was lost: chrome://tracing shows otherData as the trace's
    // metadata; the same also rides on the process's name record for Perfetto.
    const std::string options =
        "{\"library\":\"libtp " + std::to_string(TP_VERSION_MAJOR) + "." +
        std::to_string(TP_VERSION_MINOR) + "." + std::to_string(TP_VERSION_PATCH) +
        "\",\"workers\":" + std::to_string(config_.workers) + ",\"pin\":\"" +
        pin_name(config_.pin) + "\",\"spin_limit\":" + std::to_string(config_.spin_limit) +
        ",\"thread_name\":" + json_string(config_.thread_name) +
        ",\"events_per_worker\":" + std::to_string(buffers_.empty() ? 0 : buffers_[0].capacity()) +
        ",\"events_recorded\":" + std::to_string(recorded) +
        ",\"events_dropped\":" + std::to_string(dropped) + "}";
    std::fprintf(file, "\"otherData\":%s,\n\"traceEvents\":[\n", options.c_str());
    std::fprintf(file,
                 "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":%ld,\"tid\":0,"
                 "\"args\":{\"name\":\"libtp pool\",\"options\":%s}}",
                 pid, options.c_str());
    std::map<const void *, std::string> names;  // each function's symbol, looked up once
    for (std::size_t worker = 0; worker < buffers_.size(); ++worker) {
      const long tid = static_cast<long>(worker) + 1;
      std::fprintf(file,
                   ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":%ld,\"tid\":%ld,"
                   "\"args\":{\"name\":%s,\"dropped\":%" PRIu64 "}}",
                   pid, tid, json_string(worker_thread_name(config_.thread_name, worker)).c_str(),
                   buffers_[worker].dropped());
      std::fprintf(file,
                   ",\n{\"name\":\"thread_sort_index\",\"ph\":\"M\",\"pid\":%ld,\"tid\":%ld,"
                   "\"args\":{\"sort_index\":%ld}}",
                   pid, tid, tid);
      buffers_[worker].for_each([&](const TraceEvent &event) {
        const Micros ts = micros_since(origin_ns_, event.start_ns);
        switch (event.kind) {
          case TraceEvent::Kind::job:
          case TraceEvent::Kind::park: {
            const bool job = event.kind == TraceEvent::Kind::job;
            static const std::string park = "\"park\"";
            const std::string *name = &park;
            if (job) {
              auto [at, added] = names.try_emplace(event.subject);
              if (added) at->second = json_string(symbol_of(event.subject));
              name = &at->second;
            }
            std::fprintf(file,
                         ",\n{\"name\":%s,\"cat\":\"%s\",\"ph\":\"X\",\"ts\":%s,"
                         "\"dur\":%s,\"pid\":%ld,\"tid\":%ld}",
                         name->c_str(), job ? "job" : "park", ts.text,
                         micros_since(event.start_ns, event.end_ns).text, pid, tid);
            break;
          }
          case TraceEvent::Kind::steal:
            std::fprintf(file,
                         ",\n{\"name\":\"steal\",\"cat\":\"steal\",\"ph\":\"i\",\"s\":\"t\","
                         "\"ts\":%s,\"pid\":%ld,\"tid\":%ld,\"args\":{\"from\":%s}}",
                         ts.text, pid, tid,
                         json_string(worker_thread_name(config_.thread_name, event.value)).c_str());
            break;
          case TraceEvent::Kind::injector:
            std::fprintf(file,
                         ",\n{\"name\":\"injector\",\"cat\":\"injector\",\"ph\":\"i\",\"s\":\"t\","
                         "\"ts\":%s,\"pid\":%ld,\"tid\":%ld,\"args\":{\"jobs\":%" PRIu32 "}}",
                         ts.text, pid, tid, event.value);
            break;
        }
      });
    }
    std::fprintf(file, "\n]}\n");
    return std::fflush(file) == 0 && std::ferror(file) == 0;
  } catch (...) {
    return false;  // out of memory for a name: the trace is lost, the pool is not
  }
}

}  // namespace tp::detail
