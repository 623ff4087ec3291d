// The C signer against ethers: for many transactions with varied fields (zero and
// large numbers, creation and calls, empty and long data, 1-byte and 32-byte values),
// bin/anchor-tool sign must produce exactly the bytes and hash ethers produces.
'use strict';
const { execFileSync } = require('child_process');
const crypto = require('crypto');
const path = require('path');
const { ethers } = require('ethers');
const { ROOT } = require('./lib.js');

const tool = path.join(ROOT, process.env.BIN || 'bin', 'anchor-tool');
// Deterministic pseudo-random choices, so a failure can be replayed.
let seed = crypto.createHash('sha256').update('xordi-tlog sign crosscheck').digest();
const rnd = (n) => { seed = crypto.createHash('sha256').update(seed).digest(); return seed.subarray(0, n); };
const rndInt = (max) => Number(BigInt('0x' + rnd(6).toString('hex')) % BigInt(max));
const pick = (arr) => arr[rndInt(arr.length)];
const bigs = [0n, 1n, 127n, 128n, 255n, 256n, 1000000000n, 2n ** 32n, 2n ** 63n - 1n, 2n ** 64n - 1n];

let failed = 0, n = 0;
const N = 60;
for (let i = 0; i < N; i++) {
  let key;
  do key = rnd(32); while (key.every((b) => b === 0));
  const wallet = new ethers.Wallet('0x' + key.toString('hex'));
  const f = {
    chainId: pick([1n, 8453n, 84532n, 31337n, 2n ** 32n + 7n]),
    nonce: pick([0n, 1n, 127n, 128n, 65535n, 2n ** 40n]),
    maxPriorityFeePerGas: pick(bigs),
    maxFeePerGas: pick(bigs),
    gasLimit: pick([0n, 21000n, 60000n, 30000000n, 2n ** 64n - 1n]),
    to: i % 5 === 0 ? null : ethers.getAddress('0x' + rnd(20).toString('hex')),
    value: pick([0n, 1n, 10n ** 18n, 2n ** 255n + 12345n, 2n ** 256n - 1n]),
    data: '0x' + rnd(32).toString('hex').repeat(pick([0, 1, 2, 7])).slice(0, pick([0, 2, 8, 110, 112, 448])),
  };
  if (f.maxFeePerGas < f.maxPriorityFeePerGas) f.maxFeePerGas = f.maxPriorityFeePerGas;
  const tx = ethers.Transaction.from({ type: 2, accessList: [], ...f });
  tx.signature = wallet.signingKey.sign(tx.unsignedHash);
  const valueHex = f.value.toString(16);
  const out = execFileSync(tool, ['sign', key.toString('hex'), String(f.chainId), String(f.nonce),
    String(f.maxPriorityFeePerGas), String(f.maxFeePerGas), String(f.gasLimit), f.to || '-',
    valueHex.length % 2 ? '0' + valueHex : valueHex, f.data], { encoding: 'utf8' }).trim().split(' ');
  n++;
  if (out[0] !== tx.serialized || out[1] !== tx.hash) {
    failed++;
    console.log(`# vector ${i}: ${JSON.stringify(f, (k, v) => (typeof v === 'bigint' ? v.toString() : v))}`);
    console.log(`#   C      ${out[0]}\n#   ethers ${tx.serialized}`);
  }
}
console.log(`${failed ? 'not ok' : 'ok'} - C signer matches ethers on ${n} EIP-1559 transactions (raw bytes and hash)`);
process.exit(failed ? 1 : 0);
