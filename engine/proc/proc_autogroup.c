/* proc_autogroup — /proc/PID/autogroup parser (see proc_autogroup.h). */
#include "proc_autogroup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "proc_lex.h"
#include "proc_read.h"

int proc_parse_autogroup(const char *buf, size_t len, struct proc_autogroup *ag)
{
	const char *p = buf, *end = buf + len;
	int64_t nice;

	if (len && end[-1] == '\n')
		end--;
	if (!proc_lex_starts(p, end, "/autogroup-"))
		return -EINVAL;
	p += sizeof("/autogroup-") - 1;
	if (proc_lex_u64(&p, end, 10, &ag->id) || !proc_lex_starts(p, end, " nice "))
		return -EINVAL;
	p += sizeof(" nice ") - 1;
	if (proc_lex_s64(&p, end, &nice) || p != end || nice < -20 || nice > 19)
		return -EINVAL;
	ag->nice = (int)nice;
	return 0;
}

int proc_read_autogroup(pid_t pid, struct proc_autogroup *ag)
{
	char *buf;
	size_t len;
	int err;

	err = proc_read_file(pid ? pid : getpid(), 0, "autogroup", &buf, &len);
	if (err)
		return err;
	err = proc_parse_autogroup(buf, len, ag);
	free(buf);
	return err;
}

int proc_set_autogroup_nice(int nice)
{
	char text[16];
	int fd, n, err = 0;

	fd = open("/proc/self/autogroup", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = snprintf(text, sizeof(text), "%d", nice);
	if (write(fd, text, (size_t)n) != n)
		err = -errno;
	close(fd);
	return err;
}
