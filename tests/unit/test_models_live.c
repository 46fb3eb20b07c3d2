/* db/models.c against a real MariaDB: replacing the table from a /models
 * document (all or nothing), prices stored exactly, list with and without an
 * allowed set, get, price lookups rounded up, and the list's own top-level
 * fields stored with the records (models_list_meta). Runs only when
 * $AIGW_TEST_CONFIG names an aigw.conf of a scratch database (it migrates it;
 * the models table is copied first and put back at the end); otherwise it
 * exits 77 (skipped). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "live.h"
#include "conffile.h"
#include "db.h"
#include "migrate.h"
#include "models.h"
#include "models_snapshot.h"
#include "stmt.h"

static struct aigw_conf conf;
static struct db *db;

/* Three models: exact 15-decimal price rounded up, a "-1" (variable) price,
 * a numeric price, unknown fields that must survive. */
static const char DOC[] =
        "{\"data\":["
        "{\"id\":\"openai/gpt-4o-mini\",\"name\":\"OpenAI: GPT-4o-mini\",\"created\":1721260800,"
        "\"context_length\":128000,\"pricing\":{\"prompt\":\"0.00000015\",\"completion\":"
        "\"0.0000006\",\"request\":\"0\",\"input_cache_read\":\"0.000000075\"},"
        "\"top_provider\":{\"max_completion_tokens\":16384},\"architecture\":{\"modality\":"
        "\"text->text\"},\"per_request_limits\":null,\"supported_parameters\":[\"tools\"]},"
        "{\"id\":\"openrouter/auto\",\"name\":\"Auto Router\",\"pricing\":{\"prompt\":\"-1\","
        "\"completion\":\"-1\"}},"
        "{\"id\":\"x/tiny\",\"pricing\":{\"prompt\":2.5e-06,\"completion\":"
        "\"0.000000000000001\"},\"extra\":{\"nested\":[1,2,3]}}"
        "]}";

static const char SQL_PRICES[] =
        "SELECT CAST(price_prompt AS CHAR), CAST(price_completion AS CHAR), "
        "CAST(price_input_cache_read AS CHAR), context_length, max_completion_tokens, created, "
        "name FROM models WHERE id = ?";
static const char SQL_COUNT[] = "SELECT COUNT(*) FROM models";
static const char SQL_CLEAR_FIELDS[] = "DELETE FROM models_list_meta";

static long long count_models(void)
{
	char err[AIGW_ERRLEN];
	long long n = -1;
	struct q q;

	q_init(&q, db, SQL_COUNT);
	q_out_int(&q, &n, NULL);
	if (q_one(&q, err) != AIGW_OK)
		n = -1;
	q_end(&q);
	return n;
}

static aigw_rc replace(const char *doc, struct models_replace_result *res)
{
	char err[AIGW_ERRLEN];

	return db_models_replace(db, doc, strlen(doc), res, err);
}

static void test_replace_stores_all(void)
{
	struct models_replace_result res;

	CHECK_INT(replace(DOC, &res), AIGW_OK);
	CHECK_INT(res.stored, 3);
	CHECK_INT(count_models(), 3);
}

static void test_columns_exact(void)
{
	char err[AIGW_ERRLEN], pp[40], pc[40], pcr[40], name[600];
	bool null_pp, null_pc, null_ctx, null_max;
	long long ctx = 0, max = 0, created = 0;
	struct q q;

	q_init(&q, db, SQL_PRICES);
	q_in_str(&q, "openai/gpt-4o-mini");
	q_out_str(&q, pp, sizeof pp, &null_pp);
	q_out_str(&q, pc, sizeof pc, &null_pc);
	q_out_str(&q, pcr, sizeof pcr, NULL);
	q_out_int(&q, &ctx, &null_ctx);
	q_out_int(&q, &max, &null_max);
	q_out_int(&q, &created, NULL);
	q_out_str(&q, name, sizeof name, NULL);
	CHECK_INT(q_one(&q, err), AIGW_OK);
	q_end(&q);
	CHECK_STR(pp, "0.00000015000000");
	CHECK_STR(pc, "0.00000060000000");
	CHECK_STR(pcr, "0.00000007500000");
	CHECK_INT(ctx, 128000);
	CHECK_INT(max, 16384);
	CHECK_INT(created, 1721260800);
	CHECK_STR(name, "OpenAI: GPT-4o-mini");

	/* "-1" is variable pricing: NULL; numbers and sub-1e-14 prices */
	q_init(&q, db, SQL_PRICES);
	q_in_str(&q, "openrouter/auto");
	q_out_str(&q, pp, sizeof pp, &null_pp);
	q_out_str(&q, pc, sizeof pc, &null_pc);
	q_out_str(&q, pcr, sizeof pcr, NULL);
	q_out_int(&q, &ctx, &null_ctx);
	q_out_int(&q, &max, &null_max);
	q_out_int(&q, &created, NULL);
	q_out_str(&q, name, sizeof name, NULL);
	CHECK_INT(q_one(&q, err), AIGW_OK);
	q_end(&q);
	CHECK(null_pp && null_pc && null_ctx && null_max);

	q_init(&q, db, SQL_PRICES);
	q_in_str(&q, "x/tiny");
	q_out_str(&q, pp, sizeof pp, &null_pp);
	q_out_str(&q, pc, sizeof pc, &null_pc);
	q_out_str(&q, pcr, sizeof pcr, NULL);
	q_out_int(&q, &ctx, &null_ctx);
	q_out_int(&q, &max, &null_max);
	q_out_int(&q, &created, NULL);
	q_out_str(&q, name, sizeof name, NULL);
	CHECK_INT(q_one(&q, err), AIGW_OK);
	q_end(&q);
	CHECK_STR(pp, "0.00000250000000");
	CHECK_STR(pc, "0.00000000000001"); /* 1e-15 rounded up to the column's 1e-14 */
}

