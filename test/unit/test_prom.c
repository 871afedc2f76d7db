/* Prometheus text: the exact lines a scraper parses. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>

#include "http/prom.h"

static void histogram_lines_are_cumulative(void **state)
{
	static const double bounds[] = {0.001, 0.01, 0.1};
	struct prom_histogram h;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	prom_histogram_init(&h, bounds, 3);
	prom_histogram_observe(&h, 0.0005);
	prom_histogram_observe(&h, 0.005);
	prom_histogram_observe(&h, 0.007);
	prom_histogram_observe(&h, 2.0);
	prom_header(f, "handoff_phase_seconds", "histogram", "Time spent per phase.");
	prom_histogram_write(f, "handoff_phase_seconds", "phase=\"target_to_live\"", &h);
	prom_sample(f, "handoff_up", NULL, 1);
	fclose(f);
	assert_string_equal(
	    text, "# HELP handoff_phase_seconds Time spent per phase.\n"
	          "# TYPE handoff_phase_seconds histogram\n"
	          "handoff_phase_seconds_bucket{phase=\"target_to_live\",le=\"0.001\"} 1\n"
	          "handoff_phase_seconds_bucket{phase=\"target_to_live\",le=\"0.01\"} 3\n"
	          "handoff_phase_seconds_bucket{phase=\"target_to_live\",le=\"0.1\"} 3\n"
	          "handoff_phase_seconds_bucket{phase=\"target_to_live\",le=\"+Inf\"} 4\n"
	          "handoff_phase_seconds_sum{phase=\"target_to_live\"} 2.0125\n"
	          "handoff_phase_seconds_count{phase=\"target_to_live\"} 4\n"
	          "handoff_up 1\n");
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(histogram_lines_are_cumulative),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
