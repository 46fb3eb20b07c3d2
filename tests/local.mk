# tests/local.mk: the unit tests, one program per module, grouped by the
# layer they test and linked with that layer and the ones below it. The
# *_live programs run against a real database or simulator (tests/run
# points them at its first stack) and skip (exit 77) without one.
EXTRA_DIST += tests/unit/check.h tests/unit/live.h

# base/
BASE_UNIT_TESTS = \
	tests/unit/test_buf \
	tests/unit/test_conffile \
	tests/unit/test_utf8 \
	tests/unit/test_strict_json \
	tests/unit/test_money
check_PROGRAMS += $(BASE_UNIT_TESTS)
TESTS += $(BASE_UNIT_TESTS)
tests_unit_test_buf_SOURCES = tests/unit/test_buf.c tests/unit/check.h
tests_unit_test_buf_LDADD = $(BASE_LIBS)
tests_unit_test_conffile_SOURCES = tests/unit/test_conffile.c tests/unit/check.h
tests_unit_test_conffile_LDADD = $(BASE_LIBS)
tests_unit_test_utf8_SOURCES = tests/unit/test_utf8.c tests/unit/check.h
tests_unit_test_utf8_LDADD = $(BASE_LIBS)
tests_unit_test_strict_json_SOURCES = tests/unit/test_strict_json.c tests/unit/check.h
tests_unit_test_strict_json_LDADD = $(BASE_LIBS)
tests_unit_test_money_SOURCES = tests/unit/test_money.c tests/unit/check.h
tests_unit_test_money_LDADD = $(BASE_LIBS)

# http/
HTTP_UNIT_TESTS = \
	tests/unit/test_router \
	tests/unit/test_response \
	tests/unit/test_body \
	tests/unit/test_request
check_PROGRAMS += $(HTTP_UNIT_TESTS)
TESTS += $(HTTP_UNIT_TESTS)
tests_unit_test_router_SOURCES = tests/unit/test_router.c tests/unit/check.h
tests_unit_test_router_LDADD = $(HTTP_LIBS)
tests_unit_test_response_SOURCES = tests/unit/test_response.c tests/unit/check.h tests/unit/memsink.c tests/unit/memsink.h
tests_unit_test_response_LDADD = $(HTTP_LIBS)
tests_unit_test_body_SOURCES = tests/unit/test_body.c tests/unit/check.h
tests_unit_test_body_LDADD = $(HTTP_LIBS)
tests_unit_test_request_SOURCES = tests/unit/test_request.c tests/unit/check.h
tests_unit_test_request_LDADD = $(HTTP_LIBS)

# domain/
DOMAIN_UNIT_TESTS = \
	tests/unit/test_keyring \
	tests/unit/test_apikey \
	tests/unit/test_byok \
	tests/unit/test_config_rules \
	tests/unit/test_period \
	tests/unit/test_credits_estimate \
	tests/unit/test_limits
check_PROGRAMS += $(DOMAIN_UNIT_TESTS)
TESTS += $(DOMAIN_UNIT_TESTS)
tests_unit_test_keyring_SOURCES = tests/unit/test_keyring.c tests/unit/check.h
tests_unit_test_keyring_LDADD = $(DOMAIN_LIBS)
tests_unit_test_apikey_SOURCES = tests/unit/test_apikey.c tests/unit/check.h
tests_unit_test_apikey_LDADD = $(DOMAIN_LIBS)
tests_unit_test_byok_SOURCES = tests/unit/test_byok.c tests/unit/check.h
tests_unit_test_byok_LDADD = $(DOMAIN_LIBS)
tests_unit_test_config_rules_SOURCES = tests/unit/test_config_rules.c tests/unit/check.h
tests_unit_test_config_rules_LDADD = $(DOMAIN_LIBS)
tests_unit_test_period_SOURCES = tests/unit/test_period.c tests/unit/check.h
tests_unit_test_period_LDADD = $(DOMAIN_LIBS)
tests_unit_test_credits_estimate_SOURCES = tests/unit/test_credits_estimate.c tests/unit/check.h
tests_unit_test_credits_estimate_LDADD = $(DOMAIN_LIBS)
tests_unit_test_limits_SOURCES = tests/unit/test_limits.c tests/unit/check.h
tests_unit_test_limits_LDADD = $(DOMAIN_LIBS)

