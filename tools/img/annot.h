/* annot — how crisp-img shows fields in pretty mode: which are hex, flag
 * sets (with their names), dev_t, IP addresses, named values; and which
 * bytes fields use a text encoding even in plain mode (unix socket names).
 * protoc-c drops custom field options, so this table holds them in C.
 */
#ifndef CRISP_IMG_ANNOT_H
#define CRISP_IMG_ANNOT_H

#include <stdint.h>

enum annot_kind { ANNOT_NONE, ANNOT_HEX, ANNOT_FLAGS, ANNOT_DICT, ANNOT_IP,
		  ANNOT_DEV, ANNOT_ODEV, ANNOT_UNIX_NAME };

struct annot_name {
	const char *name;
	uint64_t value;
};

struct annot {
	enum annot_kind kind;
	const struct annot_name *names;	/* FLAGS, DICT: NULL-terminated */
};

/* The annotation of field @field of message @msg (protobuf names). */
const struct annot *annot_find(const char *msg, const char *field);

#endif
