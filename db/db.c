/* MariaDB connections: a small pool of them per process, lent to a thread's
 * `struct db` for one statement or one transaction at a time; lazy connect
 * and session setup, the per-connection prepared-statement cache,
 * transactions, and the policy for a server that went away (drop
 * everything, reconnect, retry once, but never inside a transaction, whose
 * work died with the old connection). */
#include "config.h"
#include "db.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>

#include "alloc.h"
#include "clock.h"
#include "conffile.h"
#include "log.h"
#include "stmt.h"

#define DB_CONNECT_TIMEOUT_S 3
/* Tools (db_new) may run long statements: migrations, a models sync. */
#define DB_RW_TIMEOUT_S 30
/* The gateway's pooled connections run short statements only (the longest,
 * a usage batch or a year's usage report, take milliseconds). A statement
 * that gets no answer in this time is abandoned with its connection: a
 * Galera node can leave a transaction it aborted for a conflict (brute-force
 * abort) in state "Killed" without answering its client for as long as the
 * client waits, which with 30 s held requests 30 s. Libmariadb's timeout
 * counts per read; the statement then runs again on a new connection. */
#define DB_POOL_RW_TIMEOUT_S 3
#define DB_STMT_CACHE 64

/* Run on every (re)connect. UTC so DATETIME values and UTC_TIMESTAMP() agree
 * whatever the server's zone; strict mode so an over-long value is an error,
 * never silently cut; a lock wait shorter than the pool's read timeout so a
 * blocked FOR UPDATE reports a lock timeout (retried as a conflict) instead
 * of looking like a dead server. */
static const char SESSION_SQL[] = "SET time_zone = '+00:00', "
                                  "sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,"
                                  "ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION', "
                                  "innodb_lock_wait_timeout = 2";

struct db_stmt_slot {
	const char *sql; /* static string: the address is the key */
	MYSQL_STMT *st;
};

/* One connection of a pool and its statements. */
struct db_conn {
	MYSQL *conn; /* NULL while disconnected */
	struct db_stmt_slot stmts[DB_STMT_CACHE];
	size_t n_stmts;
	struct db_conn *next_free;
};

struct db_pool {
	const struct aigw_conf *conf;
	bool multi_statements;     /* CLIENT_MULTI_STATEMENTS (migrations only) */
	unsigned int rw_timeout_s; /* read and write timeout of each connection */
	int wait_ms;               /* how long a borrower waits for a free connection */
	pthread_mutex_t mu;
	pthread_cond_t freed;
	struct db_conn *conns;
	size_t n;
	struct db_conn *free_list;
};

struct db {
	struct db_pool *pool;
	bool own_pool;     /* made by db_new: freed with the db */
	struct db_conn *c; /* the borrowed connection, NULL between uses */
	int holds;         /* statements in progress on c */
	bool lost;         /* the last connection died under us (db_connected) */
	bool in_tx;        /* between db_begin and db_commit / db_rollback */
	bool pinned;       /* session state a reconnect would lose */
};

static pthread_once_t db_lib_once = PTHREAD_ONCE_INIT;

/* mysql_library_init is not thread-safe; mysql_init would call it lazily
 * from whichever thread connects first. */
static void db_lib_init(void)
{
	if (mysql_library_init(0, NULL, NULL) != 0) {
		log_error("database: cannot initialise the MariaDB client library");
		abort();
	}
}

struct db_pool *db_pool_new(const struct aigw_conf *conf, size_t n, int wait_ms)
{
	struct db_pool *p;

	pthread_once(&db_lib_once, db_lib_init);
	p = xcalloc(1, sizeof *p);
	p->conf = conf;
	p->wait_ms = wait_ms;
	p->rw_timeout_s = DB_POOL_RW_TIMEOUT_S;
	p->n = n > 0 ? n : 1;
	p->conns = xcalloc(p->n, sizeof *p->conns);
	for (size_t i = p->n; i-- > 0;) {
		p->conns[i].next_free = p->free_list;
		p->free_list = &p->conns[i];
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->freed, NULL);
	return p;
}

