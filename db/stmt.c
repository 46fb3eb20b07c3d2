/* Prepared-statement runs for the table modules: bind parameters and result
 * columns in a line each, execute with the reconnect-and-retry-once policy,
 * fetch rows with strings, integers, blobs and DATETIME(6) text filled in. */
#include "config.h"
#include "stmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mysqld_error.h>

#include "alloc.h"
#include "log.h"

void q_init(struct q *q, struct db *db, const char *sql)
{
	memset(q, 0, sizeof *q);
	q->db = db;
	q->sql = sql;
}

static MYSQL_BIND *q_next_in(struct q *q)
{
	MYSQL_BIND *b;

	if (q->nin >= Q_MAX) {
		q->bad = true;
		return NULL;
	}
	b = &q->in[q->nin];
	b->length = &q->in_len[q->nin];
	b->is_null = &q->in_null[q->nin];
	q->nin++;
	return b;
}

void q_in_strn(struct q *q, const char *s, size_t len)
{
	MYSQL_BIND *b = q_next_in(q);

	if (!b)
		return;
	b->buffer_type = MYSQL_TYPE_STRING;
	b->buffer = (void *)s;
	b->buffer_length = s ? len : 0;
	*b->length = s ? len : 0;
	*b->is_null = s == NULL;
}

void q_in_str(struct q *q, const char *s)
{
	q_in_strn(q, s, s ? strlen(s) : 0);
}

void q_in_int_or_null(struct q *q, long long v, bool is_null)
{
	size_t i = q->nin;
	MYSQL_BIND *b = q_next_in(q);

	if (!b)
		return;
	q->in_int[i] = v;
	b->buffer_type = MYSQL_TYPE_LONGLONG;
	b->buffer = &q->in_int[i];
	*b->is_null = is_null;
}

void q_in_int(struct q *q, long long v)
{
	q_in_int_or_null(q, v, false);
}

void q_in_blob(struct q *q, const void *p, size_t len)
{
	MYSQL_BIND *b = q_next_in(q);

	if (!b)
		return;
	b->buffer_type = MYSQL_TYPE_BLOB;
	b->buffer = (void *)p;
	b->buffer_length = p ? len : 0;
	*b->length = p ? len : 0;
	*b->is_null = p == NULL;
}

static MYSQL_BIND *q_next_out(struct q *q, enum q_kind kind, void *dst, bool *is_null)
{
	size_t i = q->nout;
	MYSQL_BIND *b;

	if (i >= Q_MAX) {
		q->bad = true;
		return NULL;
	}
	b = &q->out[i];
	b->length = &q->out_len[i];
	b->is_null = &q->out_null[i];
	b->error = &q->out_err[i];
	q->col[i].kind = kind;
	q->col[i].dst = dst;
	q->col[i].is_null = is_null;
	q->nout++;
	return b;
}

void q_out_str(struct q *q, char *buf, size_t cap, bool *is_null)
{
	MYSQL_BIND *b = q_next_out(q, Q_STR, buf, is_null);

	if (!b)
		return;
	q->col[q->nout - 1].cap = cap;
	b->buffer_type = MYSQL_TYPE_STRING;
	b->buffer = buf;
	b->buffer_length = cap;
}

void q_out_dyn(struct q *q, char **out, size_t *len)
{
	/* Bound with no buffer: the fetch reports the length and q_fetch
	 * pulls the bytes with mysql_stmt_fetch_column into an exact copy. */
	MYSQL_BIND *b = q_next_out(q, Q_DYN, out, NULL);

	if (!b)
		return;
	q->col[q->nout - 1].len_out = len;
	b->buffer_type = MYSQL_TYPE_BLOB;
}

void q_out_int(struct q *q, long long *v, bool *is_null)
{
	size_t i = q->nout;
	MYSQL_BIND *b = q_next_out(q, Q_INT, v, is_null);

	if (!b)
		return;
	b->buffer_type = MYSQL_TYPE_LONGLONG;
	b->buffer = &q->out_int[i];
}

