/* `--test PATTERN`: which tests a run selects. */
#ifndef FB_RUNNER_MATCH_H
#define FB_RUNNER_MATCH_H

#include <stdbool.h>
#include "faultbox/error.h"

/* Compiled pattern: exact ("test_x"), short ("x"), glob ("order_*", tried
 * with and without "test_"), regex ("~^test_matrix_.*db"), or a matrix base
 * ("test_matrix_order_flow" selects all its cells). */
typedef struct fb_test_filter fb_test_filter;

int fb_test_filter_new (const char *pattern, fb_test_filter **out, fb_error *err);
/* matrix_scenario: the scenario of a matrix cell, else NULL. */
bool fb_test_filter_match (const fb_test_filter *f, const char *test_name, const char *matrix_scenario);
void fb_test_filter_free (fb_test_filter *f);

#endif
