/* What `faultbox test` and `faultbox merge` print and write once the
 * results are in: the matrix and summary, JSON, JUnit, HTML, the normalized
 * trace. */
#ifndef FB_CLI_REPORT_OUT_H
#define FB_CLI_REPORT_OUT_H

#include <stdbool.h>
#include <stdio.h>

#include "faultbox/report.h"

typedef struct {
  const char *cmd;      /* for errors: "test", "merge" */
  bool json;            /* the JSON report on stdout */
  const char *output;   /* also write the JSON report here */
  const char *junit;    /* write JUnit XML here */
  const char *html;     /* write the HTML report here */
  const char *normalize; /* write the normalized trace here */
  const char *shiviz;   /* write a ShiViz log here */
  FILE *human;          /* summary lines: stdout, or stderr with json */
  bool interrupted;
} fb_cli_report_out;

/* Returns the exit code: 0 all passed, 2 a test failed or did not run, 1 a
 * file could not be written. */
int fb_cli_report_finish (const fb_report *rep, const fb_cli_report_out *ro);

#endif
