/*
 * address.h — where the daemon listens by default, shared by daemon and clients:
 * unix:$XDG_RUNTIME_DIR/tensord/tensord.sock, else unix:/tmp/tensord-$UID/tensord.sock.
 * TENSORD_ADDRESS overrides on the client side.
 */
#ifndef TD_ADDRESS_H
#define TD_ADDRESS_H

#include <stddef.h>

/* Writes the default gRPC target ("unix:/...") into buf; returns buf. */
char *td_default_address(char *buf, size_t len);
/* The directory holding the default socket (created 0700 by the daemon). */
char *td_default_socket_dir(char *buf, size_t len);

#endif
