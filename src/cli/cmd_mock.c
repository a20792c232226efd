/* `faultbox __mock NAME`: the mock server a mock_service() runs as, inside
 * the mock's sandbox. Hidden: the runner starts it, never a user. */
#include "cli/commands.h"
#include "faultbox/mock.h"

#include <stdlib.h>

int
fb_cmd_mock_serve (int argc, char **argv)
{
  const char *hub = getenv (FB_MOCK_HUB_ENV);
  if (argc != 2 || !hub)
    return fb_cli_fail ("__mock: started by the runner for a mock_service(), not by hand");
  fb_error err = { 0 };
  fb_mock_serve (hub, argv[1], &err);
  return fb_cli_fail ("mock %s: %s", argv[1], err.msg);
}
