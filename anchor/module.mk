# anchor: the on-chain anchor client (Keccak-256, RLP, ABI, EIP-1559 signing,
# JSON-RPC) and the TreeHeadAnchor contract's artifacts (anchor/contracts/build).
LIBS += anchor
# Programs linking anchor also link merkle (anchor_submit verifies proofs with it).
anchor_SRCS := anchor/keccak.c anchor/quantity.c anchor/rlp.c anchor/abi.c anchor/tx.c anchor/rpc.c \
  anchor/anchor.c anchor/logscan.c anchor/contracts/build/TreeHeadAnchor.code.c
anchor_PKGS := libsecp256k1 libcurl jansson libcrypto

TESTS += test-keccak test-rlp test-tx
test-keccak_SRCS := tests/unit/test_keccak.c
test-keccak_LIBS := anchor merkle check
test-rlp_SRCS := tests/unit/test_rlp.c
test-rlp_LIBS := anchor merkle check
test-tx_SRCS := tests/unit/test_tx.c
test-tx_LIBS := anchor merkle check

# Test driver (signing cross-check with ethers, anchoring synthetic logs on anvil).
TOOLS += anchor-tool
anchor-tool_SRCS := tests/anchor/anchor_tool.c
anchor-tool_LIBS := anchor merkle

TESTS += test-rpc
test-rpc_SRCS := tests/unit/test_rpc.c
test-rpc_LIBS := anchor merkle check
TESTS += test-anchor-client
test-anchor-client_SRCS := tests/unit/test_anchor_client.c
test-anchor-client_LIBS := anchor merkle check
