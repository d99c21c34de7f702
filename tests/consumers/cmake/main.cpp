// A C++ consumer of the installed libtp through its CMake package, using tp.hpp.
#include <atomic>
#include <cstdio>
#include <cstring>
#include <tp/tp.hpp>

#define STRINGIFY2(x) #x
#define STRINGIFY(x) STRINGIFY2(x)

int main() {
  const char *header =
      STRINGIFY(TP_VERSION_MAJOR) "." STRINGIFY(TP_VERSION_MINOR) "." STRINGIFY(TP_VERSION_PATCH);
  if (std::strcmp(header, EXPECTED_VERSION) != 0 || tp_version() != TP_VERSION_NUMBER) {
    std::fprintf(stderr, "versions disagree: header %s, package %s\n", header, EXPECTED_VERSION);
    return 1;
  }
  auto pool = tp::ThreadPool::build(4);
  if (!pool || tp::ThreadPool::build(0).error() != tp::PoolError::ZeroWorkers) return 1;
  std::atomic<int> ran{0};
  for (int i = 0; i < 8; ++i) pool->execute([&] { ran++; });
  const int answer = pool->submit([] { return 42; }).get();
  pool->wait_idle();
  std::printf("C++ consumer via find_package(tp): %d jobs, answer %d\n", ran.load(), answer);
  return ran == 8 && answer == 42 ? 0 : 1;
}
