# db/: the store. One MariaDB connection per thread, prepared statements,
# the transaction helper and its retry policy, and one file per table
# family. The only folder with SQL besides sql/.
libaigw_db_a_CPPFLAGS = $(DB_INC) $(BUILD_INC) $(DEP_CFLAGS)
libaigw_db_a_SOURCES = \
	db/db.c db/db.h \
	db/tx.c db/tx.h \
	db/stmt.c db/stmt.h \
	db/migrate.c db/migrate.h \
	db/apps.c db/apps.h \
	db/app_changes.c db/app_changes.h \
	db/api_keys.c db/api_keys.h \
	db/ai_config.c db/ai_config.h \
	db/models.c db/models.h \
	db/credits.c db/credits.h \
	db/usage.c db/usage.h \
	db/usage_tx.c db/usage_tx.h \
	db/usage_report.c db/usage_report.h \
	db/consistency.c db/consistency.h
