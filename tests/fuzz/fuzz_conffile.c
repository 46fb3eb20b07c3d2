/* libFuzzer harness: the configuration file (conf_load, through a memfd so
 * the file reading, NUL check and parser all run) and the master keyring
 * file's parser (keyring_parse), the two files an operator writes. A
 * configuration that loads must hold values within their documented ranges. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "alloc.h"
#include "conffile.h"
#include "error.h"
#include "fuzz.h"
#include "keyring.h"

static int memfd = -1;
static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	if (sodium_init() < 0)
		abort();
	memfd = memfd_create("aigw-fuzz.conf", MFD_CLOEXEC);
	if (memfd < 0) {
		perror("memfd_create");
		abort();
	}
	/* A memfd is 0777: a file that sets a secret would be refused for
	 * its mode before its values were checked. */
	if (fchmod(memfd, 0600) != 0) {
		perror("fchmod");
		abort();
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	return 0;
}

static void check_conf(const struct aigw_conf *c)
{
	FUZZ_ASSERT(c->db_host && c->db_host[0] && c->db_name && c->db_name[0]);
	FUZZ_ASSERT(c->db_user && c->db_user[0] && c->db_password && c->keyring);
	FUZZ_ASSERT(c->db_port >= 1 && c->db_port <= 65535);
	FUZZ_ASSERT(c->upstream_url && (strncmp(c->upstream_url, "http://", 7) == 0 ||
	                                strncmp(c->upstream_url, "https://", 8) == 0));
	/* the URL goes into logs: never with credentials */
	FUZZ_ASSERT(!memchr(strstr(c->upstream_url, "://") + 3, '@',
	                    strcspn(strstr(c->upstream_url, "://") + 3, "/?#")));
	/* paths are appended to it: never a trailing slash */
	FUZZ_ASSERT(c->upstream_url[strlen(c->upstream_url) - 1] != '/');
	FUZZ_ASSERT(c->upstream_key && c->default_model && c->default_model[0]);
	FUZZ_ASSERT(c->upstream_connect_timeout_ms >= 1);
	FUZZ_ASSERT(c->sse_keepalive_s >= 1 && c->sse_keepalive_s <= 300);
	FUZZ_ASSERT(c->max_body_bytes >= 1024 && c->max_body_bytes <= 1024u * 1024 * 1024);
	FUZZ_ASSERT(c->auth_cache_ttl_s >= 0 && c->auth_cache_ttl_s <= 10);
	FUZZ_ASSERT(c->reserve_floor_usd && c->reserve_floor_usd[0]);
	FUZZ_ASSERT(c->reservation_ttl_s >= 60 && c->workers >= 1 && c->threads >= 1);
	FUZZ_ASSERT(c->log_level && c->cors_origin);
	FUZZ_ASSERT(c->db_socket == NULL || c->db_socket[0]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aigw_conf c;
	struct keyring kr;
	char err[AIGW_ERRLEN];
	char *text;
	aigw_rc rc;

	if (ftruncate(memfd, 0) != 0 || pwrite(memfd, data, size, 0) != (ssize_t)size)
		abort();
	memset(&c, 0, sizeof(c));
	err[0] = '\0';
	rc = conf_load(&c, path, err);
	if (rc == AIGW_OK)
		check_conf(&c);
	else
		FUZZ_ASSERT(err[0] && memchr(err, '\0', sizeof(err)));
	/* a NUL byte anywhere is refused, not a cut in the text */
	if (memchr(data, '\0', size))
		FUZZ_ASSERT(rc != AIGW_OK);
	conf_free(&c);

	text = xmalloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	memset(&kr, 0, sizeof(kr));
	rc = keyring_parse(&kr, text, err);
	if (rc == AIGW_OK) {
		FUZZ_ASSERT(kr.n >= 1 && kr.n <= KEYRING_MAX_KEYS);
		for (size_t i = 1; i < kr.n; i++)
			FUZZ_ASSERT(kr.keys[i - 1].id < kr.keys[i].id);
		FUZZ_ASSERT(keyring_current(&kr) == &kr.keys[kr.n - 1]);
	}
	keyring_free(&kr);
	free(text);
	return 0;
}
