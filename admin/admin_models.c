/* aigw-admin models sync | models import FILE | models list: fill the models
 * table from the upstream's GET /models (through the upstream client, with the platform key
 * of the config) or from a file of the same {"data": [...], ...} shape; the
 * list's top-level fields beside "data" (OpenRouter's links, total_count)
 * are stored too, for GET /v1/{app}/models. Either replaces the table in one
 * transaction: a bad document stores nothing. The whole list is asked (no
 * offset or limit), as the upstream then answers it in one piece. The list
 * shows what is stored: id, name, context length and the two prices. */
#include "config.h"
#include "admin.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "db.h"
#include "models.h"
#include "upstream.h"

#define UPSTREAM_MESSAGE_MAX 200 /* bytes of an upstream error message shown */

/* Checks, writes and reports: "<verb> N models" on stdout. */
static int models_store(struct admin *a, const char *what, const char *json, size_t len,
                        const char *verb)
{
	struct models_replace_result res;
	char err[AIGW_ERRLEN], line[64];

	if (db_models_replace(a->db, json, len, &res, err) != AIGW_OK)
		return admin_error("%s: %s; nothing stored", what, err);
	if (res.removed > 0)
		fprintf(stderr, "aigw-admin: %s: removed %zu models no longer listed\n", what,
		        res.removed);
	snprintf(line, sizeof line, "%s %zu models", verb, res.stored);
	return admin_print_line(line);
}

static int on_data(void *arg, const char *bytes, size_t n)
{
	/* Over the cap: abort the transfer (reported by the caller). */
	return buf_append(arg, bytes, n) == AIGW_OK ? 0 : 1;
}

/* The upstream's error message from an OpenRouter- or OpenAI-shaped error
 * body, cut short and with control characters replaced, or "". */
static void upstream_message(const struct buf *body, char *out, size_t cap)
{
	const cJSON *e, *m;
	cJSON *doc;
	size_t i;

	out[0] = '\0';
	doc = body->data ? cJSON_ParseWithLength(body->data, body->len) : NULL;
	e = cJSON_GetObjectItemCaseSensitive(doc, "error");
	m = cJSON_GetObjectItemCaseSensitive(e, "message");
	if (cJSON_IsString(m))
		snprintf(out, cap, ": %s", m->valuestring);
	for (i = 0; out[i]; i++) {
		if ((unsigned char)out[i] < 0x20)
			out[i] = ' ';
	}
	cJSON_Delete(doc);
}

int cmd_models_sync(struct admin *a, int argc, char **argv)
{
	const struct upstream_callbacks cb = {NULL, on_data, NULL};
	struct upstream_request rq;
	struct upstream_response res;
	char err[AIGW_ERRLEN], msg[UPSTREAM_MESSAGE_MAX + 3];
	struct upstream *up = NULL;
	struct buf body;
	aigw_rc rc;
	int r;

	buf_init(&body, MODELS_JSON_MAX);
	r = admin_parse(a, argc, argv, NULL, NULL, 0, 0);
	if (r != ADMIN_OK)
		goto out;
	r = admin_open(a);
	if (r != ADMIN_OK)
		goto out;
	memset(&rq, 0, sizeof rq);
	rq.method = "GET";
	rq.path = "/models";
	rq.api_key = a->conf.upstream_key;
	up = upstream_new(&a->conf);
	rc = upstream_call(up, &rq, &cb, &body, &res, err);
	if (rc == AIGW_EGONE) {
		r = admin_error("models sync: the answer of %s/models is over %u bytes",
		                a->conf.upstream_url, MODELS_JSON_MAX);
		goto out;
	}
	if (rc != AIGW_OK) {
		r = admin_error("models sync: GET %s/models failed: %s", a->conf.upstream_url, err);
		goto out;
	}
	if (res.status != 200) {
		upstream_message(&body, msg, sizeof msg);
		r = admin_error("models sync: GET %s/models answered HTTP %ld%s",
		                a->conf.upstream_url, res.status, msg);
		goto out;
	}
	r = models_store(a, "models sync", body.data ? body.data : "", body.len, "synced");
out:
	upstream_free(up);
	buf_free(&body);
	return r;
}

