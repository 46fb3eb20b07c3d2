/* The models table and the list's own fields (models.h). Records are
 * checked and turned into column values before anything is written, so a
 * bad entry in a sync leaves the table as it was. Prices are moved from the
 * upstream's decimal strings into DECIMAL text digit by digit (money.h),
 * never through a double. */
#include "config.h"
#include "models.h"

#include <math.h> /* isfinite: a macro, no libm */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "db.h"
#include "money.h"
#include "stmt.h"
#include "tx.h"

#define MODEL_NAME_MAX 512 /* models.name holds 512 characters; we keep bytes */
#define PRICE_SCALE 14     /* DECIMAL(24,14) */
#define NPRICES 4
/* Integers beyond 2^53 are not exact in a JSON number read as a double. */
#define JSON_INT_MAX 9007199254740992.0

static const char *const PRICE_KEYS[NPRICES] = {"prompt", "completion", "request",
                                                "input_cache_read"};

static const char SQL_MODEL_UPSERT[] =
        "INSERT INTO models (id, name, created, context_length, price_prompt, "
        "price_completion, price_request, price_input_cache_read, max_completion_tokens, "
        "record, synced_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, COALESCE(?, UTC_TIMESTAMP(6))) "
        "ON DUPLICATE KEY UPDATE name = VALUES(name), created = VALUES(created), "
        "context_length = VALUES(context_length), price_prompt = VALUES(price_prompt), "
        "price_completion = VALUES(price_completion), price_request = VALUES(price_request), "
        "price_input_cache_read = VALUES(price_input_cache_read), "
        "max_completion_tokens = VALUES(max_completion_tokens), record = VALUES(record), "
        "synced_at = VALUES(synced_at)";
static const char SQL_MODELS_NOW[] = "SELECT UTC_TIMESTAMP(6)";
static const char SQL_MODELS_PRUNE[] = "DELETE FROM models WHERE synced_at <> ?";
static const char SQL_LIST_FIELDS_PUT[] =
        "INSERT INTO models_list_meta (id, fields, synced_at) VALUES (1, ?, ?) "
        "ON DUPLICATE KEY UPDATE fields = VALUES(fields), synced_at = VALUES(synced_at)";
static const char SQL_LIST_FIELDS_GET[] = "SELECT fields FROM models_list_meta WHERE id = 1";
static const char SQL_MODEL_GET[] = "SELECT record FROM models WHERE id = ?";
static const char SQL_MODEL_LIST[] = "SELECT id, record FROM models ORDER BY id";
/* The allowed ids come as one JSON array parameter: one statement whatever
 * their number. The subquery (not a join) ignores repeated ids. */
static const char SQL_MODEL_LIST_IN[] =
        "SELECT id, record FROM models WHERE id IN (SELECT j.id FROM JSON_TABLE(?, '$[*]' "
        "COLUMNS (id VARCHAR(256) PATH '$')) AS j) ORDER BY id";
static const char SQL_MODEL_PRICE[] =
        "SELECT price_prompt, price_completion, price_request, price_input_cache_read "
        "FROM models WHERE id = ?";

/* A record turned into column values; strings point into the cJSON tree
 * except the ones marked owned. */
struct model_row {
	const char *id;
	char name[MODEL_NAME_MAX + 1];
	bool has_name;
	long long created, context_length, max_completion_tokens;
	bool has_created, has_context_length, has_max_completion_tokens;
	char price[NPRICES][MONEY_TEXT_LEN];
	bool has_price[NPRICES];
	char *record; /* owned: the record as compact JSON */
};

bool model_id_valid(const char *id)
{
	size_t n, i;

	if (!id)
		return false;
	n = strlen(id);
	if (n < 1 || n > MODEL_ID_MAX)
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)id[i];

		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

