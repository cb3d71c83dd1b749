/* proc_timers — /proc/PID/timers parser (see proc_timers.h). */
#include "proc_timers.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proc_lex.h"
#include "proc_read.h"

static int proc_timer_int(const char **p, const char *end, int32_t *out)
{
	int64_t v;

	if (proc_lex_s64(p, end, &v) || v < INT32_MIN || v > INT32_MAX)
		return -EINVAL;
	*out = (int32_t)v;
	return 0;
}

/* One line "Key: rest", returning [rest, eol) through @p/@eol. */
static int proc_timer_line(const char **p, const char *end, const char *key,
			   const char **eol)
{
	*eol = proc_lex_eol(*p, end);
	if (!proc_lex_starts(*p, *eol, key))
		return -EINVAL;
	*p += strlen(key);
	return 0;
}

static int proc_parse_timer(const char **pp, const char *end,
			    struct proc_timer *t)
{
	const char *p = *pp, *eol;
	int32_t v;

	memset(t, 0, sizeof(*t));
	if (proc_timer_line(&p, end, "ID: ", &eol) || proc_timer_int(&p, eol, &t->id) ||
	    p != eol || t->id < 0)
		return -EINVAL;
	p = eol + (eol < end);
	if (proc_timer_line(&p, end, "signal: ", &eol) ||
	    proc_timer_int(&p, eol, &t->signo) || t->signo < 0 || t->signo > 64 ||
	    proc_lex_char(&p, eol, '/') || proc_lex_u64(&p, eol, 16, &t->sigval) ||
	    p != eol)
		return -EINVAL;
	p = eol + (eol < end);
	if (proc_timer_line(&p, end, "notify: ", &eol))
		return -EINVAL;
	if (proc_lex_starts(p, eol, "signal/"))
		t->notify = PROC_TIMER_SIGNAL, p += 7;
	else if (proc_lex_starts(p, eol, "none/"))
		t->notify = PROC_TIMER_NONE, p += 5;
	else if (proc_lex_starts(p, eol, "thread/"))
		t->notify = PROC_TIMER_THREAD, p += 7;
	else
		return -EINVAL;
	if (proc_lex_starts(p, eol, "tid."))
		t->thread_id = 1;
	else if (!proc_lex_starts(p, eol, "pid."))
		return -EINVAL;
	p += 4;
	if (proc_timer_int(&p, eol, &t->notify_pid) || p != eol)
		return -EINVAL;
	p = eol + (eol < end);
	if (proc_timer_line(&p, end, "ClockID: ", &eol) ||
	    proc_timer_int(&p, eol, &v) || p != eol)
		return -EINVAL;
	t->clock_id = v;
	*pp = eol + (eol < end);
	return 0;
}

int proc_parse_timers(const char *buf, size_t len, struct proc_timers *out)
{
	const char *p = buf, *end = buf + len;
	struct proc_timer *nt;
	size_t cap = 0;
	int err = 0;

	memset(out, 0, sizeof(*out));
	while (p < end) {
		if (out->nr == cap) {
			cap = cap ? cap * 2 : 8;
			nt = realloc(out->t, cap * sizeof(*nt));
			if (!nt) {
				err = -ENOMEM;
				break;
			}
			out->t = nt;
		}
		err = proc_parse_timer(&p, end, &out->t[out->nr]);
		if (err)
			break;
		out->nr++;
	}
	if (err)
		proc_timers_free(out);
	return err;
}

int proc_read_timers(pid_t pid, struct proc_timers *out)
{
	char *buf;
	size_t len;
	int err;

	err = proc_read_file(pid, 0, "timers", &buf, &len);
	if (err)
		return err;
	err = proc_parse_timers(buf, len, out);
	free(buf);
	return err;
}

void proc_timers_free(struct proc_timers *t)
{
	free(t->t);
	memset(t, 0, sizeof(*t));
}