# upstream/
UPSTREAM_UNIT_TESTS = \
	tests/unit/test_sse_parser \
	tests/unit/test_upstream_live
check_PROGRAMS += $(UPSTREAM_UNIT_TESTS)
TESTS += $(UPSTREAM_UNIT_TESTS)
tests_unit_test_sse_parser_SOURCES = tests/unit/test_sse_parser.c tests/unit/check.h
tests_unit_test_sse_parser_LDADD = $(UPSTREAM_LIBS)
tests_unit_test_upstream_live_SOURCES = tests/unit/test_upstream_live.c tests/unit/check.h
tests_unit_test_upstream_live_LDADD = $(UPSTREAM_LIBS)

# db/
DB_UNIT_TESTS = \
	tests/unit/test_db_live \
	tests/unit/test_models_live \
	tests/unit/test_usage_live \
	tests/unit/test_usage_batch_live \
	tests/unit/test_credits_live \
	tests/unit/test_app_changes_live \
	tests/unit/test_consistency_live
check_PROGRAMS += $(DB_UNIT_TESTS)
TESTS += $(DB_UNIT_TESTS)
tests_unit_test_db_live_SOURCES = tests/unit/test_db_live.c tests/unit/check.h
tests_unit_test_db_live_LDADD = $(DB_LIBS)
tests_unit_test_models_live_SOURCES = tests/unit/test_models_live.c tests/unit/check.h tests/unit/models_snapshot.h
tests_unit_test_models_live_LDADD = $(DB_LIBS)
tests_unit_test_usage_live_SOURCES = tests/unit/test_usage_live.c tests/unit/check.h
tests_unit_test_usage_live_LDADD = $(DB_LIBS)
tests_unit_test_usage_batch_live_SOURCES = tests/unit/test_usage_batch_live.c tests/unit/check.h
tests_unit_test_usage_batch_live_LDADD = $(DB_LIBS)
tests_unit_test_app_changes_live_SOURCES = tests/unit/test_app_changes_live.c tests/unit/check.h
tests_unit_test_app_changes_live_LDADD = $(DB_LIBS)
tests_unit_test_credits_live_SOURCES = tests/unit/test_credits_live.c tests/unit/check.h
tests_unit_test_credits_live_LDADD = $(DB_LIBS)
tests_unit_test_consistency_live_SOURCES = tests/unit/test_consistency_live.c tests/unit/check.h
tests_unit_test_consistency_live_LDADD = $(DB_LIBS)

# handlers/
HANDLERS_UNIT_TESTS = \
	tests/unit/test_dispatch \
	tests/unit/test_models_handler \
	tests/unit/test_usage_query \
	tests/unit/test_app_cache_live \
	tests/unit/test_usage_writer_live \
	tests/unit/test_usage_journal
check_PROGRAMS += $(HANDLERS_UNIT_TESTS)
TESTS += $(HANDLERS_UNIT_TESTS)
tests_unit_test_dispatch_SOURCES = tests/unit/test_dispatch.c tests/unit/check.h tests/unit/memsink.c tests/unit/memsink.h
tests_unit_test_dispatch_LDADD = $(HANDLERS_LIBS)
tests_unit_test_models_handler_SOURCES = tests/unit/test_models_handler.c tests/unit/check.h tests/unit/memsink.c tests/unit/memsink.h tests/unit/models_snapshot.h
tests_unit_test_models_handler_LDADD = $(HANDLERS_LIBS)
tests_unit_test_usage_query_SOURCES = tests/unit/test_usage_query.c tests/unit/check.h
tests_unit_test_usage_query_LDADD = $(HANDLERS_LIBS)
tests_unit_test_app_cache_live_SOURCES = tests/unit/test_app_cache_live.c tests/unit/check.h
tests_unit_test_app_cache_live_LDADD = $(HANDLERS_LIBS)
tests_unit_test_usage_writer_live_SOURCES = tests/unit/test_usage_writer_live.c tests/unit/check.h
tests_unit_test_usage_writer_live_LDADD = $(HANDLERS_LIBS)
tests_unit_test_usage_journal_SOURCES = tests/unit/test_usage_journal.c tests/unit/check.h
tests_unit_test_usage_journal_LDADD = $(HANDLERS_LIBS)
tests_unit_test_models_live_CPPFLAGS = $(AM_CPPFLAGS) \
	-DSIM_MODELS_JSON='"$(abs_top_srcdir)/tests/sim/models.json"'
