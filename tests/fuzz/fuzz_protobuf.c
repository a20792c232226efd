/* libFuzzer target: the protobuf codec of typed gRPC mocks. Each input is
 * read as a FileDescriptorSet, as a flags.v1.Flag message and as JSON to
 * encode as one, by tests/bad-input/data-files/flags.pb (scripts/fuzz runs
 * from the source root). */
#include "faultbox/protobuf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static fb_pb_set *
flags_set (void)
{
  static fb_pb_set *set;
  static int tried;
  if (tried++)
    return set;
  FILE *f = fopen ("tests/bad-input/data-files/flags.pb", "rb");
  char buf[4096];
  size_t n = f ? fread (buf, 1, sizeof buf, f) : 0;
  if (f)
    fclose (f);
  fb_error e = { 0 };
  if (n && fb_pb_set_parse (buf, n, &set, &e) < 0)
    set = NULL;
  return set;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  fb_error e = { 0 };
  fb_pb_set *other;
  if (fb_pb_set_parse (data, size, &other, &e) == 0)
    fb_pb_set_free (other);
  fb_pb_set *set = flags_set ();
  if (!set)
    return 0;
  free (fb_pb_decode_json (set, "flags.v1.Flag", data, size, &e));
  char *json = malloc (size + 1);
  memcpy (json, data, size);
  json[size] = '\0';
  fb_buf out = FB_BUF_INIT;
  fb_pb_encode_json (set, "flags.v1.Flag", json, &out, &e);
  fb_buf_free (&out);
  free (json);
  return 0;
}
