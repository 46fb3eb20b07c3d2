/* The usage journal's line format (journal_record.h). */
#include "config.h"

#include "journal_record.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "hash.h"
#include "money.h"

#define HASH_HEX 16

static const char *const kind_names[] = {
        [JOURNAL_SEGMENT] = "segment", [JOURNAL_HOLD] = "hold", [JOURNAL_OPEN] = "open",
        [JOURNAL_DONE] = "done",       [JOURNAL_LANDED] = "landed",
};

/* Money as the project writes it everywhere: exact decimal text. */
static void add_money(cJSON *o, const char *name, int64_t units)
{
	char text[MONEY_TEXT_LEN];

	money_to_decimal(units, text);
	cJSON_AddStringToObject(o, name, text);
}

/* The request's fields that every kind about a request carries. */
static void add_request(cJSON *o, const struct usage_record *r)
{
	cJSON_AddStringToObject(o, "rid", r->request_id);
	cJSON_AddStringToObject(o, "app", r->app_id);
	cJSON_AddNumberToObject(o, "key", (double)(r->key_id > 0 ? r->key_id : 0));
	cJSON_AddStringToObject(o, "ep", r->endpoint ? r->endpoint : "");
	cJSON_AddStringToObject(o, "model", r->model_requested);
	cJSON_AddStringToObject(o, "gen", r->generation_id);
	cJSON_AddBoolToObject(o, "byok", r->is_byok);
	cJSON_AddBoolToObject(o, "streamed", r->streamed);
	cJSON_AddNumberToObject(o, "resv", (double)r->reservation_id);
	cJSON_AddNumberToObject(o, "period", (double)r->period_id);
}

static void add_done(cJSON *o, const struct usage_record *r)
{
	cJSON_AddStringToObject(o, "billed", r->model_billed);
	cJSON_AddNumberToObject(o, "prompt", (double)r->prompt_tokens);
	cJSON_AddNumberToObject(o, "completion", (double)r->completion_tokens);
	cJSON_AddNumberToObject(o, "cached", (double)r->cached_tokens);
	cJSON_AddNumberToObject(o, "reasoning", (double)r->reasoning_tokens);
	add_money(o, "cost", r->cost);
	cJSON_AddStringToObject(o, "source", cost_source_name(r->cost_source));
	cJSON_AddNumberToObject(o, "status", r->status);
	cJSON_AddStringToObject(o, "err", r->error);
	cJSON_AddBoolToObject(o, "aborted", r->aborted);
	cJSON_AddNumberToObject(o, "ttft", (double)(r->ttft_us > 0 ? r->ttft_us : 0));
	cJSON_AddNumberToObject(o, "duration", (double)(r->duration_us > 0 ? r->duration_us : 0));
}

size_t journal_line_print(const struct journal_entry *e, char *out, size_t cap)
{
	cJSON *o = cJSON_CreateObject();
	size_t len;

	if (cap < HASH_HEX + 3 || e->kind < JOURNAL_SEGMENT || e->kind > JOURNAL_LANDED) {
		cJSON_Delete(o);
		return 0;
	}
	cJSON_AddStringToObject(o, "k", kind_names[e->kind]);
	if (e->kind == JOURNAL_SEGMENT || e->kind == JOURNAL_LANDED) {
		cJSON_AddNumberToObject(o, "lsn", (double)e->lsn);
	} else {
		add_request(o, &e->rec);
		if (e->kind == JOURNAL_HOLD)
			add_money(o, "amount", e->amount);
		if (e->kind == JOURNAL_OPEN)
			cJSON_AddNumberToObject(o, "sent", (double)e->sent_bytes);
		if (e->kind == JOURNAL_DONE)
			add_done(o, &e->rec);
	}
	/* the JSON goes after "<hash> " and leaves room for the newline */
	if (!cJSON_PrintPreallocated(o, out + HASH_HEX + 1, (int)(cap - HASH_HEX - 2), false)) {
		cJSON_Delete(o);
		return 0;
	}
	cJSON_Delete(o);
	len = strlen(out + HASH_HEX + 1);
	char hex[HASH_HEX + 1];
	snprintf(hex, sizeof(hex), "%016" PRIx64, hash_fnv1a(out + HASH_HEX + 1, len));
	memcpy(out, hex, HASH_HEX);
	out[HASH_HEX] = ' ';
	out[HASH_HEX + 1 + len] = '\n';
	out[HASH_HEX + 2 + len] = '\0';
	return HASH_HEX + 2 + len;
}

/* ---- parsing ---- */

static bool get_text(const cJSON *o, const char *name, char *out, size_t cap)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	if (!cJSON_IsString(v) || strlen(v->valuestring) >= cap)
		return false;
	memcpy(out, v->valuestring, strlen(v->valuestring) + 1);
	return true;
}

