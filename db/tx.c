/* db_tx_run and db_retry_run (see tx.h): begin, body, commit or roll back,
 * and the retry policy for lock conflicts and lost connections, in one place. */
#include "config.h"

#include "tx.h"

#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "clock.h"
#include "db.h"
#include "log.h"

/* Per-thread jitter state: rand() shares state across threads. */
static __thread unsigned int jitter_seed;

/* The jittered wait before run attempt + 1, in microseconds. */
static long backoff_us(int attempt)
{
	long base_ms = (long)DB_TX_BACKOFF_MS << (attempt - 1);

	if (base_ms > DB_TX_BACKOFF_MAX_MS)
		base_ms = DB_TX_BACKOFF_MAX_MS;
	if (jitter_seed == 0)
		jitter_seed = (unsigned int)clock_us() | 1u;
	/* [base/2, 3 base/2) */
	return base_ms * 500 + (long)(rand_r(&jitter_seed) % (unsigned int)(base_ms * 1000));
}

static void sleep_us(long us)
{
	struct timespec ts;

	ts.tv_sec = us / 1000000;
	ts.tv_nsec = (us % 1000000) * 1000;
	nanosleep(&ts, NULL);
}

/* One run; *began says whether the transaction was opened at all. */
static aigw_rc run_once(struct db *db, db_tx_body body, void *arg, bool *began, char *err)
{
	aigw_rc rc = db_begin(db, err);

	*began = rc == AIGW_OK;
	if (rc != AIGW_OK)
		return rc;
	rc = body(db, arg, err);
	if (rc == AIGW_OK)
		return db_commit(db, err);
	db_rollback(db);
	return rc;
}

/* The policy's loop; in_tx says whether each run is a transaction. */
static aigw_rc run(struct db *db, bool in_tx, const char *what, const char *id, db_tx_body body,
                   void *arg, char *err)
{
	bool reconnected = false, began = false;
	long long start = clock_us();
	long wait;
	aigw_rc rc;

	for (int attempt = 1;; attempt++) {
		rc = in_tx ? run_once(db, body, arg, &began, err) : body(db, arg, err);
		wait = rc == AIGW_ERETRY ? backoff_us(attempt) : 0;
		if (rc == AIGW_ERETRY && attempt < DB_TX_ATTEMPTS &&
		    clock_us() - start + wait <= (long long)DB_TX_BUDGET_MS * 1000) {
			/* Debug only: on a cluster of writers conflicts are routine;
			 * the caller logs the one that outlasts the retries. */
			log_debug("%s%s%s: %s; trying again", what, id ? " " : "", id ? id : "",
			          err);
			sleep_us(wait);
			continue;
		}
		/* The connection died inside the transaction (not: the server
		 * cannot be reached at all): once more, on a new one. */
		if (rc == AIGW_EDB && began && !reconnected && !db_connected(db)) {
			reconnected = true;
			log_warn("%s%s%s: %s; trying again on a new connection", what,
			         id ? " " : "", id ? id : "", err);
			continue;
		}
		return rc;
	}
}

aigw_rc db_tx_run(struct db *db, const char *what, const char *id, db_tx_body body, void *arg,
                  char *err)
{
	return run(db, true, what, id, body, arg, err);
}

aigw_rc db_retry_run(struct db *db, const char *what, const char *id, db_tx_body body, void *arg,
                     char *err)
{
	return run(db, false, what, id, body, arg, err);
}
