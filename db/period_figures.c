/* Many periods' spend in one statement (period_figures.h): the ids travel as
 * one JSON array through JSON_TABLE, so the statement text is fixed. */
#include "config.h"

#include "period_figures.h"

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "money.h"
#include "stmt.h"

static const char SQL_FIGURES[] =
        "SELECT p.id, CAST(p.used_usd AS CHAR), CAST(p.reserved_usd AS CHAR) "
        "FROM JSON_TABLE(?, '$[*]' COLUMNS (id BIGINT UNSIGNED PATH '$')) AS j "
        "JOIN billing_periods AS p ON p.id = j.id";

aigw_rc db_period_figures(struct db *db, const long long *ids, size_t n,
                          void (*fn)(void *arg, long long id, int64_t used, int64_t reserved),
                          void *arg, char *err)
{
	char used[MONEY_TEXT_LEN], reserved[MONEY_TEXT_LEN];
	long long id = 0;
	struct buf json;
	struct q q;
	aigw_rc rc;

	if (n == 0)
		return AIGW_OK;
	if (n > PERIOD_FIGURES_MAX)
		return aigw_fail(err, AIGW_EINVAL, "period figures: %zu periods, at most %d", n,
		                 PERIOD_FIGURES_MAX);
	buf_init(&json, 32 * PERIOD_FIGURES_MAX);
	buf_append(&json, "[", 1);
	for (size_t i = 0; i < n; i++)
		buf_appendf(&json, "%s%lld", i ? "," : "", ids[i]);
	buf_append(&json, "]", 1);
	q_init(&q, db, SQL_FIGURES);
	q_in_strn(&q, json.data, json.len);
	q_out_int(&q, &id, NULL);
	q_out_str(&q, used, sizeof(used), NULL);
	q_out_str(&q, reserved, sizeof(reserved), NULL);
	rc = q_exec(&q, err);
	while (rc == AIGW_OK) {
		int64_t u, r;
		rc = q_fetch(&q, err);
		if (rc != AIGW_OK)
			break;
		if (!money_parse(used, &u) || !money_parse(reserved, &r)) {
			rc = aigw_fail(err, AIGW_EDB, "period figures: bad amount of period %lld", id);
			break;
		}
		fn(arg, id, u, r);
	}
	q_end(&q);
	buf_free(&json);
	return rc == AIGW_ENOTFOUND ? AIGW_OK : rc;
}
