// Phala's own dstack SDK (@phala/dstack-sdk, pinned in package.json) as the client of
// dstack-sim: what the real platform's client library sees when it talks to our
// simulator. Used by tests/dstack-sdk.test.sh.
//
//   node tests/dstack-sim/sdk-client.js sim SOCKET APP_COMPOSE_JSON
//     GetKey (ed25519 and secp256k1, twice each), GetQuote with 32 bytes of report data
//     (then the SDK's replayRtmrs on the returned event log), Info, Version, and the
//     SDK's getComposeHash of APP_COMPOSE_JSON; prints one JSON object of facts.
//   node tests/dstack-sim/sdk-client.js replay GETQUOTE_JSON
//     the SDK's replayRtmrs on a captured GetQuote response (the real dstack 0.6.0
//     capture), beside the quote's own RTMRs.
// The SDK is found in the checkout's node_modules, or through NODE_PATH.
'use strict';
const fs = require('fs');
const crypto = require('crypto');
const { DstackClient, getComposeHash } = require('@phala/dstack-sdk');

// TDX quote v4: the TD report body starts at 48; MRTD, then RTMR0-3 and REPORTDATA.
const OFF = { mrtd: 184, rtmr0: 376, report_data: 568 };
function quoteFields(hex) {
  const q = Buffer.from(hex.replace(/^0x/, ''), 'hex');
  const at = (off, n) => q.subarray(off, off + n).toString('hex');
  return {
    mrtd: at(OFF.mrtd, 48),
    rtmrs: [0, 1, 2, 3].map((i) => at(OFF.rtmr0 + 48 * i, 48)),
    report_data: at(OFF.report_data, 64),
  };
}

// The quote's RTMRs and the SDK's replay of the event log it came with.
function replayFacts(resp) {
  const q = quoteFields(resp.quote);
  const replayed = resp.replayRtmrs();
  const log = JSON.parse(resp.event_log);
  return {
    quote_rtmrs: q.rtmrs,
    sdk_replayed_rtmrs: replayed,
    sdk_replay_equal: replayed.map((r, i) => r === q.rtmrs[i]),
    rtmr3_events_with_empty_digest: log.filter((e) => e.imr === 3 && e.digest === '').length,
    rtmr3_events: log.filter((e) => e.imr === 3).length,
  };
}

async function sim(socket, composePath) {
  const c = new DstackClient(socket);
  const out = {};
  const k1 = await c.getKey('xordi-tlog/test/sdk', 'signing', 'ed25519');
  const k1b = await c.getKey('xordi-tlog/test/sdk', 'other purpose', 'ed25519');
  const k2 = await c.getKey('xordi-tlog/test/sdk', 'signing', 'secp256k1');
  out.getkey = {
    ed25519: Buffer.from(k1.key).toString('hex'),
    ed25519_other_purpose: Buffer.from(k1b.key).toString('hex'),
    secp256k1: Buffer.from(k2.key).toString('hex'),
    signature_chain_length: k1.signature_chain.length,
  };
  const rd = crypto.createHash('sha256').update('xordi-tlog sdk test').digest();
  const resp = await c.getQuote(rd);
  const q = quoteFields(resp.quote);
  out.getquote = Object.assign(replayFacts(resp), {
    report_data_sent: rd.toString('hex'),
    report_data_in_quote: q.report_data,
    report_data_returned: resp.report_data,
    vm_config: resp.vm_config === undefined ? null : JSON.parse(resp.vm_config),
  });
  const info = await c.info();
  out.info = {
    app_id: info.app_id,
    instance_id: info.instance_id,
    compose_hash: info.compose_hash,
    device_id: info.device_id,
    os_image_hash: info.os_image_hash,
    key_provider_info: info.key_provider_info,
    vm_config: info.vm_config === undefined ? null : JSON.parse(info.vm_config),
    tcb_rtmrs: [0, 1, 2, 3].map((i) => info.tcb_info['rtmr' + i]),
    tcb_mrtd: info.tcb_info.mrtd,
    tcb_compose_hash: info.tcb_info.compose_hash,
    tcb_os_image_hash: info.tcb_info.os_image_hash,
    tcb_device_id: info.tcb_info.device_id,
    tcb_app_compose_is_file: info.tcb_info.app_compose === fs.readFileSync(composePath, 'utf8'),
    quote_mrtd: q.mrtd,
  };
  const v = await c.version();
  out.version = { version: v.version, rev: v.rev };
  const compose = JSON.parse(fs.readFileSync(composePath, 'utf8'));
  out.sdk_compose_hash = getComposeHash(compose);
  out.sdk_compose_hash_normalized = getComposeHash(compose, true);
  return out;
}

async function main() {
  const [mode, a, b] = process.argv.slice(2);
  let out;
  if (mode === 'sim' && a && b) {
    out = await sim(a, b);
  } else if (mode === 'replay' && a) {
    out = await replayCapture(a);
  } else {
    process.stderr.write('usage: sdk-client.js sim SOCKET APP_COMPOSE_JSON | replay GETQUOTE_JSON\n');
    process.exit(2);
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

// The SDK's replayRtmrs is reached only through getQuote, so the capture is served as a
// GetQuote answer on a throw-away unix socket and fetched with the SDK's own client.
function replayCapture(file) {
  const body = fs.readFileSync(file);
  const os = require('os');
  const path = require('path');
  const net = require('net');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xt-sdk-'));
  const sock = path.join(dir, 'capture.sock');
  const server = net.createServer((conn) => {
    conn.once('data', () => {
      conn.end('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ' + body.length +
               '\r\nConnection: close\r\n\r\n' + body.toString('utf8'));
    });
  });
  return new Promise((resolve, reject) => {
    server.listen(sock, async () => {
      try {
        const resp = await new DstackClient(sock).getQuote(Buffer.alloc(32));
        resolve(replayFacts(resp));
      } catch (e) {
        reject(e);
      } finally {
        server.close();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

main().catch((e) => {
  process.stderr.write('sdk-client: ' + (e && e.stack ? e.stack : e) + '\n');
  process.exit(1);
});
