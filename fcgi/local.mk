# fcgi/local.mk: filled in by the fcgi owner
