// SPDX-License-Identifier: MIT
// Stand-ins for dstack's KMS contracts (kms/auth-eth: DstackApp and DstackKms) on a
// local chain, for the KMS-history, audit and monitor tests. Written here, not copied:
// what they share with the real contracts is what an auditor reads from the chain — the
// event signatures (every event both contracts and their OpenZeppelin bases emit), the
// ERC-1967 implementation slot and `Upgraded` event of a UUPS proxy, two-step ownership,
// and the public functions the tests call. An upgrade really replaces the code behind
// the proxy, so a test can show an upgrade that allows a compose hash no
// ComposeHashAdded ever named.
pragma solidity 0.8.28;

/// ERC-1967 proxy: the implementation address lives in the standard slot
/// (keccak256("eip1967.proxy.implementation") - 1); every call is delegated to it.
contract StandinProxy {
    bytes32 internal constant IMPL_SLOT = 0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc;

    event Upgraded(address indexed implementation);

    constructor(address implementation, bytes memory initData) payable {
        assembly { sstore(IMPL_SLOT, implementation) }
        emit Upgraded(implementation);
        if (initData.length > 0) {
            (bool ok, bytes memory ret) = implementation.delegatecall(initData);
            if (!ok) assembly { revert(add(ret, 32), mload(ret)) }
        }
    }

    fallback() external payable {
        assembly {
            let impl := sload(IMPL_SLOT)
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), impl, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            switch ok
            case 0 { revert(0, returndatasize()) }
            default { return(0, returndatasize()) }
        }
    }
}

/// What a UUPS implementation behind StandinProxy needs: one-time initialisation
/// (`Initialized(uint64)`), two-step ownership (`OwnershipTransferStarted`,
/// `OwnershipTransferred`) and `upgradeToAndCall` (`Upgraded`), as OpenZeppelin's
/// upgradeable bases emit them.
abstract contract StandinUpgradeable {
    bytes32 internal constant IMPL_SLOT = 0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc;

    address public owner;
    address public pendingOwner;
    uint64 internal initializedVersion;
    bool internal upgradesDisabled;

    event Initialized(uint64 version);
    event OwnershipTransferStarted(address indexed previousOwner, address indexed newOwner);
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);
    event Upgraded(address indexed implementation);
    /// dstack's additive audit event (kms/auth-eth, 2026), emitted beside each specific one.
    event PolicyChanged(address indexed actor, bytes32 indexed policy, bytes32 indexed value, bool enabled);

    function emitPolicy(string memory policy, bytes32 value, bool enabled) internal {
        emit PolicyChanged(msg.sender, keccak256(bytes(policy)), value, enabled);
    }

    modifier onlyOwner() {
        require(msg.sender == owner, "not owner");
        _;
    }

    function initOwner(address initialOwner) internal {
        require(initializedVersion == 0, "already initialized");
        require(initialOwner != address(0), "invalid owner address");
        initializedVersion = 1;
        owner = initialOwner;
        emit OwnershipTransferred(address(0), initialOwner);
    }

    function transferOwnership(address newOwner) external onlyOwner {
        pendingOwner = newOwner;
        emit OwnershipTransferStarted(owner, newOwner);
    }

    function acceptOwnership() external {
        require(msg.sender == pendingOwner, "not pending owner");
        emit OwnershipTransferred(owner, msg.sender);
        owner = msg.sender;
        pendingOwner = address(0);
    }

    function upgradeToAndCall(address implementation, bytes calldata data) external payable onlyOwner {
        require(!upgradesDisabled, "Upgrades are permanently disabled");
        require(implementation.code.length > 0, "not a contract");
        emitPolicy("implementation-upgrade", bytes32(uint256(uint160(implementation))), true);
        assembly { sstore(IMPL_SLOT, implementation) }
        emit Upgraded(implementation);
        if (data.length > 0) {
            (bool ok, bytes memory ret) = implementation.delegatecall(data);
            if (!ok) assembly { revert(add(ret, 32), mload(ret)) }
        }
    }
}

