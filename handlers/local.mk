# handlers/: the endpoints (api_*.c) behind one dispatcher, authentication,
# the per-thread context and the per-process services (the app and key
# cache, the usage writer), the proxy path shared by chat and embeddings,
# and the credit reservation on that path.
libaigw_handlers_a_CPPFLAGS = $(HANDLERS_INC) $(BUILD_INC) $(DEP_CFLAGS)
libaigw_handlers_a_SOURCES = \
	handlers/context.c handlers/context.h \
	handlers/services.c handlers/services.h \
	handlers/app_cache.c handlers/app_cache.h \
	handlers/usage_writer.c handlers/usage_writer.h \
	handlers/dispatch.c handlers/dispatch.h \
	handlers/endpoints.h \
	handlers/auth.c handlers/auth.h \
	handlers/proxy.c handlers/proxy.h \
	handlers/settle.c handlers/settle.h \
	handlers/journal_record.c handlers/journal_record.h \
	handlers/usage_journal.c handlers/usage_journal.h \
	handlers/usage_recovery.c handlers/usage_recovery.h \
	handlers/reserve.c handlers/reserve.h \
	handlers/usage_query.c handlers/usage_query.h \
	handlers/store_failure.c handlers/store_failure.h \
	handlers/api_chat.c \
	handlers/api_embeddings.c \
	handlers/api_models.c \
	handlers/api_config.c \
	handlers/api_usage.c \
	handlers/api_health.c
