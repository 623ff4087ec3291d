// SPDX-License-Identifier: MIT
// A stand-in for dstack's DstackApp (KMS app contract) that emits the same events, for
// `tlog kms-history` tests on a local chain. Not a copy of dstack's contract: only its
// event signatures, which is what the history reads.
pragma solidity 0.8.28;

contract DstackAppStandin {
    address public owner;
    mapping(bytes32 => bool) public allowedComposeHashes;

    event ComposeHashAdded(bytes32 composeHash);
    event ComposeHashRemoved(bytes32 composeHash);
    event Upgraded(address indexed implementation);
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);

    constructor() {
        owner = msg.sender;
        emit OwnershipTransferred(address(0), msg.sender);
    }

    modifier onlyOwner() {
        require(msg.sender == owner, "not owner");
        _;
    }

    function addComposeHash(bytes32 composeHash) external onlyOwner {
        allowedComposeHashes[composeHash] = true;
        emit ComposeHashAdded(composeHash);
    }

    function removeComposeHash(bytes32 composeHash) external onlyOwner {
        allowedComposeHashes[composeHash] = false;
        emit ComposeHashRemoved(composeHash);
    }

    function upgradeTo(address implementation) external onlyOwner {
        emit Upgraded(implementation);
    }

    function transferOwnership(address newOwner) external onlyOwner {
        emit OwnershipTransferred(owner, newOwner);
        owner = newOwner;
    }
}
