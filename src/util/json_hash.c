/* json_hash.c - splitmix64's finaliser over FNV-1a of strings and the bits of
 * numbers; a tag per type so that "1", 1 and 1.0 differ. */
#include "util/json_hash.h"

#include <jansson.h>
#include <string.h>

#include "util/hmap.h"

static uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint64_t bytes_hash(const char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */

	while (n--) {
		h ^= (unsigned char)*p++;
		h *= 0x100000001b3ull;
	}
	return h;
}

uint64_t json_hash_member(const char *key, uint64_t value_hash)
{
	return mix(hmap_hash(key) ^ mix(value_hash));
}

uint64_t json_hash_object(uint64_t sum)
{
	return mix((1 + sum) ^ 0x6f);
}

uint64_t json_tree_hash(const json_t *j)
{
	uint64_t h;
	const char *k;
	json_t *v;
	size_t i;
	double d;

	switch (json_typeof(j)) {
	case JSON_OBJECT:
		h = 0;
		json_object_foreach((json_t *)j, k, v) h += json_hash_member(k, json_tree_hash(v));
		return json_hash_object(h);
	case JSON_ARRAY:
		h = 2;
		json_array_foreach(j, i, v) h = mix(h * 31 + json_tree_hash(v));
		return mix(h ^ 0x61);
	case JSON_STRING:
		return mix(bytes_hash(json_string_value(j), json_string_length(j)) ^ 0x73);
	case JSON_INTEGER:
		return mix((uint64_t)json_integer_value(j) ^ 0x69);
	case JSON_REAL:
		d = json_real_value(j);
		memcpy(&h, &d, sizeof(h));
		return mix(h ^ 0x72);
	case JSON_TRUE:
		return 0x74;
	case JSON_FALSE:
		return 0x66;
	default:
		return 0x6e;
	}
}
