# sql/: numbered migrations, embedded into libaigw_db.a as
# sql/migrations_embedded.c (generated in the build dir by sql/embed.sh).
# A new migration must be added here; embed.sh refuses to run if a
# sql/NNN_*.sql file is missing from this list.
MIGRATIONS = \
	sql/001_plans.sql \
	sql/002_apps.sql \
	sql/003_api_keys.sql \
	sql/004_ai_config.sql \
	sql/005_models.sql \
	sql/006_usage.sql \
	sql/007_billing.sql \
	sql/008_views.sql \
	sql/009_usage_monthly.sql \
	sql/010_models_list_meta.sql \
	sql/011_app_changes.sql \
	sql/012_request_limits.sql \
	sql/013_reservation_held.sql \
	sql/014_apps_deleted.sql \
	sql/015_dba_indexes.sql \
	sql/016_usage_error.sql

EXTRA_DIST += $(MIGRATIONS) sql/embed.sh
nodist_libaigw_db_a_SOURCES = sql/migrations_embedded.c
CLEANFILES += sql/migrations_embedded.c

sql/migrations_embedded.c: $(MIGRATIONS) sql/embed.sh
	$(AM_V_GEN)$(MKDIR_P) sql && \
	$(SHELL) $(srcdir)/sql/embed.sh $(srcdir) $(MIGRATIONS) >$@-t && mv -f $@-t $@
