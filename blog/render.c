/* render — printf-compatible rendering of blog records (see render.h).
 * Each conversion is handed to snprintf with the argument read back from the
 * record, so the text equals what printf prints, byte for byte. It must not
 * trust the record: every argument is checked against its type code. */
#include "render.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "blog.h"
#include "blog-wire.h"

void blog_spec_parse(const char *p, struct blog_spec *s)
{
	const char *q = p + 1;
	size_t nf = 0;

	memset(s, 0, sizeof(*s));
	s->width = s->prec = -1;
	while (*q && strchr("-+ #0'I", *q)) {
		if (nf < sizeof(s->flags) - 1)
			s->flags[nf++] = *q;
		q++;
	}
	if (*q == '*') {
		s->width_star = true;
		q++;
	} else if (*q >= '1' && *q <= '9') {
		s->width = 0;
		while (*q >= '0' && *q <= '9') {
			if (s->width < 100000)
				s->width = s->width * 10 + (*q - '0');
			q++;
		}
	}
	if (*q == '.') {
		q++;
		s->prec = 0;
		if (*q == '*') {
			s->prec_star = true;
			s->prec = -1;
			q++;
		} else {
			while (*q >= '0' && *q <= '9') {
				if (s->prec < 100000)
					s->prec = s->prec * 10 + (*q - '0');
				q++;
			}
		}
	}
	switch (*q) {
	case 'h':
		s->lenmod = q[1] == 'h' ? 'H' : 'h';
		q += q[1] == 'h' ? 2 : 1;
		break;
	case 'l':
		s->lenmod = q[1] == 'l' ? 'q' : 'l';
		q += q[1] == 'l' ? 2 : 1;
		break;
	case 'q': s->lenmod = 'q'; q++; break;
	case 'L': case 'j': case 'z': case 't': case 'Z':
		s->lenmod = *q == 'Z' ? 'z' : *q;
		q++;
		break;
	}
	if (*q && strchr("diouxXcspfFeEgGaAnmCS%", *q))
		s->conv = *q++;
	else if (*q)
		q++;	/* malformed or unsupported ($, ...): printed as is */
	s->len = (size_t)(q - p);
}

int blog_fmt_plan(const char *fmt, char *convs, int max, bool *has_m)
{
	struct blog_spec s;
	int n = 0;

	*has_m = false;
	for (const char *p = fmt; *p; p++) {
		if (*p != '%')
			continue;
		blog_spec_parse(p, &s);
		p += s.len - 1;
		if (!s.conv || s.conv == '%')
			continue;
		if (s.conv == 'm') {
			*has_m = true;
			continue;
		}
		if (s.width_star && n < max)
			convs[n++] = '*';
		if (s.prec_star && n < max)
			convs[n++] = '*';
		if (n < max)
			convs[n++] = s.conv;
	}
	return n;
}

int blog_args_check(const char *types, bool with_errno, const uint8_t *args, size_t len)
{
	size_t off = 0;

	for (const char *t = types; *t; t++) {
		long n = blog_arg_size(*t, args + off, len - off);

		if (n < 0)
			return -1;
		off += (size_t)n;
	}
	if (with_errno)
		off += 4;
	return off == len ? 0 : -1;
}

/* Reading the arguments back, in order. */
struct render_args {
	const char *types;
	const uint8_t *p, *end;
	int saved_errno;
};

/* The next argument's type code and bytes; 0 when there is none left. */
static char render_next(struct render_args *a, const uint8_t **bytes)
{
	char t = *a->types;
	long n;

	if (!t)
		return 0;
	n = blog_arg_size(t, a->p, (size_t)(a->end - a->p));
	if (n < 0)
		return 0;
	a->types++;
	*bytes = a->p;
	a->p += n;
	return t;
}

struct render_out {
	char *buf;
	size_t cap, len;	/* len < cap always */
};

static void out_bytes(struct render_out *o, const char *s, size_t n)
{
	if (n > o->cap - 1 - o->len)
		n = o->cap - 1 - o->len;
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = 0;
}

/* Plain decimal or hex of @v (a fast path for specs without flags, width
 * or precision, where printf's output is just the digits). */
