# handlers/local.mk: filled in by the handlers owner
