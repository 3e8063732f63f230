/* td_address.c — the default socket location of daemon and clients; see td_address.h. */
#include "td_address.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

char *td_default_socket_dir(char *buf, size_t len)
{
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    if (xdg && *xdg)
        snprintf(buf, len, "%s/tensord", xdg);
    else
        snprintf(buf, len, "/tmp/tensord-%u", (unsigned)getuid());
    return buf;
}

char *td_default_address(char *buf, size_t len)
{
    char dir[400];
    snprintf(buf, len, "unix:%s/tensord.sock", td_default_socket_dir(dir, sizeof dir));
    return buf;
}
