/* log.h: logd's operational log: one line per event on stderr, UTC timestamped.
 * Callers never pass secrets (tokens, keys) to it. */
#ifndef XT_LOGD_LOG_H
#define XT_LOGD_LOG_H

void logd_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
