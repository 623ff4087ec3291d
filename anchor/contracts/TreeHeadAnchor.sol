// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title TreeHeadAnchor
/// @notice Keeps, per transparency log, the latest tree head (size, root) and accepts a
/// new head only with an RFC 9162 (section 2.1.4) consistency proof from the stored one,
/// verified here with the SHA-256 precompile. The chain's history of heads therefore can
/// neither fork nor roll back.
/// @dev A log is identified by logId = SHA-256(origin). The owner (the deployer, fixed)
/// registers each log's anchorer once and may rotate it explicitly; only the anchorer
/// can anchor. Gas matters: the head is two storage slots (anchorer and size packed in
/// one, the root in the other) and the proof is read straight from calldata.
contract TreeHeadAnchor {
    /// The caller is not the contract's owner.
    error NotOwner();
    /// The caller is not the log's registered anchorer.
    error NotAnchorer(address anchorer);
    /// No anchorer is registered for this log id.
    error UnknownLog(bytes32 logId);
    /// The log already has an anchorer; use rotate().
    error AlreadyRegistered(bytes32 logId);
    /// The zero address cannot be an anchorer.
    error ZeroAddress();
    /// A tree of size 0 cannot be anchored.
    error EmptyTree();
    /// The new size is smaller than the anchored size.
    error SizeDecreased(uint64 anchoredSize, uint64 newSize);
    /// Same size as the anchored head but a different root: a split view.
    error RootMismatch(bytes32 anchoredRoot, bytes32 newRoot);
    /// The proof does not show the new head consistent with the anchored one.
    error BadConsistencyProof();

    event Registered(bytes32 indexed logId, address anchorer);
    event Rotated(bytes32 indexed logId, address oldAnchorer, address newAnchorer);
    event Anchored(bytes32 indexed logId, uint64 size, bytes32 root, bytes32 checkpointHash);

    struct Log {
        address anchorer; // slot 0, low 160 bits
        uint64 size; //      slot 0, next 64 bits
        bytes32 root; //     slot 1
    }

    address public immutable owner;
    mapping(bytes32 => Log) private logs;

    constructor() {
        owner = msg.sender;
    }

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner();
        _;
    }

    /// @notice Registers the anchorer of a new log. Once per log.
    function register(bytes32 logId, address anchorer) external onlyOwner {
        if (anchorer == address(0)) revert ZeroAddress();
        Log storage l = logs[logId];
        if (l.anchorer != address(0)) revert AlreadyRegistered(logId);
        l.anchorer = anchorer;
        emit Registered(logId, anchorer);
    }

    /// @notice Replaces a log's anchorer (e.g. after a key rotation). The head is kept.
    function rotate(bytes32 logId, address newAnchorer) external onlyOwner {
        if (newAnchorer == address(0)) revert ZeroAddress();
        Log storage l = logs[logId];
        address old = l.anchorer;
        if (old == address(0)) revert UnknownLog(logId);
        l.anchorer = newAnchorer;
        emit Rotated(logId, old, newAnchorer);
    }

    /// @notice The anchored head of a log and its anchorer (all zero when unknown).
    function head(bytes32 logId) external view returns (uint64 size, bytes32 root, address anchorer) {
        Log storage l = logs[logId];
        return (l.size, l.root, l.anchorer);
    }

    /// @notice Anchors the tree head (newSize, newRoot) of a log. checkpointHash is the
    /// SHA-256 of the signed checkpoint note, recorded in the event for auditors.
    /// proof is the RFC 9162 consistency proof from the anchored size to newSize:
    /// empty for the first anchor and for re-anchoring the same head.
    function anchor(
        bytes32 logId,
        uint64 newSize,
        bytes32 newRoot,
        bytes32 checkpointHash,
        bytes32[] calldata proof
    ) external {
        Log storage l = logs[logId];
        address anchorer = l.anchorer;
        uint64 size = l.size;
        if (anchorer == address(0)) revert UnknownLog(logId);
        if (msg.sender != anchorer) revert NotAnchorer(anchorer);
        if (newSize == 0) revert EmptyTree();
        if (newSize < size) revert SizeDecreased(size, newSize);
        if (size == 0) {
            if (proof.length != 0) revert BadConsistencyProof();
        } else {
            bytes32 root = l.root;
            if (newSize == size) {
                if (newRoot != root) revert RootMismatch(root, newRoot);
                if (proof.length != 0) revert BadConsistencyProof();
                emit Anchored(logId, newSize, newRoot, checkpointHash);
                return;
            }
            if (!_consistent(size, newSize, root, newRoot, proof)) revert BadConsistencyProof();
        }
        // One write per slot, without Solidity re-reading slot 0 to merge the fields.
        assembly ("memory-safe") {
            sstore(l.slot, or(anchorer, shl(160, newSize)))
            sstore(add(l.slot, 1), newRoot)
        }
        emit Anchored(logId, newSize, newRoot, checkpointHash);
    }

    /// @dev RFC 9162 section 2.1.4.2 for 0 < m < n. fr rebuilds the old root, sr the new
    /// one; both start from the proof's first hash (or the old root itself when m is a
    /// power of two, which the RFC prepends to the path).
    function _consistent(uint64 m, uint64 n, bytes32 oldRoot, bytes32 newRoot, bytes32[] calldata proof)
        private
        view
        returns (bool ok)
    {
        assembly ("memory-safe") {
            // Two precompile inputs, 0x01 || left || right (65 bytes each), past the
            // free memory pointer (scratch, never allocated): bf for the old root's
            // path, bs for the new one's. Each path's running hash stays in its
            // buffer's right half and the precompile writes its result back there,
            // so a left-combine is one mstore and one call per path.
            let bf := mload(0x40)
            let bs := add(bf, 0x60)
            mstore8(bf, 0x01)
            mstore8(bs, 0x01)
            let p := proof.offset
            let end := add(p, shl(5, proof.length))
            let fn := sub(m, 1)
            let sn := sub(n, 1)
            let calls := 1
            for {} 1 {} {
                if iszero(proof.length) { break }
                let first := oldRoot // m a power of two: the path's implicit first hash
                if and(m, fn) {
                    first := calldataload(p)
                    p := add(p, 0x20)
                }
                mstore(add(bf, 33), first)
                mstore(add(bs, 33), first)
                // Drop the levels where the old tree's last node is a right child.
                for {} and(fn, 1) {} {
                    fn := shr(1, fn)
                    sn := shr(1, sn)
                }
                for {} lt(p, end) { p := add(p, 0x20) } {
                    if iszero(sn) { break }
                    let c := calldataload(p)
                    switch or(and(fn, 1), eq(fn, sn))
                    case 0 {
                        // New path only: sr = H(sr || c).
                        mstore(add(bs, 1), mload(add(bs, 33)))
                        mstore(add(bs, 33), c)
                        calls := and(calls, staticcall(gas(), 0x02, bs, 65, add(bs, 33), 0x20))
                    }
                    default {
                        // Both paths: fr = H(c || fr), sr = H(c || sr).
                        mstore(add(bf, 1), c)
                        calls := and(calls, staticcall(gas(), 0x02, bf, 65, add(bf, 33), 0x20))
                        mstore(add(bs, 1), c)
                        calls := and(calls, staticcall(gas(), 0x02, bs, 65, add(bs, 33), 0x20))
                        if iszero(and(fn, 1)) {
                            for {} 1 {} {
                                if or(and(fn, 1), iszero(fn)) { break }
                                fn := shr(1, fn)
                                sn := shr(1, sn)
                            }
                        }
                    }
                    fn := shr(1, fn)
                    sn := shr(1, sn)
                }
                // Every hash consumed, both roots rebuilt, and the path reached the top.
                ok := and(
                    and(calls, and(eq(p, end), iszero(sn))),
                    and(eq(mload(add(bf, 33)), oldRoot), eq(mload(add(bs, 33)), newRoot))
                )
                break
            }
        }
    }
}
