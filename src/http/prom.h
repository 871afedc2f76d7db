/* prom.h - Prometheus text exposition (format 0.0.4): counters, gauges and
 * histograms written to a FILE (e.g. open_memstream). */
#ifndef HANDOFF_HTTP_PROM_H
#define HANDOFF_HTTP_PROM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PROM_MAX_BUCKETS 16

/* Cumulative histogram with fixed upper bounds (seconds, ascending). */
struct prom_histogram {
	double bounds[PROM_MAX_BUCKETS];
	size_t nbounds;
	uint64_t counts[PROM_MAX_BUCKETS]; /* observations <= bounds[i], not cumulative */
	uint64_t count;                    /* all observations (the +Inf bucket) */
	double sum;
};

void prom_histogram_init(struct prom_histogram *h, const double *bounds, size_t n);
void prom_histogram_observe(struct prom_histogram *h, double value);

/* "# HELP name help" and "# TYPE name type". */
void prom_header(FILE *f, const char *name, const char *type, const char *help);
/* "name{labels} value"; labels is the inside of the braces or NULL. */
void prom_sample(FILE *f, const char *name, const char *labels, double value);
/* The _bucket (cumulative, with le), _sum and _count lines. */
void prom_histogram_write(FILE *f, const char *name, const char *labels,
                          const struct prom_histogram *h);

#endif
