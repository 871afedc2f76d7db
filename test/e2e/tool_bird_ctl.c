/* tool_bird_ctl.c - send one command to a BIRD control socket with handoff's
 * client (src/bird/control.c) and print the reply's text. The e2e scripts use
 * it instead of birdc, so every query also exercises the client.
 *
 *   bird_ctl SOCKET COMMAND...     (the words are joined with spaces)
 *
 * Exit status: 0 when BIRD answered with a success code, 1 when it answered
 * with an error (its message on stderr), 2 when it could not be asked. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bird/control.h"

int main(int argc, char **argv)
{
	struct bird_reply reply;
	struct herr err = {""};
	char command[1024] = "";
	size_t len = 0;
	int rc;

	if (argc < 3) {
		fprintf(stderr, "usage: bird_ctl SOCKET COMMAND...\n");
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		int n = snprintf(command + len, sizeof(command) - len, "%s%s", i > 2 ? " " : "",
		                 argv[i]);
		if (n < 0 || (size_t)n >= sizeof(command) - len) {
			fprintf(stderr, "bird_ctl: command too long\n");
			return 2;
		}
		len += (size_t)n;
	}
	rc = bird_control_command(argv[1], command, BIRD_CONTROL_TIMEOUT_MS, &reply, &err);
	if (reply.text)
		printf("%s\n", reply.text);
	bird_reply_free(&reply);
	if (rc < 0)
		fprintf(stderr, "bird_ctl: %s\n", err.msg);
	return rc == 0 ? 0 : rc == -EINVAL ? 1 : 2;
}
