/* POST /v1/{app}/embeddings. The upstream is always asked for floats, since
 * some providers ignore base64 and a float array read as base64 decodes into
 * garbage; when the client asked for base64 (the openai SDK does by default)
 * the gateway encodes each vector as little-endian float32 itself. Like chat,
 * a metered request reserves its worst-case cost (credits.h) first. */
#include "config.h"

#include "endpoints.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "alloc.h"
#include "context.h"
#include "proxy.h"

#define ANSWER_MAX (64 * 1024 * 1024)
#define VECTOR_MAX 65536

enum vec_format { VEC_FLOAT, VEC_BASE64 };

/* Reads encoding_format; answers 400 on a bad value. */
static bool read_format(const cJSON *body, enum vec_format *f, struct response *resp)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, "encoding_format");

	*f = VEC_FLOAT;
	if (!v || cJSON_IsNull(v))
		return true;
	if (cJSON_IsString(v) && strcmp(v->valuestring, "float") == 0)
		return true;
	if (cJSON_IsString(v) && strcmp(v->valuestring, "base64") == 0) {
		*f = VEC_BASE64;
		return true;
	}
	response_error(resp, 400, NULL, "encoding_format",
	               "encoding_format must be \"float\" or \"base64\"");
	return false;
}

/* Checks input and counts the vectors it asks for: a string or one token
 * array is one input; an array of strings or token arrays is one per item. */
static bool input_ok(const cJSON *body, int *inputs, struct response *resp)
{
	const cJSON *in = cJSON_GetObjectItemCaseSensitive(body, "input");

	if (cJSON_IsString(in)) {
		*inputs = 1;
		return true;
	}
	if (cJSON_IsArray(in) && cJSON_GetArraySize(in) > 0) {
		*inputs = cJSON_IsNumber(in->child) ? 1 : cJSON_GetArraySize(in);
		return true;
	}
	response_error(resp, 400, NULL, "input",
	               "input must be a string or a non-empty array of strings or token arrays");
	return false;
}

/* True if the answer holds one vector per input. A 200 without them is a
 * bad upstream answer, not an empty success. */
static bool vectors_complete(const cJSON *answer, int inputs)
{
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(answer, "data");
	const cJSON *item;

	if (!cJSON_IsArray(data) || cJSON_GetArraySize(data) != inputs)
		return false;
	cJSON_ArrayForEach(item, data)
	{
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(item, "embedding");
		if (!(cJSON_IsArray(e) && cJSON_GetArraySize(e) > 0) &&
		    !(cJSON_IsString(e) && e->valuestring[0]))
			return false;
	}
	return true;
}

/* A float array as base64 of little-endian float32. NULL if not an array
 * of numbers. Caller frees. */
static char *floats_to_base64(const cJSON *arr)
{
	int n = cJSON_GetArraySize(arr);
	const cJSON *x;
	size_t i = 0;

	if (n <= 0 || n > VECTOR_MAX)
		return NULL;
	unsigned char *raw = xmalloc((size_t)n * 4);
	cJSON_ArrayForEach(x, arr)
	{
		if (!cJSON_IsNumber(x)) {
			free(raw);
			return NULL;
		}
		float f = (float)x->valuedouble;
		uint32_t bits;
		memcpy(&bits, &f, 4);
		raw[i++] = (unsigned char)(bits & 0xff);
		raw[i++] = (unsigned char)((bits >> 8) & 0xff);
		raw[i++] = (unsigned char)((bits >> 16) & 0xff);
		raw[i++] = (unsigned char)(bits >> 24);
	}
	size_t b64len = sodium_base64_ENCODED_LEN(i, sodium_base64_VARIANT_ORIGINAL);
	char *b64 = xmalloc(b64len);
	sodium_bin2base64(b64, b64len, raw, i, sodium_base64_VARIANT_ORIGINAL);
	free(raw);
	return b64;
}

/* A base64 float32 vector (an upstream that ignored our ask) as a float
 * array. NULL if it does not decode. */
static cJSON *base64_to_floats(const char *b64)
{
	size_t cap = strlen(b64), len = 0;
	unsigned char *raw = xmalloc(cap + 1);
	cJSON *arr = NULL;

	if (sodium_base642bin(raw, cap, b64, cap, NULL, &len, NULL,
	                      sodium_base64_VARIANT_ORIGINAL) == 0 &&
	    len % 4 == 0 && len > 0) {
		arr = cJSON_CreateArray();
		for (size_t i = 0; i < len; i += 4) {
			uint32_t bits = (uint32_t)raw[i] | (uint32_t)raw[i + 1] << 8 |
			                (uint32_t)raw[i + 2] << 16 | (uint32_t)raw[i + 3] << 24;
			float f;
			memcpy(&f, &bits, 4);
			cJSON_AddItemToArray(arr, cJSON_CreateNumber((double)f));
		}
	}
	free(raw);
	return arr;
}

