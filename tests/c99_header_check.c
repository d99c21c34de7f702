/* Compiled as strict C99 with -Wpedantic -Werror: the public header must be valid C99. */
#include "tp/tp.h"

int tp_c99_header_check(void);
int tp_c99_header_check(void) {
  tp_pool_options options;
  tp_pool_options_init(&options);
  return options.workers > 0 ? TP_OK : TP_ERR_ZERO_WORKERS;
}
