/* Set-up shared by the unit tests that need a live database: they run only
 * when $AIGW_TEST_CONFIG names an aigw.conf of a scratch database (tests/run
 * points it at its first stack) and skip, exit 77, without it. Include after
 * check.h (it reports under check_program). */
#ifndef AIGW_TEST_LIVE_H
#define AIGW_TEST_LIVE_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "conffile.h"
#include "error.h"
#include "migrate.h"
#include "stmt.h"

/* Loads $AIGW_TEST_CONFIG into conf and, when migrate is set, applies the
 * migrations quietly. Returns 0 when ready, 77 when there is no live
 * database to use, 1 after reporting a failure on stderr. */
static inline int live_open(struct aigw_conf *conf, bool migrate)
{
	const char *path = getenv("AIGW_TEST_CONFIG");
	char err[AIGW_ERRLEN] = "";
	FILE *devnull;
	aigw_rc rc;

	if (!path || !path[0])
		return 77;
	conf_defaults(conf);
	if (conf_load(conf, path, err) != AIGW_OK) {
		fprintf(stderr, "%s: %s\n", check_program, err);
		return 1;
	}
	if (sodium_init() < 0)
		return 1;
	if (!migrate)
		return 0;
	devnull = fopen("/dev/null", "w");
	rc = devnull ? db_migrate(conf, devnull, err)
	             : aigw_fail(err, AIGW_EIO, "cannot open /dev/null");
	if (devnull)
		fclose(devnull);
	if (rc != AIGW_OK) {
		fprintf(stderr, "%s: migrate: %s\n", check_program, err);
		return 1;
	}
	return 0;
}

/* A fresh app id, "t_" and 12 random hex digits, into out (cap >= 15). */
static inline void live_app_id(char *out, size_t cap)
{
	unsigned char rnd[6];

	randombytes_buf(rnd, sizeof rnd);
	memcpy(out, "t_", 2);
	sodium_bin2hex(out + 2, cap - 2, rnd, sizeof rnd);
}

/* The one integer a query returns (sql takes one string parameter, arg, or
 * none when arg is NULL); -1 when it fails or returns no row. */
static inline long long live_int(struct db *db, const char *sql, const char *arg)
{
	char err[AIGW_ERRLEN];
	long long v = -1;
	struct q q;

	q_init(&q, db, sql);
	if (arg)
		q_in_str(&q, arg);
	q_out_int(&q, &v, NULL);
	if (q_one(&q, err) != AIGW_OK)
		v = -1;
	q_end(&q);
	return v;
}

#endif
