# handlers/: the endpoints (api_*.c) behind one dispatcher, authentication,
# the per-thread context, the proxy path shared by chat and embeddings, and
# the credit reservation on that path.
libaigw_handlers_a_CPPFLAGS = $(HANDLERS_INC) $(BUILD_INC) $(DEP_CFLAGS)
libaigw_handlers_a_SOURCES = \
	handlers/context.c handlers/context.h \
	handlers/dispatch.c handlers/dispatch.h \
	handlers/endpoints.h \
	handlers/auth.c handlers/auth.h \
	handlers/proxy.c handlers/proxy.h \
	handlers/reserve.c handlers/reserve.h \
	handlers/usage_query.c handlers/usage_query.h \
	handlers/store_failure.c handlers/store_failure.h \
	handlers/api_chat.c \
	handlers/api_embeddings.c \
	handlers/api_models.c \
	handlers/api_config.c \
	handlers/api_usage.c \
	handlers/api_health.c
