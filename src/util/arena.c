/* arena.c - blocks from malloc, newest first; an allocation bumps a pointer in
 * the newest block, or opens a block at least twice the size of the last.
 * A reset keeps the newest (largest) block when it is within `retain` and
 * frees the others: after a few events the arena settles on one block that
 * holds a whole event, and allocating is a comparison and an addition. */
#include "util/arena.h"

#include <errno.h>
#include <jansson.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>

#if defined(__SANITIZE_ADDRESS__)
#define ARENA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ARENA_ASAN 1
#endif
#endif

#ifdef ARENA_ASAN
#include <sanitizer/asan_interface.h>
/* Poisoned bytes after each allocation: an overrun hits them. */
#define REDZONE 16
#else
#define REDZONE                           0
#define ASAN_POISON_MEMORY_REGION(p, n)   ((void)(p), (void)(n))
#define ASAN_UNPOISON_MEMORY_REGION(p, n) ((void)(p), (void)(n))
#endif

#define ALIGN          alignof(max_align_t)
#define DEFAULT_CHUNK  (64u << 10)
#define DEFAULT_RETAIN (1u << 20)

struct block {
	struct block *next; /* older */
	size_t size;        /* of data[] */
	alignas(max_align_t) char data[];
};

struct arena {
	struct block *head; /* newest */
	char *cur, *end;    /* free part of head */
	size_t chunk, retain;
	size_t older;          /* bytes handed out from blocks before head */
	size_t peak, reserved; /* peak: as of the last reset */
	unsigned long resets;
};

struct arena *arena_new(size_t chunk, size_t retain)
{
	struct arena *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->chunk = chunk ? chunk : DEFAULT_CHUNK;
	a->retain = retain ? retain : DEFAULT_RETAIN;
	return a;
}

static void release(struct arena *a, struct block *b)
{
	a->reserved -= sizeof(*b) + b->size;
	ASAN_UNPOISON_MEMORY_REGION(b->data, b->size);
	free(b);
}

void arena_free(struct arena *a)
{
	if (!a)
		return;
	for (struct block *b = a->head, *next; b; b = next) {
		next = b->next;
		release(a, b);
	}
	free(a);
}

/* A new head block with room for `need` bytes. */
static int grow(struct arena *a, size_t need)
{
	size_t size = a->head ? a->head->size * 2 : a->chunk;
	struct block *b;

	if (size < need)
		size = need;
	if (size > SIZE_MAX - sizeof(*b) || !(b = malloc(sizeof(*b) + size)))
		return -ENOMEM;
	b->size = size;
	b->next = a->head;
	if (a->head)
		a->older += (size_t)(a->cur - a->head->data);
	a->head = b;
	a->cur = b->data;
	a->end = b->data + size;
	a->reserved += sizeof(*b) + size;
	ASAN_POISON_MEMORY_REGION(b->data, size);
	return 0;
}

void *arena_alloc(struct arena *a, size_t n)
{
	if (n > SIZE_MAX / 2)
		return NULL;
	size_t need = (n + REDZONE + ALIGN - 1) & ~(ALIGN - 1);
	if (!need)
		need = ALIGN;
	if ((size_t)(a->end - a->cur) < need && grow(a, need) < 0)
		return NULL;
	char *p = a->cur;
	a->cur += need;
	ASAN_UNPOISON_MEMORY_REGION(p, n);
	return p;
}

bool arena_owns(const struct arena *a, const void *p)
{
	uintptr_t x = (uintptr_t)p;

	for (const struct block *b = a->head; b; b = b->next)
		if (x >= (uintptr_t)b->data && x < (uintptr_t)b->data + b->size)
			return b != a->head || x < (uintptr_t)a->cur;
	return false;
}

/* Bytes handed out since the last reset. */
static size_t used(const struct arena *a)
{
	return a->older + (a->head ? (size_t)(a->cur - a->head->data) : 0);
}

void arena_reset(struct arena *a)
{
	struct block *keep = a->head;

	if (used(a) > a->peak)
		a->peak = used(a);

#ifdef ARENA_ASAN
	/* Nothing is reused: a pointer kept past the reset reads freed memory. */
	keep = NULL;
#endif
	if (keep && keep->size > a->retain)
		keep = NULL;
	for (struct block *b = keep ? keep->next : a->head, *next; b; b = next) {
		next = b->next;
		release(a, b);
	}
	a->head = keep;
	if (keep) {
		keep->next = NULL;
		a->cur = keep->data;
		a->end = keep->data + keep->size;
		ASAN_POISON_MEMORY_REGION(keep->data, keep->size);
	} else {
		a->cur = a->end = NULL;
	}
	a->older = 0;
	a->resets++;
}

void arena_get_stats(const struct arena *a, struct arena_stats *out)
{
	out->used = used(a);
	out->peak = used(a) > a->peak ? used(a) : a->peak;
	out->reserved = a->reserved;
	out->resets = a->resets;
}

/* ---- jansson ---- */

static struct arena *json_arena;
static json_malloc_t outer_malloc;
static json_free_t outer_free;

static void *arena_json_malloc(size_t n)
{
	return arena_alloc(json_arena, n);
}

/* Arena memory dies with the reset; anything else was made before arena
 * mode began and is freed as it would have been. */
static void arena_json_free(void *p)
{
	if (p && !arena_owns(json_arena, p))
		outer_free(p);
}

int json_arena_begin(struct arena *a)
{
	if (json_arena)
		return -EBUSY;
	json_get_alloc_funcs(&outer_malloc, &outer_free);
	json_arena = a;
	json_set_alloc_funcs(arena_json_malloc, arena_json_free);
	return 0;
}

void json_arena_end(void)
{
	if (!json_arena)
		return;
	json_set_alloc_funcs(outer_malloc, outer_free);
	json_arena = NULL;
}

struct arena *json_arena_current(void)
{
	return json_arena;
}

json_t *json_arena_keep(json_t *v)
{
	if (!json_arena || !v)
		return json_incref(v);
	json_set_alloc_funcs(outer_malloc, outer_free);
	json_t *copy = json_deep_copy(v);
	json_set_alloc_funcs(arena_json_malloc, arena_json_free);
	return copy;
}
