/* pbjson — generic conversion between protobuf-c messages and JSON trees,
 * driven by the message descriptors. Plain mode prints what crit prints
 * (field names, numbers, enum names, base64 bytes); pretty mode adds hex,
 * flag names, dev_t and IP text from the annotation table. The reverse
 * direction accepts both forms. Never trusts the JSON it is given.
 */
#ifndef CRISP_IMG_PBJSON_H
#define CRISP_IMG_PBJSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "json.h"

/* @m as a JSON object; NULL when out of memory. */
struct json *pbj_from_msg(const ProtobufCMessage *m, bool pretty);

/* A new message of type @d from the object @j (free it with
 * protobuf_c_message_free_unpacked(m, NULL)). Returns 0 or -EINVAL with a
 * reason in @err. */
int pbj_to_msg(const struct json *j, const ProtobufCMessageDescriptor *d,
	       ProtobufCMessage **out, char *err, size_t errlen);

/* base64 as Python's base64.encodebytes writes it (76-column lines, each
 * ending in a newline). Returns a malloc'ed string or NULL. */
char *pbj_base64(const uint8_t *p, size_t n);
/* Decodes base64 (whitespace ignored). Returns 0 or -EINVAL. */
int pbj_unbase64(const char *s, size_t n, uint8_t **out, size_t *outlen);

#endif
