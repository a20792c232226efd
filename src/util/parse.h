/* Parsers for the units users type: durations, percentages, sizes. */
#ifndef FB_UTIL_PARSE_H
#define FB_UTIL_PARSE_H

#include <stdint.h>
#include "faultbox/error.h"

/* "500ms", "2s", "1.5s", "100us", "3m", "1h", "250ns", "1m30s". A unit is
 * required ("5" is rejected) and the value must be >= 0. */
int fb_parse_duration (const char *s, int64_t *out_ns, fb_error *err);

/* "30%", "0.5%", "100%" -> 0.30 etc.; also a bare fraction "0.3". */
int fb_parse_percent (const char *s, double *out, fb_error *err);

/* "64k", "10M", "1G", "512" (bytes, powers of 1024); "1mbit"/"100kbit" rates
 * go through fb_parse_rate (bits per second -> bytes per second). */
int fb_parse_size (const char *s, uint64_t *out, fb_error *err);
int fb_parse_rate (const char *s, uint64_t *out_bytes_per_s, fb_error *err);

/* Decimal integer in [min, max]. */
int fb_parse_int (const char *s, long long min, long long max, long long *out, fb_error *err);

/* "10.0.0.2" or "10.0.0.2:5432": an IPv4 address, optionally with a port
 * (what a fault's to= names). */
int fb_parse_addr (const char *s, fb_error *err);

/* "2/4": the 2nd of 4 shards (1 <= I <= N). */
int fb_parse_shard (const char *s, unsigned *index, unsigned *count, fb_error *err);

/* Formats ns as Go does for the common cases: "500ms", "2s", "1.5s", "0s". */
void fb_format_duration (int64_t ns, char *buf, size_t len);

#endif
