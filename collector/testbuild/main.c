/* collector-test: the collector's main compiled with the test-only egress override. */
#define COLLECTOR_TEST_BUILD 1
#include "collector/main.c"
