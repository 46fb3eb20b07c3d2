# admin/: the aigw-admin program: apps, keys, the keyring, models and
# migrations, straight on the store (it serves no HTTP).
bin_PROGRAMS += aigw-admin
aigw_admin_CPPFLAGS = $(ADMIN_INC) $(BUILD_INC) $(DEP_CFLAGS)
aigw_admin_SOURCES = \
	admin/admin.c admin/admin.h \
	admin/admin_apps.c \
	admin/admin_keys.c \
	admin/admin_keyring.c \
	admin/admin_models.c \
	admin/admin_check.c
aigw_admin_LDADD = libaigw_db.a libaigw_domain.a libaigw_upstream.a $(BASE_LIBS)
