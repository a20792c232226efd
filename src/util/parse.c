#include "util/parse.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
  const char *name;
  int64_t ns;
} duration_units[] = {
  { "ns", 1 },
  { "us", 1000 },
  { "µs", 1000 },
  { "ms", 1000000 },
  { "s", INT64_C (1000000000) },
  { "m", INT64_C (60000000000) },
  { "h", INT64_C (3600000000000) },
};

int
fb_parse_duration (const char *s, int64_t *out_ns, fb_error *err)
{
  if (!s || !*s)
    return fb_error_set (err, EINVAL, "invalid duration \"\": expected a number with a unit such as \"500ms\" or \"2s\"");
  if (*s == '-')
    return fb_error_set (err, EINVAL, "invalid duration \"%s\": must not be negative", s);
  const char *p = s;
  double total = 0;
  while (*p)
    {
      char *end;
      if (!isdigit ((unsigned char) *p) && *p != '.')
        return fb_error_set (err, EINVAL, "invalid duration \"%s\": expected a number at \"%s\"", s, p);
      errno = 0;
      double v = strtod (p, &end);
      /* plain decimals only: strtod also takes "0x10" and "1e3" */
      if (end == p || errno || strspn (p, "0123456789.") < (size_t) (end - p))
        return fb_error_set (err, EINVAL, "invalid duration \"%s\": expected a number at \"%s\"", s, p);
      p = end;
      if (*p == '.')
        return fb_error_set (err, EINVAL, "invalid duration \"%s\": a second decimal point at \"%s\"", s, p);
      size_t ulen = 0;
      while (p[ulen] && !isdigit ((unsigned char) p[ulen]) && p[ulen] != '.')
        ulen++;
      if (ulen == 0)
        return fb_error_set (err, EINVAL, "invalid duration \"%s\": missing unit (ns, us, ms, s, m, h), e.g. \"%ss\"", s, s);
      int64_t unit = 0;
      for (size_t i = 0; i < sizeof duration_units / sizeof duration_units[0]; i++)
        if (strlen (duration_units[i].name) == ulen && strncmp (p, duration_units[i].name, ulen) == 0)
          unit = duration_units[i].ns;
      if (!unit)
        return fb_error_set (err, EINVAL, "invalid duration \"%s\": unknown unit \"%.*s\" (use ns, us, ms, s, m, h)", s, (int) ulen, p);
      total += v * (double) unit;
      p += ulen;
    }
  if (total > 9.2e18)
    return fb_error_set (err, ERANGE, "invalid duration \"%s\": too large", s);
  *out_ns = (int64_t) llround (total);
  return 0;
}

int
fb_parse_percent (const char *s, double *out, fb_error *err)
{
  if (!s || !*s)
    return fb_error_set (err, EINVAL, "invalid percentage \"\": expected e.g. \"30%%\"");
  char *end;
  errno = 0;
  double v = strtod (s, &end);
  if (end == s || errno || isnan (v))
    return fb_error_set (err, EINVAL, "invalid percentage \"%s\": expected e.g. \"30%%\"", s);
  if (*end == '%' && end[1] == '\0')
    v /= 100.0;
  else if (*end != '\0')
    return fb_error_set (err, EINVAL, "invalid percentage \"%s\": expected e.g. \"30%%\"", s);
  if (v < 0.0 || v > 1.0)
    return fb_error_set (err, ERANGE, "invalid percentage \"%s\": must be between 0%% and 100%%", s);
  *out = v;
  return 0;
}

typedef struct {
  const char *sfx;
  double mul;
} unit_t;

static int
parse_scaled (const char *s, const char *what, const unit_t *units, size_t nunits, uint64_t *out, fb_error *err)
{
  if (!s || !*s || *s == '-')
    return fb_error_set (err, EINVAL, "invalid %s \"%s\"", what, s ? s : "");
  char *end;
  errno = 0;
  double v = strtod (s, &end);
  if (end == s || errno || !isfinite (v))
    return fb_error_set (err, EINVAL, "invalid %s \"%s\"", what, s);
  for (size_t i = 0; i < nunits; i++)
    if (strcasecmp (end, units[i].sfx) == 0)
      {
        double r = v * units[i].mul;
        if (r > 1.8e19)
          return fb_error_set (err, ERANGE, "invalid %s \"%s\": too large", what, s);
        *out = (uint64_t) llround (r);
        return 0;
      }
  return fb_error_set (err, EINVAL, "invalid %s \"%s\": unknown unit \"%s\"", what, s, end);
}