static void out_uint(struct render_out *o, uint64_t v, bool neg, unsigned int base, bool upper)
{
	char tmp[24], *p = tmp + sizeof(tmp);
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";

	do {
		*--p = digits[v % base];
		v /= base;
	} while (v);
	if (neg)
		*--p = '-';
	out_bytes(o, p, (size_t)(tmp + sizeof(tmp) - p));
}

static bool spec_is_plain(const struct blog_spec *s)
{
	return !s->flags[0] && s->width < 0 && s->prec < 0 && !s->width_star && !s->prec_star;
}

/* snprintf straight into the output; a failed conversion adds nothing. */
#define OUT_PRINTF(o, ...)                                                    \
	do {                                                                  \
		int n_ = snprintf((o)->buf + (o)->len, (o)->cap - (o)->len, __VA_ARGS__); \
		if (n_ > 0)                                                   \
			(o)->len += (size_t)n_ < (o)->cap - (o)->len ? (size_t)n_ : (o)->cap - 1 - (o)->len; \
		(o)->buf[(o)->len] = 0;                                      \
	} while (0)

/* Builds "%<flags><width><.prec><lenmod><conv>" from a resolved spec. */
static void spec_text(char *buf, size_t cap, const struct blog_spec *s, const char *lenmod,
		      char conv)
{
	int n = snprintf(buf, cap, "%%%s", s->flags);

	if (s->width > 0)
		n += snprintf(buf + n, cap - (size_t)n, "%d", s->width);
	if (s->prec >= 0)
		n += snprintf(buf + n, cap - (size_t)n, ".%d", s->prec);
	snprintf(buf + n, cap - (size_t)n, "%s%c", lenmod, conv);
}

static const char *lenmod_text(char m)
{
	switch (m) {
	case 'H': return "hh";
	case 'h': return "h";
	case 'l': return "l";
	case 'q': return "ll";
	case 'L': return "L";
	case 'j': return "j";
	case 'z': return "z";
	case 't': return "t";
	default: return "";
	}
}

#define BAD_ARG "<?>"

static void render_int(struct render_out *o, const struct blog_spec *s, char t,
		       const uint8_t *b)
{
	char spec[64];
	bool sign = s->conv == 'd' || s->conv == 'i';

	if (spec_is_plain(s) && s->conv != 'o' && s->lenmod != 'h' && s->lenmod != 'H' &&
	    (t == 'i' || t == 'l')) {
		bool wide = t == 'l' && s->lenmod && s->lenmod != 'L';
		uint64_t v = wide ? blog_get64(b) : blog_get32(b);
		unsigned int base = s->conv == 'x' || s->conv == 'X' ? 16 : 10;
		bool neg = false;

		if (!wide && t == 'l')
			v = (uint32_t)v;
		if (sign) {
			int64_t sv = wide ? (int64_t)v : (int64_t)(int32_t)v;

			neg = sv < 0;
			v = neg ? (uint64_t)0 - (uint64_t)sv : (uint64_t)sv;
		}
		if (t == 'i' && (wide || !s->lenmod || s->lenmod == 'L')) {
			out_uint(o, v, neg, base, s->conv == 'X');
			return;
		}
		if (t == 'l' && wide) {
			out_uint(o, v, neg, base, s->conv == 'X');
			return;
		}
	}

	if (t == 'i' && s->lenmod != 'l' && s->lenmod != 'q' && s->lenmod != 'j' &&
	    s->lenmod != 'z' && s->lenmod != 't' && s->lenmod != 'L') {
		spec_text(spec, sizeof(spec), s, lenmod_text(s->lenmod), s->conv);
		OUT_PRINTF(o, spec, (int)blog_get32(b));
		return;
	}
	if (t == 'i' || t == 'l' || t == 'p') {
		uint64_t v = t == 'i' ? (sign ? (uint64_t)(int64_t)(int32_t)blog_get32(b)
					      : blog_get32(b))
				      : blog_get64(b);
		/* a long argument printed with h/hh: truncate as printf does */
		const char *lm = s->lenmod == 'h' || s->lenmod == 'H' || !s->lenmod ?
				 lenmod_text(s->lenmod) : "ll";

		spec_text(spec, sizeof(spec), s, lm, s->conv);
		if (*lm == 'l')
			OUT_PRINTF(o, spec, (long long)v);
		else
			OUT_PRINTF(o, spec, (int)v);
		return;
	}
	out_bytes(o, BAD_ARG, strlen(BAD_ARG));
}

