/* MariaDB access: pooled connections, prepared statements only.
 *
 * A `struct db` belongs to one thread. It borrows a connection of its pool
 * for one statement, or for one whole transaction, and gives it back at
 * once, so a process of thousands of request threads needs only a few
 * connections. Connections connect lazily, cache prepared statements, and
 * when the server has gone away (restart, wait_timeout) reconnect and retry
 * the statement once. Every function
 * returns an aigw_rc and writes the reason into err (AIGW_ERRLEN bytes);
 * AIGW_EDB means "database unavailable", which handlers answer with 503. */
#ifndef AIGW_DB_H
#define AIGW_DB_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

struct aigw_conf;
struct db;
struct db_pool;

/* n connections (connected on first use) shared by the db handles made with
 * db_new_pooled; a borrower waits up to wait_ms for one, then fails with
 * AIGW_EDB. conf is borrowed and must outlive the pool; free the pool after
 * every handle. */
struct db_pool *db_pool_new(const struct aigw_conf *conf, size_t n, int wait_ms);
void db_pool_free(struct db_pool *pool);
/* A handle on pool's connections, for one thread. Free with db_free. */
struct db *db_new_pooled(struct db_pool *pool);
/* A handle with a connection of its own (tools, tests). conf is borrowed
 * and must outlive the db. Never fails: connection is lazy. */
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
