/* json — see json.h. A recursive-descent parser with a depth limit and a
 * writer in Python's json.dumps style. No global state.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

#define JSON_MAX_DEPTH 200

struct jp {
	const char *p, *end, *start;
	char *err;
	size_t errlen;
	int depth;
};

static void jp_error(struct jp *jp, const char *what)
{
	if (jp->err && !jp->err[0])
		snprintf(jp->err, jp->errlen, "%s at byte %zu", what,
			 (size_t)(jp->p - jp->start));
}

struct json *json_new(enum json_type t)
{
	struct json *j = calloc(1, sizeof(*j));

	if (j)
		j->type = t;
	return j;
}

struct json *json_new_uint(uint64_t v)
{
	struct json *j = json_new(JSON_UINT);

	if (j)
		j->u = v;
	return j;
}

struct json *json_new_int(int64_t v)
{
	struct json *j;

	if (v >= 0)
		return json_new_uint((uint64_t)v);
	j = json_new(JSON_INT);
	if (j)
		j->i = v;
	return j;
}

struct json *json_new_bool(bool v)
{
	struct json *j = json_new(JSON_BOOL);

	if (j)
		j->b = v;
	return j;
}

struct json *json_new_strn(const char *s, size_t n)
{
	struct json *j = json_new(JSON_STR);

	if (!j)
		return NULL;
	j->s = malloc(n + 1);
	if (!j->s) {
		free(j);
		return NULL;
	}
	memcpy(j->s, s, n);
	j->s[n] = 0;
	j->len = n;
	return j;
}

struct json *json_new_str(const char *s)
{
	return json_new_strn(s, strlen(s));
}

static int json_grow(struct json *c)
{
	size_t cap;
	struct json **it;

	if (c->len < c->cap)
		return 0;
	cap = c->cap ? 2 * c->cap : 8;
	it = realloc(c->items, cap * sizeof(*it));
	if (!it)
		return -ENOMEM;
	c->items = it;
	if (c->type == JSON_OBJ) {
		char **k = realloc(c->keys, cap * sizeof(*k));

		if (!k)
			return -ENOMEM;
		c->keys = k;
	}
	c->cap = cap;
	return 0;
}

int json_arr_add(struct json *arr, struct json *v)
{
	if (!v || json_grow(arr)) {
		json_free(v);
		return -ENOMEM;
	}
	arr->items[arr->len++] = v;
	return 0;
}

int json_obj_add(struct json *obj, const char *key, struct json *v)
{
	char *k;

	if (!v || json_grow(obj) || !(k = strdup(key))) {
		json_free(v);
		return -ENOMEM;
	}
	obj->keys[obj->len] = k;
	obj->items[obj->len++] = v;
	return 0;
}

struct json *json_get(const struct json *obj, const char *key)
{
	if (!obj || obj->type != JSON_OBJ)
		return NULL;
	for (size_t i = 0; i < obj->len; i++)
		if (!strcmp(obj->keys[i], key))
			return obj->items[i];
	return NULL;
}

bool json_as_u64(const struct json *j, uint64_t *v)
{
	if (!j || j->type != JSON_UINT)
		return false;
	*v = j->u;
	return true;
}

bool json_as_i64(const struct json *j, int64_t *v)
{
	if (j && j->type == JSON_INT) {
		*v = j->i;
		return true;
	}
	if (j && j->type == JSON_UINT && j->u <= INT64_MAX) {
		*v = (int64_t)j->u;
		return true;
	}
	return false;
}

void json_free(struct json *j)
{
	if (!j)
		return;
	for (size_t i = 0; (j->type == JSON_ARR || j->type == JSON_OBJ) && i < j->len; i++) {
		json_free(j->items[i]);
		if (j->type == JSON_OBJ)
			free(j->keys[i]);
	}
	free(j->items);
	free(j->keys);
	free(j->s);
	free(j);
}

/* ---- parser ----------------------------------------------------------------- */

static void skip_ws(struct jp *jp)
{
	while (jp->p < jp->end && (*jp->p == ' ' || *jp->p == '\t' ||
				   *jp->p == '\n' || *jp->p == '\r'))
		jp->p++;
}

static struct json *parse_value(struct jp *jp);

static int hex4(struct jp *jp, unsigned int *v)
{
	*v = 0;
	if (jp->end - jp->p < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		char c = *jp->p++;

		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= (unsigned int)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*v |= (unsigned int)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*v |= (unsigned int)(c - 'A' + 10);
		else
			return -1;
	}
	return 0;
}

