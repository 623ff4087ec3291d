# Hardening (issue 9): libFuzzer targets for the parsers of untrusted bytes not
# covered by the modules' own targets, and the allocation-failure ("torture") tests.

FUZZERS += fuzz-rlp fuzz-hex-abi fuzz-rpc fuzz-validate fuzz-entryscan fuzz-tile-reader
fuzz-rlp_SRCS := tests/fuzz/fuzz_rlp.c
fuzz-rlp_LIBS := anchor merkle
fuzz-hex-abi_SRCS := tests/fuzz/fuzz_hex_abi.c
fuzz-hex-abi_LIBS := anchor merkle
fuzz-rpc_SRCS := tests/fuzz/fuzz_rpc.c
fuzz-rpc_LIBS := anchor merkle
fuzz-validate_SRCS := tests/fuzz/fuzz_validate.c collector/validate.c
fuzz-validate_LIBS :=
fuzz-entryscan_SRCS := tests/fuzz/fuzz_entryscan.c
fuzz-entryscan_LIBS := tlogcore
fuzz-tile-reader_SRCS := tests/fuzz/fuzz_tile_reader.c
fuzz-tile-reader_LIBS := merkle
fuzz-tlog-parse_SRCS := tests/fuzz/fuzz_tlog_parse.c
fuzz-tlog-parse_LIBS := tlogcore anchor dstack merkle
FUZZERS += fuzz-tlog-parse

# Allocation-failure runs: our objects' malloc/calloc/realloc/strdup/strndup go
# through tests/torture/alloc_fail.c (link-time --wrap), which fails the n-th one.
TORTURE_WRAP := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup,--wrap=strndup
LIBS += torture
torture_SRCS := tests/torture/alloc_fail.c
TESTS += test-torture
test-torture_SRCS := tests/torture/test_torture.c
test-torture_LIBS := torture logdcore collectorcore anchor dstack merkle testlib check
test-torture_PKGS := jansson libcrypto libsecp256k1 libcurl
$(BIN)/test-torture: BASE_LDFLAGS += $(TORTURE_WRAP)

# Abuse tests against a real logd and collector (tests/integration/test_abuse.c).
TESTS += test-abuse
test-abuse_SRCS := tests/integration/test_abuse.c tests/integration/logd_fixture.c
test-abuse_LIBS := merkle testlib check
test-abuse_PKGS := jansson libcurl libcrypto
