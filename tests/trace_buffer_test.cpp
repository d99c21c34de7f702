// A worker's trace buffer (src/trace.hpp): a ring that keeps the newest events and counts the
// ones it dropped.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "trace.hpp"

namespace {

using tp::detail::TraceBuffer;
using tp::detail::TraceEvent;

std::vector<std::uint32_t> kept_values(const TraceBuffer &buffer) {
  std::vector<std::uint32_t> values;
  buffer.for_each([&](const TraceEvent &event) { values.push_back(event.value); });
  return values;
}

TEST(TraceBuffer, KeepsEverythingUntilFull) {
  TraceBuffer buffer(8);
  for (std::uint32_t i = 0; i < 8; ++i)
    buffer.record(TraceEvent{i, i, nullptr, TraceEvent::Kind::steal, i});
  EXPECT_EQ(buffer.recorded(), 8u);
  EXPECT_EQ(buffer.dropped(), 0u);
  EXPECT_EQ(kept_values(buffer), (std::vector<std::uint32_t>{0, 1, 2, 3, 4, 5, 6, 7}));
}

TEST(TraceBuffer, WhenFullDropsTheOldestAndCountsThem) {
  TraceBuffer buffer(8);
  for (std::uint32_t i = 0; i < 20; ++i)
    buffer.record(TraceEvent{i, i, nullptr, TraceEvent::Kind::steal, i});
  EXPECT_EQ(buffer.recorded(), 20u);
  EXPECT_EQ(buffer.dropped(), 12u);
  EXPECT_EQ(kept_values(buffer), (std::vector<std::uint32_t>{12, 13, 14, 15, 16, 17, 18, 19}));
}

TEST(TraceBuffer, SpansEndWhenRecorded) {
  TraceBuffer buffer(2);
  const std::uint64_t start = tp::detail::trace_now();
  buffer.span(TraceEvent::Kind::job, &buffer, start);
  ASSERT_EQ(buffer.recorded(), 1u);
  buffer.for_each([&](const TraceEvent &event) {
    EXPECT_EQ(event.kind, TraceEvent::Kind::job);
    EXPECT_EQ(event.subject, &buffer);
    EXPECT_EQ(event.start_ns, start);
    EXPECT_GE(event.end_ns, start);
  });
}

}  // namespace
