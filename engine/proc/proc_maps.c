/* proc_maps — /proc/PID/maps and smaps into struct proc_maps (see
 * proc_maps.h). Text only: no syscalls besides reading the file. */
#include "proc_maps.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "proc_lex.h"
#include "proc_read.h"

static const struct {
	char code[3];
	uint64_t bit;
} proc_vmflag_codes[] = {
	{ "rd", PROC_VMF_READ },	{ "wr", PROC_VMF_WRITE },
	{ "ex", PROC_VMF_EXEC },	{ "sh", PROC_VMF_SHARED },
	{ "mr", PROC_VMF_MAYREAD },	{ "mw", PROC_VMF_MAYWRITE },
	{ "me", PROC_VMF_MAYEXEC },	{ "ms", PROC_VMF_MAYSHARE },
	{ "gd", PROC_VMF_GROWSDOWN },	{ "pf", PROC_VMF_PFNMAP },
	{ "lo", PROC_VMF_LOCKED },	{ "io", PROC_VMF_IO },
	{ "sr", PROC_VMF_SEQ_READ },	{ "rr", PROC_VMF_RAND_READ },
	{ "dc", PROC_VMF_DONTFORK },	{ "de", PROC_VMF_DONTEXPAND },
	{ "ac", PROC_VMF_ACCOUNT },	{ "nr", PROC_VMF_NORESERVE },
	{ "ht", PROC_VMF_HUGETLB },	{ "sf", PROC_VMF_SYNC },
	{ "ar", PROC_VMF_ARCH },	{ "wf", PROC_VMF_WIPEONFORK },
	{ "dd", PROC_VMF_DONTDUMP },	{ "sd", PROC_VMF_SOFTDIRTY },
	{ "mm", PROC_VMF_MIXEDMAP },	{ "hg", PROC_VMF_HUGEPAGE },
	{ "nh", PROC_VMF_NOHUGEPAGE },	{ "mg", PROC_VMF_MERGEABLE },
	{ "um", PROC_VMF_UFFD_MISSING }, { "uw", PROC_VMF_UFFD_WP },
	{ "ui", PROC_VMF_UFFD_MINOR },	{ "lf", PROC_VMF_LOCKONFAULT },
	{ "ss", PROC_VMF_SHADOW_STACK }, { "sl", PROC_VMF_SEALED },
};

void proc_maps_free(struct proc_maps *m)
{
	free(m->vma);
	free(m->names);
	memset(m, 0, sizeof(*m));
}

static int proc_maps_add_name(struct proc_maps *m, const char *s, size_t n,
			      uint32_t *off)
{
	size_t need;
	char *nb;

	if (n == 0) {
		*off = 0;
		return 0;
	}
	need = m->names_len + n + 1;
	if (need > UINT32_MAX)
		return -EINVAL;
	if (need > m->names_cap) {
		size_t cap = m->names_cap ? m->names_cap : 4096;

		while (cap < need)
			cap *= 2;
		nb = realloc(m->names, cap);
		if (!nb)
			return -ENOMEM;
		m->names = nb;
		m->names_cap = cap;
	}
	*off = (uint32_t)m->names_len;
	memcpy(m->names + m->names_len, s, n);
	m->names[m->names_len + n] = '\0';
	m->names_len += n + 1;
	return 0;
}

static struct proc_vma *proc_maps_grow(struct proc_maps *m)
{
	struct proc_vma *nv;

	if (m->nr == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;

		nv = realloc(m->vma, cap * sizeof(*nv));
		if (!nv)
			return NULL;
		m->vma = nv;
		m->cap = cap;
	}
	memset(&m->vma[m->nr], 0, sizeof(m->vma[0]));
	return &m->vma[m->nr++];
}

/* "start-end perms offset maj:min inode [name]" */
static int proc_parse_vma_line(struct proc_maps *m, const char *p,
			       const char *eol)
{
	uint64_t maj, min;
	struct proc_vma *v, *prev;
	int err;

	v = proc_maps_grow(m);
	if (!v)
		return -ENOMEM;
	if (proc_lex_u64(&p, eol, 16, &v->start) || proc_lex_char(&p, eol, '-') ||
	    proc_lex_u64(&p, eol, 16, &v->end) || proc_lex_char(&p, eol, ' '))
		return -EINVAL;
	if (eol - p < 5 || p[4] != ' ')
		return -EINVAL;
	if ((p[0] != 'r' && p[0] != '-') || (p[1] != 'w' && p[1] != '-') ||
	    (p[2] != 'x' && p[2] != '-') || (p[3] != 's' && p[3] != 'p'))
		return -EINVAL;
	v->prot = (p[0] == 'r' ? PROT_READ : 0) | (p[1] == 'w' ? PROT_WRITE : 0) |
		  (p[2] == 'x' ? PROT_EXEC : 0);
	v->shared = p[3] == 's';
	p += 5;
	if (proc_lex_u64(&p, eol, 16, &v->pgoff) || proc_lex_char(&p, eol, ' ') ||
	    proc_lex_u64(&p, eol, 16, &maj) || proc_lex_char(&p, eol, ':') ||
	    proc_lex_u64(&p, eol, 16, &min) || proc_lex_char(&p, eol, ' ') ||
	    proc_lex_u64(&p, eol, 10, &v->ino))
		return -EINVAL;
	if (maj > UINT32_MAX || min > UINT32_MAX)
		return -EINVAL;
	v->dev_major = (uint32_t)maj;
	v->dev_minor = (uint32_t)min;
	if (p < eol && proc_lex_blanks(&p, eol) == 0)
		return -EINVAL;
	/* page-aligned, non-empty, sorted, non-overlapping */
	if (v->start >= v->end || (v->start | v->end | v->pgoff) & 0xfff)
		return -EINVAL;
	if (m->nr > 1) {
		prev = &m->vma[m->nr - 2];
		if (prev->end > v->start)
			return -EINVAL;
	}
	err = proc_maps_add_name(m, p, (size_t)(eol - p), &v->name_off);
	if (!err && memchr(p, '\0', (size_t)(eol - p)))
		err = -EINVAL;
	return err;
}

