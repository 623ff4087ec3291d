# merkle: RFC 9162 hashing and proofs, C2SP tiles, signed notes and checkpoints.
LIBS += merkle
merkle_SRCS := merkle/sha256.c merkle/merkle.c merkle/tile.c merkle/note.c
merkle_PKGS := libcrypto

TESTS += test-merkle test-tile test-note
test-merkle_SRCS := tests/unit/test_merkle.c
test-merkle_LIBS := merkle check
test-merkle_PKGS := jansson
test-tile_SRCS := tests/unit/test_tile.c
test-tile_LIBS := merkle check
test-tile_PKGS := jansson
test-note_SRCS := tests/unit/test_note.c
test-note_LIBS := merkle check

FUZZERS += fuzz-tile-path fuzz-note
fuzz-tile-path_SRCS := tests/fuzz/fuzz_tile_path.c
fuzz-tile-path_LIBS := merkle
fuzz-note_SRCS := tests/fuzz/fuzz_note.c
fuzz-note_LIBS := merkle
