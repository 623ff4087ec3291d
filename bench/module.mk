# Benchmarks: programs run by `make bench` (bench/run.sh), never as timed tests.
TOOLS += bench-merkle
bench-merkle_SRCS := bench/bench_merkle.c
bench-merkle_LIBS := merkle