static void test_get_keeps_every_field(void)
{
	char err[AIGW_ERRLEN], *rec = NULL;
	cJSON *j;

	CHECK_INT(db_model_get(db, "x/tiny", &rec, err), AIGW_OK);
	j = cJSON_Parse(rec ? rec : "");
	CHECK(j != NULL);
	CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "extra"), "nested")) ==
	      3);
	cJSON_Delete(j);
	free(rec);
	CHECK_INT(db_model_get(db, "no/such-model", &rec, err), AIGW_ENOTFOUND);
	CHECK(rec == NULL);
	/* ids are case-sensitive */
	CHECK_INT(db_model_get(db, "OpenAI/GPT-4o-mini", &rec, err), AIGW_ENOTFOUND);
}

struct seen {
	char ids[8][64];
	int n;
};

static int collect(const char *id, const char *record, size_t len, void *arg)
{
	struct seen *s = arg;

	CHECK(len == strlen(record) && record[0] == '{');
	if (s->n < 8)
		snprintf(s->ids[s->n++], sizeof s->ids[0], "%s", id);
	return 0;
}

static void test_list_all_and_allowed(void)
{
	char *allowed[] = {"x/tiny", "no/such", "openai/gpt-4o-mini", "x/tiny", "X/TINY"};
	char err[AIGW_ERRLEN];
	struct seen s;

	memset(&s, 0, sizeof s);
	CHECK_INT(db_model_list(db, NULL, 0, collect, &s, err), AIGW_OK);
	CHECK_INT(s.n, 3);
	CHECK_STR(s.ids[0], "openai/gpt-4o-mini");
	CHECK_STR(s.ids[1], "openrouter/auto");
	CHECK_STR(s.ids[2], "x/tiny");

	memset(&s, 0, sizeof s);
	CHECK_INT(db_model_list(db, allowed, 5, collect, &s, err), AIGW_OK);
	CHECK_INT(s.n, 2);
	CHECK_STR(s.ids[0], "openai/gpt-4o-mini");
	CHECK_STR(s.ids[1], "x/tiny");

	memset(&s, 0, sizeof s);
	CHECK_INT(db_model_list(db, allowed + 1, 1, collect, &s, err), AIGW_OK);
	CHECK_INT(s.n, 0);
}

static int stop_at_first(const char *id, const char *record, size_t len, void *arg)
{
	(void)id;
	(void)record;
	(void)len;
	++*(int *)arg;
	return 1;
}

static void test_list_stops_early(void)
{
	char err[AIGW_ERRLEN];
	int n = 0;

	CHECK_INT(db_model_list(db, NULL, 0, stop_at_first, &n, err), AIGW_OK);
	CHECK_INT(n, 1);
}

static void test_price_rounded_up(void)
{
	char err[AIGW_ERRLEN];
	struct model_price p;

	CHECK_INT(db_model_price(db, "openai/gpt-4o-mini", &p, err), AIGW_OK);
	CHECK_INT(p.prompt, 1500);
	CHECK_INT(p.completion, 6000);
	CHECK_INT(p.request, 0);
	CHECK_INT(p.cache_read, 750);
	CHECK_INT(db_model_price(db, "x/tiny", &p, err), AIGW_OK);
	CHECK_INT(p.prompt, 25000);
	CHECK_INT(p.completion, 1); /* 1e-14 USD is a tenth of a unit: rounded up */
	CHECK_INT(p.cache_read, 25000);
	CHECK_INT(db_model_price(db, "openrouter/auto", &p, err), AIGW_ENOTFOUND);
	CHECK_INT(db_model_price(db, "no/such-model", &p, err), AIGW_ENOTFOUND);
}

