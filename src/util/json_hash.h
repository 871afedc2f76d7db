/* json_hash.h - a 64-bit structural hash of a JSON tree, cheaper than
 * serialising it: the members of an object are combined by a sum, so their
 * order does not matter, and each member mixes its key with its value, so
 * swapping two values changes the hash. Two trees json_equal() calls equal
 * hash the same.
 *
 * The parts are exposed so that a caller can hash a projection of a tree
 * (some members of some objects) without building it: the hash of an object
 * is json_hash_object() of the sum of json_hash_member() of the members kept,
 * and equals json_tree_hash() of the trimmed tree. */
#ifndef HANDOFF_UTIL_JSON_HASH_H
#define HANDOFF_UTIL_JSON_HASH_H

#include <stdint.h>

struct json_t;

uint64_t json_tree_hash(const struct json_t *j);
/* What member `key` with a value hashing to `value_hash` adds to its object. */
uint64_t json_hash_member(const char *key, uint64_t value_hash);
/* The hash of an object whose members' json_hash_member() add up to `sum`. */
uint64_t json_hash_object(uint64_t sum);

#endif