/* Closes the connection and every cached statement (after a lost server). */
static void conn_close(struct db_conn *c)
{
	/* Closing the connection first detaches its statements, so closing
	 * them afterwards only frees memory and sends nothing on a dead socket. */
	if (c->conn) {
		mysql_close(c->conn);
		c->conn = NULL;
	}
	for (size_t i = 0; i < c->n_stmts; i++)
		mysql_stmt_close(c->stmts[i].st);
	c->n_stmts = 0;
}

void db_pool_free(struct db_pool *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		conn_close(&p->conns[i]);
	pthread_cond_destroy(&p->freed);
	pthread_mutex_destroy(&p->mu);
	free(p->conns);
	free(p);
}

struct db *db_new_pooled(struct db_pool *pool)
{
	struct db *db = xcalloc(1, sizeof *db);

	db->pool = pool;
	return db;
}

struct db *db_new(const struct aigw_conf *conf)
{
	struct db *db = db_new_pooled(db_pool_new(conf, 1, 0));

	db->own_pool = true;
	db->pool->rw_timeout_s = DB_RW_TIMEOUT_S;
	return db;
}

struct db *db_new_multi(const struct aigw_conf *conf)
{
	struct db *db = db_new(conf);

	db->pool->multi_statements = true;
	return db;
}

/* Gives the borrowed connection back when nothing needs it any more: no
 * statement in progress, no transaction, no session state. */
static void db_settle(struct db *db)
{
	struct db_pool *p = db->pool;

	if (!db->c || db->holds > 0 || db->in_tx || db->pinned)
		return;
	pthread_mutex_lock(&p->mu);
	db->c->next_free = p->free_list;
	p->free_list = db->c;
	pthread_cond_signal(&p->freed);
	pthread_mutex_unlock(&p->mu);
	db->c = NULL;
}

/* Borrows a connection of the pool for db, waiting up to the pool's
 * wait_ms for one to be given back. */
static aigw_rc db_borrow(struct db *db, char *err)
{
	struct db_pool *p = db->pool;
	struct timespec until;
	int e = 0;

	if (db->c)
		return AIGW_OK;
	until = clock_deadline_us((long long)p->wait_ms * 1000);
	pthread_mutex_lock(&p->mu);
	while (!p->free_list && e == 0)
		e = pthread_cond_timedwait(&p->freed, &p->mu, &until);
	if (p->free_list) {
		db->c = p->free_list;
		p->free_list = db->c->next_free;
		db->c->next_free = NULL;
	}
	pthread_mutex_unlock(&p->mu);
	if (!db->c)
		return aigw_fail(err, AIGW_EDB,
		                 "database busy: all %zu connections of this process in use for "
		                 "%d ms",
		                 p->n, p->wait_ms);
	return AIGW_OK;
}

void db_free(struct db *db)
{
	if (!db)
		return;
	if (db->c) {
		/* A db freed in the middle of something: its connection's
		 * session state is unknown, so it goes back closed. */
		conn_close(db->c);
		db->holds = 0;
		db->in_tx = false;
		db->pinned = false;
		db_settle(db);
	}
	if (db->own_pool)
		db_pool_free(db->pool);
	free(db);
}

void db_drop(struct db *db)
{
	if (db->c)
		conn_close(db->c);
	db->lost = true;
}

void db_hold(struct db *db)
{
	db->holds++;
}

void db_release(struct db *db)
{
	if (db->holds > 0)
		db->holds--;
	db_settle(db);
}

bool db_errno_gone(unsigned e)
{
	switch (e) {
	case CR_SERVER_GONE_ERROR:    /* 2006 */
	case CR_SERVER_LOST:          /* 2013 */
	case CR_SERVER_LOST_EXTENDED: /* 2055 */
	case CR_STMT_CLOSED:          /* 2056: statement of a closed connection */
	case CR_ERR_NET_READ:         /* 5013 */
	case CR_ERR_NET_WRITE:        /* 5014 */
	case ER_SERVER_SHUTDOWN:      /* 1053 */
	case ER_CONNECTION_KILLED:    /* 1927 */
	case ER_UNKNOWN_STMT_HANDLER: /* 1243: server forgot our statements */
	case ER_NEW_ABORTING_CONNECTION:
	case ER_ABORTING_CONNECTION:
		return true;
	default:
		return false;
	}
}

