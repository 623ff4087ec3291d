// Shared by the node test scripts: start the pinned anvil binary itself (never the
// node wrapper, whose death would orphan anvil), wait until it answers, stop it.
'use strict';
const { spawn } = require('child_process');
const net = require('net');
const path = require('path');

const ROOT = path.resolve(__dirname, '../..');
const ANVIL = path.join(ROOT, 'node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil');
const CHAIN_ID = 84532;
// anvil's well-known first dev accounts (mnemonic "test test ... junk").
const DEV_KEYS = [
  '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
  '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
  '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a',
];

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
    s.on('error', reject);
  });
}

async function rpc(url, method, params = []) {
  const r = await fetch(url, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  return (await r.json()).result;
}

async function startAnvil(extra = []) {
  const port = await freePort();
  const proc = spawn(ANVIL, ['--host', '127.0.0.1', '--port', String(port), '--chain-id',
    String(CHAIN_ID), '--prune-history', '--silent', ...extra], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 500; i++) {
    try { if ((await rpc(url, 'eth_chainId')) === '0x14a34') return { url, port, proc }; } catch (_) { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 10));
  }
  proc.kill('SIGKILL');
  throw new Error('anvil did not start');
}

function stopAnvil(a) {
  if (!a || a.proc.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => { a.proc.once('exit', resolve); a.proc.kill('SIGTERM'); });
}

module.exports = { ROOT, ANVIL, CHAIN_ID, DEV_KEYS, freePort, rpc, startAnvil, stopAnvil };
