/* The one way to run a transaction, and the one retry policy for the store.
 *
 * A transaction body runs between START TRANSACTION and COMMIT; it returns
 * AIGW_OK to commit, anything else to roll back. What is run again:
 * - a lost lock conflict (AIGW_ERETRY: deadlock 1213, lock wait timeout
 *   1205, also when the server reports them at COMMIT or at the next
 *   statement's prepare, as Galera does for a failed certification or a
 *   transaction it aborted for a replicated one; a Galera node not ready,
 *   1047): rolled back and the whole body run again, up to DB_TX_ATTEMPTS
 *   runs in all, after a jittered backoff (DB_TX_BACKOFF_MS doubling up to
 *   DB_TX_BACKOFF_MAX_MS, each wait drawn from [1/2, 3/2) of it) so racing
 *   peers part; no new run starts once DB_TX_BUDGET_MS have passed since
 *   the first, so a request never waits on conflicts much longer than that;
 * - a connection lost inside the transaction (server restart, kill): the
 *   work died with the connection, so the body is run once more on a new
 *   one. Bodies must therefore be safe to run twice: every one in the store
 *   either writes a row with a unique request id (a second run meets
 *   AIGW_EEXIST) or sets absolute values.
 * Work that needs no transaction (each statement stands on its own) runs
 * through db_retry_run: the same conflict policy, no START/COMMIT round
 * trips; there db.c reconnects and repeats a single statement once.
 * Nothing but the store's own functions opens a transaction. */
#ifndef AIGW_DB_TX_H
#define AIGW_DB_TX_H

#include "error.h"

struct db;

#define DB_TX_ATTEMPTS 8
#define DB_TX_BACKOFF_MS 5
#define DB_TX_BACKOFF_MAX_MS 160
#define DB_TX_BUDGET_MS 1500

/* What a transaction does; arg is the caller's. err as everywhere. */
typedef aigw_rc (*db_tx_body)(struct db *db, void *arg, char *err);

/* Runs body in a transaction under the policy above; what and id (may be
 * NULL) name it in the log lines of retries ("usage of request", "req_...").
 * Returns body's code, the commit's, or the last attempt's AIGW_ERETRY /
 * AIGW_EDB. */
aigw_rc db_tx_run(struct db *db, const char *what, const char *id, db_tx_body body, void *arg,
                  char *err);
/* Runs body outside a transaction, again after a lost lock conflict as
 * above (its statements must each be safe to repeat). */
aigw_rc db_retry_run(struct db *db, const char *what, const char *id, db_tx_body body, void *arg,
                     char *err);

#endif
