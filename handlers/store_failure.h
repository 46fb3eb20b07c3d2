/* How every endpoint answers a failure of the store, the same everywhere:
 * the gateway fails closed. */
#ifndef AIGW_STORE_FAILURE_H
#define AIGW_STORE_FAILURE_H

#include "error.h"
#include "response.h"

/* Logs "<what> for app <app_id> failed" with err, and answers: 503 while the
 * database is unavailable or kept losing lock conflicts, 404 when the app
 * row vanished (its key was just found, so only a concurrent delete), 500
 * with message_500 for anything else. */
void answer_store_failure(struct response *resp, aigw_rc rc, const char *what, const char *app_id,
                          const char *err, const char *message_500);

#endif
