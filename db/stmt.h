/* Internal to db/: prepared-statement runs (struct q) and the connection
 * internals db.c shares with them. Nothing outside db/ includes this file.
 *
 * A run binds parameters and result columns in order, executes (through the
 * per-connection statement cache, reconnecting and retrying once when the
 * server went away outside a transaction), and fetches rows:
 *
 *	struct q q;
 *	q_init(&q, db, SQL_APP_GET);
 *	q_in_str(&q, id);
 *	q_out_str(&q, a->name, sizeof a->name, NULL);
 *	q_out_time(&q, a->created_at, NULL);
 *	rc = q_one(&q, err);      // AIGW_OK, AIGW_ENOTFOUND or an error
 *	q_end(&q);
 *
 * The sql argument must be a string with static storage: its address is the
 * cache key. Each q_fetch result column is valid until the next q_fetch. */
#ifndef AIGW_DB_STMT_H
#define AIGW_DB_STMT_H

#include <stdbool.h>
#include <stddef.h>

#include <mysql.h>

#include "error.h"

struct db;
struct aigw_conf;

#define Q_MAX 24       /* parameters or result columns per statement */
#define DB_TIME_LEN 32 /* "YYYY-MM-DD HH:MM:SS.ffffff" + NUL, with room */

enum q_kind { Q_STR, Q_DYN, Q_INT, Q_TIME };

struct q_col {
	enum q_kind kind;
	void *dst;       /* char buf / char ** / long long * / char[DB_TIME_LEN] */
	size_t cap;      /* Q_STR: buffer size */
	size_t *len_out; /* Q_DYN: optional length */
	bool *is_null;   /* optional */
};

struct q {
	struct db *db;
	const char *sql;
	MYSQL_STMT *st; /* from the cache, or owned when the cache was full */
	bool owned;
	bool held; /* q_exec holds the db's connection until q_end */
	bool has_result;
	bool bad;        /* more than Q_MAX binds: a programming error */
	unsigned err_no; /* MariaDB error number of the last failure, 0 if none */
	size_t nin, nout;
	MYSQL_BIND in[Q_MAX];
	unsigned long in_len[Q_MAX];
	my_bool in_null[Q_MAX];
	long long in_int[Q_MAX];
	MYSQL_BIND out[Q_MAX];
	struct q_col col[Q_MAX];
	unsigned long out_len[Q_MAX];
	my_bool out_null[Q_MAX];
	my_bool out_err[Q_MAX];
	long long out_int[Q_MAX];
	MYSQL_TIME out_time[Q_MAX];
};

void q_init(struct q *q, struct db *db, const char *sql);

/* Parameters, in the order of the ?s. Values are borrowed until q_exec
 * returns. A NULL string or blob pointer binds SQL NULL. */
void q_in_str(struct q *q, const char *s);
void q_in_strn(struct q *q, const char *s, size_t len);
void q_in_int(struct q *q, long long v);
void q_in_int_or_null(struct q *q, long long v, bool is_null);
void q_in_blob(struct q *q, const void *p, size_t len);

/* Result columns, in SELECT order. is_null may be NULL (an SQL NULL then
 * reads as "" or 0). A string longer than cap-1 bytes fails the fetch. */
void q_out_str(struct q *q, char *buf, size_t cap, bool *is_null);
/* Any length (TEXT, JSON, VARBINARY): each fetch stores a fresh malloc'd,
 * NUL-terminated copy in *out, or NULL for SQL NULL; the caller frees it
 * (before the next fetch or after taking it over). */
void q_out_dyn(struct q *q, char **out, size_t *len);
void q_out_int(struct q *q, long long *v, bool *is_null);
/* DATETIME(6) as "YYYY-MM-DD HH:MM:SS.ffffff" (UTC in our schema); "" if NULL. */
void q_out_time(struct q *q, char buf[DB_TIME_LEN], bool *is_null);

/* Prepares (cached), binds, executes and buffers the result set. Errors:
 * AIGW_EEXIST (duplicate key), AIGW_ENOTFOUND (foreign key parent missing),
 * AIGW_EINVAL (CHECK constraint, value too long or out of range),
 * AIGW_EDB (anything else; q->err_no has the MariaDB error number). */
aigw_rc q_exec(struct q *q, char *err);
/* Next row: AIGW_OK, AIGW_ENOTFOUND when there are no more, or AIGW_EDB. */
aigw_rc q_fetch(struct q *q, char *err);
/* q_exec then q_fetch of the first row. */
aigw_rc q_one(struct q *q, char *err);
unsigned long long q_affected(const struct q *q); /* matched rows (CLIENT_FOUND_ROWS) */
unsigned long long q_insert_id(const struct q *q);
/* Frees the result set (and an uncached statement). Always call it. */
void q_end(struct q *q);

/* --- connection internals, implemented in db.c --- */

/* A statement in progress keeps the borrowed connection (db.h: a db
 * borrows one of its pool's connections for a statement or a transaction):
 * db_hold before the first use, db_release when done gives it back unless a
 * transaction or pinned session state still needs it. */
void db_hold(struct db *db);
void db_release(struct db *db);

/* A db whose connections allow several statements per query (migrations). */
struct db *db_new_multi(const struct aigw_conf *conf);
/* The live connection, connecting first if needed; inside a transaction
 * whose connection was lost it fails instead of reconnecting. */
aigw_rc db_conn(struct db *db, MYSQL **out, char *err);
/* The cached statement for sql (prepared now if new). *owned is set when the
 * cache is full and the caller must mysql_stmt_close it. *err_no gets the
 * MariaDB error number on failure. */
aigw_rc db_stmt(struct db *db, const char *sql, MYSQL_STMT **out, bool *owned, unsigned *err_no,
                char *err);
/* Closes the borrowed connection and every cached statement (after a lost
 * server); the next use connects again. */
void db_drop(struct db *db);
/* True if err_no means the connection is dead (server restarted, killed...). */
bool db_errno_gone(unsigned err_no);
/* True for a server error that reports a lost conflict, worth running the
 * statement or transaction again after a backoff (AIGW_ERETRY): deadlock,
 * lock wait timeout, Galera's certification failure, a node not ready. */
bool db_errno_conflict(unsigned err_no);
/* May a failed statement reconnect and run again? Not inside a transaction
 * nor while session state (a GET_LOCK) is held. */
bool db_may_retry(const struct db *db);
/* Marks session state that a silent reconnect would lose (migrate's lock). */
void db_pin(struct db *db, bool pinned);

#endif
