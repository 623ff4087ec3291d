// A JSON-RPC proxy in front of a local chain that behaves like a public Base endpoint:
// eth_getLogs over more than --max-range blocks (the range counted inclusively, "latest"
// and a missing bound resolved to the current block) is refused with a JSON-RPC error,
// with --flaky N every Nth request is answered HTTP 429 (rate limited), and with
// --state-window N it answers like a pruned (non-archive) node: eth_getCode at a block
// more than N below the head fails with "missing trie node". Everything
// else is forwarded unchanged. GET /stats returns what it saw ({methods: {name: count},
// refused, rate_limited, max_range_served}) so a test can check a client stayed within
// the limits and recovered.
//
//   node tests/kms/rpc-limit-proxy.js --upstream URL [--max-range 2000] [--flaky N]
//                                     [--state-window N]
// prints the port it listens on (127.0.0.1) on its first line.
'use strict';
const http = require('http');

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const upstream = opt('--upstream');
const maxRange = Number(opt('--max-range', '2000'));
const flaky = Number(opt('--flaky', '0'));
const stateWindow = opt('--state-window') === undefined ? null : BigInt(opt('--state-window'));
if (!upstream || !(maxRange > 0)) {
  console.error('usage: rpc-limit-proxy.js --upstream URL [--max-range N] [--flaky N]');
  process.exit(2);
}

const stats = { methods: {}, refused: 0, rate_limited: 0, max_range_served: 0 };
let requests = 0;

async function call(body) {
  const r = await fetch(upstream, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
  return { status: r.status, text: await r.text() };
}

async function headNumber() {
  const r = await call(JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'eth_blockNumber', params: [] }));
  return BigInt(JSON.parse(r.text).result);
}

async function blockOf(tag, head) {
  if (tag === undefined || ['latest', 'pending', 'safe', 'finalized'].includes(tag)) return head();
  if (tag === 'earliest') return 0n;
  return BigInt(tag);
}

// Returns an error object for a request this endpoint refuses, else null.
async function refusal(req) {
  if (req.method === 'eth_getCode' && stateWindow !== null && req.params && req.params[1]) {
    const tag = req.params[1];
    if (/^0x/.test(tag) && BigInt(tag) + stateWindow < (await headNumber())) {
      stats.refused++;
      return { code: -32000, message: 'missing trie node (state is not available for that block)' };
    }
    return null;
  }
  if (req.method !== 'eth_getLogs') return null;
  const f = (req.params && req.params[0]) || {};
  if (f.blockHash) return null;
  let cached;
  const head = async () => (cached === undefined ? (cached = await headNumber()) : cached);
  const from = await blockOf(f.fromBlock, head), to = await blockOf(f.toBlock, head);
  const range = to >= from ? to - from + 1n : 0n;
  if (range > BigInt(maxRange)) {
    stats.refused++;
    return { code: -32600, message: `eth_getLogs is limited to a ${maxRange} block range` };
  }
  if (Number(range) > stats.max_range_served) stats.max_range_served = Number(range);
  return null;
}

async function handle(req) {
  stats.methods[req.method] = (stats.methods[req.method] || 0) + 1;
  const err = await refusal(req);
  if (err) return { jsonrpc: '2.0', id: req.id, error: err };
  const r = await call(JSON.stringify(req));
  return JSON.parse(r.text);
}

const server = http.createServer((rq, rs) => {
  if (rq.method === 'GET' && rq.url === '/stats') {
    rs.writeHead(200, { 'Content-Type': 'application/json' });
    rs.end(JSON.stringify(stats));
    return;
  }
  const chunks = [];
  rq.on('data', (c) => chunks.push(c));
  rq.on('end', async () => {
    requests++;
    if (flaky > 0 && requests % flaky === 0) {
      stats.rate_limited++;
      rs.writeHead(429, { 'Content-Type': 'application/json', 'Retry-After': '0' });
      rs.end('{"jsonrpc":"2.0","id":null,"error":{"code":-32005,"message":"rate limited"}}');
      return;
    }
    try {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const out = Array.isArray(body) ? await Promise.all(body.map(handle)) : await handle(body);
      rs.writeHead(200, { 'Content-Type': 'application/json' });
      rs.end(JSON.stringify(out));
    } catch (e) {
      rs.writeHead(502, { 'Content-Type': 'text/plain' });
      rs.end(String(e));
    }
  });
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
