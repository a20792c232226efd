#include "fb_test.h"

#include "image/image.h"

#include <string.h>

static void
test_ref_transports_split_path_at_first_colon (void **state)
{
  img_ref r;
  fb_error e = { 0 };
  assert_int_equal (img_ref_parse ("oci:img:v1", "/spec", &r, &e), 0);
  assert_int_equal (r.transport, IMG_OCI);
  assert_string_equal (r.path, "/spec/img");
  assert_string_equal (r.tag, "v1");
  img_ref_clear (&r);
  assert_int_equal (img_ref_parse ("oci-archive:/abs/a.tar", "/spec", &r, &e), 0);
  assert_int_equal (r.transport, IMG_OCI_ARCHIVE);
  assert_string_equal (r.path, "/abs/a.tar");
  assert_null (r.tag);
  img_ref_clear (&r);
  /* docker-archive's name may itself hold a colon: only the first splits */
  assert_int_equal (img_ref_parse ("docker-archive:x.tar:name:tag", NULL, &r, &e), 0);
  assert_int_equal (r.transport, IMG_DOCKER_ARCHIVE);
  assert_string_equal (r.path, "x.tar");
  assert_string_equal (r.tag, "name:tag");
  img_ref_clear (&r);
}

static void
test_ref_bare_names_go_to_the_daemon (void **state)
{
  img_ref r;
  fb_error e = { 0 };
  static const char *const bare[] = { "postgres", "postgres:16-alpine", "registry:5000/ns/app:1",
                                      "app@sha256:0123" };
  for (size_t i = 0; i < sizeof bare / sizeof bare[0]; i++)
    {
      assert_int_equal (img_ref_parse (bare[i], "/spec", &r, &e), 0);
      assert_int_equal (r.transport, IMG_DAEMON);
      assert_string_equal (r.path, bare[i]);
      img_ref_clear (&r);
    }
}

static void
test_ref_refuses_registries_and_empty_parts (void **state)
{
  img_ref r;
  fb_error e = { 0 };
  assert_true (img_ref_parse ("docker://postgres:16", NULL, &r, &e) < 0);
  assert_non_null (strstr (e.msg, "faultbox never pulls"));
  assert_non_null (strstr (e.msg, "oci-archive:FILE[:TAG]"));
  assert_true (img_ref_parse ("oci:", NULL, &r, &e) < 0);
  assert_true (img_ref_parse ("oci:dir:", NULL, &r, &e) < 0);
  assert_true (img_ref_parse ("", NULL, &r, &e) < 0);
  assert_true (img_ref_parse ("containers-storage:x", NULL, &r, &e) < 0);
}

static void
test_clean_path_is_lexical_and_never_climbs_out (void **state)
{
  char out[64];
  assert_int_equal (img_clean_path ("./a//b/../c", out, sizeof out), 0);
  assert_string_equal (out, "a/c");
  assert_int_equal (img_clean_path ("/etc/passwd", out, sizeof out), 0);
  assert_string_equal (out, "etc/passwd");
  assert_int_equal (img_clean_path ("./", out, sizeof out), 0);
  assert_string_equal (out, "");
  assert_int_equal (img_clean_path ("../x", out, sizeof out), -1);
  assert_int_equal (img_clean_path ("a/../../x", out, sizeof out), -1);
  assert_int_equal (img_clean_path ("a/b/../../x", out, sizeof out), 0);
  assert_string_equal (out, "x");
}

static void
test_digest_validity_and_sha256 (void **state)
{
  char d[72];
  img_sha256 ("abc", 3, d);
  assert_string_equal (d, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  assert_true (img_digest_valid (d));
  assert_false (img_digest_valid ("sha256:BA7816"));
  assert_false (img_digest_valid ("sha512:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
  assert_false (img_digest_valid (NULL));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_ref_transports_split_path_at_first_colon),
    cmocka_unit_test (test_ref_bare_names_go_to_the_daemon),
    cmocka_unit_test (test_ref_refuses_registries_and_empty_parts),
    cmocka_unit_test (test_clean_path_is_lexical_and_never_climbs_out),
    cmocka_unit_test (test_digest_validity_and_sha256),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
