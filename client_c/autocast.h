/*
 * autocast.h — libtensord's internal side of torch.autocast (autocast.c): td_op asks
 * td__amp_wants and hands the op to td__amp_op, which casts its inputs as the policy
 * says and records it; the autograd engine turns autocast off for the backward pass.
 */
#ifndef TD_AUTOCAST_H
#define TD_AUTOCAST_H

#include <pthread.h>

#include "tensord.h"

bool td__amp_wants(enum td_op op, unsigned flags, const struct td_t *const *in, int n_in);
enum td_code td__amp_op(td_client_t *c, enum td_op op, unsigned flags, const struct td_t *const *in, int n_in,
                        const int64_t *attrs, int n_attr, struct td_t *out, struct td_status *st);
/* pause autocast in this thread (nests; td__amp_op's own casts); resume with what pause
 * returned */
int td__amp_pause(void);
void td__amp_resume(int was);
/* turn this thread's autocast off (the backward pass), and back to what suspend returned */
unsigned td__amp_suspend(void);
void td__amp_restore(unsigned was);

#endif