/// DstackApp: which compose hashes (and devices) may receive the app's keys.
contract DstackAppStandin is StandinUpgradeable {
    mapping(bytes32 => bool) internal composeHashes;
    mapping(bytes32 => bool) public allowedDeviceIds;
    bool public allowAnyDevice;
    bool public requireTcbUpToDate;

    event ComposeHashAdded(bytes32 composeHash);
    event ComposeHashRemoved(bytes32 composeHash);
    event DeviceAdded(bytes32 deviceId);
    event DeviceRemoved(bytes32 deviceId);
    event AllowAnyDeviceSet(bool allowAny);
    event RequireTcbUpToDateSet(bool requireUpToDate);
    event UpgradesDisabled();

    /// The six-argument initializer DstackKms's factory calls.
    function initialize(address initialOwner, bool disableUpgrades_, bool requireTcbUpToDate_,
                        bool allowAnyDevice_, bytes32 initialDeviceId, bytes32 initialComposeHash) external {
        upgradesDisabled = disableUpgrades_;
        requireTcbUpToDate = requireTcbUpToDate_;
        allowAnyDevice = allowAnyDevice_;
        if (initialDeviceId != bytes32(0)) {
            allowedDeviceIds[initialDeviceId] = true;
            emit DeviceAdded(initialDeviceId);
            emitPolicy("device", initialDeviceId, true);
        }
        if (initialComposeHash != bytes32(0)) {
            composeHashes[initialComposeHash] = true;
            emit ComposeHashAdded(initialComposeHash);
            emitPolicy("compose-hash", initialComposeHash, true);
        }
        initOwner(initialOwner);
        emit Initialized(1);
    }

    function allowedComposeHashes(bytes32 composeHash) public view virtual returns (bool) {
        return composeHashes[composeHash];
    }

    function addComposeHash(bytes32 composeHash) external onlyOwner {
        composeHashes[composeHash] = true;
        emit ComposeHashAdded(composeHash);
        emitPolicy("compose-hash", composeHash, true);
    }

    function removeComposeHash(bytes32 composeHash) external onlyOwner {
        composeHashes[composeHash] = false;
        emit ComposeHashRemoved(composeHash);
        emitPolicy("compose-hash", composeHash, false);
    }

    function addDevice(bytes32 deviceId) external onlyOwner {
        allowedDeviceIds[deviceId] = true;
        emit DeviceAdded(deviceId);
        emitPolicy("device", deviceId, true);
    }

    function removeDevice(bytes32 deviceId) external onlyOwner {
        allowedDeviceIds[deviceId] = false;
        emit DeviceRemoved(deviceId);
        emitPolicy("device", deviceId, false);
    }

    function setAllowAnyDevice(bool allowAny) external onlyOwner {
        allowAnyDevice = allowAny;
        emit AllowAnyDeviceSet(allowAny);
        emitPolicy("allow-any-device", bytes32(0), allowAny);
    }

    function setRequireTcbUpToDate(bool requireUpToDate) external onlyOwner {
        requireTcbUpToDate = requireUpToDate;
        emit RequireTcbUpToDateSet(requireUpToDate);
        emitPolicy("require-tcb-up-to-date", bytes32(0), requireUpToDate);
    }

    function disableUpgrades() external onlyOwner {
        upgradesDisabled = true;
        emit UpgradesDisabled();
        emitPolicy("upgrades-disabled", bytes32(0), true);
    }
}

/// The hostile upgrade: same storage and events, but every compose hash is allowed
/// without any ComposeHashAdded. Only the `Upgraded` event shows it happened.
contract DstackAppAllowAll is DstackAppStandin {
    function allowedComposeHashes(bytes32) public pure override returns (bool) {
        return true;
    }
}

