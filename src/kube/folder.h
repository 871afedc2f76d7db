/* folder.h - the folder datastore: Kubernetes objects as YAML files in a
 * directory, followed with inotify.
 *
 * Every *.yaml, *.yml and *.json file (several documents per file) is read;
 * the union of their objects is the datastore's content, and every change to
 * it is reported as ADDED / MODIFIED / DELETED through the callback, exactly as
 * a watch on the API server would. A file that fails to parse, or an object
 * that has no kind or name, is reported and ignored: the file's last good
 * objects stay in force. Hidden and editor temporary files are skipped; only
 * regular files (or symlinks to them) of at most 16 MiB are read.
 *
 * The folder is followed by path (replaced with `rm -rf; mkdir`, or a
 * ConfigMap volume's `..data` swap); deletions take effect one grace period
 * (1 s) after the last of them, from what the folder then holds; a folder
 * that is missing keeps its objects until it returns. */
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

/* Deletions wait this long (default 1000 ms; tests shorten it). */
void folder_store_set_grace(struct folder_store *fs, unsigned ms);

/* The descriptor for the event loop (readable -> folder_store_handle). */
int folder_store_fd(const struct folder_store *fs);
/* Read pending inotify events and re-read the files they name. */
int folder_store_handle(struct folder_store *fs, struct herr *err);

/* The current objects, for lookups (e.g. "Pod/ns/name"). */
const struct obj_cache *folder_store_cache(const struct folder_store *fs);

#endif
