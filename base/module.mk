# base: the bottom of the tree (hex, strict numbers, bounded reads and atomic writes,
# the error convention and logger, the capped HTTP body buffer, jansson's allocation
# policy). Depends on nothing of ours; every module may use it.
LIBS += base
base_SRCS := base/err.c base/hex.c base/num.c base/file.c base/buf.c base/json.c base/time.c
base_PKGS := jansson

TESTS += test-base
test-base_SRCS := tests/unit/test_base.c
test-base_LIBS := check
