/* One MariaDB connection per thread: lazy connect and session setup, the
 * per-connection prepared-statement cache, transactions, and the policy for
 * a server that went away (drop everything, reconnect, retry once, but never
 * inside a transaction, whose work died with the old connection). */
#include "config.h"
#include "db.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>

#include "alloc.h"
#include "conffile.h"
#include "log.h"
#include "stmt.h"

#define DB_CONNECT_TIMEOUT_S 3
#define DB_RW_TIMEOUT_S 30
#define DB_STMT_CACHE 64

/* Run on every (re)connect. UTC so DATETIME values and UTC_TIMESTAMP() agree
 * whatever the server's zone; strict mode so an over-long value is an error,
 * never silently cut; a lock wait shorter than the read timeout so a blocked
 * FOR UPDATE reports a lock timeout instead of looking like a dead server. */
static const char SESSION_SQL[] = "SET time_zone = '+00:00', "
                                  "sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,"
                                  "ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION', "
                                  "innodb_lock_wait_timeout = 10";

struct db_stmt_slot {
	const char *sql; /* static string: the address is the key */
	MYSQL_STMT *st;
};

struct db {
	const struct aigw_conf *conf;
	MYSQL *conn;           /* NULL while disconnected */
	bool in_tx;            /* between db_begin and db_commit / db_rollback */
	bool pinned;           /* session state a reconnect would lose */
	bool multi_statements; /* CLIENT_MULTI_STATEMENTS (migrations only) */
	struct db_stmt_slot stmts[DB_STMT_CACHE];
	size_t n_stmts;
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

struct db *db_new(const struct aigw_conf *conf)
{
	struct db *db;

	pthread_once(&db_lib_once, db_lib_init);
	db = xcalloc(1, sizeof *db);
	db->conf = conf;
	return db;
}

struct db *db_new_multi(const struct aigw_conf *conf)
{
	struct db *db = db_new(conf);

	db->multi_statements = true;
	return db;
}

void db_free(struct db *db)
{
	if (!db)
		return;
	db_drop(db);
	free(db);
}

void db_drop(struct db *db)
{
	size_t i;

	/* Closing the connection first detaches its statements, so closing
	 * them afterwards only frees memory and sends nothing on a dead socket. */
	if (db->conn) {
		mysql_close(db->conn);
		db->conn = NULL;
	}
	for (i = 0; i < db->n_stmts; i++)
		mysql_stmt_close(db->stmts[i].st);
	db->n_stmts = 0;
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

bool db_may_retry(const struct db *db)
{
	return !db->in_tx && !db->pinned;
}

void db_pin(struct db *db, bool pinned)
{
	db->pinned = pinned;
}

static aigw_rc db_connect(struct db *db, char *err)
{
	const struct aigw_conf *c = db->conf;
	unsigned int connect_timeout = DB_CONNECT_TIMEOUT_S, rw_timeout = DB_RW_TIMEOUT_S;
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
	if (db->multi_statements)
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
	db->conn = m;
	return AIGW_OK;
fail:
	mysql_close(m);
	return rc;
}

aigw_rc db_conn(struct db *db, MYSQL **out, char *err)
{
	aigw_rc rc;

	*out = NULL;
	if (!db->conn) {
		if (db->in_tx)
			return aigw_fail(err, AIGW_EDB,
			                 "database connection lost inside a transaction");
		rc = db_connect(db, err);
		if (rc != AIGW_OK)
			return rc;
	}
	*out = db->conn;
	return AIGW_OK;
}

aigw_rc db_stmt(struct db *db, const char *sql, MYSQL_STMT **out, bool *owned, unsigned *err_no,
                char *err)
{
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
	for (i = 0; i < db->n_stmts; i++) {
		if (db->stmts[i].sql == sql) {
			*out = db->stmts[i].st;
			return AIGW_OK;
		}
	}
	st = mysql_stmt_init(m);
	if (!st)
		return aigw_fail(err, AIGW_EDB, "database: cannot allocate a statement");
	if (mysql_stmt_prepare(st, sql, strlen(sql)) != 0) {
		*err_no = mysql_stmt_errno(st);
		rc = aigw_fail(err, AIGW_EDB, "database: prepare failed (%u): %s", *err_no,
		               mysql_stmt_error(st));
		mysql_stmt_close(st);
		return rc;
	}
	if (db->n_stmts < DB_STMT_CACHE) {
		db->stmts[db->n_stmts].sql = sql;
		db->stmts[db->n_stmts].st = st;
		db->n_stmts++;
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
		rc = aigw_fail(err, AIGW_EDB, "database: %s failed (%u): %s", sql, e,
		               mysql_error(m));
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
			return rc;
		if (mysql_ping(m) == 0)
			return AIGW_OK;
		e = mysql_errno(m);
		rc = aigw_fail(err, AIGW_EDB, "database unavailable (%u): %s", e, mysql_error(m));
		/* Whatever the error, this connection is not worth keeping. */
		db_drop(db);
		if (attempt > 0 || !db_may_retry(db))
			return rc;
	}
}

aigw_rc db_begin(struct db *db, char *err)
{
	aigw_rc rc;

	if (db->in_tx)
		return aigw_fail(err, AIGW_EINVAL, "database: transaction already open");
	rc = db_simple(db, "START TRANSACTION", err);
	if (rc == AIGW_OK)
		db->in_tx = true;
	return rc;
}

aigw_rc db_commit(struct db *db, char *err)
{
	unsigned e;
	aigw_rc rc;

	if (!db->in_tx)
		return aigw_fail(err, AIGW_EINVAL, "database: commit without a transaction");
	db->in_tx = false;
	if (!db->conn)
		return aigw_fail(err, AIGW_EDB, "database connection lost inside a transaction");
	if (mysql_commit(db->conn) == 0)
		return AIGW_OK;
	e = mysql_errno(db->conn);
	if (e == ER_LOCK_DEADLOCK || e == ER_LOCK_WAIT_TIMEOUT)
		rc = aigw_fail(err, AIGW_ERETRY, "database: transient conflict at commit (%u): %s",
		               e, mysql_error(db->conn));
	else
		rc = aigw_fail(err, AIGW_EDB, "database: commit failed (%u): %s", e,
		               mysql_error(db->conn));
	if (db_errno_gone(e))
		db_drop(db);
	else
		mysql_rollback(db->conn);
	return rc;
}

bool db_connected(const struct db *db)
{
	return db->conn != NULL;
}

void db_rollback(struct db *db)
{
	bool was_open = db->in_tx;

	db->in_tx = false;
	if (!was_open || !db->conn)
		return;
	if (mysql_rollback(db->conn) != 0 && db_errno_gone(mysql_errno(db->conn)))
		db_drop(db);
}
