/* driver.c - a small, deterministic stand-in for libFuzzer, so that every fuzz
 * target runs under plain gcc (and ASan/UBSan) as an ordinary ctest.
 *
 *   fuzz_<name> CORPUS_DIR [N]    every file of CORPUS_DIR, then N (default
 *                                 20000) pseudo-random mutations of them
 *   fuzz_<name> FILE...           just these inputs (to replay a crash)
 *
 * The target is the libFuzzer entry point, LLVMFuzzerTestOneInput(); it
 * aborts when a property it checks fails, and the sanitizers abort on memory
 * errors. Mutations come from a seeded PRNG (FUZZ_SEED overrides the seed), so
 * a failure reproduces run after run; the input that was running when the
 * process died is written to ./crash-<program> for replay. The mutation phase
 * stops after FUZZ_SECONDS (default 3) of wall time whatever N is: a test on
 * a shared machine must stay short. The figures printed at the end are
 * informational, never a pass/fail criterion. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Provided by the sanitizer runtimes; NULL in a plain build. */
extern void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

#define FUZZ_MAX_INPUT 4096 /* mutants never grow past this */
#define FUZZ_MAX_POOL  256  /* corpus entries plus mutants kept to mutate further */
#define FUZZ_MAX_FILE  (1 << 20)
#define DEFAULT_N      20000
#define DEFAULT_SEC    3.0

struct input {
	uint8_t *data;
	size_t size;
};

struct pool {
	struct input v[FUZZ_MAX_POOL];
	size_t n;     /* entries in use */
	size_t seeds; /* the first `seeds` entries are the corpus: never replaced */
};

/* The input being run, for the crash handlers. */
static const uint8_t *current;
static size_t current_size;
static char crash_path[4096];

/* Async-signal-safe: save the current input and say where it went. */
static void save_current(void)
{
	static const char msg1[] = "\nfuzz driver: the failing input is saved in ";
	int fd;

	if (!current)
		return;
	fd = open(crash_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return;
	if (write(fd, current, current_size) < 0) {
		/* Nothing more can be done while dying. */
	}
	close(fd);
	if (write(2, msg1, sizeof(msg1) - 1) < 0 || write(2, crash_path, strlen(crash_path)) < 0 ||
	    write(2, "\n", 1) < 0) {
		/* as above */
	}
}

static void on_fatal_signal(int sig)
{
	save_current();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void install_crash_handlers(const char *argv0)
{
	const char *base = strrchr(argv0, '/');

	snprintf(crash_path, sizeof(crash_path), "crash-%s", base ? base + 1 : argv0);
	/* Under ASan/UBSan the runtime reports the error first and then calls us;
	 * taking SIGSEGV from it would lose its report. */
	if (__sanitizer_set_death_callback) {
		__sanitizer_set_death_callback(save_current);
		return;
	}
	signal(SIGSEGV, on_fatal_signal);
	signal(SIGABRT, on_fatal_signal);
	signal(SIGBUS, on_fatal_signal);
	signal(SIGFPE, on_fatal_signal);
	signal(SIGILL, on_fatal_signal);
}

/* Run one input from a heap copy of exactly its size, so that ASan sees any
 * read past the end. Returns the target's verdict: as in libFuzzer, -1 means
 * "not worth keeping" (e.g. rejected early by a parser). */
static int run_one(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);

	if (!copy) {
		fprintf(stderr, "fuzz driver: out of memory\n");
		exit(1);
	}
	if (size)
		memcpy(copy, data, size);
	current = copy;
	current_size = size;
	int verdict = LLVMFuzzerTestOneInput(copy, size);
	current = NULL;
	free(copy);
	return verdict;
}

/* Read at most FUZZ_MAX_FILE bytes of `path` into a buffer of exactly that size. */
static int read_file(const char *path, struct input *in)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	size_t n;

	if (!f)
		return -errno;
	buf = malloc(FUZZ_MAX_FILE);
	if (!buf) {
		fclose(f);
		return -ENOMEM;
	}
	n = fread(buf, 1, FUZZ_MAX_FILE, f);
	fclose(f);
	in->data = malloc(n ? n : 1);
	if (in->data)
		memcpy(in->data, buf, n);
	free(buf);
	if (!in->data)
		return -ENOMEM;
	in->size = n;
	return 0;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Load every regular, non-hidden file of `dir`, in name order, so that the
 * pool (and hence every mutation) is the same on every machine. */
static int load_corpus(const char *dir, struct pool *pool)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0;
	int rc = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		char **nn;
		if (e->d_name[0] == '.')
			continue;
		nn = realloc(names, (n + 1) * sizeof(*nn));
		if (!nn || !(nn[n] = strdup(e->d_name))) {
			names = nn ? nn : names;
			rc = -ENOMEM;
			break;
		}
		names = nn;
		n++;
	}
	closedir(d);
	if (names)
		qsort(names, n, sizeof(*names), compare_names);
	for (size_t i = 0; i < n; i++) {
		char path[4096];
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (rc == 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			if (pool->n == FUZZ_MAX_POOL) {
				fprintf(stderr,
				        "fuzz driver: %s holds over %d files: %s on unused\n", dir,
				        FUZZ_MAX_POOL, names[i]);
				rc = 1; /* stop loading; not an error */
			} else if ((rc = read_file(path, &pool->v[pool->n])) == 0) {
				pool->n++;
			} else {
				fprintf(stderr, "fuzz driver: %s: %s\n", path, strerror(-rc));
			}
		}
		free(names[i]);
	}
	free(names);
	pool->seeds = pool->n;
	return rc < 0 ? rc : 0;
}

