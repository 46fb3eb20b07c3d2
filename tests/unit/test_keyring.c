/* Unit tests of domain/keyring.c: line parsing, rejection of bad files and
 * loose permissions, current/find, and appending a new key. */
#include "config.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "error.h"
#include "keyring.h"

#define HEXA "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define HEXB "FFEEDDCCBBAA99887766554433221100ffeeddccbbaa99887766554433221100"

static char tmpdir[] = "/tmp/aigw-test-keyring-XXXXXX";

static aigw_rc parse(const char *text, struct keyring *kr, char *err)
{
	err[0] = '\0';
	return keyring_parse(kr, text, err);
}

static void parse_good(void)
{
	struct keyring kr;
	char err[AIGW_ERRLEN];
	const char *text = "# master keys\n\n2 " HEXB "\n  1\t" HEXA "  \r\n# end";

	CHECK_INT(parse(text, &kr, err), AIGW_OK);
	CHECK_INT(kr.n, 2);
	CHECK_INT(kr.keys[0].id, 1); /* sorted ascending */
	CHECK_INT(kr.keys[1].id, 2);
	CHECK(kr.keys[0].key[0] == 0x00 && kr.keys[0].key[31] == 0x1f);
	CHECK(kr.keys[1].key[0] == 0xff && kr.keys[1].key[31] == 0x00);
	keyring_free(&kr);
	CHECK_INT(kr.n, 0);
}

static void parse_no_trailing_newline(void)
{
	struct keyring kr;
	char err[AIGW_ERRLEN];

	CHECK_INT(parse("7 " HEXA, &kr, err), AIGW_OK);
	CHECK_INT(kr.n, 1);
	CHECK_INT(keyring_current(&kr)->id, 7);
	keyring_free(&kr);
}

static void parse_bad_lines(void)
{
	static const char *const bad[] = {
	        "",                       /* no keys */
	        "# only a comment\n",     /* no keys */
	        "x " HEXA "\n",           /* id not a number */
	        "0 " HEXA "\n",           /* id not positive */
	        "-1 " HEXA "\n",          /* id not positive */
	        "99999999999 " HEXA "\n", /* id too large */
	        "1" HEXA "\n",            /* no separator */
	        "1\n",                    /* no key */
	        "1 0001\n",               /* short key */
	        "1 " HEXA "00\n",         /* long key */
	        "1 " HEXA " extra\n",     /* trailing text */
	        "1 zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n", /* hex */
	        "1 " HEXA "\n1 " HEXB "\n", /* duplicate id */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct keyring kr;
		char err[AIGW_ERRLEN];

		CHECK(parse(bad[i], &kr, err) != AIGW_OK);
		CHECK(err[0] != '\0');
		CHECK_INT(kr.n, 0);
		/* error texts never quote key material */
		CHECK(strstr(err, "0001020304") == NULL);
	}
}

static void duplicate_names_line(void)
{
	struct keyring kr;
	char err[AIGW_ERRLEN];

	CHECK_INT(parse("1 " HEXA "\n# c\n1 " HEXB "\n", &kr, err), AIGW_EINVAL);
	CHECK(strstr(err, "line 3") != NULL);
	CHECK(strstr(err, "duplicate") != NULL);
}

static void current_and_find(void)
{
	struct keyring kr;
	char err[AIGW_ERRLEN];

	CHECK_INT(parse("3 " HEXA "\n10 " HEXB "\n5 " HEXA "\n", &kr, err), AIGW_OK);
	CHECK_INT(keyring_current(&kr)->id, 10);
	CHECK(keyring_find(&kr, 5) != NULL);
	CHECK_INT(keyring_find(&kr, 5)->id, 5);
	CHECK(keyring_find(&kr, 4) == NULL);
	keyring_free(&kr);
	CHECK(keyring_current(&kr) == NULL);
}

static char *write_file(const char *name, const char *text, mode_t mode)
{
	static char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	close(fd);
	chmod(path, mode);
	return path;
}

static void load_rejects_0644(void)
{
	struct keyring kr;
	char err[AIGW_ERRLEN] = "";
	char *path = write_file("k644", "1 " HEXA "\n", 0644);

	CHECK_INT(keyring_load(&kr, path, err), AIGW_EINVAL);
	CHECK(strstr(err, path) != NULL);
	CHECK(strstr(err, "0644") != NULL);
	CHECK_INT(kr.n, 0);
}

static void load_rejects_0640(void)
{
	struct keyring kr;
	char err[AIGW_ERRLEN] = "";
	char *path = write_file("k640", "1 " HEXA "\n", 0640);

	CHECK_INT(keyring_load(&kr, path, err), AIGW_EINVAL);
	CHECK(strstr(err, "0640") != NULL);
}