static int proc_parse_vmflags(struct proc_vma *v, const char *p, const char *eol)
{
	size_t i;

	v->vmflags = 0;
	for (;;) {
		proc_lex_blanks(&p, eol);
		if (p >= eol)
			return 0;
		if (eol - p < 2 || p[0] < 'a' || p[0] > 'z' || p[1] < 'a' || p[1] > 'z')
			return -EINVAL;
		if (eol - p > 2 && p[2] != ' ')
			return -EINVAL;
		for (i = 0; i < sizeof(proc_vmflag_codes) / sizeof(proc_vmflag_codes[0]); i++)
			if (p[0] == proc_vmflag_codes[i].code[0] &&
			    p[1] == proc_vmflag_codes[i].code[1])
				break;
		v->vmflags |= i < sizeof(proc_vmflag_codes) / sizeof(proc_vmflag_codes[0]) ?
				      proc_vmflag_codes[i].bit : PROC_VMF_UNKNOWN;
		p += 2;
	}
}

/* "Key:   value [kB]" lines of smaps, for the VMA just parsed. */
static int proc_parse_smaps_line(struct proc_vma *v, const char *p,
				 const char *eol)
{
	const char *key = p;
	uint64_t *dst = NULL, val;
	size_t klen;

	while (p < eol && ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			   (*p >= '0' && *p <= '9') || *p == '_'))
		p++;
	klen = (size_t)(p - key);
	if (klen == 0 || proc_lex_char(&p, eol, ':'))
		return -EINVAL;
	v->has_smaps = true;
	if (klen == 7 && !memcmp(key, "VmFlags", 7))
		return proc_parse_vmflags(v, p, eol);
	if (klen == 3 && !memcmp(key, "Rss", 3))
		dst = &v->rss_kb;
	else if (klen == 9 && !memcmp(key, "Anonymous", 9))
		dst = &v->anon_kb;
	else if (klen == 4 && !memcmp(key, "Swap", 4))
		dst = &v->swap_kb;
	if (!dst)
		return 0;	/* other keys: format checked, value unused */
	proc_lex_blanks(&p, eol);
	if (proc_lex_u64(&p, eol, 10, &val) || proc_lex_char(&p, eol, ' ') ||
	    !proc_lex_starts(p, eol, "kB") || p + 2 != eol)
		return -EINVAL;
	*dst = val;
	return 0;
}

/* A VMA line starts with hex digits and a '-'; smaps keys never do. */
static bool proc_is_vma_line(const char *p, const char *eol)
{
	while (p < eol && proc_lex_digit(*p, 16) >= 0)
		p++;
	return p < eol && *p == '-';
}

int proc_parse_maps(const char *buf, size_t len, struct proc_maps *out)
{
	const char *p = buf, *end = buf + len, *eol;
	int err = 0;

	memset(out, 0, sizeof(*out));
	/* names[0] is the empty name */
	err = proc_maps_add_name(out, "", 1, &(uint32_t){ 0 });
	if (err)
		return err;
	out->names[0] = '\0';
	out->names_len = 1;
	while (p < end) {
		eol = proc_lex_eol(p, end);
		if (proc_is_vma_line(p, eol))
			err = proc_parse_vma_line(out, p, eol);
		else if (out->nr)
			err = proc_parse_smaps_line(&out->vma[out->nr - 1], p, eol);
		else
			err = -EINVAL;
		if (err)
			break;
		p = eol < end ? eol + 1 : end;
	}
	if (err)
		proc_maps_free(out);
	return err;
}

int proc_read_maps(pid_t pid, bool smaps, struct proc_maps *out)
{
	char *buf;
	size_t len;
	int err;

	err = proc_read_file(pid, 0, smaps ? "smaps" : "maps", &buf, &len);
	if (err)
		return err;
	err = proc_parse_maps(buf, len, out);
	free(buf);
	return err;
}

const struct proc_vma *proc_maps_find(const struct proc_maps *m, uint64_t addr)
{
	size_t lo = 0, hi = m->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (addr < m->vma[mid].start)
			hi = mid;
		else if (addr >= m->vma[mid].end)
			lo = mid + 1;
		else
			return &m->vma[mid];
	}
	return NULL;
}
