/*
 * td_address.h — where a daemon listens when nobody says otherwise, and so where a
 * client looks for it: unix:$XDG_RUNTIME_DIR/tensord/tensord.sock, else
 * unix:/tmp/tensord-$UID/tensord.sock.
 *
 * Why proto/: the default address is part of the contract between daemon and clients,
 * as a well-known port is part of a protocol; both sides must compute the same string,
 * so both take it from this one place (daemon/main.c and libtensord both link
 * td_address.c), and neither side's code depends on the other's.  Installed with
 * tensord.h, which includes it.
 *
 * Not here: TENSORD_ADDRESS, which overrides the default on the client side only
 * (client_c/client.c), and creating the directory (the daemon does, mode 0700).
 */
#ifndef TD_ADDRESS_H
#define TD_ADDRESS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Writes the default gRPC target ("unix:/...") into buf (len bytes, truncated to fit);
 * returns buf.  Reads the environment only; thread-safe as getenv is. */
char *td_default_address(char *buf, size_t len);
/* Writes the directory holding the default socket into buf; returns buf. */
char *td_default_socket_dir(char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif
