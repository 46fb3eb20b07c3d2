/* The project's one error type. Lower layers (db/, upstream, crypto, parsers)
 * return an aigw_rc and write a human-readable reason into a caller-supplied
 * buffer of AIGW_ERRLEN bytes; handlers map codes to HTTP statuses.
 * Error texts never contain secrets (tokens, BYOK keys, master keys). */
#ifndef AIGW_ERROR_H
#define AIGW_ERROR_H

#include <stddef.h>

#define AIGW_ERRLEN 256

typedef enum aigw_rc {
	AIGW_OK = 0,
	AIGW_ENOTFOUND, /* the row, file or route does not exist */
	AIGW_EINVAL,    /* input rejected; the text says why */
	AIGW_EEXIST,    /* unique constraint: already there */
	AIGW_ETOOBIG,   /* over a configured cap */
	AIGW_EDB,       /* database unreachable or failed */
	AIGW_ECRYPTO,   /* seal/open/hash failed (wrong key, tampered data) */
	AIGW_EIO,       /* file or socket I/O */
	AIGW_EUPSTREAM, /* upstream unreachable or answered nonsense */
	AIGW_ETIMEOUT,  /* upstream timed out */
	AIGW_EGONE,     /* the client went away */
	AIGW_ERETRY     /* transient conflict (deadlock, lock wait): rolled back, run it again */
} aigw_rc;

/* Writes a printf-style message into err (AIGW_ERRLEN bytes); err may be NULL.
 * Returns rc so callers can write `return aigw_fail(err, AIGW_EINVAL, ...)`. */
aigw_rc aigw_fail(char *err, aigw_rc rc, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Short stable name of a code ("EINVAL"), for logs. */
const char *aigw_rc_name(aigw_rc rc);

#endif
