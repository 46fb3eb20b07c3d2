# tests/local.mk: filled in by the tests owner
EXTRA_DIST += tests/unit/check.h tests/unit/live.h