static void render_str(struct render_out *o, const struct blog_spec *s, char t,
		       const uint8_t *b)
{
	static __thread char tmp[BLOG_STR_MAX + 1];
	char spec[64];
	uint16_t n;
	const char *str = NULL;

	if (t != 's' || s->lenmod == 'l') {
		out_bytes(o, BAD_ARG, strlen(BAD_ARG));
		return;
	}
	n = blog_get16(b);
	if (n != BLOG_STR_NULL && spec_is_plain(s)) {
		out_bytes(o, (const char *)b + 2, n & ~BLOG_STR_CUT);
		if (n & BLOG_STR_CUT)
			out_bytes(o, "[...]", 5);
		return;
	}
	if (n != BLOG_STR_NULL) {
		size_t len = n & ~BLOG_STR_CUT;

		memcpy(tmp, b + 2, len);
		tmp[len] = 0;
		str = tmp;
	}
	spec_text(spec, sizeof(spec), s, "", 's');
	OUT_PRINTF(o, spec, str);
	if (n != BLOG_STR_NULL && (n & BLOG_STR_CUT))
		out_bytes(o, "[...]", 5);
}

static void render_float(struct render_out *o, const struct blog_spec *s, char t,
			 const uint8_t *b)
{
	char spec[64];

	if (t == 'd' && s->lenmod != 'L') {
		double v;

		memcpy(&v, b, 8);
		spec_text(spec, sizeof(spec), s, "", s->conv);
		OUT_PRINTF(o, spec, v);
	} else if (t == 'D' && s->lenmod == 'L') {
		long double v = 0;

		memcpy(&v, b, sizeof(v) < 16 ? sizeof(v) : 16);
		spec_text(spec, sizeof(spec), s, "L", s->conv);
		OUT_PRINTF(o, spec, v);
	} else {
		out_bytes(o, BAD_ARG, strlen(BAD_ARG));
	}
}

/* One conversion; returns false when the arguments ran out. */
static bool render_conv(struct render_out *o, const struct blog_spec *spec, struct render_args *a)
{
	struct blog_spec r = *spec, *s = &r;
	const uint8_t *b;
	char buf[64], t;

	if (s->width_star) {
		if (render_next(a, &b) != 'i')
			return false;
		s->width = (int)blog_get32(b);
		if (s->width < 0) {
			/* a negative '*' width means '-' and its absolute value */
			size_t fl = strlen(s->flags);

			if (fl < sizeof(s->flags) - 1 && !strchr(s->flags, '-'))
				s->flags[fl] = '-';
			s->width = s->width == -2147483647 - 1 ? 2147483647 : -s->width;
		}
	}
	if (s->prec_star) {
		if (render_next(a, &b) != 'i')
			return false;
		s->prec = (int)blog_get32(b);
		if (s->prec < 0)
			s->prec = -1;	/* as if none was given */
	}
	/* hostile widths: glibc would allocate them; what passes the cap is cut
	 * anyway, so clamping changes nothing that is shown */
	if (s->width > BLOG_MSG_MAX)
		s->width = BLOG_MSG_MAX;
	if (s->prec > BLOG_MSG_MAX)
		s->prec = BLOG_MSG_MAX;
	if (s->conv == 'm') {
		spec_text(buf, sizeof(buf), s, "", 'm');
		errno = a->saved_errno;
		OUT_PRINTF(o, buf, 0);
		return true;
	}
	t = render_next(a, &b);
	if (!t)
		return false;
	switch (s->conv) {
	case 'd': case 'i': case 'o': case 'u': case 'x': case 'X':
		render_int(o, s, t, b);
		break;
	case 'c': case 'C':
		if (t != 'i') {
			out_bytes(o, BAD_ARG, strlen(BAD_ARG));
			break;
		}
		spec_text(buf, sizeof(buf), s, s->conv == 'C' || s->lenmod == 'l' ? "l" : "", 'c');
		OUT_PRINTF(o, buf, (int)blog_get32(b));
		break;
	case 's':
		render_str(o, s, t, b);
		break;
	case 'p':
		if (t != 'p' && t != 'l') {
			out_bytes(o, BAD_ARG, strlen(BAD_ARG));
			break;
		}
		spec_text(buf, sizeof(buf), s, "", 'p');
		OUT_PRINTF(o, buf, (void *)(uintptr_t)blog_get64(b));
		break;
	case 'f': case 'F': case 'e': case 'E': case 'g': case 'G': case 'a': case 'A':
		render_float(o, s, t, b);
		break;
	case 'n':
		break;	/* never writes anything anywhere */
	default:	/* %S (wide strings): not kept */
		out_bytes(o, BAD_ARG, strlen(BAD_ARG));
		break;
	}
	return true;
}

