/* libFuzzer target: the JSON report readers on untrusted bytes, and the
 * round trip: what a reader accepts, written and read again, writes the
 * same text (so `faultbox merge` of merged reports is stable). */
#include "faultbox/report.h"
#include "faultbox/buf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* write, read back, write again: both writes equal */
static void
report_round_trip (const fb_report *r)
{
  fb_buf a = FB_BUF_INIT, b = FB_BUF_INIT;
  fb_error err = { 0 };
  if (fb_report_json (r, &a, &err) < 0)
    abort ();
  fb_report again;
  if (fb_report_from_json (fb_buf_str (&a), &again, &err) < 0)
    abort (); /* a report we wrote must read back */
  if (fb_report_json (&again, &b, &err) < 0 || strcmp (fb_buf_str (&a), fb_buf_str (&b)) != 0)
    abort ();
  fb_report_free (&again);
  fb_buf_free (&a);
  fb_buf_free (&b);
}

static void
test_round_trip (const fb_test_result *t)
{
  const fb_report r = { .star_file = (char *) "fuzz.star" };
  fb_buf a = FB_BUF_INIT, b = FB_BUF_INIT;
  fb_error err = { 0 };
  if (fb_test_result_json (&r, t, &a, &err) < 0)
    abort ();
  fb_test_result again;
  if (fb_test_result_from_json (fb_buf_str (&a), &again, &err) < 0)
    abort ();
  if (fb_test_result_json (&r, &again, &b, &err) < 0 || strcmp (fb_buf_str (&a), fb_buf_str (&b)) != 0)
    abort ();
  fb_test_result_clear (&again);
  fb_buf_free (&a);
  fb_buf_free (&b);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *s = malloc (size + 1);
  memcpy (s, data, size);
  s[size] = '\0';
  fb_error err = { 0 };
  fb_report r;
  if (fb_report_from_json (s, &r, &err) == 0)
    {
      report_round_trip (&r);
      fb_report_free (&r);
    }
  fb_test_result t;
  if (fb_test_result_from_json (s, &t, &err) == 0)
    {
      test_round_trip (&t);
      fb_test_result_clear (&t);
    }
  free (s);
  return 0;
}