static void test_bad_documents_store_nothing(void)
{
	static const char *const bad[] = {
	        "",
	        "not json",
	        "[]",
	        "{}",
	        "{\"data\":{}}",
	        "{\"data\":[]}",
	        "{\"data\":[{\"id\":\"ok/1\"},{\"name\":\"no id\"}]}",
	        "{\"data\":[{\"id\":\"ok/1\"},{\"id\":\"\"}]}",
	        "{\"data\":[{\"id\":\"ok/1\"},{\"id\":\"tab\\there\"}]}",
	        "{\"data\":[{\"id\":\"ok/1\"},{\"id\":7}]}",
	        "{\"data\":[{\"id\":\"ok/1\"},\"just a string\"]}",
	        "{\"data\":[{\"id\":\"ok/1\"}]",
	};
	struct models_replace_result res;
	char err[AIGW_ERRLEN], *rec = NULL;
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		aigw_rc rc = replace(bad[i], &res);

		if (rc != AIGW_EINVAL)
			fprintf(stderr, "  bad document %zu: %s\n", i, aigw_rc_name(rc));
		CHECK_INT(rc, AIGW_EINVAL);
		CHECK_INT(res.stored, 0);
	}
	CHECK_INT(count_models(), 3);
	CHECK_INT(db_model_get(db, "ok/1", &rec, err), AIGW_ENOTFOUND);
}

static void test_too_long_id_rejected(void)
{
	struct models_replace_result res;
	char doc[700], id[258];

	memset(id, 'a', 257);
	id[257] = '\0';
	snprintf(doc, sizeof doc, "{\"data\":[{\"id\":\"%s\"}]}", id);
	CHECK_INT(replace(doc, &res), AIGW_EINVAL);
	id[256] = '\0';
	snprintf(doc, sizeof doc, "{\"data\":[{\"id\":\"%s\"}]}", id);
	CHECK_INT(replace(doc, &res), AIGW_OK);
	CHECK_INT(res.removed, 3);
	CHECK_INT(count_models(), 1);
}

static void test_replace_removes_unlisted(void)
{
	struct models_replace_result res;
	char err[AIGW_ERRLEN], *rec = NULL;

	CHECK_INT(replace(DOC, &res), AIGW_OK);
	CHECK_INT(res.stored, 3);
	CHECK_INT(res.removed, 1);
	CHECK_INT(replace("{\"data\":[{\"id\":\"x/tiny\",\"v\":2}]}", &res), AIGW_OK);
	CHECK_INT(res.removed, 2);
	CHECK_INT(db_model_get(db, "x/tiny", &rec, err), AIGW_OK);
	CHECK_STR(rec, "{\"id\":\"x/tiny\",\"v\":2}");
	free(rec);
	CHECK_INT(replace(DOC, &res), AIGW_OK);
	CHECK_INT(count_models(), 3);
}

static void test_upsert_one(void)
{
	cJSON *j = cJSON_Parse("{\"id\":\"x/single\",\"pricing\":{\"prompt\":\"1\"}}");
	char err[AIGW_ERRLEN];
	struct model_price p;

	CHECK_INT(db_model_upsert(db, j, NULL, err), AIGW_OK);
	CHECK_INT(db_model_price(db, "x/single", &p, err), AIGW_ENOTFOUND); /* no completion */
	cJSON_Delete(j);
	j = cJSON_Parse("[1]");
	CHECK_INT(db_model_upsert(db, j, NULL, err), AIGW_EINVAL);
	cJSON_Delete(j);
}

static char *list_fields(aigw_rc *rc)
{
	char err[AIGW_ERRLEN], *fields = NULL;

	*rc = db_models_list_fields(db, &fields, err);
	return fields;
}

/* OpenRouter's list envelope: every field but "data" is stored, compact, in
 * the upstream's order, with nested values and nulls as sent. */
static void test_list_fields_stored(void)
{
	static const char doc[] =
	        "{\"total_count\": 2, \"data\": [{\"id\": \"a/1\"}, {\"id\": \"b/2\"}],"
	        " \"links\": {\"next\": null}, \"extra\": {\"n\": [1, \"x\", 2.5]}}";
	struct models_replace_result res;
	char *fields;
	aigw_rc rc;

	CHECK_INT(replace(doc, &res), AIGW_OK);
	fields = list_fields(&rc);
	CHECK_INT(rc, AIGW_OK);
	CHECK_STR(fields, "{\"total_count\":2,\"links\":{\"next\":null},\"extra\":{\"n\":[1,\"x\","
	                  "2.5]}}");
	free(fields);

	/* a list with no field of its own replaces them with none */
	CHECK_INT(replace("{\"data\":[{\"id\":\"a/1\"}]}", &res), AIGW_OK);
	fields = list_fields(&rc);
	CHECK_INT(rc, AIGW_OK);
	CHECK_STR(fields, "{}");
	free(fields);
}