/* ---- deterministic mutations ---------------------------------------------- */

/* xorshift64*: small, fast, and the same everywhere. */
static uint64_t rng_state;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1Dull;
}

static size_t below(size_t n)
{
	return n ? (size_t)(rng() % n) : 0;
}

/* Mostly printable ASCII: the targets parse text, and random binary bytes
 * rarely get past a tokenizer. */
static uint8_t random_byte(void)
{
	return below(4) ? (uint8_t)(0x20 + below(0x5f)) : (uint8_t)rng();
}

static void insert_bytes(uint8_t *buf, size_t *size, size_t at, const uint8_t *src, size_t n)
{
	if (*size + n > FUZZ_MAX_INPUT)
		n = FUZZ_MAX_INPUT - *size;
	memmove(buf + at + n, buf + at, *size - at);
	memcpy(buf + at, src, n);
	*size += n;
}

/* Apply one mutation to buf[0..*size) (capacity FUZZ_MAX_INPUT). */
static void mutate_once(uint8_t *buf, size_t *size, const struct pool *pool)
{
	const struct input *other = &pool->v[below(pool->n)];
	size_t at = below(*size + 1), n;
	uint8_t b;

	switch (below(7)) {
	case 0: /* flip one bit */
		if (*size)
			buf[below(*size)] ^= (uint8_t)(1u << below(8));
		break;
	case 1: /* overwrite a byte */
		if (*size)
			buf[below(*size)] = random_byte();
		break;
	case 2: /* insert a byte */
		b = random_byte();
		insert_bytes(buf, size, at, &b, 1);
		break;
	case 3: /* delete a run */
		n = 1 + below(8);
		if (at + n > *size)
			n = *size - at;
		memmove(buf + at, buf + at + n, *size - at - n);
		*size -= n;
		break;
	case 4: { /* duplicate a run of the input itself */
		uint8_t tmp[64];
		size_t from = below(*size);
		n = below(sizeof(tmp)) + 1;
		if (from + n > *size)
			n = *size - from;
		memcpy(tmp, buf + from, n);
		insert_bytes(buf, size, at, tmp, n);
		break;
	}
	case 5: { /* splice: our head, another entry's tail */
		size_t from = below(other->size + 1);
		n = other->size - from;
		if (at + n > FUZZ_MAX_INPUT)
			n = FUZZ_MAX_INPUT - at;
		memcpy(buf + at, other->data + from, n);
		*size = at + n;
		break;
	}
	default: { /* insert a run of another entry */
		size_t from = below(other->size + 1);
		n = below(other->size - from + 1);
		insert_bytes(buf, size, at, other->data + from, n);
		break;
	}
	}
}

/* Keep some mutants so that mutations compound over the run. Without
 * coverage feedback a pool of random mutants soon holds mostly junk, so only
 * inputs the target accepted are kept, and the pool stays small. */
