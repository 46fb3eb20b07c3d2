/* The project's error type: formatting an error text into the caller's
 * buffer, and short stable names of the codes for log lines. */
#include "config.h"

#include "error.h"

#include <stdarg.h>
#include <stdio.h>

aigw_rc aigw_fail(char *err, aigw_rc rc, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return rc;
	va_start(ap, fmt);
	vsnprintf(err, AIGW_ERRLEN, fmt, ap);
	va_end(ap);
	return rc;
}

const char *aigw_rc_name(aigw_rc rc)
{
	switch (rc) {
	case AIGW_OK:
		return "OK";
	case AIGW_ENOTFOUND:
		return "ENOTFOUND";
	case AIGW_EINVAL:
		return "EINVAL";
	case AIGW_EEXIST:
		return "EEXIST";
	case AIGW_ETOOBIG:
		return "ETOOBIG";
	case AIGW_EDB:
		return "EDB";
	case AIGW_ECRYPTO:
		return "ECRYPTO";
	case AIGW_EIO:
		return "EIO";
	case AIGW_EUPSTREAM:
		return "EUPSTREAM";
	case AIGW_ETIMEOUT:
		return "ETIMEOUT";
	case AIGW_EGONE:
		return "EGONE";
	case AIGW_ERETRY:
		return "ERETRY";
	}
	return "EUNKNOWN";
}
