/* Costs from the generation record or the price table (settle.h). */
#include "config.h"

#include "settle.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "log.h"
#include "models.h"
#include "money.h"
#include "upstream.h"
#include "usage_parse.h"

/* Waits between asks for a generation record that is not there yet (ms). */
static const int generation_backoff_ms[] = {200, 400, 800, 1600};
#define GENERATION_BODY_MAX (256 * 1024)

/* Collects a small upstream answer into a capped buffer. */
static int collect_body(void *arg, const char *bytes, size_t n)
{
	return buf_append(arg, bytes, n) == AIGW_OK ? 0 : 1;
}

bool settle_from_generation(struct upstream *u, const char *api_key, struct usage_record *rec)
{
	char path[256];
	char err[AIGW_ERRLEN];
	size_t tries = sizeof(generation_backoff_ms) / sizeof(generation_backoff_ms[0]);

	if (!rec->generation_id[0] || !u)
		return false;
	if (strspn(rec->generation_id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	                                 "0123456789-_") != strlen(rec->generation_id))
		return false; /* goes into a URL: only ids of the usual shape */
	snprintf(path, sizeof(path), "/generation?id=%s", rec->generation_id);
	for (size_t i = 0; i <= tries; i++) {
		struct upstream_request rq = {.method = "GET", .path = path, .api_key = api_key};
		struct upstream_callbacks cb = {.on_data = collect_body};
		struct upstream_response up;
		struct buf b;

		buf_init(&b, GENERATION_BODY_MAX);
		aigw_rc rc = upstream_call(u, &rq, &cb, &b, &up, err);
		if (rc == AIGW_OK && up.status == 200) {
			cJSON *j = cJSON_ParseWithLength(b.data ? b.data : "", b.len);
			const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "data");
			const cJSON *cost = cJSON_GetObjectItemCaseSensitive(d, "total_cost");
			const cJSON *tp = cJSON_GetObjectItemCaseSensitive(d, "tokens_prompt");
			const cJSON *tc = cJSON_GetObjectItemCaseSensitive(d, "tokens_completion");
			int64_t units =
			        cJSON_IsNumber(cost) ? money_from_usd(cost->valuedouble) : -1;
			if (units >= 0) {
				rec->cost = units;
				rec->cost_source = COST_GENERATION;
				if (cJSON_IsNumber(tp))
					rec->prompt_tokens = (long long)tp->valuedouble;
				if (cJSON_IsNumber(tc))
					rec->completion_tokens = (long long)tc->valuedouble;
			}
			cJSON_Delete(j);
			buf_free(&b);
			return units >= 0;
		}
		buf_free(&b);
		if (rc != AIGW_OK || (up.status != 404 && up.status < 500))
			break;
		if (i < tries) {
			struct timespec ts = {0, generation_backoff_ms[i] * 1000000L};
			nanosleep(&ts, NULL);
		}
	}
	log_warn("proxy: no generation record for %s", rec->generation_id);
	return false;
}

/* About four bytes of English or JSON per token: an estimate, marked so. */
#define BYTES_PER_TOKEN 4

void settle_from_price_table(struct db *db, struct usage_record *rec, long long sent_bytes,
                             long long answer_bytes)
{
	struct model_price price;
	char err[AIGW_ERRLEN];
	const char *model = rec->model_billed[0] ? rec->model_billed : rec->model_requested;

	if (db_model_price(db, model, &price, err) != AIGW_OK) {
		log_warn("proxy: no price for %s, request %s recorded without cost", model,
		         rec->request_id);
		return;
	}
	if (!rec->prompt_tokens)
		rec->prompt_tokens = (sent_bytes + BYTES_PER_TOKEN - 1) / BYTES_PER_TOKEN;
	if (!rec->completion_tokens)
		rec->completion_tokens =
		        (answer_bytes + BYTES_PER_TOKEN - 1) / BYTES_PER_TOKEN;
	rec->cost = price.request + rec->prompt_tokens * price.prompt +
	              rec->completion_tokens * price.completion;
	rec->cost_source = COST_ESTIMATE;
}

