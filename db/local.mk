# db/: MariaDB access (libaigw_db.a) and the aigw-admin CLI.
libaigw_db_a_SOURCES += \
	db/db.c db/db.h \
	db/stmt.c db/stmt.h \
	db/apps.c db/apps.h \
	db/api_keys.c db/api_keys.h \
	db/ai_config.c db/ai_config.h \
	db/migrate.c db/migrate.h

# aigw-admin uses the keyring, token and BYOK modules of handlers/.
bin_PROGRAMS += aigw-admin
aigw_admin_SOURCES = \
	db/admin.c db/admin.h \
	db/admin_apps.c \
	db/admin_keys.c \
	db/admin_keyring.c
aigw_admin_LDADD = $(HANDLERS_LAYER)

# Runs against a real database when $AIGW_TEST_CONFIG names an aigw.conf of a
# scratch database; otherwise it skips (exit 77) without output.
check_PROGRAMS += tests/unit/test_db_live
TESTS += tests/unit/test_db_live
tests_unit_test_db_live_SOURCES = tests/unit/test_db_live.c tests/unit/check.h
tests_unit_test_db_live_LDADD = $(DB_LAYER)

# Runs only this layer's tests.
check-db: tests/unit/test_db_live
	@$(MAKE) $(AM_MAKEFLAGS) check-TESTS TESTS='tests/unit/test_db_live' \
		check_PROGRAMS='tests/unit/test_db_live'
.PHONY: check-db
