/* scratch — scratch child processes for the engine's behaviour tests.
 *
 * The test becomes a subreaper, so every descendant it starts (even an
 * orphaned grandchild) is its own to kill and reap; scratch_cleanup() kills
 * and reaps them all. Nothing here is used by crisp itself.
 */
#ifndef CRISP_SCRATCH_H
#define CRISP_SCRATCH_H

#include <stdbool.h>
#include <sys/types.h>

/* Makes this process a subreaper. Exits with status 2 if it cannot. */
void scratch_init(void);

/* Forks a child running @fn(@arg) and exiting with its return value. */
pid_t scratch_fork(int (*fn)(void *arg), void *arg);

/* Maps @size bytes of memory shared with children (zeroed). */
void *scratch_shared(size_t size);

/* The state letter of /proc/@pid/task/@tid/stat ('?' when unreadable). */
char scratch_state(pid_t pid, pid_t tid);

/* Waits (up to about 10 s) until @pid's state is one of @states ('?' for
 * gone); true on success. */
bool scratch_wait_state(pid_t pid, const char *states);

/* The text of /proc/@pid/maps (malloc'd, NUL-terminated), or NULL. */
char *scratch_maps_text(pid_t pid);

/* Whether *@counter, which a child keeps incrementing, changes within
 * about 10 s: the child runs. */
bool scratch_moves(volatile long *counter);

/* Kills every descendant with SIGKILL and reaps them all. */
void scratch_cleanup(void);

#endif
