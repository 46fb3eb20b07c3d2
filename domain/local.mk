# domain/: the rules that are neither HTTP nor SQL: API keys and their
# hashes, the master keyring, BYOK sealing, an app's AI settings and their
# rules, billing periods, the money rules of metered requests, and the host-wide
# fairness limits (a shared-memory table).
libaigw_domain_a_CPPFLAGS = $(DOMAIN_INC) $(BUILD_INC) $(DEP_CFLAGS)
libaigw_domain_a_SOURCES = \
	domain/apikey.c domain/apikey.h \
	domain/keyring.c domain/keyring.h \
	domain/byok.c domain/byok.h \
	domain/app_config.c domain/app_config.h \
	domain/config_rules.c domain/config_rules.h \
	domain/period.c domain/period.h \
	domain/billing.c domain/billing.h \
	domain/host_limits.c domain/host_limits.h \
	domain/limits_shm.c domain/limits_shm.h \
	domain/limits_proc.c \
	domain/proc_id.c domain/proc_id.h \
	domain/host_metrics.c domain/host_metrics.h
