/* pbjson — see pbjson.h. One walk over the descriptor's fields per
 * direction; scalars go through one converter each way.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "annot.h"
#include "pbjson.h"

/* ---- base64 and quoted-printable -------------------------------------------- */

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *pbj_base64(const uint8_t *p, size_t n)
{
	size_t groups = (n + 2) / 3, lines = (n + 56) / 57;
	char *out = malloc(groups * 4 + lines + 1), *o = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i += 57) {
		size_t end = i + 57 < n ? i + 57 : n;

		for (size_t j = i; j < end; j += 3) {
			uint32_t v = (uint32_t)p[j] << 16;

			if (j + 1 < end)
				v |= (uint32_t)p[j + 1] << 8;
			if (j + 2 < end)
				v |= p[j + 2];
			*o++ = b64[(v >> 18) & 63];
			*o++ = b64[(v >> 12) & 63];
			*o++ = j + 1 < end ? b64[(v >> 6) & 63] : '=';
			*o++ = j + 2 < end ? b64[v & 63] : '=';
		}
		*o++ = '\n';
	}
	*o = 0;
	return out;
}

int pbj_unbase64(const char *s, size_t n, uint8_t **out, size_t *outlen)
{
	uint8_t *buf = malloc(n / 4 * 3 + 3), *o = buf;
	uint32_t acc = 0;
	int bits = 0, pad = 0;

	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const char *c;

		if (s[i] == '\n' || s[i] == '\r' || s[i] == ' ' || s[i] == '\t')
			continue;
		if (s[i] == '=') {
			pad++;
			continue;
		}
		c = s[i] ? strchr(b64, s[i]) : NULL;
		if (!c || pad) {
			free(buf);
			return -EINVAL;
		}
		acc = (acc << 6) | (uint32_t)(c - b64);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			*o++ = (uint8_t)(acc >> bits);
		}
	}
	*out = buf;
	*outlen = (size_t)(o - buf);
	return 0;
}

/* Quoted-printable as Python's quopri.encodestring does it (text mode). */
static char *qp_encode(const uint8_t *p, size_t n, size_t *outlen)
{
	char *out = malloc(n * 4 + 2), *o = out;
	size_t line = 0;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		bool last = i + 1 == n;
		bool enc = c > 126 || c == '=' ||
			   (c == '.' && line == 0 && (last || p[i + 1] == '\n' ||
						      p[i + 1] == '\r' || p[i + 1] == 0)) ||
			   ((c == '\t' || c == ' ') && (last || p[i + 1] == '\n')) ||
			   (c < 33 && c != '\r' && c != '\n' && c != '\t' && c != ' ');

		if (c == '\n') {
			*o++ = '\n';
			line = 0;
			continue;
		}
		if (line + (enc ? 3 : 1) >= 76 && !(last && !enc && line + 1 < 77)) {
			*o++ = '=';
			*o++ = '\n';
			line = 0;
		}
		if (enc) {
			o += sprintf(o, "=%02X", c);
			line += 3;
		} else {
			*o++ = (char)c;
			line++;
		}
	}
	*o = 0;
	*outlen = (size_t)(o - out);
	return out;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int qp_decode(const char *s, size_t n, uint8_t **out, size_t *outlen)
{
	uint8_t *buf = malloc(n + 1), *o = buf;

	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '=') {
			*o++ = (uint8_t)s[i];
			continue;
		}
		if (i + 1 < n && s[i + 1] == '\n') {
			i++;
			continue;
		}
		if (i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
			*o++ = (uint8_t)(hexval(s[i + 1]) << 4 | hexval(s[i + 2]));
			i += 2;
			continue;
		}
		*o++ = '=';
	}
	*out = buf;
	*outlen = (size_t)(o - buf);
	return 0;
}

/* ---- message to JSON ----------------------------------------------------------- */

static size_t elem_size(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64: case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64: case PROTOBUF_C_TYPE_DOUBLE:
		return 8;
	case PROTOBUF_C_TYPE_STRING: case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	default:
		return 4;
	}
}

static bool is_signed(ProtobufCType t)
{
	return t == PROTOBUF_C_TYPE_INT32 || t == PROTOBUF_C_TYPE_SINT32 ||
	       t == PROTOBUF_C_TYPE_SFIXED32 || t == PROTOBUF_C_TYPE_INT64 ||
	       t == PROTOBUF_C_TYPE_SINT64 || t == PROTOBUF_C_TYPE_SFIXED64;
}

