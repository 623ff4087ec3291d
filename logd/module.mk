# logd: the log server (RocksDB storage, group-commit sequencer, HTTP API).
LIBS += logdcore
logdcore_SRCS := logd/event.c logd/event_canon.c logd/event_ref.c logd/ixmem.c logd/store.c logd/sequencer.c logd/seq_queue.c \
                 logd/seq_integrate.c logd/seq_publish.c logd/seq_writer.c
logdcore_PKGS := rocksdb jansson libcrypto

BINS += logd
logd_SRCS := logd/main.c logd/http.c logd/tilecache.c logd/anchoring.c logd/enclave.c logd/ext.c logd/collateral.c \
             logd/worker.c logd/mirror.c logd/s3.c logd/restore.c
logd_LIBS := logdcore tlogcore anchor dstack merkle
logd_PKGS := libmicrohttpd jansson libcrypto rocksdb libsecp256k1 libcurl

TESTS += test-logd
test-logd_SRCS := tests/integration/test_logd.c tests/integration/logd_fixture.c
test-logd_LIBS := merkle testlib check
test-logd_PKGS := jansson libcurl libcrypto

TESTS += test-logd-crash
test-logd-crash_SRCS := tests/integration/test_logd_crash.c tests/integration/logd_fixture.c
test-logd-crash_LIBS := merkle testlib check
test-logd-crash_PKGS := jansson libcurl libcrypto

# The logd load generator (bench/logd.bench.sh).
TOOLS += logd-bench
logd-bench_SRCS := bench/logd_bench.c

FUZZERS += fuzz-event
fuzz-event_SRCS := tests/fuzz/fuzz_event.c
fuzz-event_LIBS := logdcore
fuzz-event_PKGS := jansson

TESTS += test-logd-store
test-logd-store_SRCS := tests/unit/test_logd_store.c
test-logd-store_LIBS := logdcore merkle check
test-logd-store_PKGS := rocksdb jansson libcrypto

FUZZERS += fuzz-entry
fuzz-entry_SRCS := tests/fuzz/fuzz_entry.c
fuzz-entry_LIBS := logdcore
fuzz-entry_PKGS := jansson

# The one-pass canonicalizer (logd/event_canon.c) against jansson (logd/event_ref.c).
FUZZERS += fuzz-event-diff
fuzz-event-diff_SRCS := tests/fuzz/fuzz_event_diff.c
fuzz-event-diff_LIBS := logdcore
fuzz-event-diff_PKGS := jansson

TESTS += test-event
test-event_SRCS := tests/unit/test_event.c
test-event_LIBS := logdcore check
test-event_PKGS := jansson

# CPU cost of event canonicalization, one-pass beside jansson (bench/event.bench.sh).
TOOLS += bench-event
bench-event_SRCS := bench/bench_event.c
bench-event_LIBS := logdcore

# CPU of the index merge's sort, ixmem_sorted beside qsort (bench/ixmem.bench.sh).
TOOLS += bench-ixmem
bench-ixmem_SRCS := bench/bench_ixmem.c
bench-ixmem_LIBS := logdcore

# The sequencer's pure integrate step against merkle/ (no RocksDB, no threads).
TESTS += test-logd-integrate
test-logd-integrate_SRCS := tests/unit/test_logd_integrate.c
test-logd-integrate_LIBS := logdcore merkle check
test-logd-integrate_PKGS := jansson libcrypto
