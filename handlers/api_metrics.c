/* GET /v1/metrics: the host's metrics in the Prometheus text format
 * (metrics.h). Public when conf metrics_token is empty, else only with
 * "Authorization: Bearer <metrics_token>" (Prometheus' bearer_token), the
 * token compared in constant time. */
#include "config.h"

#include "endpoints.h"

#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "conffile.h"
#include "context.h"
#include "metrics.h"
#include "prom_text.h"

/* A scrape's text at most; it is a few kilobytes. */
#define METRICS_TEXT_MAX (4 * 1024 * 1024)

/* Whether the Authorization header carries the token: both hashed, so the
 * comparison takes the same time whatever the lengths. */
static bool token_ok(const struct request *req, const char *token)
{
	const char *h = request_param(req, "HTTP_AUTHORIZATION");
	unsigned char want[32], got[32];
	bool ok;

	if (!h || strncasecmp(h, "Bearer ", 7) != 0)
		return false;
	h += 7;
	crypto_generichash(want, sizeof(want), (const unsigned char *)token, strlen(token), NULL, 0);
	crypto_generichash(got, sizeof(got), (const unsigned char *)h, strlen(h), NULL, 0);
	ok = sodium_memcmp(want, got, sizeof(want)) == 0;
	sodium_memzero(want, sizeof(want));
	return ok;
}

void handle_metrics(struct thread_ctx *ctx, struct request *req, struct response *resp)
{
	const char *token = ctx->conf->metrics_token;
	struct buf text;

	if (token && token[0] && !token_ok(req, token)) {
		response_header(resp, "WWW-Authenticate", "Bearer");
		response_error(resp, 401, NULL, NULL,
		               "this endpoint needs the metrics token (metrics_token) as a bearer "
		               "token");
		return;
	}
	metrics_refresh(ctx->svc);
	buf_init(&text, METRICS_TEXT_MAX);
	metrics_render(&text);
	response_header(resp, "Cache-Control", "no-store");
	response_body(resp, 200, PROM_CONTENT_TYPE, text.data ? text.data : "", text.len);
	buf_free(&text);
}
