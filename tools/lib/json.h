/* json — a small JSON value tree: parser, writer and builders, shared by
 * crisp's tools (the image tool, benchmark comparison).
 *
 * The writer prints the way Python's json module does (", " and ": "
 * separators, or 4-space indentation; non-ASCII escaped as \uXXXX), so its
 * output compares textually with crit's. Integers keep 64-bit precision.
 * The parser checks every byte and limits nesting; it never aborts.
 */
#ifndef CRISP_JSON_H
#define CRISP_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum json_type { JSON_NULL, JSON_BOOL, JSON_INT, JSON_UINT, JSON_FLOAT,
		 JSON_STR, JSON_ARR, JSON_OBJ };

struct json {
	enum json_type type;
	union {
		bool b;
		int64_t i;	/* JSON_INT: negative values */
		uint64_t u;	/* JSON_UINT: values >= 0 */
		double d;
	};
	char *s;		/* JSON_STR: bytes (may hold NUL), NUL-terminated */
	size_t len;		/* JSON_STR: length; ARR/OBJ: item count */
	size_t cap;
	struct json **items;	/* ARR, OBJ values */
	char **keys;		/* OBJ keys */
};

/* Parses @len bytes. Returns the tree or NULL, with a message naming the
 * byte offset in @err (@errlen bytes). */
struct json *json_parse(const char *text, size_t len, char *err, size_t errlen);
void json_free(struct json *j);

/* Builders: NULL on allocation failure (json_*_add frees @v then). */
struct json *json_new(enum json_type t);
struct json *json_new_uint(uint64_t v);
struct json *json_new_int(int64_t v);
struct json *json_new_bool(bool v);
struct json *json_new_str(const char *s);
struct json *json_new_strn(const char *s, size_t n);
int json_arr_add(struct json *arr, struct json *v);
int json_obj_add(struct json *obj, const char *key, struct json *v);

/* Member @key of an object, or NULL. */
struct json *json_get(const struct json *obj, const char *key);
/* An integer value (JSON_UINT, or JSON_INT >= 0 for _u64) into @v. */
bool json_as_u64(const struct json *j, uint64_t *v);
bool json_as_i64(const struct json *j, int64_t *v);

/* Writes @j; @indent 0: one line; > 0: that many spaces per level.
 * Returns 0 or -EIO. */
int json_write(FILE *f, const struct json *j, int indent);

#endif
