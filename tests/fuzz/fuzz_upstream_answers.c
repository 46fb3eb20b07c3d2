/* libFuzzer harness: what the gateway reads out of upstream answers, as far
 * as it is callable on its own: the usage object (usage_parse, also on a
 * generation record's total_cost via money_from_usd), an upstream error
 * relayed in our shape (proxy_answer_upstream_error), a /models document's
 * record checks (db_models_replace, whose database is out of reach) and the
 * exact decimal reading of prices and costs (decimal_to_units, money_parse).
 * The input is one answer body; short inputs are also read as price text. */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "alloc.h"
#include "conffile.h"
#include "db.h"
#include "fuzz.h"
#include "memsink.h"
#include "models.h"
#include "money.h"
#include "proxy.h"
#include "response.h"
#include "upstream.h"
#include "usage_parse.h"

/* Upper bound of money_from_usd: $900,000 in units. */
#define MONEY_MAX_UNITS (900000LL * MONEY_UNITS_PER_USD)

static struct aigw_conf conf;
static struct db *db;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	conf_defaults(&conf);
	/* db_models_replace writes only a document whose records all pass;
	 * then it meets a socket that does not exist. */
	free(conf.db_socket);
	conf.db_socket = xstrdup("/nonexistent/aigw-fuzz.sock");
	db = db_new(&conf);
	return 0;
}

/* Exact decimal text: what reads, prints back to the same units. */
static void check_decimal(const char *s, size_t len)
{
	static const unsigned scales[] = {MONEY_SCALE, 14};
	char text[MONEY_TEXT_LEN];

	for (size_t i = 0; i < 2; i++) {
		int64_t exact = -1, up = -1, back = -1;
		bool ok_exact = decimal_to_units(s, len, scales[i], false, &exact);
		bool ok_up = decimal_to_units(s, len, scales[i], true, &up);

		/* rounding up only adds what the exact reading refused */
		if (ok_exact)
			FUZZ_ASSERT(ok_up && up == exact);
		if (!ok_up)
			continue;
		FUZZ_ASSERT(up >= 0);
		units_to_decimal(up, scales[i], text, sizeof(text));
		FUZZ_ASSERT(decimal_to_units(text, strlen(text), scales[i], false, &back));
		FUZZ_ASSERT(back == up);
	}
	if (len < 64 && !memchr(s, '\0', len)) {
		char copy[64];
		int64_t units = -1, back = -1;

		memcpy(copy, s, len);
		copy[len] = '\0';
		if (money_parse(copy, &units)) {
			FUZZ_ASSERT(units >= 0);
			money_to_decimal(units, text);
			FUZZ_ASSERT(money_parse(text, &back) && back == units);
		}
	}
}

static void check_usage(const cJSON *obj)
{
	struct usage_numbers u;

	usage_parse(obj, &u);
	FUZZ_ASSERT(u.present == cJSON_IsObject(obj));
	FUZZ_ASSERT(u.prompt_tokens >= 0 && u.prompt_tokens <= 1000000000000000LL);
	FUZZ_ASSERT(u.completion_tokens >= 0 && u.completion_tokens <= 1000000000000000LL);
	FUZZ_ASSERT(u.cached_tokens >= 0 && u.reasoning_tokens >= 0);
	if (u.has_cost)
		FUZZ_ASSERT(u.cost >= 0 && u.cost <= MONEY_MAX_UNITS);
	else
		FUZZ_ASSERT(u.cost == 0);
}

/* Every number is a candidate cost; every string a candidate price. */
static void walk(const cJSON *j, int depth)
{
	const cJSON *c;

	if (depth > 64)
		return;
	if (cJSON_IsNumber(j)) {
		int64_t units = money_from_usd(j->valuedouble);
		FUZZ_ASSERT(units == -1 || (units >= 0 && units <= MONEY_MAX_UNITS));
	} else if (cJSON_IsString(j) && strlen(j->valuestring) < 64) {
		check_decimal(j->valuestring, strlen(j->valuestring));
		(void)model_id_valid(j->valuestring);
	}
	cJSON_ArrayForEach(c, j)
	{
		walk(c, depth + 1);
	}
}

/* Our error answer: status line, headers, then an OpenAI-shaped error
 * whose code is the status: the upstream's, or 503 for an error of the
 * platform's own upstream account (never for BYOK). */
static void check_error_answer(const uint8_t *data, size_t size, long status, bool byok)
{
	struct upstream_response up;
	struct proxy p;
	struct response resp;
	struct memsink ms;
	const char *body;
	cJSON *j;
	int want = (status >= 400 && status <= 599) ? (int)status : 502;

	memset(&up, 0, sizeof(up));
	memset(&p, 0, sizeof(p));
	p.rec.is_byok = byok;
	memcpy(p.rec.request_id, "req_fuzz", sizeof("req_fuzz"));
	up.status = status;
	memcpy(up.generation_id, "gen-fuzz", sizeof("gen-fuzz"));
	memsink_init(&ms);
	response_init(&resp, &memsink_ops, &ms, "req_fuzz", "*");
	proxy_answer_upstream_error(&resp, &p, &up, (const char *)data, size);
	FUZZ_ASSERT(resp.status == want || (!byok && resp.status == 503));
	FUZZ_ASSERT(buf_append(&ms.out, "", 1) == AIGW_OK);
	body = strstr(ms.out.data, "\r\n\r\n");
	FUZZ_ASSERT(body != NULL);
	j = cJSON_Parse(body + 4);
	FUZZ_ASSERT(j != NULL);
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "code");
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(e, "message");
	FUZZ_ASSERT(cJSON_IsNumber(code) && code->valueint == resp.status);
	FUZZ_ASSERT(cJSON_IsString(msg) && msg->valuestring[0]);
	cJSON_Delete(j);
	response_free(&resp);
	memsink_free(&ms);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct models_replace_result res;
	char err[AIGW_ERRLEN];
	cJSON *j;
	aigw_rc rc;

	if (size < 64)
		check_decimal((const char *)data, size);

	j = cJSON_ParseWithLength((const char *)data, size);
	if (j) {
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "data");

		check_usage(cJSON_GetObjectItemCaseSensitive(j, "usage"));
		check_usage(j);
		/* a generation record: {"data":{"total_cost":...,"tokens_prompt":...}} */
		check_usage(d);
		walk(j, 0);
	}

	rc = db_models_replace(db, (const char *)data, size, &res, err);
	FUZZ_ASSERT(rc == AIGW_EINVAL || rc == AIGW_EDB);
	FUZZ_ASSERT(rc != AIGW_EINVAL || err[0]);
	if (rc == AIGW_EDB)
		FUZZ_ASSERT(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(j, "data")));

	check_error_answer(data, size, size ? 380 + data[0] : 0, size && (data[size - 1] & 1));
	cJSON_Delete(j);
	return 0;
}