/* Puts every vector of the answer in the client's format. */
static bool convert_vectors(cJSON *answer, enum vec_format f)
{
	cJSON *item;

	cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(answer, "data"))
	{
		cJSON *e = cJSON_GetObjectItemCaseSensitive(item, "embedding");
		cJSON *repl = NULL;
		if (f == VEC_BASE64 && cJSON_IsArray(e)) {
			char *b64 = floats_to_base64(e);
			if (!b64)
				return false;
			repl = cJSON_CreateString(b64);
			free(b64);
		} else if (f == VEC_FLOAT && cJSON_IsString(e)) {
			repl = base64_to_floats(e->valuestring);
			if (!repl)
				return false;
		}
		if (repl)
			cJSON_ReplaceItemInObjectCaseSensitive(item, "embedding", repl);
	}
	return true;
}

static int collect(void *arg, const char *bytes, size_t n)
{
	return buf_append(arg, bytes, n) == AIGW_OK ? 0 : 1;
}

static void answer(struct proxy *p, struct response *resp, const struct upstream_response *up,
                   const struct buf *b, enum vec_format f, int inputs)
{
	const char *text = b->data ? b->data : "";
	struct usage_numbers u;

	if (up->status < 200 || up->status > 299) {
		proxy_answer_upstream_error(resp, p, up, text, b->len);
		return;
	}
	cJSON *j = cJSON_ParseWithLength(text, b->len);
	const cJSON *model = cJSON_GetObjectItemCaseSensitive(j, "model");
	if (cJSON_IsString(model))
		proxy_note_model_billed(p, model->valuestring);
	/* What the upstream says it billed is recorded whatever the answer holds. */
	usage_parse(cJSON_GetObjectItemCaseSensitive(j, "usage"), &u);
	proxy_note_usage(p, &u);
	if (up->generation_id[0])
		response_header(resp, "x-generation-id", up->generation_id);
	if (!cJSON_IsObject(j) || !vectors_complete(j, inputs) || !convert_vectors(j, f)) {
		proxy_note_unusable_answer(p);
		response_error(
		        resp, 502, NULL, NULL,
		        "the upstream answered without one embedding per input (%d expected)",
		        inputs);
	} else {
		response_json(resp, (int)up->status, j);
	}
	cJSON_Delete(j);
}

/* ---- the endpoint's hooks (proxy.h) ---- */

struct embeddings {
	enum vec_format format; /* what the client asked for */
	int inputs;             /* vectors the answer must hold */
	struct buf answer;
};

static bool embeddings_check(void *state, cJSON *body, struct response *resp)
{
	struct embeddings *e = state;

	return read_format(body, &e->format, resp) && input_ok(body, &e->inputs, resp);
}

static bool embeddings_shape(void *state, struct thread_ctx *ctx, struct proxy *p, cJSON *body,
                             struct response *resp, long long *completion_bound)
{
	(void)state;
	(void)ctx;
	(void)p;
	(void)resp;
	cJSON_DeleteItemFromObjectCaseSensitive(body, "encoding_format");
	cJSON_AddStringToObject(body, "encoding_format", "float");
	*completion_bound = 0; /* embeddings bill prompt tokens only */
	return true;
}

static bool embeddings_streams(const void *state)
{
	(void)state;
	return false;
}

static void embeddings_exchange(void *state, struct thread_ctx *ctx, struct proxy *p,
                                const struct upstream_request *rq, struct response *resp)
{
	struct embeddings *e = state;
	struct upstream_callbacks cb = {.on_data = collect};
	struct upstream_response up;
	char err[AIGW_ERRLEN] = "";
	aigw_rc rc = proxy_call_upstream(ctx, p, rq, &cb, &e->answer, &up, err);

	if (up.headers_done)
		proxy_note_upstream(p, &up);
	if (rc == AIGW_OK) {
		answer(p, resp, &up, &e->answer, e->format, e->inputs);
	} else if (p->cut) {
		proxy_answer_cut(resp);
	} else {
		proxy_answer_transport_error(resp, rc, err);
	}
}

static const struct proxy_endpoint embeddings_endpoint = {
        .name = "embeddings",
        .path = "/embeddings",
        .check = embeddings_check,
        .shape = embeddings_shape,
        .streams = embeddings_streams,
        .exchange = embeddings_exchange,
};

void handle_embeddings(struct thread_ctx *ctx, struct request *req, struct response *resp)
{
	struct embeddings e = {.format = VEC_FLOAT};

	buf_init(&e.answer, ANSWER_MAX);
	proxy_run(ctx, req, resp, &embeddings_endpoint, &e);
	buf_free(&e.answer);
}
