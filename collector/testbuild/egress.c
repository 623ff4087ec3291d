/* collector-test: the egress compiled so that --api-base may point it at 127.0.0.1. */
#define COLLECTOR_TEST_BUILD 1
#include "collector/egress.c"
