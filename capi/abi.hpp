// The ABI of the growable structs: the layout each had when it was first published, frozen here,
// and the field-by-field copy that lets a caller built against any version talk to this library.
//
// A caller passes `size` = sizeof the struct in the header it was built with. Older headers have
// fewer fields (a prefix of today's struct); the library reads and writes only the fields that lie
// wholly within the caller's `size`, and takes its defaults for the rest.
//
// tp_pool_options_init() takes no size: it writes sizeof(tp_pool_options) of the library's own
// header. Since 0.3 appended trace_path, it exists in two versions (tp.cpp, glibc's way): the 0.1
// entry point, tp_pool_options_init@TP_0, writes only kOptionsFirstSize bytes for programs built
// against 0.1, and the default one, tp_pool_options_init@@TP_0.3, writes today's struct.
// abi_0_1_test binds to the TP_0 version, as a program linked against 0.1 does, and checks with
// guard bytes that nothing past the 0.1 struct is written. A release that appends another field
// adds a third version at its own node the same way.

#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "tp/tp.h"

namespace tp::capi {

// Version 0.1, the first published. Never change these two: programs built against 0.1 pass
// exactly these sizes, and they must be accepted by every later library.
struct OptionsV0_1 {
  std::size_t size;
  std::size_t workers;
  tp_pin pin;
  unsigned spin_limit;
  const char *thread_name;
  void (*on_worker_start)(std::size_t worker, void *user);
  void (*on_worker_stop)(std::size_t worker, void *user);
  void *user;
};
struct StatsV0_1 {
  std::size_t size;
  std::uint64_t executed, stolen, from_injector, parks, exceptions, pinned;
};

inline constexpr std::size_t kOptionsFirstSize = sizeof(OptionsV0_1);
inline constexpr std::size_t kStatsFirstSize = sizeof(StatsV0_1);

// Today's structs begin with the 0.1 layout, field for field: new fields only ever go at the end.
#define TP_SAME_FIELD(Today, First, field)                          \
  static_assert(offsetof(Today, field) == offsetof(First, field) && \
                    sizeof(Today::field) == sizeof(First::field),   \
                #Today "." #field " moved")
TP_SAME_FIELD(tp_pool_options, OptionsV0_1, size);
TP_SAME_FIELD(tp_pool_options, OptionsV0_1, workers);
TP_SAME_FIELD(tp_pool_options, OptionsV0_1, pin);
TP_SAME_FIELD(tp_pool_options, OptionsV0_1, spin_limit);
TP_SAME_FIELD(tp_pool_options, OptionsV0_1, thread_name);
TP_SAME_FIELD(tp_pool_options, OptionsV0_1, on_worker_start);
TP_SAME_FIELD(tp_pool_options, OptionsV0_1, on_worker_stop);
TP_SAME_FIELD(tp_pool_options, OptionsV0_1, user);
TP_SAME_FIELD(tp_pool_stats, StatsV0_1, size);
TP_SAME_FIELD(tp_pool_stats, StatsV0_1, executed);
TP_SAME_FIELD(tp_pool_stats, StatsV0_1, stolen);
TP_SAME_FIELD(tp_pool_stats, StatsV0_1, from_injector);
TP_SAME_FIELD(tp_pool_stats, StatsV0_1, parks);
TP_SAME_FIELD(tp_pool_stats, StatsV0_1, exceptions);
TP_SAME_FIELD(tp_pool_stats, StatsV0_1, pinned);
#undef TP_SAME_FIELD
static_assert(sizeof(tp_pool_options) >= kOptionsFirstSize);
static_assert(sizeof(tp_pool_stats) >= kStatsFirstSize);

// Copies `field` from `from` to `to` when the whole field lies within the first `size` bytes of
// `from` (a caller's struct of that size); otherwise `to` keeps what it had. Only the address of
// a field beyond `size` is formed, never read.
template <class Struct, class Field>
void copy_within(Struct &to, const Struct &from, std::size_t size, Field Struct::*field) noexcept {
  const auto *base = reinterpret_cast<const unsigned char *>(&from);
  const auto *at = reinterpret_cast<const unsigned char *>(&(from.*field));
  if (static_cast<std::size_t>(at - base) + sizeof(Field) <= size) {
    std::memcpy(&(to.*field), at, sizeof(Field));
  }
}

}  // namespace tp::capi
