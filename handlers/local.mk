# handlers/: endpoint handlers and the domain modules they share (keyring,
# API key hashing, BYOK sealing, auth, config rules, dispatch).
libaigw_handlers_a_SOURCES += \
	handlers/keyring.c handlers/keyring.h \
	handlers/apikey.c handlers/apikey.h \
	handlers/byok.c handlers/byok.h \
	handlers/auth.c handlers/auth.h \
	handlers/context.c handlers/context.h \
	handlers/ai_config_rules.c handlers/ai_config_rules.h \
	handlers/ai_config.c \
	handlers/health.c \
	handlers/dispatch.c handlers/dispatch.h \
	handlers/endpoints.h \
	handlers/sse_parser.c handlers/sse_parser.h \
	handlers/upstream.c handlers/upstream.h \
	handlers/usage_parse.c handlers/usage_parse.h \
	handlers/proxy.c handlers/proxy.h \
	handlers/chat.c \
	handlers/embeddings.c

# Unit tests of this layer (none needs a database: test_dispatch points
# its connection at a closed port to check that everything fails closed).
HANDLERS_UNIT_TESTS = \
	tests/unit/test_keyring \
	tests/unit/test_apikey \
	tests/unit/test_byok \
	tests/unit/test_ai_config_rules \
	tests/unit/test_dispatch \
	tests/unit/test_sse_parser
check_PROGRAMS += $(HANDLERS_UNIT_TESTS)
TESTS += $(HANDLERS_UNIT_TESTS)
tests_unit_test_keyring_SOURCES = tests/unit/test_keyring.c tests/unit/check.h
tests_unit_test_keyring_LDADD = $(HANDLERS_LAYER)
tests_unit_test_apikey_SOURCES = tests/unit/test_apikey.c tests/unit/check.h
tests_unit_test_apikey_LDADD = $(HANDLERS_LAYER)
tests_unit_test_byok_SOURCES = tests/unit/test_byok.c tests/unit/check.h
tests_unit_test_byok_LDADD = $(HANDLERS_LAYER)
tests_unit_test_ai_config_rules_SOURCES = tests/unit/test_ai_config_rules.c tests/unit/check.h
tests_unit_test_ai_config_rules_LDADD = $(HANDLERS_LAYER)
tests_unit_test_dispatch_SOURCES = tests/unit/test_dispatch.c tests/unit/check.h
tests_unit_test_dispatch_LDADD = $(HANDLERS_LAYER)
tests_unit_test_sse_parser_SOURCES = tests/unit/test_sse_parser.c tests/unit/check.h
tests_unit_test_sse_parser_LDADD = $(HANDLERS_LAYER)

# Runs only this layer's unit tests.
check-handlers: $(HANDLERS_UNIT_TESTS)
	@$(MAKE) $(AM_MAKEFLAGS) check-TESTS TESTS='$(HANDLERS_UNIT_TESTS)' \
		check_PROGRAMS='$(HANDLERS_UNIT_TESTS)'
.PHONY: check-handlers

# GET /v1/{app}/models[/{model}] (issue 3, models part). Its test always runs
# the database-down cases and, with $AIGW_TEST_CONFIG, the live ones.
libaigw_handlers_a_SOURCES += handlers/models.c
check_PROGRAMS += tests/unit/test_models_handler
TESTS += tests/unit/test_models_handler
tests_unit_test_models_handler_SOURCES = tests/unit/test_models_handler.c tests/unit/check.h \
	tests/unit/models_snapshot.h
tests_unit_test_models_handler_LDADD = $(HANDLERS_LAYER)

# The upstream client against the simulator ($AIGW_TEST_SIM_URL; skips without).
check_PROGRAMS += tests/unit/test_upstream_live
TESTS += tests/unit/test_upstream_live
tests_unit_test_upstream_live_SOURCES = tests/unit/test_upstream_live.c tests/unit/check.h
tests_unit_test_upstream_live_LDADD = $(HANDLERS_LAYER)

# Credits and the usage endpoint (issue 4, handlers part): the reservation
# step of metered requests, GET /v1/{app}/ai/usage, and their pure parts'
# unit tests (no database).
libaigw_handlers_a_SOURCES += \
	handlers/credits.c handlers/credits.h \
	handlers/usage_query.c handlers/usage_query.h \
	handlers/usage.c
check_PROGRAMS += tests/unit/test_credits_estimate tests/unit/test_usage_query
TESTS += tests/unit/test_credits_estimate tests/unit/test_usage_query
tests_unit_test_credits_estimate_SOURCES = tests/unit/test_credits_estimate.c tests/unit/check.h
tests_unit_test_credits_estimate_LDADD = $(HANDLERS_LAYER)
tests_unit_test_usage_query_SOURCES = tests/unit/test_usage_query.c tests/unit/check.h
tests_unit_test_usage_query_LDADD = $(HANDLERS_LAYER)
