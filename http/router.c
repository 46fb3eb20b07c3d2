/* Route table matching on method + path under the /v1 mount. Patterns are
 * literal segments plus {app} (one segment, validated as an app id) and
 * {rest} (the remaining path, percent-decoded, slashes allowed). */
#include "config.h"

#include "router.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"

#define MOUNT "/v1"
#define APP_ID_MAX 64

struct match {
	const char *app;
	size_t app_len;
	bool has_app;
	const char *rest;
	size_t rest_len;
	bool has_rest;
};

/* Matches one pattern against the path below the mount ("/x/y"). */
static bool match_pattern(const char *pattern, const char *path, struct match *m)
{
	const char *p = pattern, *s = path;

	memset(m, 0, sizeof(*m));
	while (*p != '\0') {
		size_t plen, slen;

		if (*p != '/' || *s != '/')
			return false;
		p++;
		s++;
		plen = strcspn(p, "/");
		if (plen == 6 && strncmp(p, "{rest}", 6) == 0) {
			/* Takes everything left, slashes included; must be non-empty. */
			if (*s == '\0')
				return false;
			m->rest = s;
			m->rest_len = strlen(s);
			m->has_rest = true;
			return p[plen] == '\0';
		}
		slen = strcspn(s, "/");
		if (plen == 5 && strncmp(p, "{app}", 5) == 0) {
			/* Any segment, even empty or invalid: validated after the method
			 * so that a bad id on a real route gives 400, not 404. */
			m->app = s;
			m->app_len = slen;
			m->has_app = true;
		} else if (plen != slen || strncmp(p, s, plen) != 0) {
			return false;
		}
		p += plen;
		s += slen;
	}
	return *s == '\0';
}

static bool valid_app_id(const char *s, size_t len)
{
	size_t i;

	if (len < 1 || len > APP_ID_MAX)
		return false;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

enum route_result router_match(const struct route *table, size_t n, struct request *req,
                               const struct route **out, unsigned *allowed)
{
	const struct route *found = NULL, *first = NULL;
	struct match m, found_m;
	const char *path = req->path ? req->path : "";
	unsigned mask = 0;
	size_t i;

	*out = NULL;
	if (allowed != NULL)
		*allowed = 0;
	if (strncmp(path, MOUNT, strlen(MOUNT)) != 0 || path[strlen(MOUNT)] != '/')
		return ROUTE_NOT_FOUND;
	path += strlen(MOUNT);

	memset(&found_m, 0, sizeof(found_m));
	for (i = 0; i < n; i++) {
		if (!match_pattern(table[i].pattern, path, &m))
			continue;
		mask |= table[i].methods;
		if (first == NULL)
			first = &table[i];
		if (found == NULL &&
		    (req->method == HTTP_OPTIONS || (req->method & table[i].methods) != 0)) {
			found = &table[i];
			found_m = m;
		}
	}
	if (first == NULL)
		return ROUTE_NOT_FOUND;
	mask |= HTTP_OPTIONS;
	if (allowed != NULL)
		*allowed = mask;
	if (found == NULL)
		return ROUTE_BAD_METHOD;

	req->app_id[0] = '\0';
	if (found_m.has_app) {
		if (!valid_app_id(found_m.app, found_m.app_len))
			return ROUTE_BAD_APP_ID;
		memcpy(req->app_id, found_m.app, found_m.app_len);
		req->app_id[found_m.app_len] = '\0';
	}
	free(req->route_arg);
	req->route_arg = NULL;
	if (found_m.has_rest) {
		req->route_arg = router_percent_decode(found_m.rest, found_m.rest_len);
		if (req->route_arg == NULL)
			return ROUTE_NOT_FOUND;
	}
	*out = found;
	return ROUTE_FOUND;
}

void router_allow_header(unsigned methods, char *out, size_t outlen)
{
	static const struct {
		unsigned bit;
		const char *name;
	} order[] = {{HTTP_GET, "GET"}, {HTTP_HEAD, "HEAD"},     {HTTP_POST, "POST"},
	             {HTTP_PUT, "PUT"}, {HTTP_DELETE, "DELETE"}, {HTTP_OPTIONS, "OPTIONS"}};
	size_t i, len = 0;

	if (outlen == 0)
		return;
	out[0] = '\0';
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		size_t need;

		if ((methods & order[i].bit) == 0)
			continue;
		need = strlen(order[i].name) + (len ? 2 : 0);
		if (len + need >= outlen)
			break;
		if (len) {
			memcpy(out + len, ", ", 2);
			len += 2;
		}
		memcpy(out + len, order[i].name, strlen(order[i].name));
		len += strlen(order[i].name);
		out[len] = '\0';
	}
}

char *router_percent_decode(const char *src, size_t len)
{
	char *out = xmalloc(len + 1);

	if (!percent_decode(src, len, false, out, len + 1)) {
		free(out);
		return NULL;
	}
	return out;
}