/* An integral JSON number (within the exact range) into *v. */
static bool json_int(const cJSON *j, long long *v)
{
	double d;

	if (!cJSON_IsNumber(j))
		return false;
	d = j->valuedouble;
	/* The range check first: the cast of a bigger (or NaN) double is undefined. */
	if (!(d >= -JSON_INT_MAX && d <= JSON_INT_MAX) || d != (double)(long long)d)
		return false;
	*v = (long long)d;
	return true;
}

/* Copies s, cut to at most cap - 1 bytes at a UTF-8 character boundary. */
static void copy_utf8(char *dst, size_t cap, const char *s)
{
	size_t n = strlen(s);

	if (n >= cap) {
		n = cap - 1;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--; /* s[n] continues a character: cut before it */
	}
	memcpy(dst, s, n);
	dst[n] = '\0';
}

/* A price (a decimal string as OpenRouter sends, or a number) as
 * DECIMAL(24,14) text, rounded up past 14 decimals. False when unknown:
 * absent, negative ("-1" means variable pricing), unreadable or too big. */
static bool price_text(const cJSON *j, char out[MONEY_TEXT_LEN])
{
	char num[40];
	const char *s;
	int64_t units;

	if (cJSON_IsString(j)) {
		s = j->valuestring;
	} else if (cJSON_IsNumber(j) && isfinite(j->valuedouble)) {
		/* The shortest text that reads back as the same double, as cJSON
		 * prints it: "2.5e-06", not "2.5000000000000001e-06". */
		snprintf(num, sizeof num, "%.15g", j->valuedouble);
		if (strtod(num, NULL) != j->valuedouble)
			snprintf(num, sizeof num, "%.17g", j->valuedouble);
		s = num;
	} else {
		return false;
	}
	if (!decimal_to_units(s, strlen(s), PRICE_SCALE, true, &units))
		return false;
	units_to_decimal(units, PRICE_SCALE, out, MONEY_TEXT_LEN);
	return true;
}

static void model_row_free(struct model_row *r)
{
	free(r->record);
	r->record = NULL;
}

/* Fills r from record (borrowed; r->id points into it). index >= 0 names
 * the entry in error messages. */
static aigw_rc model_row_from_json(const cJSON *record, long index, struct model_row *r, char *err)
{
	const cJSON *id, *j, *pricing, *top;
	char where[48] = "";
	int i;

	memset(r, 0, sizeof *r);
	if (index >= 0)
		snprintf(where, sizeof where, "data[%ld]: ", index);
	if (!cJSON_IsObject(record))
		return aigw_fail(err, AIGW_EINVAL, "%smodel record is not a JSON object", where);
	id = cJSON_GetObjectItemCaseSensitive(record, "id");
	if (!cJSON_IsString(id))
		return aigw_fail(err, AIGW_EINVAL, "%smodel record has no string \"id\"", where);
	if (!model_id_valid(id->valuestring))
		return aigw_fail(err, AIGW_EINVAL,
		                 "%smodel id must be 1-%d bytes without control characters", where,
		                 MODEL_ID_MAX);
	r->id = id->valuestring;

	j = cJSON_GetObjectItemCaseSensitive(record, "name");
	if (cJSON_IsString(j)) {
		copy_utf8(r->name, sizeof r->name, j->valuestring);
		r->has_name = true;
	}
	r->has_created = json_int(cJSON_GetObjectItemCaseSensitive(record, "created"), &r->created);
	r->has_context_length = json_int(cJSON_GetObjectItemCaseSensitive(record, "context_length"),
	                                 &r->context_length) &&
	                        r->context_length >= 0;
	top = cJSON_GetObjectItemCaseSensitive(record, "top_provider");
	r->has_max_completion_tokens =
	        json_int(cJSON_GetObjectItemCaseSensitive(top, "max_completion_tokens"),
	                 &r->max_completion_tokens) &&
	        r->max_completion_tokens >= 0;
	pricing = cJSON_GetObjectItemCaseSensitive(record, "pricing");
	for (i = 0; i < NPRICES; i++)
		r->has_price[i] = price_text(
		        cJSON_GetObjectItemCaseSensitive(pricing, PRICE_KEYS[i]), r->price[i]);

	r->record = cJSON_PrintUnformatted(record);
	if (!r->record)
		return aigw_fail(err, AIGW_EINVAL, "%scannot serialize model '%.80s'", where,
		                 r->id);
	return AIGW_OK;
}