size_t blog_render_msg(char *out, size_t cap, const char *fmt, const char *types,
		       unsigned int flags, const uint8_t *args, size_t len)
{
	struct render_out o = { out, cap, 0 };
	struct render_args a = { types, args, args + len, 0 };
	bool with_errno = flags & (BLOG_DF_ERRNO | BLOG_DF_HAS_M);
	int saved = errno;

	if (!cap)
		return 0;
	out[0] = 0;
	if (with_errno && len >= 4) {
		a.saved_errno = (int)blog_get32(args + len - 4);
		a.end -= 4;
	}
	for (const char *p = fmt; *p;) {
		const char *pct = strchr(p, '%');
		struct blog_spec s;

		if (!pct) {
			out_bytes(&o, p, strlen(p));
			break;
		}
		out_bytes(&o, p, (size_t)(pct - p));
		blog_spec_parse(pct, &s);
		p = pct + s.len;
		if (s.conv == '%') {
			out_bytes(&o, "%", 1);
		} else if (!s.conv) {
			out_bytes(&o, pct, s.len);
		} else if (!render_conv(&o, &s, &a)) {
			out_bytes(&o, "<missing>", 9);
		}
	}
	if (flags & BLOG_DF_ERRNO) {
		if (o.len && o.buf[o.len - 1] == '\n')
			o.buf[--o.len] = 0;
		errno = a.saved_errno;
		OUT_PRINTF(&o, ": %m");
	}
	errno = saved;
	return o.len;
}

size_t blog_render_line(char *out, size_t cap, uint64_t ns, int level, const char *file,
			unsigned int line, const char *msg, size_t msg_len)
{
	static const char *const names[] = { "", "Error ", "Warn  ", "", "" };
	struct render_out o = { out, cap, 0 };

	if (cap < 2)
		return 0;
	out[0] = 0;
	if (level != BLOG_MSG) {
		uint64_t sec = ns / 1000000000u, us = ns / 1000u % 1000000u;
		const char *name = level >= 0 && level <= BLOG_DEBUG ? names[level] : "";
		char t[40], *p = t;

		/* "(%02llu.%06llu) " by hand: this is the decoder's hot path */
		*p++ = '(';
		if (sec < 10)
			*p++ = '0';
		{
			char d[24], *q = d + sizeof(d);

			do {
				*--q = (char)('0' + sec % 10);
				sec /= 10;
			} while (sec);
			memcpy(p, q, (size_t)(d + sizeof(d) - q));
			p += d + sizeof(d) - q;
		}
		*p++ = '.';
		for (int i = 5; i >= 0; i--) {
			p[i] = (char)('0' + us % 10);
			us /= 10;
		}
		p += 6;
		*p++ = ')';
		*p++ = ' ';
		out_bytes(&o, t, (size_t)(p - t));
		out_bytes(&o, name, strlen(name));
		out_bytes(&o, "(", 1);
		out_bytes(&o, file, strlen(file));
		out_bytes(&o, ":", 1);
		out_uint(&o, line, false, 10, false);
		out_bytes(&o, "): ", 3);
	}
	out_bytes(&o, msg, msg_len);
	if (!o.len || o.buf[o.len - 1] != '\n') {
		if (o.len == cap - 1)
			o.len--;
		o.buf[o.len++] = '\n';
		o.buf[o.len] = 0;
	}
	return o.len;
}
