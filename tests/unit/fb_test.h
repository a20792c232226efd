/* Shared helpers for cmocka unit tests. */
#ifndef FB_TEST_H
#define FB_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

/* Skips the current test with a reason, unless FAULTBOX_REQUIRE_ALL=1, in
 * which case a missing feature or privilege is a failure. */
#define FB_SKIP(...)                                                           \
  do                                                                           \
    {                                                                          \
      const char *ra_ = getenv ("FAULTBOX_REQUIRE_ALL");                       \
      fprintf (stderr, "skip: " __VA_ARGS__);                                  \
      fputc ('\n', stderr);                                                    \
      if (ra_ && strcmp (ra_, "1") == 0)                                       \
        fail_msg ("FAULTBOX_REQUIRE_ALL=1: a skip is a failure");             \
      skip ();                                                                 \
    }                                                                          \
  while (0)

#endif
