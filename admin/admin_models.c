/* aigw-admin models sync | models import FILE: fill the models table from the
 * upstream's GET /models (through the upstream client, with the platform key
 * of the config) or from a file of the same {"data": [...], ...} shape; the
 * list's top-level fields beside "data" (OpenRouter's links, total_count)
 * are stored too, for GET /v1/{app}/models. Either replaces the table in one
 * transaction: a bad document stores nothing. The whole list is asked (no
 * offset or limit), as the upstream then answers it in one piece. */
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

static int models_sync(struct admin *a, int argc, char **argv)
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
	r = admin_parse(argc, argv, NULL, NULL, 0, 0);
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

static int models_import(struct admin *a, int argc, char **argv)
{
	const char *path = NULL;
	bool is_stdin = false;
	struct buf body;
	FILE *f = NULL;
	aigw_rc rc;
	int r;

	buf_init(&body, MODELS_JSON_MAX);
	r = admin_parse(argc, argv, NULL, &path, 1, 1);
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

int cmd_models(struct admin *a, int argc, char **argv)
{
	const char *sub = argc > 0 ? argv[0] : NULL;

	if (!sub)
		return admin_usage_error("models: missing subcommand (sync, import)");
	if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0)
		return ADMIN_HELP;
	if (strcmp(sub, "sync") == 0)
		return models_sync(a, argc - 1, argv + 1);
	if (strcmp(sub, "import") == 0)
		return models_import(a, argc - 1, argv + 1);
	return admin_usage_error("models: unknown subcommand '%.80s'", sub);
}
