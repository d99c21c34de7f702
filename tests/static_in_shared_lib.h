/* The one function of static_in_shared_lib.c: runs `jobs` jobs that each add one to *ran on a
 * private 2-worker pool; 0 on success. */
#pragma once
__attribute__((visibility("default"))) int run_jobs_in_private_pool(unsigned long jobs,
                                                                    unsigned long *ran);