/// DstackKms: which OS images, KMS measurements and devices the KMS trusts, the apps
/// registered with it, and the factory that deploys an app behind its own proxy.
contract DstackKmsStandin is StandinUpgradeable {
    mapping(address => bool) public registeredApps;
    mapping(bytes32 => bool) public allowedOsImages;
    mapping(bytes32 => bool) public kmsAllowedAggregatedMrs;
    mapping(bytes32 => bool) public kmsAllowedDeviceIds;
    address public appImplementation;
    string public gatewayAppId;

    event AppRegistered(address appId);
    event KmsInfoSet(bytes k256Pubkey);
    event KmsAggregatedMrAdded(bytes32 mrAggregated);
    event KmsAggregatedMrRemoved(bytes32 mrAggregated);
    event KmsDeviceAdded(bytes32 deviceId);
    event KmsDeviceRemoved(bytes32 deviceId);
    event OsImageHashAdded(bytes32 osImageHash);
    event OsImageHashRemoved(bytes32 osImageHash);
    event GatewayAppIdSet(string gatewayAppId);
    event AppImplementationSet(address implementation);
    event AppDeployedViaFactory(address indexed appId, address indexed deployer);

    function initialize(address initialOwner, address appImplementation_) external {
        initOwner(initialOwner);
        if (appImplementation_ != address(0)) {
            appImplementation = appImplementation_;
            emit AppImplementationSet(appImplementation_);
            emitPolicy("app-implementation", bytes32(uint256(uint160(appImplementation_))), true);
        }
        emit Initialized(1);
    }

    function setKmsInfo(bytes calldata k256Pubkey) external onlyOwner {
        emit KmsInfoSet(k256Pubkey);
        emitPolicy("kms-info", keccak256(k256Pubkey), true);
    }

    function setGatewayAppId(string calldata appId) external onlyOwner {
        gatewayAppId = appId;
        emit GatewayAppIdSet(appId);
        emitPolicy("gateway-app-id", keccak256(bytes(appId)), true);
    }

    function setAppImplementation(address implementation) external onlyOwner {
        appImplementation = implementation;
        emit AppImplementationSet(implementation);
        emitPolicy("app-implementation", bytes32(uint256(uint160(implementation))), true);
    }

    function registerApp(address appId) public {
        require(appId != address(0), "Invalid app ID");
        registeredApps[appId] = true;
        emit AppRegistered(appId);
        emitPolicy("registered-app", bytes32(uint256(uint160(appId))), true);
    }

    function deployAndRegisterApp(address initialOwner, bool disableUpgrades_, bool requireTcbUpToDate_,
                                  bool allowAnyDevice_, bytes32 initialDeviceId, bytes32 initialComposeHash)
        external returns (address appId)
    {
        require(appImplementation != address(0), "DstackApp implementation not set");
        bytes memory initData = abi.encodeCall(DstackAppStandin.initialize,
            (initialOwner, disableUpgrades_, requireTcbUpToDate_, allowAnyDevice_, initialDeviceId, initialComposeHash));
        appId = address(new StandinProxy(appImplementation, initData));
        registerApp(appId);
        emit AppDeployedViaFactory(appId, msg.sender);
    }

    function addKmsAggregatedMr(bytes32 mr) external onlyOwner {
        kmsAllowedAggregatedMrs[mr] = true;
        emit KmsAggregatedMrAdded(mr);
        emitPolicy("kms-aggregated-mr", mr, true);
    }

    function removeKmsAggregatedMr(bytes32 mr) external onlyOwner {
        kmsAllowedAggregatedMrs[mr] = false;
        emit KmsAggregatedMrRemoved(mr);
        emitPolicy("kms-aggregated-mr", mr, false);
    }

    function addKmsDevice(bytes32 deviceId) external onlyOwner {
        kmsAllowedDeviceIds[deviceId] = true;
        emit KmsDeviceAdded(deviceId);
        emitPolicy("kms-device", deviceId, true);
    }

    function removeKmsDevice(bytes32 deviceId) external onlyOwner {
        kmsAllowedDeviceIds[deviceId] = false;
        emit KmsDeviceRemoved(deviceId);
        emitPolicy("kms-device", deviceId, false);
    }

    function addOsImageHash(bytes32 osImageHash) external onlyOwner {
        allowedOsImages[osImageHash] = true;
        emit OsImageHashAdded(osImageHash);
        emitPolicy("os-image", osImageHash, true);
    }

    function removeOsImageHash(bytes32 osImageHash) external onlyOwner {
        allowedOsImages[osImageHash] = false;
        emit OsImageHashRemoved(osImageHash);
        emitPolicy("os-image", osImageHash, false);
    }
}
