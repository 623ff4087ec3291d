// Deploys DstackAppStandin on the given chain (anvil) and drives a history through it,
// an hour of chain time apart per step: add H1, add H2, remove H1, upgrade, transfer
// ownership, and (from the new owner) add H1 again. Prints what happened as JSON
// ({address, events: [{event, block, time, ...}]}), read back through ethers, for the
// shell test to compare with `tlog kms-history`.
//
//   node tests/kms/standin.js RPC_URL H1 H2
'use strict';
const fs = require('fs');
const path = require('path');
const solc = require('solc');
const { ethers } = require('ethers');

// anvil's first two dev accounts
const KEYS = ['0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
              '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d'];

async function main() {
  const [url, h1, h2] = process.argv.slice(2);
  const input = {
    language: 'Solidity',
    sources: { 'DstackAppStandin.sol': { content: fs.readFileSync(path.join(__dirname, 'DstackAppStandin.sol'), 'utf8') } },
    settings: { evmVersion: 'cancun', outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } } },
  };
  const out = JSON.parse(solc.compile(JSON.stringify(input)));
  for (const e of out.errors || []) if (e.severity === 'error') throw new Error(e.formattedMessage);
  const c = out.contracts['DstackAppStandin.sol'].DstackAppStandin;

  const provider = new ethers.JsonRpcProvider(url, undefined, { staticNetwork: true, polling: true, pollingInterval: 20 });
  const owner = new ethers.NonceManager(new ethers.Wallet(KEYS[0], provider));
  const next = new ethers.Wallet(KEYS[1], provider);
  const factory = new ethers.ContractFactory(c.abi, '0x' + c.evm.bytecode.object, owner);
  const app = await factory.deploy();
  await app.waitForDeployment();
  const hour = async () => { await provider.send('evm_increaseTime', [3600]); await provider.send('evm_mine', []); };
  const steps = [
    () => app.addComposeHash('0x' + h1),
    () => app.addComposeHash('0x' + h2),
    () => app.removeComposeHash('0x' + h1),
    () => app.upgradeTo('0x00000000000000000000000000000000000000aa'),
    () => app.transferOwnership(next.address),
    () => app.connect(next).addComposeHash('0x' + h1),
  ];
  for (const step of steps) {
    await hour();
    await (await step()).wait();
  }
  const iface = new ethers.Interface(c.abi);
  const logs = await provider.getLogs({ address: await app.getAddress(), fromBlock: 0, toBlock: 'latest' });
  const events = [];
  for (const l of logs) {
    const p = iface.parseLog(l);
    const b = await provider.getBlock(l.blockNumber);
    const e = { event: p.name, block: l.blockNumber, time: new Date(b.timestamp * 1000).toISOString().replace('.000Z', 'Z') };
    if (p.name.startsWith('ComposeHash')) e.compose_hash = p.args[0].slice(2);
    if (p.name === 'Upgraded') e.implementation = p.args[0].toLowerCase();
    if (p.name === 'OwnershipTransferred') e.new_owner = p.args[1].toLowerCase();
    events.push(e);
  }
  console.log(JSON.stringify({ address: await app.getAddress(), events }));
}
main().catch((e) => { console.error(e); process.exit(1); });