static size_t put_utf8(char *o, unsigned int cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* A string; *jp->p is the opening quote. Output is never longer than input. */
static struct json *parse_string(struct jp *jp)
{
	const char *q = ++jp->p;
	struct json *j;
	char *o;

	while (q < jp->end && *q != '"')
		q += (*q == '\\' && q + 1 < jp->end) ? 2 : 1;
	if (q >= jp->end) {
		jp_error(jp, "unterminated string");
		return NULL;
	}
	j = json_new(JSON_STR);
	if (!j || !(j->s = malloc((size_t)(q - jp->p) + 1))) {
		free(j);
		jp_error(jp, "out of memory");
		return NULL;
	}
	o = j->s;
	while (jp->p < q) {
		unsigned char c = (unsigned char)*jp->p++;
		unsigned int cp, lo;

		if (c < 0x20) {
			jp->p--;
			jp_error(jp, "control character in string");
			goto bad;
		}
		if (c != '\\') {
			*o++ = (char)c;
			continue;
		}
		c = (unsigned char)*jp->p++;
		switch (c) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '/': *o++ = '/'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u':
			if (hex4(jp, &cp))
				goto bad_escape;
			if (cp >= 0xd800 && cp < 0xdc00 && q - jp->p >= 6 &&
			    jp->p[0] == '\\' && jp->p[1] == 'u') {
				const char *save = jp->p;

				jp->p += 2;
				if (!hex4(jp, &lo) && lo >= 0xdc00 && lo < 0xe000)
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				else
					jp->p = save;
			}
			o += put_utf8(o, cp);
			break;
		default:
			goto bad_escape;
		}
	}
	jp->p = q + 1;
	*o = 0;
	j->len = (size_t)(o - j->s);
	return j;
bad_escape:
	jp_error(jp, "bad escape in string");
bad:
	json_free(j);
	return NULL;
}

static struct json *parse_number(struct jp *jp)
{
	const char *s = jp->p;
	bool neg = false, isfloat = false;
	uint64_t v = 0;
	struct json *j;

	if (jp->p < jp->end && *jp->p == '-') {
		neg = true;
		jp->p++;
	}
	if (jp->p >= jp->end || *jp->p < '0' || *jp->p > '9') {
		jp_error(jp, "bad number");
		return NULL;
	}
	while (jp->p < jp->end && *jp->p >= '0' && *jp->p <= '9') {
		unsigned int d = (unsigned int)(*jp->p++ - '0');

		if (v > (UINT64_MAX - d) / 10)
			isfloat = true;
		else
			v = v * 10 + d;
	}
	while (jp->p < jp->end && (*jp->p == '.' || *jp->p == 'e' || *jp->p == 'E' ||
				   *jp->p == '+' || *jp->p == '-' ||
				   (*jp->p >= '0' && *jp->p <= '9'))) {
		isfloat = true;
		jp->p++;
	}
	if (neg && v > (uint64_t)INT64_MAX + 1)
		isfloat = true;
	if (isfloat) {
		char buf[64];
		size_t n = (size_t)(jp->p - s);

		if (n >= sizeof(buf)) {
			jp_error(jp, "number too long");
			return NULL;
		}
		memcpy(buf, s, n);
		buf[n] = 0;
		j = json_new(JSON_FLOAT);
		if (j)
			j->d = strtod(buf, NULL);
		return j;
	}
	if (neg && v)
		return json_new_int(v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v);
	return json_new_uint(v);
}

static bool lit(struct jp *jp, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(jp->end - jp->p) < n || memcmp(jp->p, w, n))
		return false;
	jp->p += n;
	return true;
}

static struct json *parse_container(struct jp *jp, bool obj)
{
	struct json *c = json_new(obj ? JSON_OBJ : JSON_ARR);
	char close = obj ? '}' : ']';

	if (!c)
		return NULL;
	if (++jp->depth > JSON_MAX_DEPTH) {
		jp_error(jp, "nested too deep");
		goto bad;
	}
	jp->p++;
	skip_ws(jp);
	if (jp->p < jp->end && *jp->p == close) {
		jp->p++;
		jp->depth--;
		return c;
	}
	for (;;) {
		struct json *key = NULL, *v;

		skip_ws(jp);
		if (obj) {
			if (jp->p >= jp->end || *jp->p != '"') {
				jp_error(jp, "expected a key");
				goto bad;
			}
			key = parse_string(jp);
			if (!key)
				goto bad;
			skip_ws(jp);
			if (jp->p >= jp->end || *jp->p != ':') {
				json_free(key);
				jp_error(jp, "expected ':'");
				goto bad;
			}
			jp->p++;
		}
		v = parse_value(jp);
		if (!v) {
			json_free(key);
			goto bad;
		}
		if (obj ? json_obj_add(c, key->s, v) : json_arr_add(c, v)) {
			json_free(key);
			jp_error(jp, "out of memory");
			goto bad;
		}
		json_free(key);
		skip_ws(jp);
		if (jp->p < jp->end && *jp->p == ',') {
			jp->p++;
			continue;
		}
		if (jp->p < jp->end && *jp->p == close) {
			jp->p++;
			jp->depth--;
			return c;
		}
		jp_error(jp, obj ? "expected ',' or '}'" : "expected ',' or ']'");
		goto bad;
	}
bad:
	json_free(c);
	return NULL;
}

