# dstack: the dstack guest-agent client, TDX quote parsing and verification, and event
# log replay. Goes into the enclave image (logd and collector use the client).
LIBS += dstack
dstack_SRCS := dstack/err.c dstack/quote_parse.c dstack/collateral.c dstack/pck_chain.c \
  dstack/tcb_eval.c dstack/quote_verify.c dstack/eventlog.c dstack/guest.c dstack/attest.c \
  dstack/pccs.c
dstack_PKGS := libcrypto jansson libcurl

TESTS += test-quote
test-quote_SRCS := tests/unit/test_quote.c
test-quote_LIBS := dstack check

TESTS += test-eventlog
test-eventlog_SRCS := tests/unit/test_eventlog.c
test-eventlog_LIBS := dstack check

# dstack-sim: the guest-agent simulator for tests and the demo (never shipped).
TOOLS += dstack-sim
dstack-sim_SRCS := tests/dstack-sim/dstack_sim.c
dstack-sim_LIBS := dstack
dstack-sim_PKGS := libmicrohttpd

# the guest client against dstack-sim (the test starts the simulator itself)
TESTS += test-dstack-guest
test-dstack-guest_SRCS := tests/unit/test_dstack_guest.c
test-dstack-guest_LIBS := dstack check

FUZZERS += fuzz-quote fuzz-collateral fuzz-eventlog
fuzz-quote_SRCS := tests/fuzz/fuzz_quote.c
fuzz-quote_LIBS := dstack
fuzz-collateral_SRCS := tests/fuzz/fuzz_collateral.c
fuzz-collateral_LIBS := dstack
fuzz-eventlog_SRCS := tests/fuzz/fuzz_eventlog.c
fuzz-eventlog_LIBS := dstack
