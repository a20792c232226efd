/* libFuzzer target: the parsers of durations, percentages, sizes, rates,
 * addresses. */
#include "util/parse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *s = malloc (size + 1);
  memcpy (s, data, size);
  s[size] = '\0';
  int64_t ns;
  double p;
  uint64_t v;
  long long n;
  char buf[64];
  if (fb_parse_duration (s, &ns, NULL) == 0)
    fb_format_duration (ns, buf, sizeof buf);
  fb_parse_percent (s, &p, NULL);
  fb_parse_size (s, &v, NULL);
  fb_parse_rate (s, &v, NULL);
  fb_parse_int (s, -100, 100, &n, NULL);
  fb_parse_addr (s, NULL);
  free (s);
  return 0;
}
