/* proc_read — reading whole /proc files into memory.
 *
 * The only place that opens /proc text files for the parsers; knows nothing
 * about their format.
 */
#ifndef CRISP_PROC_READ_H
#define CRISP_PROC_READ_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Reads /proc/@pid/@name (or /proc/@pid/task/@tid/@name when @tid > 0) into a
 * malloc'ed, NUL-terminated buffer (*buf, length *len without the NUL).
 * Returns 0 or -errno (-ENOENT/-ESRCH when the task is gone); logs nothing,
 * so callers decide whether a vanished task is an error.
 */
int proc_read_file(pid_t pid, pid_t tid, const char *name, char **buf,
		   size_t *len);

#endif
