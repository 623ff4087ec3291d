#!/usr/bin/env node
// Compiles TreeHeadAnchor.sol with the pinned solc-js (package-lock.json) through its
// standard-JSON API, so the EVM version and optimizer are fixed here and not by
// whatever a tool defaults to. Writes build/TreeHeadAnchor.{abi.json,bin,input.json}.
// The input JSON is what a block explorer needs to verify the deployed bytecode.
//
//   node anchor/contracts/build.js [OUTDIR]     (default: anchor/contracts/build)
'use strict';
const fs = require('fs');
const path = require('path');
const solc = require('solc');

const WANT_SOLC = '0.8.28+commit.7893614a';
const here = __dirname;
const outDir = process.argv[2] ? path.resolve(process.argv[2]) : path.join(here, 'build');

if (!solc.version().startsWith(WANT_SOLC)) {
  console.error(`build.js: solc ${solc.version()} is not the pinned ${WANT_SOLC}; run npm ci`);
  process.exit(1);
}

const input = {
  language: 'Solidity',
  sources: {
    'TreeHeadAnchor.sol': { content: fs.readFileSync(path.join(here, 'TreeHeadAnchor.sol'), 'utf8') },
  },
  settings: {
    evmVersion: 'cancun',
    optimizer: { enabled: true, runs: 1000000 },
    metadata: { bytecodeHash: 'ipfs' },
    outputSelection: { 'TreeHeadAnchor.sol': { TreeHeadAnchor: ['abi', 'evm.bytecode.object'] } },
  },
};

const out = JSON.parse(solc.compile(JSON.stringify(input)));
let failed = false;
for (const e of out.errors || []) {
  console.error(e.formattedMessage || e.message);
  if (e.severity === 'error') failed = true;
}
if (failed) process.exit(1);

const c = out.contracts['TreeHeadAnchor.sol'].TreeHeadAnchor;
fs.mkdirSync(outDir, { recursive: true });
fs.writeFileSync(path.join(outDir, 'TreeHeadAnchor.abi.json'), JSON.stringify(c.abi, null, 2) + '\n');
fs.writeFileSync(path.join(outDir, 'TreeHeadAnchor.bin'), c.evm.bytecode.object + '\n');
fs.writeFileSync(path.join(outDir, 'TreeHeadAnchor.input.json'), JSON.stringify(input, null, 2) + '\n');
console.log(`build.js: wrote ${outDir} (${c.evm.bytecode.object.length / 2} bytes of init code)`);
