/* aigw-admin config check: the config file and the admin config loaded as
 * every command loads them, and the keyring they name; nothing connects.
 * aigw.fcgi --check-config is the responder's own check of its file. */
#include "config.h"
#include "admin.h"

#include <stdio.h>
#include <string.h>

#include "keyring.h"

int cmd_config_check(struct admin *a, int argc, char **argv)
{
	char err[AIGW_ERRLEN];
	struct keyring kr;
	int r;

	r = admin_parse(a, argc, argv, NULL, NULL, 0, 0);
	if (r == ADMIN_OK)
		r = admin_load_conf(a);
	if (r != ADMIN_OK)
		return r;
	memset(&kr, 0, sizeof kr);
	if (keyring_load(&kr, a->conf.keyring, err) != AIGW_OK)
		return admin_error("keyring: %s", err);
	keyring_free(&kr);
	printf("%s: ok\n", a->conf_file);
	if (a->admin_conf_loaded)
		printf("%s: ok\n", a->admin_conf_file);
	return admin_flush();
}
