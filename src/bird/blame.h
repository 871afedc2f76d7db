/* bird/blame.h - which BGP resources a line of a rendered configuration
 * comes from, so that a configuration BIRD refuses (BIRD names only
 * file:line:column) is reported by the objects an operator can fix.
 *
 * Validation (model_*.c, validate.c) rejects every value BIRD 1.6 is known to
 * refuse; this is the net for whatever still gets through. Pure: no I/O. */
#ifndef HANDOFF_BIRD_BLAME_H
#define HANDOFF_BIRD_BLAME_H

#include <stddef.h>

#include "bird/model.h"

/* The line number in a BIRD error such as
 * "... 8002 /etc/bird/bird.cfg.rejected:12:5 syntax error" for the file whose
 * path ends in `file_suffix` (e.g. "bird.cfg.rejected"); 0 when absent. */
unsigned bird_error_line(const char *msg, const char *file_suffix);

/* The objects line `line` (1-based) of `text` - bird.cfg or bird6.cfg as
 * bird_render() made it for `node` from `set` - comes from, as
 * "<Kind> <name>" strings: up to `max` of them into names[] (each at most
 * 300 bytes). The enclosing block decides: a BGPFilter's function, a peer's
 * protocol (its BGPPeer, or the Node it peers with, and the BGPFilters the
 * line calls), the blocks (BlockAffinity or the Node's podCIDRs), the
 * template and header (the Node and its BGPConfigurations). Returns how
 * many were found. */
size_t bird_blame(const struct bgp_resources *set, const char *node, const char *text,
                  unsigned line, char (*names)[300], size_t max);

#endif
