/* The spend of billing periods as the database has it now, for many periods
 * in one statement: what a process's app cache refreshes once a second so
 * that answers can say how much credit an app has left without a query on
 * the request path. */
#ifndef AIGW_DB_PERIOD_FIGURES_H
#define AIGW_DB_PERIOD_FIGURES_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct db;

/* At most this many periods per call. */
#define PERIOD_FIGURES_MAX 1000

/* Calls fn(arg, id, used, reserved) (money units) for each of ids[0..n)
 * that exists (n <= PERIOD_FIGURES_MAX), in one statement. */
aigw_rc db_period_figures(struct db *db, const long long *ids, size_t n,
                          void (*fn)(void *arg, long long id, int64_t used, int64_t reserved),
                          void *arg, char *err);

#endif