static void pool_keep(struct pool *pool, const uint8_t *buf, size_t size)
{
	struct input *slot;

	if (pool->n < FUZZ_MAX_POOL) {
		slot = &pool->v[pool->n++];
	} else if (pool->n > pool->seeds) {
		slot = &pool->v[pool->seeds + below(pool->n - pool->seeds)];
		free(slot->data);
	} else {
		return;
	}
	slot->data = malloc(size ? size : 1);
	if (!slot->data) {
		fprintf(stderr, "fuzz driver: out of memory\n");
		exit(1);
	}
	memcpy(slot->data, buf, size);
	slot->size = size;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t env_u64(const char *name, uint64_t dflt)
{
	const char *s = getenv(name);
	char *end;
	unsigned long long v;

	if (!s || !*s)
		return dflt;
	v = strtoull(s, &end, 0);
	return *end ? dflt : v;
}

static double env_double(const char *name, double dflt)
{
	const char *s = getenv(name);
	char *end;
	double v;

	if (!s || !*s)
		return dflt;
	v = strtod(s, &end);
	return *end ? dflt : v;
}

int main(int argc, char **argv)
{
	struct pool *pool;
	struct stat st;
	unsigned long n = DEFAULT_N, done = 0;
	uint64_t seed;
	double seconds, start;
	uint8_t *buf;
	int rc;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fprintf(stderr,
		        "usage: %s CORPUS_DIR [N]   (N mutations, default %d)\n"
		        "       %s FILE...          (run just these inputs)\n",
		        argv[0], DEFAULT_N, argv[0]);
		return 2;
	}
	install_crash_handlers(argv[0]);

	if (stat(argv[1], &st) == 0 && S_ISREG(st.st_mode)) {
		for (int i = 1; i < argc; i++) {
			struct input in;
			if ((rc = read_file(argv[i], &in)) < 0) {
				fprintf(stderr, "%s: %s: %s\n", argv[0], argv[i], strerror(-rc));
				return 1;
			}
			run_one(in.data, in.size);
			free(in.data);
		}
		printf("%s: %d input(s) ran\n", argv[0], argc - 1);
		return 0;
	}

	if (argc > 2) {
		char *end;
		n = strtoul(argv[2], &end, 10);
		if (*end || !*argv[2]) {
			fprintf(stderr, "%s: N must be a number, got \"%s\"\n", argv[0], argv[2]);
			return 2;
		}
	}
	seed = env_u64("FUZZ_SEED", 0x5eed);
	seconds = env_double("FUZZ_SECONDS", DEFAULT_SEC);
	rng_state = seed ? seed : 1; /* xorshift never leaves 0 */

	pool = calloc(1, sizeof(*pool));
	buf = malloc(FUZZ_MAX_INPUT);
	if (!pool || !buf) {
		fprintf(stderr, "%s: out of memory\n", argv[0]);
		return 1;
	}
	if ((rc = load_corpus(argv[1], pool)) < 0 || !pool->n) {
		/* An empty corpus would silently fuzz nothing useful: refuse it. */
		fprintf(stderr, "%s: corpus %s: %s\n", argv[0], argv[1],
		        rc < 0 ? strerror(-rc) : "holds no input files");
		for (size_t i = 0; i < pool->n; i++)
			free(pool->v[i].data);
		free(pool);
		free(buf);
		return 1;
	}

	start = now();
	for (size_t i = 0; i < pool->n; i++)
		run_one(pool->v[i].data, pool->v[i].size);

	while (done < n) {
		/* Reading the clock every time would cost more than a small input. */
		if ((done & 63) == 0 && now() - start > seconds)
			break;
		/* Half the time start from a seed: they are the well-formed ones. */
		const struct input *base = &pool->v[below(below(2) ? pool->seeds : pool->n)];
		size_t size = base->size > FUZZ_MAX_INPUT ? FUZZ_MAX_INPUT : base->size;
		memcpy(buf, base->data, size);
		for (size_t k = 1 + below(4); k > 0; k--)
			mutate_once(buf, &size, pool);
		if (run_one(buf, size) == 0 && below(4) == 0)
			pool_keep(pool, buf, size);
		done++;
	}

	printf("%s: %zu corpus input(s), %lu of %lu mutation(s) in %.2f s (seed %llu)%s\n", argv[0],
	       pool->seeds, done, n, now() - start, (unsigned long long)seed,
	       done < n ? ", stopped by the time limit" : "");
	for (size_t i = 0; i < pool->n; i++)
		free(pool->v[i].data);
	free(pool);
	free(buf);
	return 0;
}
