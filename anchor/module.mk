# anchor: the on-chain anchor client (Keccak-256, RLP, ABI, EIP-1559 signing,
# JSON-RPC) and the TreeHeadAnchor contract's artifacts (anchor/contracts/build).
LIBS += anchor
anchor_SRCS := anchor/keccak.c anchor/hex.c anchor/rlp.c anchor/abi.c anchor/tx.c
anchor_PKGS := libsecp256k1

TESTS += test-keccak test-rlp test-tx
test-keccak_SRCS := tests/unit/test_keccak.c
test-keccak_LIBS := anchor check
test-rlp_SRCS := tests/unit/test_rlp.c
test-rlp_LIBS := anchor check
test-tx_SRCS := tests/unit/test_tx.c
test-tx_LIBS := anchor check
