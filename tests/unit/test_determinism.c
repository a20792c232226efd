#include "fb_test.h"

#include <string.h>
#include <sys/socket.h>

#include "lang/internal.h"

/* category indices as determinism() lists them */
enum { CLOCK, RAND, DNS, NET, FS, RAW };

static char *const lab[] = { "10.213.0.2", "10.213.0.3", "10.213.1.2", "10.213.0.1" };

static int
classify (const char *sc, const uint64_t *args, const char *path, char *detail)
{
  return spec_det_classify (sc, args, path, lab, 4, detail, 160);
}

static void
test_clock_reads_name_their_clock (void **state)
{
  char d[160];
  assert_int_equal (classify ("clock_gettime", (uint64_t[6]) { 0 }, NULL, d), CLOCK);
  assert_string_equal (d, "clock_gettime(CLOCK_REALTIME)");
  assert_int_equal (classify ("clock_gettime", (uint64_t[6]) { 1 }, NULL, d), CLOCK);
  assert_string_equal (d, "clock_gettime(CLOCK_MONOTONIC)");
  assert_int_equal (classify ("gettimeofday", (uint64_t[6]) { 0 }, NULL, d), CLOCK);
  assert_string_equal (d, "gettimeofday");
}

static void
test_random_is_getrandom_and_the_random_devices (void **state)
{
  char d[160];
  assert_int_equal (classify ("getrandom", (uint64_t[6]) { 0, 8, 1 }, NULL, d), RAND);
  assert_string_equal (d, "getrandom(8 bytes, GRND_NONBLOCK)");
  assert_int_equal (classify ("openat", (uint64_t[6]) { 0 }, "/dev/urandom", d), RAND);
  assert_string_equal (d, "/dev/urandom");
  assert_int_equal (classify ("open", (uint64_t[6]) { 0 }, "/dev/random", d), RAND);
  assert_int_equal (classify ("openat", (uint64_t[6]) { 0 }, "/etc/hosts", d), -1);
}

static void
test_addresses_outside_the_lab_are_dns_or_network (void **state)
{
  char d[160];
  assert_int_equal (classify ("connect", NULL, "8.8.8.8:53", d), DNS);
  assert_string_equal (d, "8.8.8.8:53");
  assert_int_equal (classify ("sendto", NULL, "[2001:4860::8888]:53", d), DNS);
  assert_int_equal (classify ("connect", NULL, "1.2.3.4:443", d), NET);
  /* the lab, loopback, unix sockets and fds are not */
  assert_int_equal (classify ("connect", NULL, "10.213.0.3:53", d), -1);
  assert_int_equal (classify ("connect", NULL, "10.213.1.2:5432", d), -1);
  assert_int_equal (classify ("connect", NULL, "127.0.0.53:53", d), -1);
  assert_int_equal (classify ("connect", NULL, "[::1]:53", d), -1);
  assert_int_equal (classify ("connect", NULL, "unix:/run/x.sock", d), -1);
  assert_int_equal (classify ("sendto", NULL, "socket:[1234]", d), -1);
  assert_int_equal (classify ("connect", NULL, NULL, d), -1);
}

static void
test_raw_and_packet_sockets_but_not_netlink (void **state)
{
  char d[160];
  assert_int_equal (classify ("socket", (uint64_t[6]) { AF_PACKET, SOCK_RAW }, NULL, d), RAW);
  assert_string_equal (d, "socket(AF_PACKET)");
  assert_int_equal (classify ("socket", (uint64_t[6]) { AF_INET, SOCK_RAW | SOCK_CLOEXEC }, NULL, d), RAW);
  assert_string_equal (d, "socket(AF_INET, SOCK_RAW)");
  assert_int_equal (classify ("socket", (uint64_t[6]) { AF_NETLINK, SOCK_RAW }, NULL, d), -1);
  assert_int_equal (classify ("socket", (uint64_t[6]) { AF_INET, SOCK_STREAM }, NULL, d), -1);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_clock_reads_name_their_clock),
    cmocka_unit_test (test_random_is_getrandom_and_the_random_devices),
    cmocka_unit_test (test_addresses_outside_the_lab_are_dns_or_network),
    cmocka_unit_test (test_raw_and_packet_sockets_but_not_netlink),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