static struct json *parse_value(struct jp *jp)
{
	skip_ws(jp);
	if (jp->p >= jp->end) {
		jp_error(jp, "unexpected end");
		return NULL;
	}
	switch (*jp->p) {
	case '{': return parse_container(jp, true);
	case '[': return parse_container(jp, false);
	case '"': return parse_string(jp);
	case 't': if (lit(jp, "true")) return json_new_bool(true); break;
	case 'f': if (lit(jp, "false")) return json_new_bool(false); break;
	case 'n': if (lit(jp, "null")) return json_new(JSON_NULL); break;
	default: return parse_number(jp);
	}
	jp_error(jp, "unexpected word");
	return NULL;
}

struct json *json_parse(const char *text, size_t len, char *err, size_t errlen)
{
	struct jp jp = { .p = text, .end = text + len, .start = text,
			 .err = err, .errlen = errlen };
	struct json *j;

	if (err && errlen)
		err[0] = 0;
	j = parse_value(&jp);
	if (!j)
		return NULL;
	skip_ws(&jp);
	if (jp.p != jp.end) {
		jp_error(&jp, "trailing data");
		json_free(j);
		return NULL;
	}
	return j;
}

/* ---- writer ------------------------------------------------------------------ */

/* Decodes one UTF-8 sequence; invalid bytes come back one at a time. */
static unsigned int get_utf8(const unsigned char *s, size_t n, size_t *used)
{
	unsigned int cp;
	size_t need;

	if (s[0] < 0x80) {
		*used = 1;
		return s[0];
	}
	if ((s[0] & 0xe0) == 0xc0) { need = 2; cp = s[0] & 0x1f; }
	else if ((s[0] & 0xf0) == 0xe0) { need = 3; cp = s[0] & 0x0f; }
	else if ((s[0] & 0xf8) == 0xf0) { need = 4; cp = s[0] & 0x07; }
	else goto raw;
	if (need > n)
		goto raw;
	for (size_t i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			goto raw;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	*used = need;
	return cp;
raw:
	*used = 1;
	return s[0];
}

static void write_string(FILE *f, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', f);
	while (n) {
		size_t used;
		unsigned int cp = get_utf8(p, n, &used);

		p += used;
		n -= used;
		switch (cp) {
		case '"': fputs("\\\"", f); continue;
		case '\\': fputs("\\\\", f); continue;
		case '\n': fputs("\\n", f); continue;
		case '\r': fputs("\\r", f); continue;
		case '\t': fputs("\\t", f); continue;
		case '\b': fputs("\\b", f); continue;
		case '\f': fputs("\\f", f); continue;
		}
		if (cp >= 0x20 && cp < 0x7f)
			fputc((int)cp, f);
		else if (cp < 0x10000)
			fprintf(f, "\\u%04x", cp);
		else
			fprintf(f, "\\u%04x\\u%04x", 0xd800 + ((cp - 0x10000) >> 10),
				0xdc00 + ((cp - 0x10000) & 0x3ff));
	}
	fputc('"', f);
}

static void write_indent(FILE *f, int indent, int level)
{
	fputc('\n', f);
	for (int i = 0; i < indent * level; i++)
		fputc(' ', f);
}

static void write_value(FILE *f, const struct json *j, int indent, int level)
{
	bool obj;

	switch (j->type) {
	case JSON_NULL: fputs("null", f); return;
	case JSON_BOOL: fputs(j->b ? "true" : "false", f); return;
	case JSON_INT: fprintf(f, "%" PRId64, j->i); return;
	case JSON_UINT: fprintf(f, "%" PRIu64, j->u); return;
	case JSON_FLOAT:
		if (isfinite(j->d))
			fprintf(f, "%.17g", j->d);
		else
			fputs("null", f);
		return;
	case JSON_STR: write_string(f, j->s, j->len); return;
	case JSON_ARR:
	case JSON_OBJ:
		break;
	}
	obj = j->type == JSON_OBJ;
	fputc(obj ? '{' : '[', f);
	for (size_t i = 0; i < j->len; i++) {
		if (i)
			fputs(indent ? "," : ", ", f);
		if (indent)
			write_indent(f, indent, level + 1);
		if (obj) {
			write_string(f, j->keys[i], strlen(j->keys[i]));
			fputs(": ", f);
		}
		write_value(f, j->items[i], indent, level + 1);
	}
	if (indent && j->len)
		write_indent(f, indent, level);
	fputc(obj ? '}' : ']', f);
}

int json_write(FILE *f, const struct json *j, int indent)
{
	write_value(f, j, indent, 0);
	return ferror(f) ? -EIO : 0;
}