bool db_errno_conflict(unsigned e)
{
	switch (e) {
	case ER_LOCK_DEADLOCK:     /* 1213: also Galera's failed certification, at
	                            * COMMIT, or at the next command (even a prepare)
	                            * of a transaction the node aborted meanwhile */
	case ER_LOCK_WAIT_TIMEOUT: /* 1205 */
	case ER_UNKNOWN_COM_ERROR: /* 1047: "WSREP has not yet prepared node for
	                            * application use" (a node leaving or joining) */
		return true;
	default:
		return false;
	}
}

bool db_may_retry(const struct db *db)
{
	return !db->in_tx && !db->pinned;
}

void db_pin(struct db *db, bool pinned)
{
	db->pinned = pinned;
	db_settle(db);
}

static aigw_rc db_connect(struct db *db, char *err)
{
	const struct aigw_conf *c = db->pool->conf;
	unsigned int connect_timeout = DB_CONNECT_TIMEOUT_S, rw_timeout = db->pool->rw_timeout_s;
	unsigned int no_infile = 0;
	my_bool no_reconnect = 0;
	unsigned int protocol;
	unsigned long flags = CLIENT_FOUND_ROWS;
	const char *socket = NULL, *host = c->db_host;
	aigw_rc rc;
	MYSQL *m;

	m = mysql_init(NULL);
	if (!m)
		return aigw_fail(err, AIGW_EDB, "database: cannot allocate a connection");
	mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &connect_timeout);
	mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &rw_timeout);
	mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &rw_timeout);
	mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	/* Our own reconnect: the library's would silently lose the session
	 * settings, the prepared statements and any open transaction. */
	mysql_options(m, MYSQL_OPT_RECONNECT, &no_reconnect);
	mysql_options(m, MYSQL_OPT_LOCAL_INFILE, &no_infile);
	if (c->db_socket && c->db_socket[0]) {
		socket = c->db_socket;
		host = "localhost";
		protocol = MYSQL_PROTOCOL_SOCKET;
	} else {
		protocol = MYSQL_PROTOCOL_TCP;
	}
	mysql_options(m, MYSQL_OPT_PROTOCOL, &protocol);
	if (db->pool->multi_statements)
		flags |= CLIENT_MULTI_STATEMENTS;

	/* Connector/C error texts name user and host, never the password. */
	if (!mysql_real_connect(m, host, c->db_user, c->db_password, c->db_name,
	                        socket ? 0 : (unsigned int)c->db_port, socket, flags)) {
		rc = aigw_fail(err, AIGW_EDB, "database unavailable: %s", mysql_error(m));
		goto fail;
	}
	if (mysql_real_query(m, SESSION_SQL, sizeof SESSION_SQL - 1) != 0) {
		rc = aigw_fail(err, AIGW_EDB, "database session setup failed: %s", mysql_error(m));
		goto fail;
	}
	db->c->conn = m;
	db->lost = false;
	return AIGW_OK;
fail:
	mysql_close(m);
	return rc;
}

aigw_rc db_conn(struct db *db, MYSQL **out, char *err)
{
	aigw_rc rc;

	*out = NULL;
	if (!db->c || !db->c->conn) {
		if (db->in_tx)
			return aigw_fail(err, AIGW_EDB,
			                 "database connection lost inside a transaction");
		rc = db_borrow(db, err);
		if (rc == AIGW_OK && !db->c->conn)
			rc = db_connect(db, err);
		if (rc != AIGW_OK) {
			db_settle(db);
			return rc;
		}
	}
	*out = db->c->conn;
	return AIGW_OK;
}

