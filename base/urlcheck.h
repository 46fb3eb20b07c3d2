/* The configuration's base URLs (upstream_url) checked with libcurl's URL
 * parser, the one the upstream client's transfers use, so a URL accepted
 * here is read by the transfer the same way. Parsing only: no transfer, no
 * curl_global_init needed. */
#ifndef AIGW_URLCHECK_H
#define AIGW_URLCHECK_H

#include "error.h"

/* Checks that url is an http:// or https:// URL with a host, optionally a
 * port (1..65535) and a path, and nothing else: no user or password (a URL
 * is shown in logs; credentials belong in a secret key), no query, no
 * fragment. On success *out is the URL without its trailing slashes (the
 * caller appends paths such as "/models"; malloc'd, the caller frees it).
 * On failure AIGW_EINVAL and err says why, without repeating the URL. */
aigw_rc url_base_check(const char *url, char **out, char *err);

#endif
