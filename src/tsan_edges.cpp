#include "tsan_edges.hpp"

#include <dlfcn.h>

namespace tp::detail::tsan {

namespace {

using Entry = void (*)(void *);

Entry look_up(const char *name) noexcept {
  // A data pointer converted to a function pointer: what dlsym() returns, as POSIX requires to
  // work.
  return reinterpret_cast<Entry>(dlsym(RTLD_DEFAULT, name));
}

Entries resolve() noexcept {
  if (kBuiltWithTsan) return Entries{};
  Entries found{look_up("__tsan_acquire"), look_up("__tsan_release")};
  // Both or neither: an acquire without its release would order nothing.
  if (found.acquire == nullptr || found.release == nullptr) return Entries{};
  return found;
}

}  // namespace

// Dynamic initialisation when the library is loaded, after the TSan runtime (a dependency of the
// program, loaded first). Nothing in libtp announces before it: until then both are null.
const Entries entries = resolve();

}  // namespace tp::detail::tsan
