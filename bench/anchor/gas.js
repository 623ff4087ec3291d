#!/usr/bin/env node
// Gas per anchor at real tree sizes. The trees are genuine RFC 9162 trees whose leaves
// all hold the same bytes, so every perfect subtree of one height has the same hash
// and roots and consistency proofs of 2^40-leaf trees take microseconds; the contract
// sees ordinary, valid proofs (the hash values themselves do not change the gas,
// except through calldata zero bytes, which random-looking hashes do not have).
//
// For each size N it anchors M ~ N - d first (no proof), then N with the real proof from
// M: the cost of one periodic anchor at that size. d is the growth between two
// anchors (default 1000 entries). Prints a Markdown table; --json for machines.
//
//   node bench/anchor/gas.js [--delta D] [--hardfork NAME] [--json]
'use strict';
const fs = require('fs');
const path = require('path');
const { ethers } = require('ethers');
const { ROOT, DEV_KEYS, startAnvil, stopAnvil } = require('../../tests/anchor/lib.js');
const rfc = require('../../tests/anchor/rfc9162.js');

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const delta = BigInt(opt('--delta', '1000'));
const hardfork = opt('--hardfork', null);
const asJson = args.includes('--json');

const build = path.join(ROOT, 'anchor/contracts/build');
const abi = JSON.parse(fs.readFileSync(path.join(build, 'TreeHeadAnchor.abi.json'), 'utf8'));
const bin = '0x' + fs.readFileSync(path.join(build, 'TreeHeadAnchor.bin'), 'utf8').trim();
const hex = (b) => '0x' + Buffer.from(b).toString('hex');

const SIZES = [
  ['10^3', 10n ** 3n], ['10^4', 10n ** 4n], ['10^5', 10n ** 5n], ['10^6', 10n ** 6n],
  ['10^7', 10n ** 7n], ['2^32', 2n ** 32n], ['2^40', 2n ** 40n],
  // Sizes that are not a power of two: the usual case. A tree of exactly 2^k leaves
  // is the worst case for the proof (all of the old tree's peaks lie under the
  // new root's path), a tree of 2^k + r shares its big left subtree in one hash.
  ['2^32 + 0x2468ace', 2n ** 32n + 0x2468acen], ['2^40 + 0x2468ace1', 2n ** 40n + 0x2468ace1n],
];

async function main() {
  const anvil = await startAnvil(hardfork ? ['--hardfork', hardfork] : []);
  const rows = [];
  let deployGas = 0, registerGas = 0, firstGas = 0;
  try {
    const provider = new ethers.JsonRpcProvider(anvil.url, undefined, { staticNetwork: true, polling: true, pollingInterval: 20 });
    const owner = new ethers.NonceManager(new ethers.Wallet(DEV_KEYS[0], provider));
    const deployed = await new ethers.ContractFactory(abi, bin, owner).deploy();
    const c = await deployed.waitForDeployment();
    deployGas = Number((await deployed.deploymentTransaction().wait()).gasUsed);
    const tree = rfc.uniform();
    for (const [label, n] of SIZES) {
      const d = delta < n / 2n ? delta : n / 2n;
      // Two old sizes per row: one with random low bits (the usual case) and one on a
      // 256-entry (full tile) boundary, which shortens the proof by up to 8 hashes.
      for (const [kind, m] of [['any', n - d - 37n], ['tile-aligned', ((n - d) / 256n) * 256n]]) {
        const logId = rfc.sha256(Buffer.from(`bench ${label} ${kind}`));
        registerGas = Number((await (await c.register(logId, await owner.getAddress())).wait()).gasUsed);
        firstGas = Number((await (await c.anchor(logId, m, hex(tree.root(m)), hex(rfc.sha256(Buffer.from('ck'))), [])).wait()).gasUsed);
        const proof = tree.consistency(m, n).map(hex);
        const tx = await c.anchor(logId, n, hex(tree.root(n)), hex(rfc.sha256(Buffer.from('ck2'))), proof);
        const rc = await tx.wait();
        if (rc.status !== 1) throw new Error(`anchor at ${label} failed`);
        // EIP-7623 (Prague; Base since Isthmus): a transaction pays at least
        // 21000 + 10 * (zero bytes + 4 * non-zero bytes of its data).
        const data = Buffer.from(tx.data.slice(2), 'hex');
        const zeros = data.filter((b) => b === 0).length;
        const floor = 21000 + 10 * (zeros + 4 * (data.length - zeros));
        rows.push({ size: label, n: n.toString(), old_size: m.toString(), old_kind: kind, proof_hashes: proof.length,
          calldata_bytes: data.length, calldata_floor: floor, gas: Number(rc.gasUsed) });
      }
    }
  } finally {
    await stopAnvil(anvil);
  }
  if (asJson) { console.log(JSON.stringify({ deploy_gas: deployGas, register_gas: registerGas, first_anchor_gas: firstGas, rows }, null, 2)); return; }
  console.log(`Deploy: ${deployGas} gas; register: ${registerGas} gas; a log's first anchor (no proof): ${firstGas} gas.`);
  console.log('');
  console.log('| tree size N | anchored before (M) | proof hashes | calldata bytes | EIP-7623 floor | gas per anchor |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.size} | ${r.old_size} (${r.old_kind}) | ${r.proof_hashes} | ${r.calldata_bytes} | ${r.calldata_floor} | **${r.gas}** |`);
}

main().catch((e) => { console.error(e.stack || String(e)); process.exit(1); });
