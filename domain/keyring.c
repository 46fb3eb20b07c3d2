/* The master keyring file: numbered 32-byte keys, one "ID HEX64" per line.
 * Keys are decoded straight into sodium_malloc'd pages (guarded, locked, made
 * read-only once loaded) and the file text is wiped after parsing. */
#include "config.h"

#include "keyring.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "alloc.h"

/* A keyring holds at most 64 lines of ~80 bytes plus comments. */
#define KEYRING_FILE_MAX (64 * 1024)
#define KEYRING_HEX_LEN (KEYRING_KEY_LEN * 2)

static void keyring_clear(struct keyring *kr)
{
	for (size_t i = 0; i < kr->n; i++)
		sodium_free(kr->keys[i].key); /* wipes before unmapping */
	memset(kr, 0, sizeof(*kr));
}

void keyring_free(struct keyring *kr)
{
	if (kr)
		keyring_clear(kr);
}

/* A fresh guarded buffer for one key; NULL only if sodium cannot map pages. */
static unsigned char *key_alloc(void)
{
	if (sodium_init() < 0)
		return NULL;
	return sodium_malloc(KEYRING_KEY_LEN);
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Parses one non-comment line [p, end) into kr. lineno is for messages. */
static aigw_rc parse_line(struct keyring *kr, const char *p, const char *end, int lineno, char *err)
{
	long id = 0;
	const char *hex;
	size_t hexlen;
	unsigned char *key;
	size_t binlen = 0;

	if (*p < '0' || *p > '9')
		return aigw_fail(err, AIGW_EINVAL, "keyring line %d: expected \"ID HEX64\"",
		                 lineno);
	while (p < end && *p >= '0' && *p <= '9') {
		id = id * 10 + (*p - '0');
		if (id > INT_MAX)
			return aigw_fail(err, AIGW_EINVAL, "keyring line %d: id too large", lineno);
		p++;
	}
	if (id <= 0)
		return aigw_fail(err, AIGW_EINVAL, "keyring line %d: id must be positive", lineno);
	if (p == end || !is_blank(*p))
		return aigw_fail(err, AIGW_EINVAL, "keyring line %d: expected \"ID HEX64\"",
		                 lineno);
	while (p < end && is_blank(*p))
		p++;
	hex = p;
	while (p < end && !is_blank(*p))
		p++;
	hexlen = (size_t)(p - hex);
	while (p < end && is_blank(*p))
		p++;
	if (p != end)
		return aigw_fail(err, AIGW_EINVAL, "keyring line %d: trailing text after the key",
		                 lineno);
	if (hexlen != KEYRING_HEX_LEN)
		return aigw_fail(err, AIGW_EINVAL,
		                 "keyring line %d: key must be %d hex characters (got %zu)", lineno,
		                 KEYRING_HEX_LEN, hexlen);
	for (size_t i = 0; i < hexlen; i++) {
		char c = hex[i];
		bool ok =
		        (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
		if (!ok)
			return aigw_fail(err, AIGW_EINVAL,
			                 "keyring line %d: key is not hexadecimal", lineno);
	}
	if (keyring_find(kr, (int)id))
		return aigw_fail(err, AIGW_EINVAL, "keyring line %d: duplicate key id %ld", lineno,
		                 id);
	if (kr->n >= KEYRING_MAX_KEYS)
		return aigw_fail(err, AIGW_ETOOBIG, "keyring line %d: more than %d keys", lineno,
		                 KEYRING_MAX_KEYS);
	key = key_alloc();
	if (!key)
		return aigw_fail(err, AIGW_ECRYPTO, "keyring: cannot allocate secure memory");
	if (sodium_hex2bin(key, KEYRING_KEY_LEN, hex, hexlen, NULL, &binlen, NULL) != 0 ||
	    binlen != KEYRING_KEY_LEN) {
		sodium_free(key);
		return aigw_fail(err, AIGW_EINVAL, "keyring line %d: key is not hexadecimal",
		                 lineno);
	}
	kr->keys[kr->n].id = (int)id;
	kr->keys[kr->n].key = key;
	kr->n++;
	return AIGW_OK;
}

static int key_cmp(const void *a, const void *b)
{
	const struct keyring_key *x = a, *y = b;
	return (x->id > y->id) - (x->id < y->id);
}

aigw_rc keyring_parse(struct keyring *kr, const char *text, char *err)
{
	aigw_rc rc = AIGW_OK;
	const char *p = text;
	int lineno = 0;

	memset(kr, 0, sizeof(*kr));
	while (*p) {
		const char *eol = strchr(p, '\n');
		const char *end = eol ? eol : p + strlen(p);
		const char *s = p;

		lineno++;
		while (s < end && is_blank(*s))
			s++;
		/* trim trailing blanks (and a CR) */
		while (end > s && is_blank(end[-1]))
			end--;
		if (s < end && *s != '#') {
			rc = parse_line(kr, s, end, lineno, err);
			if (rc != AIGW_OK)
				goto out;
		}
		p = eol ? eol + 1 : end + strlen(end);
	}
	if (kr->n == 0) {
		rc = aigw_fail(err, AIGW_EINVAL, "keyring has no keys");
		goto out;
	}
	qsort(kr->keys, kr->n, sizeof(kr->keys[0]), key_cmp);
	/* Nothing writes a key after loading: make stray writes fault. */
	for (size_t i = 0; i < kr->n; i++)
		sodium_mprotect_readonly(kr->keys[i].key);
out:
	if (rc != AIGW_OK)
		keyring_clear(kr);
	return rc;
}

/* Refuses anything but a regular file without group/other permission bits. */
static aigw_rc check_mode(const char *path, int fd, struct stat *st, char *err)
{
	if (fstat(fd, st) != 0)
		return aigw_fail(err, AIGW_EIO, "keyring %s: %s", path, strerror(errno));
	if (!S_ISREG(st->st_mode))
		return aigw_fail(err, AIGW_EINVAL, "keyring %s: not a regular file", path);
	if (st->st_mode & (S_IRWXG | S_IRWXO))
		return aigw_fail(err, AIGW_EINVAL,
		                 "keyring %s has mode %04o: it must not be accessible by group or "
		                 "others (chmod 600 %s)",
		                 path, (unsigned)(st->st_mode & 07777), path);
	return AIGW_OK;
}

aigw_rc keyring_load(struct keyring *kr, const char *path, char *err)
{
	aigw_rc rc = AIGW_OK;
	struct stat st;
	char *text = NULL;
	size_t len = 0;
	int fd;

	memset(kr, 0, sizeof(*kr));
	if (!path || !*path)
		return aigw_fail(err, AIGW_EINVAL, "no keyring file configured (keyring = PATH)");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return aigw_fail(err, errno == ENOENT ? AIGW_ENOTFOUND : AIGW_EIO, "keyring %s: %s",
		                 path, strerror(errno));
	rc = check_mode(path, fd, &st, err);
	if (rc != AIGW_OK)
		goto out;
	if (st.st_size > KEYRING_FILE_MAX) {
		rc = aigw_fail(err, AIGW_ETOOBIG, "keyring %s: file larger than %d bytes", path,
		               KEYRING_FILE_MAX);
		goto out;
	}
	text = xmalloc((size_t)st.st_size + 1);
	while (len < (size_t)st.st_size) {
		ssize_t got = read(fd, text + len, (size_t)st.st_size - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			rc = aigw_fail(err, AIGW_EIO, "keyring %s: %s", path, strerror(errno));
			goto out;
		}
		if (got == 0)
			break;
		len += (size_t)got;
	}
	text[len] = '\0';
	if (strlen(text) != len) {
		rc = aigw_fail(err, AIGW_EINVAL, "keyring %s: contains a NUL byte", path);
		goto out;
	}
	rc = keyring_parse(kr, text, err);
	if (rc != AIGW_OK) {
		/* prefix the path without ever quoting file content */
		char inner[AIGW_ERRLEN];
		snprintf(inner, sizeof(inner), "%s", err ? err : "");
		aigw_fail(err, rc, "%s: %s", path, inner);
	}
out:
	if (text) {
		sodium_memzero(text, (size_t)st.st_size + 1);
		free(text);
	}
	close(fd);
	return rc;
}

const struct keyring_key *keyring_current(const struct keyring *kr)
{
	if (!kr || kr->n == 0)
		return NULL;
	return &kr->keys[kr->n - 1];
}

const struct keyring_key *keyring_find(const struct keyring *kr, int id)
{
	if (!kr)
		return NULL;
	for (size_t i = 0; i < kr->n; i++)
		if (kr->keys[i].id == id)
			return &kr->keys[i];
	return NULL;
}

static aigw_rc write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return AIGW_EIO;
		data += n;
		len -= (size_t)n;
	}
	return AIGW_OK;
}