/* A document refused for any reason leaves the stored fields as they were. */
static void test_list_fields_all_or_nothing(void)
{
	static const char head[] = "{\"data\":[{\"id\":\"c/3\"}],\"pad\":\"";
	const size_t h = sizeof head - 1, n = MODELS_LIST_FIELDS_MAX;
	struct models_replace_result res;
	char *fields, *big;
	aigw_rc rc;

	CHECK_INT(replace("{\"data\":[{\"id\":\"a/1\"}],\"total_count\":1}", &res), AIGW_OK);
	/* a bad record */
	CHECK_INT(replace("{\"data\":[{\"id\":\"a/1\"},{\"id\":7}],\"total_count\":9}", &res),
	          AIGW_EINVAL);
	/* fields over the cap, the records fine */
	big = malloc(h + n + 3);
	if (!big)
		exit(1);
	memcpy(big, head, h);
	memset(big + h, 'x', n); /* {"pad":"x...x"} is then over the cap */
	memcpy(big + h + n, "\"}", 3);
	CHECK_INT(replace(big, &res), AIGW_EINVAL);
	free(big);
	fields = list_fields(&rc);
	CHECK_INT(rc, AIGW_OK);
	CHECK_STR(fields, "{\"total_count\":1}");
	free(fields);
	CHECK_INT(count_models(), 1);
}

/* No row before a first sync after migration 010. */
static void test_list_fields_none_yet(void)
{
	char err[AIGW_ERRLEN];
	aigw_rc rc;
	struct q q;

	q_init(&q, db, SQL_CLEAR_FIELDS);
	CHECK_INT(q_exec(&q, err), AIGW_OK);
	q_end(&q);
	CHECK(list_fields(&rc) == NULL);
	CHECK_INT(rc, AIGW_ENOTFOUND);
}

/* The simulator's price table (tests/sim/models.json of the source tree;
 * $AIGW_TEST_MODELS_JSON overrides), when it is at hand. */
static void test_simulator_table(void)
{
	const char *src = getenv("AIGW_TEST_MODELS_JSON");
	struct models_replace_result res;
	char err[AIGW_ERRLEN], *text = NULL;
	struct model_price p;
	size_t len = 0;
	aigw_rc rc;
	FILE *f;

	if (!src || !src[0])
		src = SIM_MODELS_JSON;
	f = fopen(src, "rb");
	if (!f)
		return;
	text = malloc(1 << 20);
	len = text ? fread(text, 1, 1 << 20, f) : 0;
	fclose(f);
	CHECK_INT(db_models_replace(db, text, len, &res, err), AIGW_OK);
	CHECK_INT(res.stored, 7);
	free(text);
	/* the simulator's table file has no list fields of its own (it adds
	 * OpenRouter's envelope when it answers) */
	text = list_fields(&rc);
	CHECK_INT(rc, AIGW_OK);
	CHECK_STR(text, "{}");
	CHECK_INT(db_model_price(db, "sim/expensive", &p, err), AIGW_OK);
	CHECK_INT(p.prompt, 10000000);
	CHECK_INT(p.completion, 20000000);
	CHECK_INT(db_model_price(db, "meta-llama/llama-3.2-3b-instruct:free", &p, err), AIGW_OK);
	CHECK_INT(p.prompt + p.completion, 0);
	free(text);
}

int main(void)
{
	cJSON *saved;
	int setup;

	check_program = "test_models_live";
	setup = live_open(&conf, true);
	if (setup != 0)
		return setup;
	db = db_new(&conf);
	saved = models_snapshot_take(db, &conf);
	if (!saved)
		return 1;

	RUN(test_replace_stores_all);
	RUN(test_columns_exact);
	RUN(test_get_keeps_every_field);
	RUN(test_list_all_and_allowed);
	RUN(test_list_stops_early);
	RUN(test_price_rounded_up);
	RUN(test_bad_documents_store_nothing);
	RUN(test_too_long_id_rejected);
	RUN(test_replace_removes_unlisted);
	RUN(test_upsert_one);
	RUN(test_list_fields_stored);
	RUN(test_list_fields_all_or_nothing);
	RUN(test_list_fields_none_yet);
	RUN(test_simulator_table);

	models_snapshot_restore(db, saved);
	db_free(db);
	conf_free(&conf);
	CHECK_DONE();
}
