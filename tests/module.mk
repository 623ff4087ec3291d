# Test harness shared by every C test program.
LIBS += check
check_SRCS := tests/lib/check.c
