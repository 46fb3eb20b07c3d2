# tests/local.mk: filled in by the tests owner
