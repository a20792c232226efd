/* `faultbox merge`: the reports of the shards of one spec as one report,
 * in the order a single run would have (tests sorted by name). */
#include "faultbox/report.h"
#include "util/alloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int
cmp_names (const void *a, const void *b)
{
  return strcmp (((const fb_test_result *) a)->name, ((const fb_test_result *) b)->name);
}

int
fb_report_merge (fb_report *into, fb_report *from, fb_error *err)
{
  if (into->star_file && from->star_file && strcmp (into->star_file, from->star_file))
    return fb_error_set (err, EINVAL, "reports of different specs: %s and %s", into->star_file, from->star_file);
  /* into stays sorted, so a test run by two shards is found by bisection
   * (bsearch and qsort want a non-NULL array even when it is empty) */
  for (size_t i = 0; into->n_tests && i < from->n_tests; i++)
    if (bsearch (&from->tests[i], into->tests, into->n_tests, sizeof *into->tests, cmp_names))
      return fb_error_set (err, EEXIST, "%s is in more than one report (overlapping shards?)", from->tests[i].name);
  if (!into->star_file)
    into->star_file = from->star_file, from->star_file = NULL;
  for (size_t i = 0; i < from->n_tests; i++)
    fb_report_take_test (into, &from->tests[i]);
  if (into->n_tests)
    qsort (into->tests, into->n_tests, sizeof *into->tests, cmp_names);
  if (!into->n_matrix_scenarios)
    {
      into->matrix_scenarios = from->matrix_scenarios, into->n_matrix_scenarios = from->n_matrix_scenarios;
      into->matrix_faults = from->matrix_faults, into->n_matrix_faults = from->n_matrix_faults;
      from->matrix_scenarios = from->matrix_faults = NULL;
      from->n_matrix_scenarios = from->n_matrix_faults = 0;
    }
  /* shards run side by side: the merged run took as long as the longest */
  if (from->duration_ms > into->duration_ms)
    into->duration_ms = from->duration_ms;
  into->not_run += from->not_run;
  /* the merged run began with the first shard */
  if (from->start_time && (!into->start_time || from->start_time < into->start_time))
    into->start_time = from->start_time;
  if (!into->hostname)
    into->hostname = from->hostname, from->hostname = NULL;
  return 0;
}
