#include "http/prom.h"

#include <string.h>

void prom_histogram_init(struct prom_histogram *h, const double *bounds, size_t n)
{
	memset(h, 0, sizeof(*h));
	h->nbounds = n < PROM_MAX_BUCKETS ? n : PROM_MAX_BUCKETS;
	memcpy(h->bounds, bounds, h->nbounds * sizeof(*bounds));
}

void prom_histogram_observe(struct prom_histogram *h, double value)
{
	for (size_t i = 0; i < h->nbounds; i++)
		if (value <= h->bounds[i]) {
			h->counts[i]++;
			break;
		}
	h->count++;
	h->sum += value;
}

void prom_header(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void prom_sample(FILE *f, const char *name, const char *labels, double value)
{
	if (labels && *labels)
		fprintf(f, "%s{%s} %.9g\n", name, labels, value);
	else
		fprintf(f, "%s %.9g\n", name, value);
}

void prom_histogram_write(FILE *f, const char *name, const char *labels,
                          const struct prom_histogram *h)
{
	const char *sep = labels && *labels ? "," : "";
	uint64_t cumulative = 0;

	labels = labels ? labels : "";
	for (size_t i = 0; i < h->nbounds; i++) {
		cumulative += h->counts[i];
		fprintf(f, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep, h->bounds[i],
		        (unsigned long long)cumulative);
	}
	fprintf(f, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
	        (unsigned long long)h->count);
	fprintf(f, "%s_sum%s%s%s %.9g\n", name, *labels ? "{" : "", labels, *labels ? "}" : "",
	        h->sum);
	fprintf(f, "%s_count%s%s%s %llu\n", name, *labels ? "{" : "", labels, *labels ? "}" : "",
	        (unsigned long long)h->count);
}