/* Reads all of f into b; AIGW_ETOOBIG over its cap, AIGW_EIO on a read error. */
static aigw_rc read_all(FILE *f, struct buf *b)
{
	char chunk[65536];

	for (;;) {
		size_t n = fread(chunk, 1, sizeof chunk, f);
		aigw_rc rc;

		if (n == 0)
			return ferror(f) ? AIGW_EIO : AIGW_OK;
		rc = buf_append(b, chunk, n);
		if (rc != AIGW_OK)
			return rc;
	}
}

int cmd_models_import(struct admin *a, int argc, char **argv)
{
	const char *path = NULL;
	bool is_stdin = false;
	struct buf body;
	FILE *f = NULL;
	aigw_rc rc;
	int r;

	buf_init(&body, MODELS_JSON_MAX);
	r = admin_parse(a, argc, argv, NULL, &path, 1, 1);
	if (r != ADMIN_OK)
		goto out;
	is_stdin = strcmp(path, "-") == 0;
	f = is_stdin ? stdin : fopen(path, "rb");
	if (!f) {
		r = admin_error("models import: cannot open %s: %s", path, strerror(errno));
		goto out;
	}
	rc = read_all(f, &body);
	if (rc == AIGW_ETOOBIG) {
		r = admin_error("models import: %s is over %u bytes", path, MODELS_JSON_MAX);
		goto out;
	}
	if (rc != AIGW_OK) {
		r = admin_error("models import: cannot read %s: %s", path, strerror(errno));
		goto out;
	}
	r = admin_open(a);
	if (r != ADMIN_OK)
		goto out;
	r = models_store(a, "models import", body.data ? body.data : "", body.len, "imported");
out:
	if (f && !is_stdin)
		fclose(f);
	buf_free(&body);
	return r;
}

/* A string field of a model record, or NULL. */
static const char *record_str(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The text of a listing cell: no tab or newline from a record breaks the
 * columns; "-" when absent. */
static void cell(char *out, size_t cap, const char *s)
{
	size_t i;

	snprintf(out, cap, "%s", s && s[0] ? s : "-");
	for (i = 0; out[i]; i++) {
		if ((unsigned char)out[i] < 0x20)
			out[i] = ' ';
	}
}

static int list_model(const char *id, const char *record, size_t len, void *arg)
{
	char name[257], prompt[64], completion[64], ctx[24] = "-";
	cJSON *list = arg, *doc, *o;
	const cJSON *pricing, *c;
	const char *p, *q;

	doc = cJSON_ParseWithLength(record, len);
	pricing = cJSON_GetObjectItemCaseSensitive(doc, "pricing");
	c = cJSON_GetObjectItemCaseSensitive(doc, "context_length");
	p = record_str(pricing, "prompt");
	q = record_str(pricing, "completion");
	if (cJSON_IsNumber(c))
		snprintf(ctx, sizeof ctx, "%.0f", c->valuedouble);
	if (!list) {
		cell(name, sizeof name, record_str(doc, "name"));
		cell(prompt, sizeof prompt, p);
		cell(completion, sizeof completion, q);
		printf("%s\t%s\t%s\t%s\t%s\n", id, name, ctx, prompt, completion);
		cJSON_Delete(doc);
		return 0;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", id);
	if (record_str(doc, "name"))
		cJSON_AddStringToObject(o, "name", record_str(doc, "name"));
	else
		cJSON_AddNullToObject(o, "name");
	if (cJSON_IsNumber(c))
		cJSON_AddNumberToObject(o, "context_length", c->valuedouble);
	else
		cJSON_AddNullToObject(o, "context_length");
	/* The upstream's decimal text, exactly. */
	if (p)
		cJSON_AddStringToObject(o, "prompt_price", p);
	else
		cJSON_AddNullToObject(o, "prompt_price");
	if (q)
		cJSON_AddStringToObject(o, "completion_price", q);
	else
		cJSON_AddNullToObject(o, "completion_price");
	cJSON_AddItemToArray(list, o);
	cJSON_Delete(doc);
	return 0;
}

int cmd_models_list(struct admin *a, int argc, char **argv)
{
	char err[AIGW_ERRLEN] = "";
	bool json;
	cJSON *doc;
	aigw_rc rc;
	int r = admin_listing_open(a, argc, argv, &json);

	if (r != ADMIN_OK)
		return r;
	doc = admin_listing_begin(json, "id\tname\tcontext_length\tprompt_price\tcompletion_price");
	rc = db_model_list(a->db, NULL, 0, list_model,
	                   doc ? cJSON_AddArrayToObject(doc, "models") : NULL, err);
	return admin_listing_end(doc, rc, err);
}
