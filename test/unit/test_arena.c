/* The arena: aligned, distinct allocations; a reset forgets them and keeps a
 * bounded amount of memory; jansson in arena mode allocates its trees there,
 * frees older trees as before, and json_arena_keep() copies out of it. Run
 * in the ASan build too, where the arena's memory is fenced and a reset
 * frees it: any use of a tree past its reset fails there. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <jansson.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "util/arena.h"

static void allocations_are_aligned_distinct_and_owned(void **state)
{
	struct arena *a = arena_new(256, 0);
	char *p[100];

	assert_non_null(a);
	for (int i = 0; i < 100; i++) {
		p[i] = arena_alloc(a, (size_t)(i % 37) + 1);
		assert_non_null(p[i]);
		assert_int_equal((uintptr_t)p[i] % alignof(max_align_t), 0);
		memset(p[i], i, (size_t)(i % 37) + 1);
		assert_true(arena_owns(a, p[i]));
	}
	/* Nothing overlaps: each keeps what was written. */
	for (int i = 0; i < 100; i++)
		for (int k = 0; k < i % 37 + 1; k++)
			assert_int_equal((unsigned char)p[i][k], i);
	/* Bigger than a block: a block of its own. */
	char *big = arena_alloc(a, 10000);
	assert_non_null(big);
	memset(big, 7, 10000);
	assert_true(arena_owns(a, big));

	int on_heap;
	assert_false(arena_owns(a, &on_heap));
	char *m = malloc(16);
	assert_false(arena_owns(a, m));
	free(m);

	struct arena_stats st;
	arena_get_stats(a, &st);
	assert_true(st.used >= 10000 + 100);
	arena_reset(a);
	assert_false(arena_owns(a, p[0]));
	assert_false(arena_owns(a, big));
	arena_get_stats(a, &st);
	assert_int_equal(st.used, 0);
	assert_true(st.peak >= 10000 + 100);
	assert_int_equal(st.resets, 1);
	arena_free(a);
}

static void reset_keeps_at_most_retain(void **state)
{
	struct arena *a = arena_new(1024, 8192);
	struct arena_stats st;

	/* A batch that needs 64 KiB: more than may be kept. */
	for (int i = 0; i < 64; i++)
		assert_non_null(arena_alloc(a, 1000));
	arena_get_stats(a, &st);
	assert_true(st.reserved >= 64000);
	arena_reset(a);
	arena_get_stats(a, &st);
	assert_true(st.reserved <= 8192 + 64);
	/* Small batches then run in what is kept, block after block. */
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 4; i++)
			assert_non_null(arena_alloc(a, 500));
		arena_reset(a);
		arena_get_stats(a, &st);
		assert_true(st.reserved <= 8192 + 64);
	}
	arena_free(a);
}

static void json_trees_come_from_the_arena_in_arena_mode(void **state)
{
	struct arena *a = arena_new(0, 0);
	json_t *before = json_pack("{s:[i,i],s:s}", "a", 1, 2, "b", "old");
	json_t *kept;

	assert_non_null(a);
	assert_null(json_arena_current());
	assert_int_equal(json_arena_begin(a), 0);
	assert_ptr_equal(json_arena_current(), a);
	assert_int_equal(json_arena_begin(a), -EBUSY); /* no nesting */

	json_t *t = json_loads("{\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\",\"labels\":"
	                       "{\"x\":\"y\"}},\"spec\":[1,2,3,\"a long enough string\"]}",
	                       0, NULL);
	assert_non_null(t);
	assert_true(arena_owns(a, t));
	assert_true(arena_owns(a, json_object_get(t, "metadata")));
	assert_true(arena_owns(
	    a, json_string_value(json_object_get(json_object_get(t, "metadata"), "name"))));
	/* A tree made before arena mode is freed as it was made. */
	assert_false(arena_owns(a, before));
	json_decref(before);
	/* Kept: a copy outside the arena, equal to the original. */
	kept = json_arena_keep(json_object_get(t, "metadata"));
	assert_non_null(kept);
	assert_false(arena_owns(a, kept));
	assert_false(arena_owns(a, json_object_get(kept, "labels")));
	assert_true(json_equal(kept, json_object_get(t, "metadata")));
	json_decref(t); /* a no-op: the reset drops it */
	arena_reset(a);
	json_arena_end();
	assert_null(json_arena_current());

	/* After the reset and outside arena mode, the copy is whole and is
	 * freed with the ordinary allocator (ASan checks both). */
	assert_string_equal(json_string_value(json_object_get(kept, "name")), "p");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(kept, "labels"), "x")), "y");
	json_t *after = json_string("malloc again");
	assert_false(arena_owns(a, after));
	json_decref(after);
	/* Outside arena mode, keeping is taking a reference. */
	json_t *k2 = json_arena_keep(kept);
	assert_ptr_equal(k2, kept);
	json_decref(k2);
	json_decref(kept);
	arena_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(allocations_are_aligned_distinct_and_owned),
	    cmocka_unit_test(reset_keeps_at_most_retain),
	    cmocka_unit_test(json_trees_come_from_the_arena_in_arena_mode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
