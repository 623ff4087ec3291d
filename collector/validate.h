/* validate.h: the only shapes of Archive input the collector accepts.
 * Private to collector/ (and its tests): the collector is a program, not a library.
 *
 * Everything Archive sends is untrusted. Usernames never leave the enclave (only their
 * pseudonyms are logged and they are never put in a URL), and cursor and count go into
 * the one outgoing query string, so all of them are held to small, strict charsets:
 * anything that could become a path segment, a query separator, a header break or a
 * look-alike character is refused before it reaches any other code. */
#ifndef XT_COLLECTOR_VALIDATE_H
#define XT_COLLECTOR_VALIDATE_H

#include <stddef.h>

#define COLLECTOR_USERNAME_MAX 64
#define COLLECTOR_COOKIE_MAX 4096
#define COLLECTOR_CURSOR_MAX 128
#define COLLECTOR_COUNT_MIN 1
#define COLLECTOR_COUNT_MAX 100
#define COLLECTOR_COUNT_DEFAULT 20

/* 1-64 of [A-Za-z0-9_.], not starting or ending with '.', no "..". */
int validate_username(const char *s, size_t len);
/* 1-4096 printable ASCII bytes (0x20-0x7E): no CR, LF, NUL, DEL or non-ASCII. */
int validate_cookie(const char *s, size_t len);
/* 1-128 of [A-Za-z0-9_-]: an opaque token that needs no escaping in a query. */
int validate_cursor(const char *s, size_t len);

#endif