/* Reads an integer element as signed or unsigned 64 bits. */
static void get_int(const ProtobufCFieldDescriptor *f, const void *p,
		    int64_t *s, uint64_t *u)
{
	switch (elem_size(f->type)) {
	case 8:
		memcpy(u, p, 8);
		*s = (int64_t)*u;
		break;
	default: {
		uint32_t v;

		memcpy(&v, p, 4);
		*u = v;
		*s = (int32_t)v;
	}
	}
}

static struct json *str_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static struct json *str_printf(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return json_new_str(buf);
}

static struct json *flags_text(uint64_t v, const struct annot_name *names)
{
	char buf[1024] = "";
	size_t len = 0;
	uint64_t known = 0;

	for (const struct annot_name *n = names; n->name; n++) {
		known |= n->value;
		if (v & n->value)
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s",
						len ? " | " : "", n->name);
	}
	if (v & ~known)
		snprintf(buf + len, sizeof(buf) - len, "%s0x%" PRIx64, len ? " | " : "",
			 v & ~known);
	return json_new_str(buf);
}

static struct json *int_to_json(const ProtobufCFieldDescriptor *f, const void *p,
				const struct annot *a, bool pretty, bool hex)
{
	int64_t s;
	uint64_t u;

	get_int(f, p, &s, &u);
	if (pretty && hex) {
		if (is_signed(f->type) && s < 0)
			return str_printf("-0x%" PRIx64, -(uint64_t)s);
		return str_printf("0x%" PRIx64, u);
	}
	if (pretty && a && a->kind == ANNOT_DEV)
		return str_printf("%" PRIu64 ":%" PRIu64, u >> 20, u & 0xfffff);
	if (pretty && a && a->kind == ANNOT_ODEV)
		return str_printf("%u:%u", major(u), minor(u));
	if (pretty && a && a->kind == ANNOT_FLAGS)
		return flags_text(u, a->names);
	if (pretty && a && a->kind == ANNOT_DICT) {
		for (const struct annot_name *n = a->names; n->name; n++)
			if (n->value == u)
				return json_new_str(n->name);
	}
	return is_signed(f->type) ? json_new_int(s) : json_new_uint(u);
}

static struct json *msg_to_json(const ProtobufCMessage *m, bool pretty, bool hex);

static struct json *elem_to_json(const ProtobufCFieldDescriptor *f, const void *p,
				 const struct annot *a, bool pretty, bool hex)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_BOOL:
		return json_new_bool(*(const protobuf_c_boolean *)p);
	case PROTOBUF_C_TYPE_ENUM: {
		const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(
			f->descriptor, *(const int *)p);

		return ev ? json_new_str(ev->name) : json_new_int(*(const int *)p);
	}
	case PROTOBUF_C_TYPE_STRING:
		return json_new_str(*(char *const *)p);
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *b = p;
		struct json *j;
		char *t;
		size_t n;

		if (a && a->kind == ANNOT_UNIX_NAME) {
			t = qp_encode(b->data, b->len, &n);
			j = t ? json_new_strn(t, n) : NULL;
		} else {
			t = pbj_base64(b->data, b->len);
			j = t ? json_new_str(t) : NULL;
		}
		free(t);
		return j;
	}
	case PROTOBUF_C_TYPE_MESSAGE:
		return msg_to_json(*(ProtobufCMessage *const *)p, pretty, hex);
	case PROTOBUF_C_TYPE_FLOAT:
	case PROTOBUF_C_TYPE_DOUBLE: {
		struct json *j = json_new(JSON_FLOAT);

		if (j)
			j->d = f->type == PROTOBUF_C_TYPE_FLOAT ? *(const float *)p :
								  *(const double *)p;
		return j;
	}
	default:
		return int_to_json(f, p, a, pretty, hex);
	}
}

static struct json *ip_to_json(const uint32_t *w, size_t n)
{
	char buf[INET6_ADDRSTRLEN];
	struct json *arr = json_new(JSON_ARR);

	if (!arr)
		return NULL;
	/* the words hold the address in network byte order, as in memory */
	if (!inet_ntop(n == 1 ? AF_INET : AF_INET6, w, buf, sizeof(buf)))
		snprintf(buf, sizeof(buf), "?");
	if (json_arr_add(arr, json_new_str(buf))) {
		json_free(arr);
		return NULL;
	}
	return arr;
}