static void load_accepts_0600_and_0400(void)
{
	struct keyring kr;
	char err[AIGW_ERRLEN] = "";
	char *path = write_file("k600", "1 " HEXA "\n2 " HEXB "\n", 0600);

	CHECK_INT(keyring_load(&kr, path, err), AIGW_OK);
	CHECK_INT(kr.n, 2);
	CHECK_INT(keyring_current(&kr)->id, 2);
	keyring_free(&kr);

	path = write_file("k400", "1 " HEXA "\n", 0400);
	CHECK_INT(keyring_load(&kr, path, err), AIGW_OK);
	CHECK_INT(kr.n, 1);
	keyring_free(&kr);
}

static void load_missing_file(void)
{
	struct keyring kr;
	char err[AIGW_ERRLEN] = "";

	CHECK_INT(keyring_load(&kr, "/nonexistent/aigw/keyring", err), AIGW_ENOTFOUND);
	CHECK(strstr(err, "/nonexistent/aigw/keyring") != NULL);
}

static void load_error_names_path_and_line(void)
{
	struct keyring kr;
	char err[AIGW_ERRLEN] = "";
	char *path = write_file("kbad", "1 " HEXA "\n2 nothex\n", 0600);

	CHECK(keyring_load(&kr, path, err) != AIGW_OK);
	CHECK(strstr(err, path) != NULL);
	CHECK(strstr(err, "line 2") != NULL);
}

static void add_new_appends(void)
{
	struct keyring kr, again;
	char err[AIGW_ERRLEN] = "";
	char *path = write_file("kadd", "1 " HEXA, 0600); /* no trailing newline */
	struct stat st;

	CHECK_INT(keyring_load(&kr, path, err), AIGW_OK);
	CHECK_INT(keyring_add_new(&kr, path, err), AIGW_OK);
	CHECK_INT(kr.n, 2);
	CHECK_INT(keyring_current(&kr)->id, 2);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK_INT(keyring_load(&again, path, err), AIGW_OK);
	CHECK_INT(again.n, 2);
	CHECK(memcmp(keyring_find(&again, 2)->key, keyring_find(&kr, 2)->key, 32) == 0);
	CHECK(memcmp(keyring_find(&again, 1)->key, keyring_find(&kr, 1)->key, 32) == 0);
	keyring_free(&again);
	keyring_free(&kr);
}

static void add_new_creates_file(void)
{
	struct keyring kr, again;
	char err[AIGW_ERRLEN] = "";
	char path[256];
	struct stat st;

	snprintf(path, sizeof(path), "%s/knew", tmpdir);
	unlink(path);
	memset(&kr, 0, sizeof(kr));
	CHECK_INT(keyring_add_new(&kr, path, err), AIGW_OK);
	CHECK_INT(keyring_current(&kr)->id, 1);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK_INT(keyring_load(&again, path, err), AIGW_OK);
	CHECK_INT(again.n, 1);
	keyring_free(&again);
	keyring_free(&kr);
}

static void add_new_refuses_loose_file(void)
{
	struct keyring kr;
	char err[AIGW_ERRLEN] = "";
	char *path = write_file("kloose", "1 " HEXA "\n", 0600);

	CHECK_INT(keyring_load(&kr, path, err), AIGW_OK);
	chmod(path, 0644);
	CHECK_INT(keyring_add_new(&kr, path, err), AIGW_EINVAL);
	CHECK(strstr(err, "0644") != NULL);
	CHECK_INT(kr.n, 1);
	keyring_free(&kr);
}

static void add_new_needs_loaded_keys(void)
{
	struct keyring kr;
	char err[AIGW_ERRLEN] = "";
	char *path = write_file("kunloaded", "1 " HEXA "\n", 0600);

	memset(&kr, 0, sizeof(kr));
	CHECK_INT(keyring_add_new(&kr, path, err), AIGW_EINVAL);
	CHECK_INT(kr.n, 0);
}

int main(void)
{
	check_program = "test_keyring";
	if (!mkdtemp(tmpdir))
		return 1;
	RUN(parse_good);
	RUN(parse_no_trailing_newline);
	RUN(parse_bad_lines);
	RUN(duplicate_names_line);
	RUN(current_and_find);
	RUN(load_rejects_0644);
	RUN(load_rejects_0640);
	RUN(load_accepts_0600_and_0400);
	RUN(load_missing_file);
	RUN(load_error_names_path_and_line);
	RUN(add_new_appends);
	RUN(add_new_creates_file);
	RUN(add_new_refuses_loose_file);
	RUN(add_new_needs_loaded_keys);
	{
		char cmd[300];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmpdir);
	}
	CHECK_DONE();
}
