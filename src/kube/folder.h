/* folder.h - the folder datastore: Kubernetes objects as YAML files in a
 * directory, followed with inotify.
 *
 * Every *.yaml, *.yml and *.json file (several documents per file) is read;
 * the union of their objects is the datastore's content, and every change to
 * it is reported as ADDED / MODIFIED / DELETED through the callback, exactly as
 * a watch on the API server would. A file that fails to parse, or an object
 * that has no kind or name, is reported and ignored: the file's last good
 * objects stay in force. Hidden and editor temporary files are skipped. */
#ifndef HANDOFF_KUBE_FOLDER_H
#define HANDOFF_KUBE_FOLDER_H

#include "kube/cache.h"
#include "util/err.h"

/* Told about a file or object that was ignored, with the reason. */
typedef void (*folder_error_cb)(void *arg, const char *message);

struct folder_store;

/* Watch `dir` (which must exist) and load it once; the initial content is
 * reported through on_event before this returns. */
struct folder_store *folder_store_open(const char *dir, obj_event_cb on_event,
                                       folder_error_cb on_error, void *arg, struct herr *err);
void folder_store_close(struct folder_store *fs);

/* The inotify descriptor, for the event loop (readable -> folder_store_handle). */
int folder_store_fd(const struct folder_store *fs);
/* Read pending inotify events and re-read the files they name. */
int folder_store_handle(struct folder_store *fs, struct herr *err);

/* The current objects, for lookups (e.g. "Pod/ns/name"). */
const struct obj_cache *folder_store_cache(const struct folder_store *fs);

#endif