static bool field_present(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
	const char *base = (const char *)m;

	if (f->label == PROTOBUF_C_LABEL_REPEATED)
		return *(const size_t *)(base + f->quantifier_offset) > 0;
	if (f->label == PROTOBUF_C_LABEL_REQUIRED)
		return true;
	if (f->type == PROTOBUF_C_TYPE_MESSAGE || f->type == PROTOBUF_C_TYPE_STRING) {
		const void *ptr = *(void *const *)(base + f->offset);

		return ptr && ptr != f->default_value;
	}
	if (f->quantifier_offset)
		return *(const protobuf_c_boolean *)(base + f->quantifier_offset);
	return true;
}

static struct json *msg_to_json(const ProtobufCMessage *m, bool pretty, bool hex)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	struct json *obj = json_new(JSON_OBJ);
	const char *base = (const char *)m;

	if (!obj)
		return NULL;
	for (unsigned int i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const struct annot *a = annot_find(d->name, f->name);
		bool fhex = hex || (a && a->kind == ANNOT_HEX);
		struct json *v;

		if (!field_present(m, f))
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(base + f->quantifier_offset);
			const char *arr = *(char *const *)(base + f->offset);

			if (pretty && a && a->kind == ANNOT_IP &&
			    (n == 1 || n == 4) && elem_size(f->type) == 4) {
				v = ip_to_json((const uint32_t *)arr, n);
			} else {
				v = json_new(JSON_ARR);
				for (size_t k = 0; v && k < n; k++)
					if (json_arr_add(v, elem_to_json(f, arr + k * elem_size(f->type),
									 a, pretty, fhex))) {
						json_free(v);
						v = NULL;
					}
			}
		} else {
			v = elem_to_json(f, base + f->offset, a, pretty, fhex);
		}
		if (json_obj_add(obj, f->name, v)) {
			json_free(obj);
			return NULL;
		}
	}
	return obj;
}

struct json *pbj_from_msg(const ProtobufCMessage *m, bool pretty)
{
	return msg_to_json(m, pretty, false);
}

/* ---- JSON to message ------------------------------------------------------------ */

struct pbj_err {
	char *buf;
	size_t len;
};