static aigw_rc model_row_write(struct db *db, const struct model_row *r, const char *synced_at,
                               char *err)
{
	struct q q;
	aigw_rc rc;
	int i;

	q_init(&q, db, SQL_MODEL_UPSERT);
	q_in_str(&q, r->id);
	q_in_str(&q, r->has_name ? r->name : NULL);
	q_in_int_or_null(&q, r->created, !r->has_created);
	q_in_int_or_null(&q, r->context_length, !r->has_context_length);
	for (i = 0; i < NPRICES; i++)
		q_in_str(&q, r->has_price[i] ? r->price[i] : NULL);
	q_in_int_or_null(&q, r->max_completion_tokens, !r->has_max_completion_tokens);
	q_in_str(&q, r->record);
	q_in_str(&q, synced_at);
	rc = q_exec(&q, err);
	q_end(&q);
	if (rc == AIGW_EINVAL)
		aigw_fail(err, rc, "model '%.80s' rejected by the database (bad UTF-8?)", r->id);
	return rc;
}

aigw_rc db_model_upsert(struct db *db, const cJSON *record, const char *synced_at, char *err)
{
	struct model_row r;
	aigw_rc rc;

	rc = model_row_from_json(record, -1, &r, err);
	if (rc == AIGW_OK)
		rc = model_row_write(db, &r, synced_at, err);
	model_row_free(&r);
	return rc;
}

/* The data array of a /models document, checked non-empty. */
static aigw_rc models_data(const cJSON *doc, const cJSON **data, char *err)
{
	const cJSON *d;

	if (!cJSON_IsObject(doc))
		return aigw_fail(err, AIGW_EINVAL, "the models document is not a JSON object");
	d = cJSON_GetObjectItemCaseSensitive(doc, "data");
	if (!cJSON_IsArray(d))
		return aigw_fail(err, AIGW_EINVAL, "the models document has no \"data\" array");
	if (cJSON_GetArraySize(d) == 0)
		return aigw_fail(
		        err, AIGW_EINVAL,
		        "the models document lists no models (refusing to empty the table)");
	*data = d;
	return AIGW_OK;
}

/* The document's top-level fields other than "data" as compact JSON text
 * (malloc'd; the caller frees it) in *out. A repeated "data" key is left
 * out too: it is no list field. */
static aigw_rc list_fields_text(const cJSON *doc, char **out, char *err)
{
	const cJSON *item;
	cJSON *fields = cJSON_CreateObject();
	char *text = NULL;
	aigw_rc rc = AIGW_OK;

	*out = NULL;
	if (!fields)
		return aigw_fail(err, AIGW_EINVAL, "cannot copy the list's fields");
	cJSON_ArrayForEach(item, doc)
	{
		cJSON *copy;

		if (strcmp(item->string, "data") == 0)
			continue;
		copy = cJSON_Duplicate(item, true);
		if (!copy || !cJSON_AddItemToObject(fields, item->string, copy)) {
			cJSON_Delete(copy);
			rc = aigw_fail(err, AIGW_EINVAL, "cannot copy the list's field \"%.64s\"",
			               item->string);
			goto out;
		}
	}
	text = cJSON_PrintUnformatted(fields);
	if (!text) {
		rc = aigw_fail(err, AIGW_EINVAL, "cannot serialize the list's fields");
		goto out;
	}
	if (strlen(text) > MODELS_LIST_FIELDS_MAX) {
		rc = aigw_fail(err, AIGW_EINVAL,
		               "the models document's fields beside \"data\" are over %u bytes",
		               MODELS_LIST_FIELDS_MAX);
		goto out;
	}
	*out = text;
	text = NULL;
out:
	free(text);
	cJSON_Delete(fields);
	return rc;
}

