# db/: MariaDB access (libaigw_db.a) and the aigw-admin CLI.
libaigw_db_a_SOURCES += \
	db/db.c db/db.h \
	db/tx.c db/tx.h \
	db/stmt.c db/stmt.h \
	db/apps.c db/apps.h \
	db/api_keys.c db/api_keys.h \
	db/ai_config.c db/ai_config.h \
	db/migrate.c db/migrate.h \
	db/money.c db/money.h \
	db/models.c db/models.h \
	db/usage.c db/usage.h \
	db/period.c db/period.h \
	db/credits.c db/credits.h \
	db/usage_report.c db/usage_report.h

# aigw-admin uses the keyring, token and BYOK modules of handlers/.
bin_PROGRAMS += aigw-admin
aigw_admin_SOURCES = \
	db/admin.c db/admin.h \
	db/admin_apps.c \
	db/admin_keys.c \
	db/admin_keyring.c \
	db/admin_models.c
aigw_admin_LDADD = $(HANDLERS_LAYER)

# Runs against a real database when $AIGW_TEST_CONFIG names an aigw.conf of a
# scratch database; otherwise it skips (exit 77) without output.
check_PROGRAMS += tests/unit/test_db_live
TESTS += tests/unit/test_db_live
tests_unit_test_db_live_SOURCES = tests/unit/test_db_live.c tests/unit/check.h
tests_unit_test_db_live_LDADD = $(DB_LAYER)

# Exact decimal <-> money units (no database).
check_PROGRAMS += tests/unit/test_money
TESTS += tests/unit/test_money
tests_unit_test_money_SOURCES = tests/unit/test_money.c tests/unit/check.h
tests_unit_test_money_LDADD = $(DB_LAYER)

# The models and usage tables against a real database; skipped (exit 77)
# without $AIGW_TEST_CONFIG, like test_db_live.
check_PROGRAMS += tests/unit/test_models_live tests/unit/test_usage_live
TESTS += tests/unit/test_models_live tests/unit/test_usage_live
tests_unit_test_models_live_SOURCES = tests/unit/test_models_live.c tests/unit/check.h \
	tests/unit/models_snapshot.h
tests_unit_test_models_live_LDADD = $(DB_LAYER)
tests_unit_test_models_live_CPPFLAGS = $(AM_CPPFLAGS) \
	-DSIM_MODELS_JSON='"$(abs_top_srcdir)/tests/sim/models.json"'
tests_unit_test_usage_live_SOURCES = tests/unit/test_usage_live.c tests/unit/check.h
tests_unit_test_usage_live_LDADD = $(DB_LAYER)

# Billing period arithmetic (no database).
check_PROGRAMS += tests/unit/test_period
TESTS += tests/unit/test_period
tests_unit_test_period_SOURCES = tests/unit/test_period.c tests/unit/check.h
tests_unit_test_period_LDADD = $(DB_LAYER)

# Periods, reservations, settlement, plan changes and the usage sums and DBA
# views against a real database; skipped (exit 77) without $AIGW_TEST_CONFIG.
check_PROGRAMS += tests/unit/test_credits_live
TESTS += tests/unit/test_credits_live
tests_unit_test_credits_live_SOURCES = tests/unit/test_credits_live.c tests/unit/check.h
tests_unit_test_credits_live_LDADD = $(DB_LAYER)

DB_UNIT_TESTS = \
	tests/unit/test_db_live \
	tests/unit/test_money \
	tests/unit/test_models_live \
	tests/unit/test_usage_live \
	tests/unit/test_period \
	tests/unit/test_credits_live

# Runs only this layer's tests.
check-db: $(DB_UNIT_TESTS)
	@$(MAKE) $(AM_MAKEFLAGS) check-TESTS TESTS='$(DB_UNIT_TESTS)' \
		check_PROGRAMS='$(DB_UNIT_TESTS)'
.PHONY: check-db