static int fail(struct pbj_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct pbj_err *e, const char *fmt, ...)
{
	va_list ap;

	if (e->buf && e->len && !e->buf[0]) {
		va_start(ap, fmt);
		vsnprintf(e->buf, e->len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int parse_uint_text(const char *s, uint64_t *v)
{
	char *end;

	while (*s == ' ')
		s++;
	if (!*s || *s == '-')
		return -EINVAL;
	errno = 0;
	*v = strtoull(s, &end, 0);
	while (*end == ' ')
		end++;
	return errno || *end ? -EINVAL : 0;
}

/* Integer from JSON: a number, or one of the pretty spellings. */
static int json_to_int(const struct json *j, const ProtobufCFieldDescriptor *f,
		       const struct annot *a, uint64_t *u, struct pbj_err *e)
{
	int64_t s;

	if (j->type == JSON_UINT) {
		*u = j->u;
		return 0;
	}
	if (j->type == JSON_INT && is_signed(f->type)) {
		*u = (uint64_t)j->i;
		return 0;
	}
	if (j->type != JSON_STR)
		return fail(e, "%s: expected an integer", f->name);
	if (a && (a->kind == ANNOT_DEV || a->kind == ANNOT_ODEV)) {
		unsigned int ma, mi;
		char c;

		if (sscanf(j->s, "%u:%u%c", &ma, &mi, &c) == 2) {
			*u = a->kind == ANNOT_DEV ? ((uint64_t)ma << 20 | mi) : makedev(ma, mi);
			return 0;
		}
	}
	if (a && a->kind == ANNOT_FLAGS) {
		char *copy = strdup(j->s), *save = NULL, *tok;
		uint64_t acc = 0;

		if (!copy)
			return -ENOMEM;
		for (tok = strtok_r(copy, "|", &save); tok; tok = strtok_r(NULL, "|", &save)) {
			const struct annot_name *n;
			char *t = tok, *end = tok + strlen(tok);
			uint64_t v;

			while (*t == ' ')
				t++;
			while (end > t && end[-1] == ' ')
				*--end = 0;
			for (n = a->names; n->name && strcmp(n->name, t); n++)
				;
			if (n->name) {
				acc |= n->value;
			} else if (!parse_uint_text(t, &v)) {
				acc |= v;
			} else {
				free(copy);
				return fail(e, "%s: unknown flag \"%s\"", f->name, t);
			}
		}
		free(copy);
		*u = acc;
		return 0;
	}
	if (a && a->kind == ANNOT_DICT) {
		for (const struct annot_name *n = a->names; n->name; n++)
			if (!strcmp(n->name, j->s)) {
				*u = n->value;
				return 0;
			}
	}
	if (j->s[0] == '-' && is_signed(f->type)) {
		char *end;

		errno = 0;
		s = strtoll(j->s, &end, 0);
		if (!errno && !*end) {
			*u = (uint64_t)s;
			return 0;
		}
	}
	if (!parse_uint_text(j->s, u))
		return 0;
	return fail(e, "%s: \"%s\" is not an integer", f->name, j->s);
}

static int json_to_elem(const struct json *j, const ProtobufCFieldDescriptor *f,
			const struct annot *a, void *p, struct pbj_err *e, int depth);

static int json_to_fields(const struct json *j, ProtobufCMessage *m,
			  struct pbj_err *e, int depth);

static int new_msg(const ProtobufCMessageDescriptor *d, ProtobufCMessage **out)
{
	ProtobufCMessage *m = calloc(1, d->sizeof_message);

	if (!m)
		return -ENOMEM;
	d->message_init(m);
	*out = m;
	return 0;
}

static int json_to_elem(const struct json *j, const ProtobufCFieldDescriptor *f,
			const struct annot *a, void *p, struct pbj_err *e, int depth)
{
	uint64_t u;
	int ret;

	switch (f->type) {
	case PROTOBUF_C_TYPE_BOOL:
		if (j->type != JSON_BOOL)
			return fail(e, "%s: expected true or false", f->name);
		*(protobuf_c_boolean *)p = j->b;
		return 0;
	case PROTOBUF_C_TYPE_ENUM: {
		const ProtobufCEnumValue *ev = NULL;
		int64_t v;

		if (j->type == JSON_STR)
			ev = protobuf_c_enum_descriptor_get_value_by_name(f->descriptor, j->s);
		if (ev) {
			*(int *)p = ev->value;
			return 0;
		}
		if (json_as_i64(j, &v) && v >= INT32_MIN && v <= INT32_MAX) {
			*(int *)p = (int)v;
			return 0;
		}
		return fail(e, "%s: not a value of %s", f->name,
			    ((const ProtobufCEnumDescriptor *)f->descriptor)->name);
	}
	case PROTOBUF_C_TYPE_STRING: {
		char *s;

		if (j->type != JSON_STR)
			return fail(e, "%s: expected a string", f->name);
		s = malloc(j->len + 1);
		if (!s)
			return -ENOMEM;
		memcpy(s, j->s, j->len + 1);
		*(char **)p = s;
		return 0;
	}
	case PROTOBUF_C_TYPE_BYTES: {
		ProtobufCBinaryData *b = p;

		if (j->type != JSON_STR)
			return fail(e, "%s: expected a string", f->name);
		ret = a && a->kind == ANNOT_UNIX_NAME ?
			qp_decode(j->s, j->len, &b->data, &b->len) :
			pbj_unbase64(j->s, j->len, &b->data, &b->len);
		return ret ? fail(e, "%s: bad encoding of bytes", f->name) : 0;
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		ProtobufCMessage *sub;

		if (j->type != JSON_OBJ)
			return fail(e, "%s: expected an object", f->name);
		if (depth > 64)
			return fail(e, "%s: nested too deep", f->name);
		ret = new_msg(f->descriptor, &sub);
		if (ret)
			return ret;
		*(ProtobufCMessage **)p = sub;
		return json_to_fields(j, sub, e, depth + 1);
	}
	case PROTOBUF_C_TYPE_FLOAT:
	case PROTOBUF_C_TYPE_DOUBLE: {
		double d;

		if (j->type == JSON_FLOAT)
			d = j->d;
		else if (j->type == JSON_UINT)
			d = (double)j->u;
		else if (j->type == JSON_INT)
			d = (double)j->i;
		else
			return fail(e, "%s: expected a number", f->name);
		if (f->type == PROTOBUF_C_TYPE_FLOAT)
			*(float *)p = (float)d;
		else
			*(double *)p = d;
		return 0;
	}
	default:
		ret = json_to_int(j, f, a, &u, e);
		if (ret)
			return ret;
		if (elem_size(f->type) == 4) {
			uint32_t v = (uint32_t)u;

			if (is_signed(f->type) ? ((int64_t)u < INT32_MIN || (int64_t)u > INT32_MAX)
					       : u > UINT32_MAX)
				return fail(e, "%s: %" PRIu64 " does not fit 32 bits", f->name, u);
			memcpy(p, &v, 4);
		} else {
			memcpy(p, &u, 8);
		}
		return 0;
	}
}

/* An IP address in text into 1 or 4 network-order words. */
static int ip_from_text(const char *s, uint32_t *w, size_t *n)
{
	if (inet_pton(AF_INET, s, w) == 1) {
		*n = 1;
		return 0;
	}
	if (inet_pton(AF_INET6, s, w) == 1) {
		*n = 4;
		return 0;
	}
	return -EINVAL;
}

static int json_to_fields(const struct json *j, ProtobufCMessage *m,
			  struct pbj_err *e, int depth)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	char *base = (char *)m;
	int ret;

	if (j->type != JSON_OBJ)
		return fail(e, "%s: expected an object", d->name);
	for (size_t i = 0; i < j->len; i++) {
		const ProtobufCFieldDescriptor *f =
			protobuf_c_message_descriptor_get_field_by_name(d, j->keys[i]);
		const struct json *v = j->items[i];
		const struct annot *a;

		if (!f)
			return fail(e, "%s has no field \"%s\"", d->name, j->keys[i]);
		a = annot_find(d->name, f->name);
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t es = elem_size(f->type), *np = (size_t *)(base + f->quantifier_offset);
			char **arr = (char **)(base + f->offset);
			uint32_t w[4];
			size_t nw;

			if (v->type != JSON_ARR)
				return fail(e, "%s: expected an array", f->name);
			if (*arr)
				return fail(e, "%s: given twice", f->name);
			if (a && a->kind == ANNOT_IP && v->len == 1 &&
			    v->items[0]->type == JSON_STR) {
				if (ip_from_text(v->items[0]->s, w, &nw))
					return fail(e, "%s: bad IP address", f->name);
				*arr = malloc(nw * 4);
				if (!*arr)
					return -ENOMEM;
				memcpy(*arr, w, nw * 4);
				*np = nw;
				continue;
			}
			*arr = calloc(v->len ? v->len : 1, es);
			if (!*arr)
				return -ENOMEM;
			for (size_t k = 0; k < v->len; k++) {
				ret = json_to_elem(v->items[k], f, a, *arr + k * es, e, depth);
				*np = k + 1;	/* what is set gets freed */
				if (ret)
					return ret;
			}
			continue;
		}
		if (field_present(m, f) && f->label != PROTOBUF_C_LABEL_REQUIRED)
			return fail(e, "%s: given twice", f->name);
		ret = json_to_elem(v, f, a, base + f->offset, e, depth);
		if (ret)
			return ret;
		if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset &&
		    f->type != PROTOBUF_C_TYPE_MESSAGE && f->type != PROTOBUF_C_TYPE_STRING)
			*(protobuf_c_boolean *)(base + f->quantifier_offset) = 1;
	}
	for (unsigned int i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];

		if (f->label == PROTOBUF_C_LABEL_REQUIRED && !json_get(j, f->name))
			return fail(e, "%s: required field \"%s\" missing", d->name, f->name);
	}
	return 0;
}

int pbj_to_msg(const struct json *j, const ProtobufCMessageDescriptor *d,
	       ProtobufCMessage **out, char *err, size_t errlen)
{
	struct pbj_err e = { err, errlen };
	ProtobufCMessage *m;
	int ret;

	if (err && errlen)
		err[0] = 0;
	ret = new_msg(d, &m);
	if (ret)
		return ret;
	ret = json_to_fields(j, m, &e, 0);
	if (ret) {
		protobuf_c_message_free_unpacked(m, NULL);
		return ret;
	}
	*out = m;
	return 0;
}
