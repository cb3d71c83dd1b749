/* imgjson — a whole image file as crit's JSON document and back:
 * {"magic": "CORE", "entries": [...]}, with the raw bytes some kinds carry
 * after an entry as "extra" (base64, as crit does). No file I/O.
 */
#ifndef CRISP_IMG_IMGJSON_H
#define CRISP_IMG_IMGJSON_H

#include <stdbool.h>

#include "img.h"
#include "json.h"

/* The document for the parsed image @f; NULL when out of memory. */
struct json *imgj_decode(const struct img_file *f, bool pretty);

/* Writes the document @doc as an image through @w (opened by the caller on
 * the kind named by doc's "magic": see imgj_kind()). Returns 0 or -errno,
 * with a reason in @err. */
int imgj_encode(const struct json *doc, struct img_writer *w, char *err, size_t errlen);

/* The image kind named by doc's "magic", or NULL. */
const struct img_kind *imgj_kind(const struct json *doc);

#endif