int
fb_parse_size (const char *s, uint64_t *out, fb_error *err)
{
  static const unit_t units[] = {
    { "", 1 }, { "b", 1 }, { "k", 1024.0 }, { "kb", 1024.0 }, { "m", 1048576.0 },
    { "mb", 1048576.0 }, { "g", 1073741824.0 }, { "gb", 1073741824.0 },
  };
  return parse_scaled (s, "size", units, sizeof units / sizeof units[0], out, err);
}

int
fb_parse_rate (const char *s, uint64_t *out, fb_error *err)
{
  /* tc's units: bit = bits/s, bps = bytes/s; k/m/g are decimal. */
  static const unit_t units[] = {
    { "bit", 1 / 8.0 }, { "kbit", 1e3 / 8 }, { "mbit", 1e6 / 8 }, { "gbit", 1e9 / 8 },
    { "bps", 1 }, { "kbps", 1e3 }, { "mbps", 1e6 }, { "gbps", 1e9 },
  };
  return parse_scaled (s, "rate", units, sizeof units / sizeof units[0], out, err);
}

int
fb_parse_int (const char *s, long long min, long long max, long long *out, fb_error *err)
{
  if (!s || !*s)
    return fb_error_set (err, EINVAL, "invalid number \"\"");
  char *end;
  errno = 0;
  long long v = strtoll (s, &end, 10);
  if (*end || end == s)
    return fb_error_set (err, EINVAL, "invalid number \"%s\"", s);
  if (errno == ERANGE || v < min || v > max)
    return fb_error_set (err, ERANGE, "number %s out of range [%lld, %lld]", s, min, max);
  *out = v;
  return 0;
}

int
fb_parse_addr (const char *s, fb_error *err)
{
  const char *colon = strchr (s, ':');
  size_t hl = colon ? (size_t) (colon - s) : strlen (s);
  char host[INET_ADDRSTRLEN];
  struct in_addr a;
  if (hl >= sizeof host || (memcpy (host, s, hl), host[hl] = '\0', inet_pton (AF_INET, host, &a) != 1))
    return fb_error_set (err, EINVAL, "invalid address \"%s\": want an IPv4 address, optionally with a port (10.0.0.2 or 10.0.0.2:5432)", s);
  fb_error e = { 0 };
  long long port;
  if (colon && fb_parse_int (colon + 1, 1, 65535, &port, &e) < 0)
    return fb_error_set (err, e.code, "invalid address \"%s\": port: %s", s, e.msg);
  return 0;
}

/* Digits only, at most 6 of them: no sign, space or overflow to handle. */
static bool
small_count (const char *s, size_t len, unsigned *out)
{
  if (len == 0 || len > 6 || strspn (s, "0123456789") < len)
    return false;
  *out = 0;
  for (size_t i = 0; i < len; i++)
    *out = *out * 10 + (unsigned) (s[i] - '0');
  return true;
}

int
fb_parse_shard (const char *s, unsigned *index, unsigned *count, fb_error *err)
{
  const char *slash = s ? strchr (s, '/') : NULL;
  unsigned i, n;
  if (!slash || !small_count (s, (size_t) (slash - s), &i) || !small_count (slash + 1, strlen (slash + 1), &n))
    return fb_error_set (err, EINVAL, "want I/N, the I-th of N shards (e.g. 2/4), not \"%s\"", s ? s : "");
  if (i < 1 || i > n)
    return fb_error_set (err, ERANGE, "shard %u/%u: want 1 <= I <= N", i, n);
  *index = i;
  *count = n;
  return 0;
}

void
fb_format_duration (int64_t ns, char *buf, size_t len)
{
  if (ns == 0)
    snprintf (buf, len, "0s");
  else if (ns % INT64_C (1000000000) == 0)
    snprintf (buf, len, "%llds", (long long) (ns / INT64_C (1000000000)));
  else if (ns >= INT64_C (1000000000))
    snprintf (buf, len, "%gs", (double) ns / 1e9);
  else if (ns % 1000000 == 0)
    snprintf (buf, len, "%lldms", (long long) (ns / 1000000));
  else if (ns >= 1000000)
    snprintf (buf, len, "%gms", (double) ns / 1e6);
  else if (ns % 1000 == 0)
    snprintf (buf, len, "%lldus", (long long) (ns / 1000));
  else
    snprintf (buf, len, "%lldns", (long long) ns);
}
