/* imgjson — see imgjson.h. Entries go through pbjson; this file adds the
 * image framing rules: the first-entry schema, and the extra payloads.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imgjson.h"
#include "pbjson.h"

static struct json *b64_json(const uint8_t *p, size_t n)
{
	char *t = pbj_base64(p, n);
	struct json *j = t ? json_new_str(t) : NULL;

	free(t);
	return j;
}

static struct json *extra_json(const struct img_file *f, const struct img_entry *e)
{
	uint64_t inq = 0;
	struct json *o;

	if (f->kind->extra != IMG_EXTRA_TCP)
		return b64_json(e->extra, e->extra_len);
	img_msg_uint(e->msg, "inq_len", &inq);
	o = json_new(JSON_OBJ);
	if (o && (json_obj_add(o, "inq", b64_json(e->extra, inq)) ||
		  json_obj_add(o, "outq", b64_json(e->extra + inq, e->extra_len - inq)))) {
		json_free(o);
		return NULL;
	}
	return o;
}

struct json *imgj_decode(const struct img_file *f, bool pretty)
{
	struct json *doc = json_new(JSON_OBJ), *ents = json_new(JSON_ARR);

	if (!doc || !ents)
		goto nomem;
	for (size_t i = 0; i < f->n; i++) {
		const struct img_entry *e = &f->ents[i];
		struct json *o = pbj_from_msg(e->msg, pretty);

		if (!o)
			goto nomem;
		if (e->extra && json_obj_add(o, "extra", extra_json(f, e))) {
			json_free(o);
			goto nomem;
		}
		if (json_arr_add(ents, o))
			goto nomem;
	}
	if (json_obj_add(doc, "magic", json_new_str(f->kind->name)))
		goto nomem;
	if (json_obj_add(doc, "entries", ents))
		goto nomem_doc_only;
	return doc;
nomem:
	json_free(ents);
nomem_doc_only:
	json_free(doc);
	return NULL;
}

const struct img_kind *imgj_kind(const struct json *doc)
{
	const struct json *m = json_get(doc, "magic");

	if (!m || m->type != JSON_STR)
		return NULL;
	return img_kind_by_name(m->s);
}

static int write_b64(struct img_writer *w, const struct json *j, uint64_t want,
		     size_t idx, char *err, size_t errlen)
{
	uint8_t *buf;
	size_t n;
	int ret;

	if (!j || j->type != JSON_STR || pbj_unbase64(j->s, j->len, &buf, &n)) {
		snprintf(err, errlen, "entry %zu: \"extra\" is not base64", idx);
		return -EINVAL;
	}
	if (want != UINT64_MAX && n != want) {
		snprintf(err, errlen, "entry %zu: \"extra\" holds %zu bytes, the entry says %llu",
			 idx, n, (unsigned long long)want);
		free(buf);
		return -EINVAL;
	}
	ret = img_writer_raw(w, buf, n);
	free(buf);
	return ret;
}

static int write_extra(struct img_writer *w, const struct img_kind *k,
		       const ProtobufCMessage *m, const struct json *x, size_t idx,
		       char *err, size_t errlen)
{
	uint64_t a = 0, b = 0;

	switch (k->extra) {
	case IMG_EXTRA_NONE:
		if (x) {
			snprintf(err, errlen, "entry %zu: %s entries carry no \"extra\"", idx, k->name);
			return -EINVAL;
		}
		return 0;
	case IMG_EXTRA_FIELD:
		img_msg_uint(m, k->extra_field, &a);
		if (!x && !a)
			return 0;
		return write_b64(w, x, a, idx, err, errlen);
	case IMG_EXTRA_TCP:
		img_msg_uint(m, "inq_len", &a);
		img_msg_uint(m, "outq_len", &b);
		if (!x || x->type != JSON_OBJ) {
			snprintf(err, errlen, "entry %zu: \"extra\" must hold inq and outq", idx);
			return -EINVAL;
		}
		return write_b64(w, json_get(x, "inq"), a, idx, err, errlen) ?:
		       write_b64(w, json_get(x, "outq"), b, idx, err, errlen);
	case IMG_EXTRA_GHOST:
		if (idx == 0 && img_msg_uint(m, "chunks", &a) && a)
			return 0;
		if (idx > 0)
			img_msg_uint(m, "len", &a);
		if (!x)
			return 0;
		return write_b64(w, x, idx ? a : UINT64_MAX, idx, err, errlen);
	}
	return 0;
}

int imgj_encode(const struct json *doc, struct img_writer *w, char *err, size_t errlen)
{
	const struct img_kind *k = w->kind;
	const struct json *ents = json_get(doc, "entries");
	int ret;

	if (!ents || ents->type != JSON_ARR) {
		snprintf(err, errlen, "no \"entries\" array");
		return -EINVAL;
	}
	for (size_t i = 0; i < ents->len; i++) {
		const struct json *e = ents->items[i];
		const struct json *x = json_get(e, "extra");
		ProtobufCMessage *m;
		struct json *copy;

		if (e->type != JSON_OBJ) {
			snprintf(err, errlen, "entry %zu is not an object", i);
			return -EINVAL;
		}
		/* the message without "extra" */
		copy = json_new(JSON_OBJ);
		if (!copy)
			return -ENOMEM;
		copy->keys = e->keys;
		copy->items = e->items;
		copy->len = e->len;
		if (x) {
			copy->keys = malloc(e->len * sizeof(char *));
			copy->items = malloc(e->len * sizeof(struct json *));
			copy->len = 0;
			for (size_t f = 0; copy->keys && copy->items && f < e->len; f++) {
				if (!strcmp(e->keys[f], "extra"))
					continue;
				copy->keys[copy->len] = e->keys[f];
				copy->items[copy->len++] = e->items[f];
			}
		}
		if (!copy->keys || !copy->items) {
			ret = -ENOMEM;
		} else {
			char why[256];

			ret = pbj_to_msg(copy, img_kind_desc(k, i), &m, why, sizeof(why));
			if (ret)
				snprintf(err, errlen, "entry %zu: %s", i, why);
		}
		if (x) {
			free(copy->keys);
			free(copy->items);
		}
		copy->keys = NULL;
		copy->items = NULL;
		copy->len = 0;
		json_free(copy);
		if (ret)
			return ret;
		ret = img_writer_entry(w, m);
		if (!ret)
			ret = write_extra(w, k, m, x, i, err, errlen);
		protobuf_c_message_free_unpacked(m, NULL);
		if (ret)
			return ret;
	}
	return 0;
}
