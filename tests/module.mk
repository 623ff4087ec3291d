# Test harness shared by every C test program.
LIBS += check
check_SRCS := tests/lib/check.c

# Helpers for integration tests and benchmarks: spawn daemons, HTTP client.
LIBS += testlib
testlib_SRCS := tests/lib/proc.c tests/lib/http.c
testlib_PKGS := libcurl

# mock-tiktok: the TikTok API stand-in the collector tests talk to (never shipped).
TOOLS += mock-tiktok
mock-tiktok_SRCS := tests/mock-tiktok/mock_tiktok.c
mock-tiktok_PKGS := libmicrohttpd jansson
