# sql/local.mk: filled in by the sql owner
