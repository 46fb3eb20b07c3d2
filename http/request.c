/* The request as handlers see it: CGI params copied out of the FastCGI
 * envp (which dies at FCGX_Finish_r), the routing path, query lookup and
 * the request id that ties a response to its log lines. */
#include "config.h"

#include "request.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "alloc.h"
#include "hex.h"
#include "log.h"

/* More params than any web server sends; a bound so a peer cannot grow it. */
#define REQUEST_MAX_PARAMS 1024

const char *request_param(const struct request *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nheaders; i++)
		if (strcmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

void request_add_param(struct request *r, const char *name, const char *value)
{
	if (r->nheaders >= REQUEST_MAX_PARAMS) {
		log_warn("request param %.64s dropped: more than %d params", name,
		         REQUEST_MAX_PARAMS);
		return;
	}
	/* Grow in steps of 32: a typical request carries 20-40 params. */
	if (r->nheaders % 32 == 0)
		r->headers = xrealloc(r->headers, (r->nheaders + 32) * sizeof(*r->headers));
	r->headers[r->nheaders].name = xstrdup(name);
	r->headers[r->nheaders].value = xstrdup(value ? value : "");
	r->nheaders++;
}

enum http_method http_method_parse(const char *name)
{
	static const struct {
		const char *name;
		enum http_method m;
	} methods[] = {{"GET", HTTP_GET},       {"POST", HTTP_POST},       {"PUT", HTTP_PUT},
	               {"DELETE", HTTP_DELETE}, {"OPTIONS", HTTP_OPTIONS}, {"HEAD", HTTP_HEAD}};
	size_t i;

	if (name == NULL)
		return HTTP_OTHER;
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(name, methods[i].name) == 0)
			return methods[i].m;
	return HTTP_OTHER;
}

void request_fill_from_params(struct request *r)
{
	const char *method = request_param(r, "REQUEST_METHOD");
	const char *uri = request_param(r, "REQUEST_URI");
	const char *qs = request_param(r, "QUERY_STRING");

	free(r->method_name);
	free(r->path);
	free(r->query);
	r->method_name = xstrdup(method ? method : "");
	r->method = http_method_parse(r->method_name);

	if (uri != NULL && uri[0] == '/') {
		r->path = xstrndup(uri, strcspn(uri, "?#"));
	} else {
		/* Apache mod_proxy_fcgi and some setups only give the split form. */
		const char *sn = request_param(r, "SCRIPT_NAME");
		const char *pi = request_param(r, "PATH_INFO");
		size_t a = sn ? strlen(sn) : 0, b = pi ? strlen(pi) : 0;

		r->path = xmalloc(a + b + 1);
		memcpy(r->path, sn ? sn : "", a);
		memcpy(r->path + a, pi ? pi : "", b);
		r->path[a + b] = '\0';
	}
	if (r->path[0] == '\0') {
		free(r->path);
		r->path = xstrdup("/");
	}

	if (qs == NULL && uri != NULL && strchr(uri, '?') != NULL) {
		const char *q = strchr(uri, '?') + 1;

		r->query = xstrndup(q, strcspn(q, "#"));
	} else {
		r->query = xstrdup(qs ? qs : "");
	}
}

void request_new_id(struct request *r)
{
	unsigned char raw[12];

	randombytes_buf(raw, sizeof(raw));
	memcpy(r->request_id, "req_", 4);
	sodium_bin2hex(r->request_id + 4, sizeof(r->request_id) - 4, raw, sizeof(raw));
}

bool percent_decode(const char *src, size_t len, bool plus_is_space, char *out, size_t outlen)
{
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		int c = (unsigned char)src[i];

		if (c == '+' && plus_is_space) {
			c = ' ';
		} else if (c == '%') {
			int hi = i + 2 < len ? hex_digit((unsigned char)src[i + 1]) : -1;
			int lo = i + 2 < len ? hex_digit((unsigned char)src[i + 2]) : -1;

			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return false;
			c = hi * 16 + lo;
			i += 2;
		} else if (c == '\0') {
			return false;
		}
		if (o + 1 >= outlen)
			return false;
		out[o++] = (char)c;
	}
	if (outlen == 0)
		return false;
	out[o] = '\0';
	return true;
}

bool request_query_get(const struct request *r, const char *name, char *out, size_t outlen)
{
	const char *p = r->query ? r->query : "";
	size_t namelen = strlen(name);
	/* Names we look up are short; a longer one cannot match. */
	char key[128];

	if (namelen >= sizeof(key))
		return false;
	while (*p != '\0') {
		size_t plen = strcspn(p, "&");
		size_t klen = strcspn(p, "=&");
		const char *value = p + klen;
		size_t vlen = 0;

		if (klen < plen) {
			value++;
			vlen = plen - klen - 1;
		}
		if (percent_decode(p, klen, true, key, sizeof(key)) && strcmp(key, name) == 0) {
			if (!percent_decode(value, vlen, true, out, outlen) && outlen > 0)
				out[0] = '\0';
			return true;
		}
		p += plen;
		if (*p == '&')
			p++;
	}
	return false;
}

bool request_is_json(const struct request *r)
{
	const char *ct = request_param(r, "CONTENT_TYPE");
	const char *sub;
	size_t len;

	if (ct == NULL)
		return false;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	len = strcspn(ct, ";");
	while (len > 0 && (ct[len - 1] == ' ' || ct[len - 1] == '\t'))
		len--;
	if (len < 12 || strncasecmp(ct, "application/", 12) != 0)
		return false;
	sub = ct + 12;
	len -= 12;
	if (len == 4 && strncasecmp(sub, "json", 4) == 0)
		return true;
	/* application/<something>+json, e.g. application/merge-patch+json */
	if (len > 5 && strncasecmp(sub + len - 5, "+json", 5) == 0 &&
	    memchr(sub, '/', len) == NULL && memchr(sub, ' ', len) == NULL)
		return true;
	return false;
}

void request_free(struct request *r)
{
	size_t i;

	for (i = 0; i < r->nheaders; i++) {
		/* HTTP_AUTHORIZATION carries the bearer token. */
		sodium_memzero(r->headers[i].value, strlen(r->headers[i].value));
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	free(r->headers);
	if (r->body != NULL) {
		/* PUT /ai/config bodies carry BYOK keys. */
		sodium_memzero(r->body, r->body_len);
		free(r->body);
	}
	free(r->method_name);
	free(r->path);
	free(r->query);
	free(r->route_arg);
	memset(r, 0, sizeof(*r));
}