aigw_rc db_stmt(struct db *db, const char *sql, MYSQL_STMT **out, bool *owned, unsigned *err_no,
                char *err)
{
	struct db_conn *c;
	MYSQL_STMT *st;
	MYSQL *m;
	aigw_rc rc;
	size_t i;

	*out = NULL;
	*owned = false;
	*err_no = 0;
	rc = db_conn(db, &m, err);
	if (rc != AIGW_OK)
		return rc;
	c = db->c;
	for (i = 0; i < c->n_stmts; i++) {
		if (c->stmts[i].sql == sql) {
			*out = c->stmts[i].st;
			return AIGW_OK;
		}
	}
	st = mysql_stmt_init(m);
	if (!st)
		return aigw_fail(err, AIGW_EDB, "database: cannot allocate a statement");
	if (mysql_stmt_prepare(st, sql, strlen(sql)) != 0) {
		*err_no = mysql_stmt_errno(st);
		rc = aigw_fail(err, db_errno_conflict(*err_no) ? AIGW_ERETRY : AIGW_EDB,
		               "database: prepare failed (%u): %s", *err_no, mysql_stmt_error(st));
		mysql_stmt_close(st);
		return rc;
	}
	if (c->n_stmts < DB_STMT_CACHE) {
		c->stmts[c->n_stmts].sql = sql;
		c->stmts[c->n_stmts].st = st;
		c->n_stmts++;
	} else {
		*owned = true;
	}
	*out = st;
	return AIGW_OK;
}

/* Runs a statement that returns nothing (transaction control). Outside a
 * transaction a dead connection is replaced and the statement retried once. */
static aigw_rc db_simple(struct db *db, const char *sql, char *err)
{
	unsigned e;
	MYSQL *m;
	aigw_rc rc;
	int attempt;

	for (attempt = 0;; attempt++) {
		rc = db_conn(db, &m, err);
		if (rc != AIGW_OK)
			return rc;
		if (mysql_real_query(m, sql, strlen(sql)) == 0)
			return AIGW_OK;
		e = mysql_errno(m);
		rc = aigw_fail(err, db_errno_conflict(e) ? AIGW_ERETRY : AIGW_EDB,
		               "database: %s failed (%u): %s", sql, e, mysql_error(m));
		if (!db_errno_gone(e))
			return rc;
		db_drop(db);
		if (attempt > 0 || !db_may_retry(db))
			return rc;
		log_warn("database connection lost (%u); reconnecting", e);
	}
}

aigw_rc db_ping(struct db *db, char *err)
{
	unsigned e;
	MYSQL *m;
	aigw_rc rc;
	int attempt;

	for (attempt = 0;; attempt++) {
		rc = db_conn(db, &m, err);
		if (rc != AIGW_OK)
			break;
		if (mysql_ping(m) == 0)
			break;
		e = mysql_errno(m);
		rc = aigw_fail(err, AIGW_EDB, "database unavailable (%u): %s", e, mysql_error(m));
		/* Whatever the error, this connection is not worth keeping. */
		db_drop(db);
		if (attempt > 0 || !db_may_retry(db))
			break;
	}
	db_settle(db);
	return rc;
}

aigw_rc db_begin(struct db *db, char *err)
{
	aigw_rc rc;

	if (db->in_tx)
		return aigw_fail(err, AIGW_EINVAL, "database: transaction already open");
	rc = db_simple(db, "START TRANSACTION", err);
	if (rc == AIGW_OK)
		db->in_tx = true;
	else
		db_settle(db);
	return rc;
}

aigw_rc db_commit(struct db *db, char *err)
{
	MYSQL *m = db->c ? db->c->conn : NULL;
	unsigned e;
	aigw_rc rc;

	if (!db->in_tx)
		return aigw_fail(err, AIGW_EINVAL, "database: commit without a transaction");
	db->in_tx = false;
	if (!m) {
		rc = aigw_fail(err, AIGW_EDB, "database connection lost inside a transaction");
		goto out;
	}
	if (mysql_commit(m) == 0) {
		rc = AIGW_OK;
		goto out;
	}
	e = mysql_errno(m);
	if (db_errno_conflict(e))
		rc = aigw_fail(err, AIGW_ERETRY, "database: transient conflict at commit (%u): %s",
		               e, mysql_error(m));
	else
		rc = aigw_fail(err, AIGW_EDB, "database: commit failed (%u): %s", e,
		               mysql_error(m));
	if (db_errno_gone(e))
		db_drop(db);
	else
		mysql_rollback(m);
out:
	db_settle(db);
	return rc;
}

bool db_connected(const struct db *db)
{
	return !db->lost;
}

void db_rollback(struct db *db)
{
	bool was_open = db->in_tx;
	MYSQL *m = db->c ? db->c->conn : NULL;

	db->in_tx = false;
	if (was_open && m && mysql_rollback(m) != 0 && db_errno_gone(mysql_errno(m)))
		db_drop(db);
	db_settle(db);
}
