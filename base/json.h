/* json.h: the process-wide allocation policy for jansson.
 *
 * jansson can drop data silently when an allocation fails inside it (an object member
 * or array item quietly missing from a document we then sign, log or trust). Daemons
 * that write evidence therefore abort on allocation failure instead of continuing with
 * a partial document. */
#ifndef XT_BASE_JSON_H
#define XT_BASE_JSON_H

/* Makes every jansson allocation of this process abort (with a message on stderr) when
 * malloc fails. Call once at start-up before any jansson use. */
void xt_json_abort_on_oom(void);

#endif