void q_out_time(struct q *q, char buf[DB_TIME_LEN], bool *is_null)
{
	size_t i = q->nout;
	MYSQL_BIND *b = q_next_out(q, Q_TIME, buf, is_null);

	if (!b)
		return;
	b->buffer_type = MYSQL_TYPE_DATETIME;
	b->buffer = &q->out_time[i];
}

static aigw_rc q_fail_errno(struct q *q, unsigned e, const char *msg, char *err)
{
	q->err_no = e;
	if (db_errno_conflict(e))
		return aigw_fail(err, AIGW_ERETRY, "database: transient conflict (%u): %s", e, msg);
	switch (e) {
	case ER_DUP_ENTRY:
		return aigw_fail(err, AIGW_EEXIST, "database: already exists: %s", msg);
	case ER_NO_REFERENCED_ROW_2:
		return aigw_fail(err, AIGW_ENOTFOUND, "database: referenced row missing: %s", msg);
	case ER_CONSTRAINT_FAILED:
	case ER_DATA_TOO_LONG:
	case ER_TRUNCATED_WRONG_VALUE_FOR_FIELD:
	case ER_WARN_DATA_OUT_OF_RANGE:
		return aigw_fail(err, AIGW_EINVAL, "database: value rejected: %s", msg);
	default:
		return aigw_fail(err, AIGW_EDB, "database error %u: %s", e, msg);
	}
}

static void q_release(struct q *q)
{
	if (q->st && q->has_result)
		mysql_stmt_free_result(q->st);
	q->has_result = false;
	if (q->st && q->owned)
		mysql_stmt_close(q->st);
	q->st = NULL;
	q->owned = false;
}

/* One attempt: statement, binds, execute, buffered result. */
static aigw_rc q_try(struct q *q, char *err)
{
	MYSQL_STMT *st;
	unsigned long fields;
	aigw_rc rc;

	q->err_no = 0;
	rc = db_stmt(q->db, q->sql, &q->st, &q->owned, &q->err_no, err);
	if (rc != AIGW_OK)
		return rc;
	st = q->st;
	if (mysql_stmt_param_count(st) != q->nin)
		return aigw_fail(err, AIGW_EDB,
		                 "database: statement takes %lu parameters, %zu bound",
		                 mysql_stmt_param_count(st), q->nin);
	if (q->nin > 0 && mysql_stmt_bind_param(st, q->in) != 0)
		return q_fail_errno(q, mysql_stmt_errno(st), mysql_stmt_error(st), err);
	if (mysql_stmt_execute(st) != 0)
		return q_fail_errno(q, mysql_stmt_errno(st), mysql_stmt_error(st), err);
	fields = mysql_stmt_field_count(st);
	if (fields == 0)
		return AIGW_OK;
	if (fields != q->nout) {
		mysql_stmt_free_result(st);
		return aigw_fail(err, AIGW_EDB,
		                 "database: statement returns %lu columns, %zu bound", fields,
		                 q->nout);
	}
	q->has_result = true;
	if (mysql_stmt_bind_result(st, q->out) != 0 || mysql_stmt_store_result(st) != 0)
		return q_fail_errno(q, mysql_stmt_errno(st), mysql_stmt_error(st), err);
	return AIGW_OK;
}

aigw_rc q_exec(struct q *q, char *err)
{
	aigw_rc rc;
	int attempt;

	if (q->bad)
		return aigw_fail(err, AIGW_EDB, "database: more than %d binds", Q_MAX);
	if (!q->held) {
		db_hold(q->db);
		q->held = true;
	}
	for (attempt = 0;; attempt++) {
		rc = q_try(q, err);
		if (rc == AIGW_OK || !db_errno_gone(q->err_no))
			return rc;
		/* The server went away (restart, kill, wait_timeout): this
		 * connection and its statements are useless. A statement lost
		 * in flight may have run; ours are safe to repeat (inserts hit
		 * their unique keys, updates set absolute values). */
		q_release(q);
		db_drop(q->db);
		if (attempt > 0 || !db_may_retry(q->db))
			return aigw_fail(err, AIGW_EDB, "database connection lost (%u)", q->err_no);
		log_warn("database connection lost (%u); reconnecting", q->err_no);
	}
}