/* An integer field in [0, 2^53]: what a double carries exactly. */
static bool get_int(const cJSON *o, const char *name, long long *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 9007199254740992.0 ||
	    v->valuedouble != (double)(long long)v->valuedouble)
		return false;
	*out = (long long)v->valuedouble;
	return true;
}

static bool get_bool(const cJSON *o, const char *name, bool *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	if (!cJSON_IsBool(v))
		return false;
	*out = cJSON_IsTrue(v);
	return true;
}

static bool get_money(const cJSON *o, const char *name, int64_t *out)
{
	char text[MONEY_TEXT_LEN];

	return get_text(o, name, text, sizeof(text)) && money_parse(text, out);
}

static bool get_endpoint(const cJSON *o, const char **out)
{
	char text[16];

	if (!get_text(o, "ep", text, sizeof(text)))
		return false;
	if (strcmp(text, "chat") == 0)
		*out = "chat";
	else if (strcmp(text, "embeddings") == 0)
		*out = "embeddings";
	else
		return false;
	return true;
}

static bool get_source(const cJSON *o, enum cost_source *out)
{
	char text[16];

	if (!get_text(o, "source", text, sizeof(text)))
		return false;
	for (int s = COST_NONE; s <= COST_ESTIMATE; s++) {
		if (strcmp(text, cost_source_name((enum cost_source)s)) == 0) {
			*out = (enum cost_source)s;
			return true;
		}
	}
	return false;
}

static bool parse_request(const cJSON *o, struct usage_record *r)
{
	return get_text(o, "rid", r->request_id, sizeof(r->request_id)) && r->request_id[0] &&
	       get_text(o, "app", r->app_id, sizeof(r->app_id)) && r->app_id[0] &&
	       get_int(o, "key", &r->key_id) && get_endpoint(o, &r->endpoint) &&
	       get_text(o, "model", r->model_requested, sizeof(r->model_requested)) &&
	       get_text(o, "gen", r->generation_id, sizeof(r->generation_id)) &&
	       get_bool(o, "byok", &r->is_byok) && get_bool(o, "streamed", &r->streamed) &&
	       get_int(o, "resv", &r->reservation_id) && get_int(o, "period", &r->period_id);
}

static bool parse_done(const cJSON *o, struct usage_record *r)
{
	long long status = 0;

	if (!(get_text(o, "billed", r->model_billed, sizeof(r->model_billed)) &&
	      get_int(o, "prompt", &r->prompt_tokens) &&
	      get_int(o, "completion", &r->completion_tokens) &&
	      get_int(o, "cached", &r->cached_tokens) &&
	      get_int(o, "reasoning", &r->reasoning_tokens) && get_money(o, "cost", &r->cost) &&
	      get_source(o, &r->cost_source) && get_int(o, "status", &status) &&
	      (!cJSON_GetObjectItemCaseSensitive(o, "err") ||
	       get_text(o, "err", r->error, sizeof(r->error))) &&
	      get_bool(o, "aborted", &r->aborted) && get_int(o, "ttft", &r->ttft_us) &&
	      get_int(o, "duration", &r->duration_us)))
		return false;
	if (status < 100 || status > 599)
		return false;
	r->status = (int)status;
	return true;
}

aigw_rc journal_line_parse(const char *line, size_t len, struct journal_entry *e)
{
	char hex[HASH_HEX + 1], kind[16];
	cJSON *o;
	bool ok = false;

	memset(e, 0, sizeof(*e));
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len < HASH_HEX + 3 || len > JOURNAL_LINE_MAX || line[HASH_HEX] != ' ')
		return AIGW_EINVAL;
	snprintf(hex, sizeof(hex), "%016" PRIx64,
	         hash_fnv1a(line + HASH_HEX + 1, len - HASH_HEX - 1));
	if (memcmp(hex, line, HASH_HEX) != 0)
		return AIGW_EINVAL;
	o = cJSON_ParseWithLength(line + HASH_HEX + 1, len - HASH_HEX - 1);
	if (!cJSON_IsObject(o) || !get_text(o, "k", kind, sizeof(kind))) {
		cJSON_Delete(o);
		return AIGW_EINVAL;
	}
	for (int k = JOURNAL_SEGMENT; k <= JOURNAL_LANDED; k++)
		if (strcmp(kind, kind_names[k]) == 0)
			e->kind = (enum journal_kind)k;
	switch (e->kind) {
	case JOURNAL_SEGMENT:
	case JOURNAL_LANDED:
		ok = get_int(o, "lsn", &e->lsn);
		break;
	case JOURNAL_HOLD:
		ok = parse_request(o, &e->rec) && get_money(o, "amount", &e->amount);
		break;
	case JOURNAL_OPEN:
		ok = parse_request(o, &e->rec) && get_int(o, "sent", &e->sent_bytes);
		break;
	case JOURNAL_DONE:
		ok = parse_request(o, &e->rec) && parse_done(o, &e->rec);
		break;
	}
	cJSON_Delete(o);
	return ok ? AIGW_OK : AIGW_EINVAL;
}
