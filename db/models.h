/* The models table: the upstream's model records (OpenRouter GET /models)
 * with their list prices, and the list's own top-level fields beside "data"
 * (models_list_meta: links, total_count, ...), replaced as a whole by
 * `aigw-admin models sync` or `models import`, read by GET /v1/{app}/models
 * and by cost estimates. */
#ifndef AIGW_DB_MODELS_H
#define AIGW_DB_MODELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "billing.h"
#include "error.h"

struct db;

#define MODEL_ID_MAX 256                    /* models.id, bytes */
#define MODELS_JSON_MAX (64u * 1024 * 1024) /* a /models answer or file, at most */
/* The list's top-level fields other than "data", as compact JSON, at most:
 * OpenRouter's take a few dozen bytes, and every list request reads them. */
#define MODELS_LIST_FIELDS_MAX (64u * 1024)

struct models_replace_result {
	size_t stored;  /* records written (new or updated) */
	size_t removed; /* rows deleted because the new list lacks them */
};

/* True if id is 1..MODEL_ID_MAX bytes without control characters. */
bool model_id_valid(const char *id);

/* Writes one model from its upstream record (borrowed): id, name, created,
 * context_length, pricing.{prompt,completion,request,input_cache_read} and
 * top_provider.max_completion_tokens go to their columns (prices as exact
 * decimal text, never through a double; negative or unreadable prices as
 * NULL), the whole record to `record`. synced_at is a "YYYY-MM-DD
 * HH:MM:SS.ffffff" UTC time, or NULL for now. AIGW_EINVAL for a record that
 * is not an object or has no valid string id. */
aigw_rc db_model_upsert(struct db *db, const cJSON *record, const char *synced_at, char *err);

/* Replaces the table with the models of a /models document (len bytes of
 * JSON text, borrowed): {"data": [record, ...], ...} with at least one
 * record. The document's other top-level fields (OpenRouter's links,
 * total_count) replace the stored list fields (db_models_list_fields).
 * Every record is checked first, then all are written, the rows missing
 * from the list deleted and the list fields stored, in one transaction: on
 * any error nothing changes. Must be called outside a transaction.
 * AIGW_EINVAL (bad JSON, no or empty data array, a bad record, list fields
 * over MODELS_LIST_FIELDS_MAX: err says which), AIGW_ETOOBIG, AIGW_EDB. */
aigw_rc db_models_replace(struct db *db, const char *json, size_t len,
                          struct models_replace_result *res, char *err);

/* The top-level fields other than "data" of the document last stored by
 * db_models_replace, as the text of one JSON object in the upstream's order
 * (e.g. {"links":{"next":null},"total_count":7}), in *fields (malloc'd,
 * NUL-terminated; the caller frees it). AIGW_ENOTFOUND when none was stored
 * (no sync or import since migration 010). */
aigw_rc db_models_list_fields(struct db *db, char **fields, char *err);

/* The stored JSON record of model id in *record (malloc'd, NUL-terminated;
 * the caller frees it). AIGW_ENOTFOUND if there is no such model. */
aigw_rc db_model_get(struct db *db, const char *id, char **record, char *err);

/* Calls fn for every model, ordered by id, with its id and JSON record (both
 * borrowed for the call); stops early when fn returns non-zero. With
 * n_allowed > 0 only the models whose id is in allowed[0..n_allowed) are
 * visited (allowed ids without a row are skipped). */
aigw_rc db_model_list(struct db *db, char *const *allowed, size_t n_allowed,
                      int (*fn)(const char *id, const char *record, size_t record_len, void *arg),
                      void *arg, char *err);

/* The list prices of model id. AIGW_ENOTFOUND when the model is unknown or
 * has no prompt or completion price (the caller estimates otherwise). */
aigw_rc db_model_price(struct db *db, const char *id, struct model_price *out, char *err);

#endif