/* One replace, run as a transaction body (tx.h): the records, the prune of
 * the rows the list lacks, the list fields. Safe to run again: every value
 * written is absolute, and the stamp is read afresh. */
struct models_write {
	const struct model_row *rows;
	size_t n;
	const char *fields; /* the list fields as JSON text */
	size_t removed;     /* out: rows deleted */
};

static aigw_rc models_write_body(struct db *db, void *arg, char *err)
{
	struct models_write *w = arg;
	char now[DB_TIME_LEN];
	struct q q;
	aigw_rc rc;
	size_t i;

	/* One time for the whole run: rows not stamped with it were not in
	 * the list and are deleted. */
	q_init(&q, db, SQL_MODELS_NOW);
	q_out_time(&q, now, NULL);
	rc = q_one(&q, err);
	q_end(&q);
	for (i = 0; i < w->n && rc == AIGW_OK; i++)
		rc = model_row_write(db, &w->rows[i], now, err);
	if (rc != AIGW_OK)
		return rc;
	q_init(&q, db, SQL_MODELS_PRUNE);
	q_in_str(&q, now);
	rc = q_exec(&q, err);
	w->removed = (size_t)q_affected(&q);
	q_end(&q);
	if (rc != AIGW_OK)
		return rc;
	q_init(&q, db, SQL_LIST_FIELDS_PUT);
	q_in_str(&q, w->fields);
	q_in_str(&q, now);
	rc = q_exec(&q, err);
	q_end(&q);
	if (rc == AIGW_EINVAL)
		aigw_fail(err, rc, "the list's fields were rejected by the database (bad UTF-8?)");
	return rc;
}

aigw_rc db_models_replace(struct db *db, const char *json, size_t len,
                          struct models_replace_result *res, char *err)
{
	struct models_write w = {NULL, 0, NULL, 0};
	struct model_row *rows = NULL;
	const cJSON *data = NULL, *item;
	char *fields = NULL;
	cJSON *doc = NULL;
	size_t n = 0, i;
	aigw_rc rc;

	memset(res, 0, sizeof *res);
	if (len > MODELS_JSON_MAX)
		return aigw_fail(err, AIGW_ETOOBIG, "the models document is over %u bytes",
		                 MODELS_JSON_MAX);
	doc = cJSON_ParseWithLength(json, len);
	if (!doc) {
		rc = aigw_fail(err, AIGW_EINVAL, "the models document is not valid JSON");
		goto out;
	}
	rc = models_data(doc, &data, err);
	if (rc == AIGW_OK)
		rc = list_fields_text(doc, &fields, err);
	if (rc != AIGW_OK)
		goto out;
	rows = xcalloc((size_t)cJSON_GetArraySize(data), sizeof *rows);
	cJSON_ArrayForEach(item, data)
	{
		rc = model_row_from_json(item, (long)n, &rows[n], err);
		n++;
		if (rc != AIGW_OK)
			goto out;
	}
	w.rows = rows;
	w.n = n;
	w.fields = fields;
	rc = db_tx_run(db, "replacing the models", NULL, models_write_body, &w, err);
	if (rc == AIGW_OK) {
		res->stored = n;
		res->removed = w.removed;
	}
out:
	for (i = 0; i < n; i++)
		model_row_free(&rows[i]);
	free(rows);
	free(fields);
	cJSON_Delete(doc);
	return rc;
}

aigw_rc db_models_list_fields(struct db *db, char **fields, char *err)
{
	struct q q;
	aigw_rc rc;

	*fields = NULL;
	q_init(&q, db, SQL_LIST_FIELDS_GET);
	q_out_dyn(&q, fields, NULL);
	rc = q_one(&q, err);
	q_end(&q);
	if (rc == AIGW_ENOTFOUND)
		aigw_fail(err, rc, "no model list stored yet (run aigw-admin models sync)");
	if (rc != AIGW_OK) {
		free(*fields);
		*fields = NULL;
	}
	return rc;
}

