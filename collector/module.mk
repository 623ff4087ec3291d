# collector: Archive-facing credential intake and watch-history collection, with
# write-ahead logging to logd. Its only egress is compiled in (collector/egress.c).
LIBS += collectorcore
collectorcore_SRCS := collector/validate.c collector/keys.c collector/vault.c \
                      collector/logclient.c collector/api.c
collectorcore_PKGS := libcrypto jansson libcurl rocksdb libmicrohttpd

BINS += collector
collector_SRCS := collector/main.c collector/egress.c
collector_LIBS := collectorcore dstack
collector_PKGS := libcrypto jansson libcurl rocksdb libmicrohttpd

# collector-test: the same sources built with COLLECTOR_TEST_BUILD (thin wrappers in
# collector/testbuild/), which adds --api-base for the mock API. Never shipped.
TOOLS += collector-test
collector-test_SRCS := collector/testbuild/main.c collector/testbuild/egress.c
collector-test_LIBS := collectorcore dstack
collector-test_PKGS := libcrypto jansson libcurl rocksdb libmicrohttpd

# Integration test: real logd + mock-tiktok + collector-test on 127.0.0.1.
TESTS += test-collector
test-collector_SRCS := tests/integration/test_collector.c tests/integration/logd_fixture.c
test-collector_LIBS := merkle dstack testlib check
test-collector_PKGS := jansson libcurl libcrypto

# Unit tests: validation, vault (encryption, tampering), keys, release destination.
TESTS += test-collector-unit
test-collector-unit_SRCS := tests/unit/test_collector_unit.c collector/egress.c
test-collector-unit_LIBS := collectorcore dstack testlib check
test-collector-unit_PKGS := libcrypto jansson libcurl rocksdb
