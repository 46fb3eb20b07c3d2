/* Base URLs of the configuration, parsed with libcurl's URL API (urlcheck.h).
 * The text is kept as the operator wrote it, minus trailing slashes: the
 * parser decides whether it is valid, not how it is spelt. */
#include "config.h"
#include "urlcheck.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "alloc.h"
#include "log.h"

/* True if part of u is present and not empty. */
static bool has_part(CURLU *u, CURLUPart what)
{
	char *v = NULL;
	bool present;

	if (curl_url_get(u, what, &v, 0) != CURLUE_OK)
		return false;
	present = v != NULL && v[0] != '\0';
	curl_free(v);
	return present;
}

static aigw_rc check_parts(CURLU *u, char *err)
{
	char *port = NULL;
	bool port_zero;

	if (!has_part(u, CURLUPART_HOST))
		return aigw_fail(err, AIGW_EINVAL, "has no host");
	if (has_part(u, CURLUPART_USER) || has_part(u, CURLUPART_PASSWORD))
		return aigw_fail(err, AIGW_EINVAL, "must not hold credentials (user@host)");
	if (has_part(u, CURLUPART_QUERY) || has_part(u, CURLUPART_FRAGMENT))
		return aigw_fail(err, AIGW_EINVAL, "must not have a query (?) or a fragment (#)");
	if (curl_url_get(u, CURLUPART_PORT, &port, 0) != CURLUE_OK)
		return AIGW_OK; /* no port: the scheme's */
	port_zero = strcmp(port, "0") == 0;
	curl_free(port);
	if (port_zero)
		return aigw_fail(err, AIGW_EINVAL, "port 0 is not a port");
	return AIGW_OK;
}

aigw_rc url_base_check(const char *url, char **out, char *err)
{
	const char *authority;
	CURLUcode uc;
	aigw_rc rc;
	size_t n;
	CURLU *u;

	*out = NULL;
	if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0)
		return aigw_fail(err, AIGW_EINVAL, "must start with http:// or https://");
	/* libcurl reads "https:///x" as the host x; a base URL names its host. */
	authority = strstr(url, "://") + 3;
	if (authority[0] == '\0' || authority[0] == '/')
		return aigw_fail(err, AIGW_EINVAL, "has no host");
	u = curl_url();
	if (u == NULL) {
		/* The project's OOM policy (alloc.h): log and abort. */
		log_error("out of memory parsing a URL; aborting");
		abort();
	}
	uc = curl_url_set(u, CURLUPART_URL, url, 0);
	if (uc != CURLUE_OK)
		rc = aigw_fail(err, AIGW_EINVAL, "is not a valid URL: %s", curl_url_strerror(uc));
	else
		rc = check_parts(u, err);
	curl_url_cleanup(u);
	if (rc != AIGW_OK)
		return rc;
	n = strlen(url);
	while (n > 0 && url[n - 1] == '/')
		n--;
	*out = xstrndup(url, n);
	return AIGW_OK;
}
