// What the KMS stand-in drivers (history.js, policy-kms.js) share: the compiled
// stand-ins, a provider that reads receipts directly, anvil's first two dev keys, and
// deploy/send helpers that fail on a revert.
'use strict';
const fs = require('fs');
const path = require('path');
const solc = require('solc');
const { ethers } = require('ethers');

// anvil's first two dev accounts
const KEYS = ['0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
              '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d'];

function compile() {
  const input = {
    language: 'Solidity',
    sources: { 'KmsStandins.sol': { content: fs.readFileSync(path.join(__dirname, 'KmsStandins.sol'), 'utf8') } },
    settings: { evmVersion: 'cancun', optimizer: { enabled: true, runs: 200 },
                outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } } },
  };
  const out = JSON.parse(solc.compile(JSON.stringify(input)));
  for (const e of out.errors || []) if (e.severity === 'error') throw new Error(e.formattedMessage);
  return out.contracts['KmsStandins.sol'];
}

// connect(url) -> {c, provider, owner, next, receipt(hash), deploy(name, ...args), send(txPromise)}
function connect(url) {
  const c = compile();
  // No block subscription: after anvil_mine skips thousands of blocks, ethers' block
  // poller would walk every one of them. anvil mines each transaction at once, so a
  // receipt is read directly.
  const provider = new ethers.JsonRpcProvider(url, undefined, { staticNetwork: true, cacheTimeout: -1 });
  const receipt = async (hash) => {
    for (let i = 0; i < 500; i++) {
      const r = await provider.getTransactionReceipt(hash);
      if (r) return r;
      await new Promise((res) => setTimeout(res, 20));
    }
    throw new Error('no receipt for ' + hash);
  };
  const owner = new ethers.NonceManager(new ethers.Wallet(KEYS[0], provider));
  const next = new ethers.NonceManager(new ethers.Wallet(KEYS[1], provider));
  const deploy = async (name, ...a) => {
    const f = new ethers.ContractFactory(c[name].abi, '0x' + c[name].evm.bytecode.object, owner);
    const k = await f.deploy(...a);
    const r = await receipt(k.deploymentTransaction().hash);
    if (r.status !== 1) throw new Error(name + ' deployment reverted');
    return k;
  };
  const send = async (p) => {
    const r = await receipt((await p).hash);
    if (r.status !== 1) throw new Error('transaction reverted');
    return r;
  };
  return { c, provider, owner, next, receipt, deploy, send };
}

module.exports = { KEYS, compile, connect };