aigw_rc db_model_get(struct db *db, const char *id, char **record, char *err)
{
	struct q q;
	aigw_rc rc;

	*record = NULL;
	q_init(&q, db, SQL_MODEL_GET);
	q_in_str(&q, id);
	q_out_dyn(&q, record, NULL);
	rc = q_one(&q, err);
	q_end(&q);
	if (rc == AIGW_ENOTFOUND)
		aigw_fail(err, rc, "no model '%.80s'", id);
	return rc;
}

/* The allowed ids as a JSON array text; caller frees. */
static char *ids_json(char *const *ids, size_t n)
{
	cJSON *arr = cJSON_CreateArray();
	char *s;
	size_t i;

	if (!arr)
		return NULL;
	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(ids[i]));
	s = cJSON_PrintUnformatted(arr);
	cJSON_Delete(arr);
	return s;
}

aigw_rc db_model_list(struct db *db, char *const *allowed, size_t n_allowed,
                      int (*fn)(const char *id, const char *record, size_t record_len, void *arg),
                      void *arg, char *err)
{
	char id[MODEL_ID_MAX * 4 + 1]; /* VARCHAR(256) of utf8mb4: up to 4 bytes each */
	char *ids = NULL, *record = NULL;
	size_t record_len = 0;
	struct q q;
	aigw_rc rc;

	if (n_allowed > 0) {
		ids = ids_json(allowed, n_allowed);
		if (!ids)
			return aigw_fail(err, AIGW_EINVAL, "cannot encode the allowed models");
		q_init(&q, db, SQL_MODEL_LIST_IN);
		q_in_str(&q, ids);
	} else {
		q_init(&q, db, SQL_MODEL_LIST);
	}
	q_out_str(&q, id, sizeof id, NULL);
	q_out_dyn(&q, &record, &record_len);
	rc = q_exec(&q, err);
	while (rc == AIGW_OK) {
		int stop;

		rc = q_fetch(&q, err);
		if (rc != AIGW_OK)
			break;
		stop = fn(id, record ? record : "{}", record_len, arg);
		free(record);
		record = NULL;
		if (stop)
			break;
	}
	q_end(&q);
	free(ids);
	return rc == AIGW_ENOTFOUND ? AIGW_OK : rc;
}

/* A DECIMAL price per token as money units per token, rounded up. */
static aigw_rc price_units(const char *text, const char *id, int64_t *out, char *err)
{
	if (!decimal_to_units(text, strlen(text), MONEY_SCALE, true, out))
		return aigw_fail(err, AIGW_EINVAL, "model '%.80s': price %.32s out of range", id,
		                 text);
	return AIGW_OK;
}

aigw_rc db_model_price(struct db *db, const char *id, struct model_price *out, char *err)
{
	char p[NPRICES][MONEY_TEXT_LEN];
	bool null[NPRICES];
	struct q q;
	aigw_rc rc;
	int i;

	memset(out, 0, sizeof *out);
	q_init(&q, db, SQL_MODEL_PRICE);
	q_in_str(&q, id);
	for (i = 0; i < NPRICES; i++)
		q_out_str(&q, p[i], sizeof p[i], &null[i]);
	rc = q_one(&q, err);
	q_end(&q);
	if (rc == AIGW_ENOTFOUND)
		return aigw_fail(err, rc, "no model '%.80s'", id);
	if (rc != AIGW_OK)
		return rc;
	if (null[0] || null[1])
		return aigw_fail(err, AIGW_ENOTFOUND, "model '%.80s' has no list price", id);
	rc = price_units(p[0], id, &out->prompt, err);
	if (rc == AIGW_OK)
		rc = price_units(p[1], id, &out->completion, err);
	if (rc == AIGW_OK && !null[2])
		rc = price_units(p[2], id, &out->request, err);
	if (rc == AIGW_OK && null[3])
		out->cache_read = out->prompt;
	else if (rc == AIGW_OK)
		rc = price_units(p[3], id, &out->cache_read, err);
	return rc;
}
