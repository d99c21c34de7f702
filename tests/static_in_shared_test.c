/* Calls into a shared library that links libtp.a (static_in_shared_lib.c). */
#include <stdio.h>

#include "static_in_shared_lib.h"

int main(void) {
  unsigned long ran = 0;
  const int status = run_jobs_in_private_pool(1000, &ran);
  if (status != 0 || ran != 1000) {
    fprintf(stderr, "static_in_shared_test: status %d, %lu of 1000 jobs ran\n", status, ran);
    return 1;
  }
  return 0;
}
