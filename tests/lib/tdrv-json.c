/* tdrv-json — see tdrv.h: JSON equality with Python's semantics for the
 * test drivers (object key order ignored, the last duplicate key wins,
 * 1 == 1.0) and small accessors. Parsing is tools/lib/json's.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "json.h"
#include "tdrv.h"

struct json *tdrv_json_parse(const char *text, size_t len)
{
	char err[128] = "";

	return text ? json_parse(text, len, err, sizeof(err)) : NULL;
}

struct json *tdrv_json_at(const struct json *arr, size_t i)
{
	if (!arr || arr->type != JSON_ARR || i >= arr->len)
		return NULL;
	return arr->items[i];
}

const char *tdrv_json_str(const struct json *j)
{
	return j && j->type == JSON_STR ? j->s : NULL;
}

bool tdrv_json_num(const struct json *j, double *v)
{
	if (!j)
		return false;
	switch (j->type) {
	case JSON_INT: *v = (double)j->i; return true;
	case JSON_UINT: *v = (double)j->u; return true;
	case JSON_FLOAT: *v = j->d; return true;
	default: return false;
	}
}

static bool is_num(const struct json *j)
{
	return j->type == JSON_INT || j->type == JSON_UINT || j->type == JSON_FLOAT;
}

/* An integer against a float: equal only when the float is that integer. */
static bool int_eq_float(const struct json *n, double d)
{
	if (!isfinite(d) || d != floor(d))
		return false;
	if (n->type == JSON_INT)
		return d >= -9223372036854775808.0 && d < 0 && (int64_t)d == n->i;
	return d >= 0 && d < 18446744073709551616.0 && (uint64_t)d == n->u;
}

static bool num_equal(const struct json *a, const struct json *b)
{
	if (a->type == JSON_FLOAT && b->type == JSON_FLOAT)
		return a->d == b->d;
	if (a->type == JSON_FLOAT)
		return int_eq_float(b, a->d);
	if (b->type == JSON_FLOAT)
		return int_eq_float(a, b->d);
	if (a->type != b->type)
		return false;	/* INT holds only negatives, UINT the rest */
	return a->type == JSON_INT ? a->i == b->i : a->u == b->u;
}

/* The value of the last member named @key, or NULL. */
static const struct json *last_member(const struct json *obj, const char *key)
{
	for (size_t i = obj->len; i-- > 0;)
		if (!strcmp(obj->keys[i], key))
			return obj->items[i];
	return NULL;
}

/* The number of distinct keys of @obj. */
static size_t distinct_keys(const struct json *obj)
{
	size_t n = 0;

	for (size_t i = 0; i < obj->len; i++)
		if (last_member(obj, obj->keys[i]) == obj->items[i])
			n++;
	return n;
}

bool tdrv_json_equal(const struct json *a, const struct json *b)
{
	if (!a || !b)
		return a == b;
	if (is_num(a) && is_num(b))
		return num_equal(a, b);
	if (a->type != b->type)
		return false;
	switch (a->type) {
	case JSON_NULL:
		return true;
	case JSON_BOOL:
		return a->b == b->b;
	case JSON_STR:
		return a->len == b->len && !memcmp(a->s, b->s, a->len);
	case JSON_ARR:
		if (a->len != b->len)
			return false;
		for (size_t i = 0; i < a->len; i++)
			if (!tdrv_json_equal(a->items[i], b->items[i]))
				return false;
		return true;
	case JSON_OBJ:
		if (distinct_keys(a) != distinct_keys(b))
			return false;
		for (size_t i = 0; i < a->len; i++) {
			const struct json *bv = last_member(b, a->keys[i]);

			if (!bv || !tdrv_json_equal(last_member(a, a->keys[i]), bv))
				return false;
		}
		return true;
	default:
		return false;
	}
}
