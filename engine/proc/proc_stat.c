/* proc_stat — /proc/PID/stat parser (see proc_stat.h). */
#include "proc_stat.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proc_lex.h"
#include "proc_read.h"

#define PROC_STAT_FIELDS 52	/* pid is field 1, exit_code field 52 */

/* A field is %lu or %ld: keep its bits; signed ones are converted back. */
static int proc_stat_field(const char **p, const char *end, uint64_t *out)
{
	int64_t s;

	if (*p < end && **p == '-') {
		if (proc_lex_s64(p, end, &s))
			return -EINVAL;
		*out = (uint64_t)s;
		return 0;
	}
	return proc_lex_u64(p, end, 10, out);
}

int proc_parse_stat(const char *buf, size_t len, struct proc_stat *st)
{
	const char *p = buf, *end = buf + len, *open, *close = NULL;
	uint64_t f[PROC_STAT_FIELDS + 1];
	size_t n;
	int i;

	memset(st, 0, sizeof(*st));
	while (end > p && (end[-1] == '\n' || end[-1] == '\0'))
		end--;
	if (proc_lex_u64(&p, end, 10, &f[1]) || f[1] == 0 || f[1] > INT32_MAX ||
	    proc_lex_char(&p, end, ' '))
		return -EINVAL;
	open = p;
	if (proc_lex_char(&p, end, '('))
		return -EINVAL;
	/* comm may hold ')' and spaces itself: the last ')' closes it */
	for (const char *q = p; q < end; q++)
		if (*q == ')')
			close = q;
	if (!close)
		return -EINVAL;
	n = (size_t)(close - open - 1);
	if (n >= sizeof(st->comm) || memchr(p, '\0', n) || memchr(p, '\n', n))
		return -EINVAL;
	memcpy(st->comm, p, n);
	st->comm[n] = '\0';
	p = close + 1;
	if (proc_lex_char(&p, end, ' ') || p >= end || *p < 'A' || *p > 'z')
		return -EINVAL;
	st->state = *p++;
	for (i = 4; i <= PROC_STAT_FIELDS; i++)
		if (proc_lex_char(&p, end, ' ') || proc_stat_field(&p, end, &f[i]))
			return -EINVAL;
	/* newer kernels may append fields: they must still be numbers */
	while (p < end) {
		uint64_t extra;

		if (proc_lex_char(&p, end, ' ') || proc_stat_field(&p, end, &extra))
			return -EINVAL;
	}
	st->pid = (int64_t)f[1];
	st->ppid = (int64_t)f[4];
	st->pgid = (int64_t)f[5];
	st->sid = (int64_t)f[6];
	st->tty_nr = (int64_t)f[7];
	st->tpgid = (int64_t)f[8];
	st->flags = f[9];
	st->minflt = f[10];
	st->cminflt = f[11];
	st->majflt = f[12];
	st->cmajflt = f[13];
	st->utime = f[14];
	st->stime = f[15];
	st->cutime = (int64_t)f[16];
	st->cstime = (int64_t)f[17];
	st->priority = (int64_t)f[18];
	st->nice = (int64_t)f[19];
	st->num_threads = (int64_t)f[20];
	/* f[21] is itrealvalue, always 0 */
	st->start_time = f[22];
	st->vsize = f[23];
	st->rss = f[24];
	st->rsslim = f[25];
	st->start_code = f[26];
	st->end_code = f[27];
	st->start_stack = f[28];
	st->kstkesp = f[29];
	st->kstkeip = f[30];
	st->signal = f[31];
	st->blocked = f[32];
	st->sigignore = f[33];
	st->sigcatch = f[34];
	st->wchan = f[35];
	st->nswap = f[36];
	st->cnswap = f[37];
	st->exit_signal = (int64_t)f[38];
	st->processor = (int64_t)f[39];
	st->rt_priority = f[40];
	st->policy = f[41];
	st->delayacct_blkio_ticks = f[42];
	st->guest_time = f[43];
	st->cguest_time = (int64_t)f[44];
	st->start_data = f[45];
	st->end_data = f[46];
	st->start_brk = f[47];
	st->arg_start = f[48];
	st->arg_end = f[49];
	st->env_start = f[50];
	st->env_end = f[51];
	st->exit_code = (int64_t)f[52];
	return 0;
}

int proc_read_stat(pid_t pid, pid_t tid, struct proc_stat *st)
{
	char *buf;
	size_t len;
	int err;

	err = proc_read_file(pid, tid, "stat", &buf, &len);
	if (err)
		return err;
	err = proc_parse_stat(buf, len, st);
	free(buf);
	return err;
}
