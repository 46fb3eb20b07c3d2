/* MariaDB access: one connection per thread, prepared statements only.
 *
 * A `struct db` belongs to one thread. It connects lazily, caches prepared
 * statements per connection, and when the server has gone away (restart,
 * wait_timeout) it reconnects and retries the statement once. Every function
 * returns an aigw_rc and writes the reason into err (AIGW_ERRLEN bytes);
 * AIGW_EDB means "database unavailable", which handlers answer with 503. */
#ifndef AIGW_DB_H
#define AIGW_DB_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

struct aigw_conf;
struct db;

/* conf is borrowed and must outlive the db. Never fails: connection is lazy. */
struct db *db_new(const struct aigw_conf *conf);
void db_free(struct db *db);
/* Connects if needed and checks the server answers. */
aigw_rc db_ping(struct db *db, char *err);
/* Transaction control, for db_tx_run (tx.h) only: the store's functions
 * run their transactions through it. db_commit reports a lock conflict
 * found at commit as AIGW_ERETRY. */
aigw_rc db_begin(struct db *db, char *err);
aigw_rc db_commit(struct db *db, char *err);
void db_rollback(struct db *db);
/* False once the connection is gone (dropped after a lost server), until
 * the next statement reconnects. */
bool db_connected(const struct db *db);

#endif
