/* arena.h - a bump allocator whose allocations all die together, and the
 * switch that makes jansson allocate its trees from one.
 *
 * A watch event's JSON tree lives for one line of the stream: parsed, hashed,
 * decoded, dropped. Made with malloc, its hundred-odd nodes cost as many
 * malloc and free calls, a third of the time of the parse itself. From an
 * arena they cost a pointer bump each, and dropping the whole tree costs
 * nothing: the arena is rewound.
 *
 * jansson has one allocator for the whole process (json_set_alloc_funcs).
 * json_arena_begin() points it at an arena and json_arena_end() restores the
 * previous one, so arena mode covers exactly the code between the two; the
 * event loop is single-threaded, so nothing else allocates JSON meanwhile.
 * Inside that window:
 *   - every tree made (parsed, packed, copied) comes from the arena and dies
 *     at the next arena_reset(): what must outlive it is decoded into plain
 *     structures, or kept with json_arena_keep(), a deep copy made with the
 *     previous allocator;
 *   - freeing memory of the arena does nothing; freeing anything else (a
 *     tree kept from before, e.g. a cached object being replaced) goes to the
 *     previous free function, so long-lived trees may be dropped there;
 *   - a long-lived jansson container must not be given new members: their
 *     memory would come from the arena. Long-lived tables are util/hmap.
 * Built with AddressSanitizer, every allocation is fenced by poisoned bytes
 * and a reset returns the arena's memory to the heap, so a tree that outlives
 * its batch is a reported use-after-free, not a silent reuse. */
#ifndef HANDOFF_UTIL_ARENA_H
#define HANDOFF_UTIL_ARENA_H

#include <stdbool.h>
#include <stddef.h>

struct arena;
struct json_t;

/* `chunk`: bytes of the first block (0: 64 KiB); blocks double as needed.
 * `retain`: at most this many bytes are kept across a reset (0: 1 MiB), so
 * one huge event does not pin its memory. NULL when out of memory. */
struct arena *arena_new(size_t chunk, size_t retain);
void arena_free(struct arena *a);

/* `n` bytes aligned for any type; NULL when out of memory. */
void *arena_alloc(struct arena *a, size_t n);
/* Whether `p` points into memory handed out by `a` since its last reset. */
bool arena_owns(const struct arena *a, const void *p);
/* Everything allocated so far is gone; the memory is reused. */
void arena_reset(struct arena *a);

struct arena_stats {
	size_t used;     /* bytes handed out since the last reset */
	size_t peak;     /* the most handed out between two resets */
	size_t reserved; /* bytes held from malloc now */
	unsigned long resets;
};
void arena_get_stats(const struct arena *a, struct arena_stats *out);

/* jansson allocates from `a` until json_arena_end(). -EBUSY when an arena is
 * already in use (arena modes do not nest). */
int json_arena_begin(struct arena *a);
/* jansson allocates as before json_arena_begin() again. */
void json_arena_end(void);
/* The arena jansson allocates from now, or NULL. */
struct arena *json_arena_current(void);
/* A reference to `v` that survives the arena: inside arena mode a deep copy
 * made with the allocator in force before json_arena_begin(), outside it a
 * new reference to `v` itself. NULL when out of memory. */
struct json_t *json_arena_keep(struct json_t *v);

#endif
