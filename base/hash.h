/* The project's one non-cryptographic hash, for hash tables and file names:
 * 64-bit FNV-1a. Never for secrets or anything an attacker must not steer
 * (the tables it indexes are bounded). */
#ifndef AIGW_HASH_H
#define AIGW_HASH_H

#include <stddef.h>
#include <stdint.h>

static inline uint64_t hash_fnv1a(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

#endif
