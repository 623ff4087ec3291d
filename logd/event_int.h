/* event_int.h: private to logd/event*.c. What the API (event.c), the one-pass
 * canonicalizer (event_canon.c) and the jansson reference (event_ref.c) share. */
#ifndef XT_LOGD_EVENT_INT_H
#define XT_LOGD_EVENT_INT_H

#include <stddef.h>

#include "logd/event.h"

/* Sets up l as one block for a list of at most nmax events and bytes bytes of text:
 * the pointer and length arrays first (both 8-byte aligned), then the text, whose
 * start it returns (l->mem owns it all). NULL when out of memory or too large (l is
 * then empty). */
char *event_list_block(event_list *l, size_t nmax, size_t bytes);

enum { CANON_OK = 0, CANON_BAD, CANON_NOMEM };

/* Canonicalizes one event (batch 0) or a JSON array of 1..max_events events (batch 1)
 * from the request bytes into *out. CANON_OK; CANON_BAD when the text is refused (the
 * reference words why); CANON_NOMEM. *out is empty unless CANON_OK. */
int event_canon_run(const char *body, size_t len, int batch, size_t max_events, event_list *out);

#endif
