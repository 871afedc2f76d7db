/* tool_bird_reload.c - bird_reload() from the command line, for the e2e
 * scripts: put the text of FILE in DIR/NAME and have BIRD reconfigure.
 *
 *   bird_reload DIR NAME FILE SOCKET
 *
 * Prints "unchanged", "applied" or "written" and exits 0; on an error prints
 * the message on stderr and exits 1. */
#include <stdio.h>
#include <stdlib.h>

#include "bird/reload.h"

int main(int argc, char **argv)
{
	static const char *const results[] = {"unchanged", "applied", "written"};
	struct herr err = {""};
	char *text;
	long len;
	FILE *f;
	int rc;

	if (argc != 5) {
		fprintf(stderr, "usage: bird_reload DIR NAME FILE SOCKET\n");
		return 2;
	}
	f = fopen(argv[3], "r");
	if (!f || fseek(f, 0, SEEK_END) < 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0) {
		perror(argv[3]);
		return 2;
	}
	text = calloc(1, (size_t)len + 1);
	if (!text || fread(text, 1, (size_t)len, f) != (size_t)len) {
		perror(argv[3]);
		return 2;
	}
	fclose(f);
	rc = bird_reload(argv[1], argv[2], text, argv[4], &err);
	free(text);
	if (rc < 0) {
		fprintf(stderr, "bird_reload: %s\n", err.msg);
		return 1;
	}
	printf("%s\n", results[rc]);
	return 0;
}