/* One O_APPEND write of a whole line, then fsync: a crash leaves either the
 * old file or the old file plus the complete new line. kr holds the file's
 * keys (keyring_load) or is empty for a new file, created 0600. */
aigw_rc keyring_add_new(struct keyring *kr, const char *path, char *err)
{
	aigw_rc rc = AIGW_OK;
	unsigned char raw[KEYRING_KEY_LEN];
	char line[16 + KEYRING_HEX_LEN + 4];
	unsigned char *key = NULL;
	struct stat st;
	const struct keyring_key *cur = keyring_current(kr);
	int id = cur ? cur->id + 1 : 1;
	int n, fd;
	char last = '\n';

	if (kr->n >= KEYRING_MAX_KEYS)
		return aigw_fail(err, AIGW_ETOOBIG, "keyring already holds %d keys",
		                 KEYRING_MAX_KEYS);
	if (cur && cur->id == INT_MAX)
		return aigw_fail(err, AIGW_EINVAL, "keyring ids exhausted");
	fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return aigw_fail(err, AIGW_EIO, "keyring %s: %s", path, strerror(errno));
	rc = check_mode(path, fd, &st, err);
	if (rc != AIGW_OK)
		goto out;
	if (!cur && st.st_size > 0) {
		/* kr must hold the file's keys, or ids would repeat */
		rc = aigw_fail(err, AIGW_EINVAL, "keyring %s: load it before adding a key", path);
		goto out;
	}
	key = key_alloc();
	if (!key) {
		rc = aigw_fail(err, AIGW_ECRYPTO, "keyring: cannot allocate secure memory");
		goto out;
	}
	randombytes_buf(raw, sizeof(raw));
	memcpy(key, raw, sizeof(raw));
	/* A file whose last line lacks its newline must not swallow ours. */
	if (st.st_size > 0 && pread(fd, &last, 1, st.st_size - 1) != 1)
		last = '\n';
	n = snprintf(line, sizeof(line), "%s%d ", last == '\n' ? "" : "\n", id);
	sodium_bin2hex(line + n, sizeof(line) - (size_t)n - 1, raw, sizeof(raw));
	n += KEYRING_HEX_LEN;
	line[n++] = '\n';
	if (write_all(fd, line, (size_t)n) != AIGW_OK || fsync(fd) != 0) {
		rc = aigw_fail(err, AIGW_EIO, "keyring %s: write failed: %s", path,
		               strerror(errno));
		goto out;
	}
	sodium_mprotect_readonly(key);
	kr->keys[kr->n].id = id;
	kr->keys[kr->n].key = key;
	kr->n++;
	key = NULL;
out:
	sodium_memzero(raw, sizeof(raw));
	sodium_memzero(line, sizeof(line));
	sodium_free(key);
	close(fd);
	return rc;
}