static void q_format_time(const MYSQL_TIME *t, char *buf)
{
	snprintf(buf, DB_TIME_LEN, "%04u-%02u-%02u %02u:%02u:%02u.%06lu", t->year % 10000u,
	         t->month % 100u, t->day % 100u, t->hour % 100u, t->minute % 100u, t->second % 100u,
	         t->second_part % 1000000ul);
}

/* Copies column i (bound without a buffer) into a fresh allocation. */
static aigw_rc q_fetch_dyn(struct q *q, size_t i, char *err)
{
	struct q_col *c = &q->col[i];
	unsigned long len = q->out_len[i];
	MYSQL_BIND b;
	char *p;

	if (c->len_out)
		*c->len_out = 0;
	if (q->out_null[i])
		return AIGW_OK;
	p = xmalloc((size_t)len + 1);
	if (len > 0) {
		memset(&b, 0, sizeof b);
		b.buffer_type = MYSQL_TYPE_BLOB;
		b.buffer = p;
		b.buffer_length = len;
		b.length = &len;
		if (mysql_stmt_fetch_column(q->st, &b, (unsigned)i, 0) != 0) {
			free(p);
			return aigw_fail(err, AIGW_EDB, "database: reading column %zu: %s", i,
			                 mysql_stmt_error(q->st));
		}
	}
	p[len] = '\0';
	*(char **)c->dst = p;
	if (c->len_out)
		*c->len_out = len;
	return AIGW_OK;
}

/* Fills the caller's variables from the fetched row. On failure no Q_DYN
 * column holds an allocation: the ones made so far are freed. */
static aigw_rc q_fill(struct q *q, char *err)
{
	aigw_rc rc = AIGW_OK;
	size_t i;

	for (i = 0; i < q->nout; i++) {
		if (q->col[i].kind == Q_DYN)
			*(char **)q->col[i].dst = NULL;
	}
	for (i = 0; i < q->nout && rc == AIGW_OK; i++) {
		struct q_col *c = &q->col[i];
		bool null = q->out_null[i];

		if (c->is_null)
			*c->is_null = null;
		switch (c->kind) {
		case Q_STR:
			if (null) {
				((char *)c->dst)[0] = '\0';
			} else if (q->out_len[i] >= c->cap) {
				((char *)c->dst)[0] = '\0';
				rc = aigw_fail(err, AIGW_EDB,
				               "database: column %zu too long (%lu bytes)", i,
				               q->out_len[i]);
			} else {
				((char *)c->dst)[q->out_len[i]] = '\0';
			}
			break;
		case Q_DYN:
			rc = q_fetch_dyn(q, i, err);
			break;
		case Q_INT:
			*(long long *)c->dst = null ? 0 : q->out_int[i];
			break;
		case Q_TIME:
			((char *)c->dst)[0] = '\0';
			if (!null)
				q_format_time(&q->out_time[i], c->dst);
			break;
		}
	}
	if (rc != AIGW_OK) {
		for (i = 0; i < q->nout; i++) {
			if (q->col[i].kind == Q_DYN) {
				free(*(char **)q->col[i].dst);
				*(char **)q->col[i].dst = NULL;
			}
		}
	}
	return rc;
}

aigw_rc q_fetch(struct q *q, char *err)
{
	int r;

	if (!q->has_result)
		return AIGW_ENOTFOUND;
	r = mysql_stmt_fetch(q->st);
	if (r == MYSQL_NO_DATA)
		return AIGW_ENOTFOUND;
	if (r != 0 && r != MYSQL_DATA_TRUNCATED)
		return q_fail_errno(q, mysql_stmt_errno(q->st), mysql_stmt_error(q->st), err);
	return q_fill(q, err);
}

aigw_rc q_one(struct q *q, char *err)
{
	aigw_rc rc = q_exec(q, err);

	if (rc != AIGW_OK)
		return rc;
	return q_fetch(q, err);
}

unsigned long long q_affected(const struct q *q)
{
	return q->st ? mysql_stmt_affected_rows(q->st) : 0;
}

unsigned long long q_insert_id(const struct q *q)
{
	return q->st ? mysql_stmt_insert_id(q->st) : 0;
}

void q_end(struct q *q)
{
	q_release(q);
	if (q->held)
		db_release(q->db);
	q->held = false;
}
