// Contract tests for TreeHeadAnchor on a real anvil, through ethers (an independent
// client): first anchor, a growing log, every rejection with its named error,
// rotation, re-anchoring the same head. Prints TAP-style "ok - " lines.
'use strict';
const fs = require('fs');
const path = require('path');
const { ethers } = require('ethers');
const { ROOT, DEV_KEYS, startAnvil, stopAnvil } = require('./lib.js');
const rfc = require('./rfc9162.js');

const build = path.join(ROOT, 'anchor/contracts/build');
const abi = JSON.parse(fs.readFileSync(path.join(build, 'TreeHeadAnchor.abi.json'), 'utf8'));
const bin = '0x' + fs.readFileSync(path.join(build, 'TreeHeadAnchor.bin'), 'utf8').trim();
const iface = new ethers.Interface(abi);
const hex = (b) => '0x' + Buffer.from(b).toString('hex');

let failed = 0;
function report(ok, name, why) {
  if (ok) console.log(`ok - ${name}`);
  else { failed++; console.log(`not ok - ${name}${why ? ': ' + why : ''}`); }
}

// Sends a call that must revert; returns the decoded custom error name.
async function revertName(contract, fn, args) {
  try {
    await contract[fn].staticCall(...args);
    return '(no revert)';
  } catch (e) {
    const data = e.data || (e.info && e.info.error && e.info.error.data);
    if (!data) return `(no revert data: ${e.shortMessage || e.message})`;
    const parsed = iface.parseError(data);
    return parsed ? parsed.name : `(unknown selector ${data.slice(0, 10)})`;
  }
}

async function main() {
  const anvil = await startAnvil();
  try {
    const provider = new ethers.JsonRpcProvider(anvil.url, undefined, { staticNetwork: true, polling: true, pollingInterval: 20 });
    const owner = new ethers.NonceManager(new ethers.Wallet(DEV_KEYS[0], provider));
    const anchorer = new ethers.NonceManager(new ethers.Wallet(DEV_KEYS[1], provider));
    const other = new ethers.NonceManager(new ethers.Wallet(DEV_KEYS[2], provider));
    const anchorerAddr = await anchorer.getAddress();
    const otherAddr = await other.getAddress();

    const factory = new ethers.ContractFactory(abi, bin, owner);
    const c = await factory.deploy();
    await c.waitForDeployment();
    const addr = await c.getAddress();
    const asOwner = c, asAnchorer = c.connect(anchorer), asOther = c.connect(other);

    const logId = rfc.sha256(Buffer.from('example.org/xordi/log'));
    const tree = rfc.indexed();
    const ck = (n) => hex(rfc.sha256(Buffer.from(`checkpoint ${n}`)));

    report(await revertName(asOther, 'register', [logId, otherAddr]) === 'NotOwner', 'register by non-owner: NotOwner');
    report(await revertName(asAnchorer, 'anchor', [logId, 1, hex(tree.root(1)), ck(1), []]) === 'UnknownLog', 'anchor before register: UnknownLog');
    await (await asOwner.register(logId, anchorerAddr)).wait();
    report(await revertName(asOwner, 'register', [logId, otherAddr]) === 'AlreadyRegistered', 'second register: AlreadyRegistered');
    let h = await c.head(logId);
    report(h[0] === 0n && h[2] === anchorerAddr, 'head after register: size 0, anchorer set');

    // First anchor needs no proof.
    report(await revertName(asOther, 'anchor', [logId, 5, hex(tree.root(5)), ck(5), []]) === 'NotAnchorer', 'anchor from wrong sender: NotAnchorer');
    report(await revertName(asAnchorer, 'anchor', [logId, 0, hex(rfc.sha256()), ck(0), []]) === 'EmptyTree', 'anchor size 0: EmptyTree');
    let rc = await (await asAnchorer.anchor(logId, 5, hex(tree.root(5)), ck(5), [])).wait();
    const ev = rc.logs.map((l) => iface.parseLog(l)).find((l) => l && l.name === 'Anchored');
    report(ev && ev.args.logId === hex(logId) && ev.args.size === 5n && ev.args.root === hex(tree.root(5)) && ev.args.checkpointHash === ck(5), 'first anchor emits Anchored(logId, size, root, checkpointHash)');
    h = await c.head(logId);
    report(h[0] === 5n && h[1] === hex(tree.root(5)), 'head after first anchor');

    // A growing log: every step with a real proof, including power-of-two sizes.
    const sizes = [6, 7, 8, 9, 16, 17, 31, 32, 33, 64, 100, 255, 256, 257, 1000, 1024, 1025, 3000];
    let prev = 5, allOk = true;
    for (const n of sizes) {
      const proof = tree.consistency(prev, n).map(hex);
      const r = await (await asAnchorer.anchor(logId, n, hex(tree.root(n)), ck(n), proof)).wait();
      if (r.status !== 1) allOk = false;
      const hh = await c.head(logId);
      if (hh[0] !== BigInt(n) || hh[1] !== hex(tree.root(n))) allOk = false;
      prev = n;
    }
    report(allOk, `growing log: ${sizes.length} anchors 5 -> 3000 with real proofs`);

    // Rejections, each with its own error.
    const n = 3500, good = tree.consistency(prev, n).map(hex);
    report(await revertName(asAnchorer, 'anchor', [logId, 2999, hex(tree.root(2999)), ck(2999), []]) === 'SizeDecreased', 'smaller size: SizeDecreased');
    report(await revertName(asAnchorer, 'anchor', [logId, prev, hex(tree.root(prev - 1)), ck(prev), []]) === 'RootMismatch', 'same size, other root: RootMismatch');
    report(await revertName(asAnchorer, 'anchor', [logId, prev, hex(tree.root(prev)), ck(prev), good]) === 'BadConsistencyProof', 'same size with a non-empty proof: BadConsistencyProof');
    const bad = [...good]; bad[1] = hex(rfc.sha256(Buffer.from('x')));
    report(await revertName(asAnchorer, 'anchor', [logId, n, hex(tree.root(n)), ck(n), bad]) === 'BadConsistencyProof', 'tampered proof hash: BadConsistencyProof');
    report(await revertName(asAnchorer, 'anchor', [logId, n, hex(tree.root(n + 1)), ck(n), good]) === 'BadConsistencyProof', 'wrong new root: BadConsistencyProof');
    report(await revertName(asAnchorer, 'anchor', [logId, n, hex(tree.root(n)), ck(n), good.slice(0, -1)]) === 'BadConsistencyProof', 'truncated proof: BadConsistencyProof');
    report(await revertName(asAnchorer, 'anchor', [logId, n, hex(tree.root(n)), ck(n), [...good, good[0]]]) === 'BadConsistencyProof', 'extra proof hash: BadConsistencyProof');
    report(await revertName(asAnchorer, 'anchor', [logId, n, hex(tree.root(n)), ck(n), []]) === 'BadConsistencyProof', 'empty proof for growth: BadConsistencyProof');
    // A proof for another old size (a forked history) must fail too.
    const fork = rfc.Tree ? new rfc.Tree((i) => Buffer.from(`fork ${i}`)) : null;
    report(await revertName(asAnchorer, 'anchor', [logId, n, hex(fork.root(n)), ck(n), fork.consistency(prev, n).map(hex)]) === 'BadConsistencyProof', 'forked tree: BadConsistencyProof');
    report(await revertName(asOther, 'anchor', [logId, n, hex(tree.root(n)), ck(n), good]) === 'NotAnchorer', 'valid proof from wrong sender: NotAnchorer');

    // Re-anchoring the same head is allowed (new checkpoint note, same tree).
    rc = await (await asAnchorer.anchor(logId, prev, hex(tree.root(prev)), ck(prev + 1), [])).wait();
    report(rc.status === 1, 're-anchor the same head');

    // Rotation: evented, old anchorer locked out, head kept.
    report(await revertName(asOther, 'rotate', [logId, otherAddr]) === 'NotOwner', 'rotate by non-owner: NotOwner');
    report(await revertName(asOwner, 'rotate', [rfc.sha256(Buffer.from('nope')), otherAddr]) === 'UnknownLog', 'rotate unknown log: UnknownLog');
    report(await revertName(asOwner, 'rotate', [logId, ethers.ZeroAddress]) === 'ZeroAddress', 'rotate to zero: ZeroAddress');
    rc = await (await asOwner.rotate(logId, otherAddr)).wait();
    const rot = rc.logs.map((l) => iface.parseLog(l)).find((l) => l && l.name === 'Rotated');
    report(rot && rot.args.oldAnchorer === anchorerAddr && rot.args.newAnchorer === otherAddr, 'rotate emits Rotated(old, new)');
    report(await revertName(asAnchorer, 'anchor', [logId, n, hex(tree.root(n)), ck(n), good]) === 'NotAnchorer', 'old anchorer after rotation: NotAnchorer');
    rc = await (await asOther.anchor(logId, n, hex(tree.root(n)), ck(n), good)).wait();
    h = await c.head(logId);
    report(rc.status === 1 && h[0] === BigInt(n) && h[2] === otherAddr, 'new anchorer continues from the kept head');
    console.log(`# contract ${addr}; anchor gas at ${n}: ${rc.gasUsed} (${good.length} proof hashes)`);

    // Randomized, against the independent JS proofs: for many old sizes M (one log
    // each), every valid proof M -> N is accepted and every corrupted one rejected.
    let seed = 12345;
    const rnd = (k) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % k; };
    let accepted = 0, rejected = 0, wrong = [];
    const ms = [1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 63, 64, 65, 100, 127, 128, 129, 255, 256, 257, 511, 1000];
    while (ms.length < 32) { const x = 1 + rnd(1500); if (!ms.includes(x)) ms.push(x); }
    // All logs set up first, without waiting for each transaction (one account's
    // transactions stay in nonce order; anvil mines them in that order).
    const setup = [];
    for (const m of ms) {
      const id = rfc.sha256(Buffer.from(`random ${m}`));
      setup.push(await asOwner.register(id, anchorerAddr));
      setup.push(await asAnchorer.anchor(id, m, hex(tree.root(m)), ck(m), []));
    }
    await Promise.all(setup.map((t) => t.wait()));
    for (const m of ms) {
      const id = rfc.sha256(Buffer.from(`random ${m}`));
      for (let k = 0; k < 5; k++) {
        const nn = m + 1 + rnd(k < 2 ? 4 : 1200);
        const proof = tree.consistency(m, nn);
        // Corruptions: one hash flipped, one dropped, one appended, the proof for n+1.
        const flip = rnd(proof.length);
        const bad = [
          proof.map((h, i) => (i === flip ? Buffer.from(h).fill(h[0] ^ 1, 0, 1) : h)),
          proof.slice(1),
          [...proof, proof[0]],
          tree.consistency(m, nn + 1),
        ];
        // Plain eth_call (ethers' staticCall adds round trips), errors decoded here.
        const answers = await Promise.all([proof, ...bad].map(async (b) => {
          const data = iface.encodeFunctionData('anchor', [id, nn, hex(tree.root(nn)), ck(nn), b.map(hex)]);
          const r = await fetch(anvil.url, {
            method: 'POST', headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_call', params: [{ from: anchorerAddr, to: addr, data }, 'latest'] }),
          }).then((x) => x.json());
          if (!r.error) return '(no revert)';
          const parsed = r.error.data ? iface.parseError(r.error.data) : null;
          return parsed ? parsed.name : `(error ${JSON.stringify(r.error)})`;
        }));
        if (answers[0] !== '(no revert)') wrong.push(`${m}->${nn} valid proof: ${answers[0]}`); else accepted++;
        answers.slice(1).forEach((r, i) => {
          if (r !== 'BadConsistencyProof') wrong.push(`${m}->${nn} corruption ${i}: ${r}`); else rejected++;
        });
      }
    }
    if (wrong.length) console.log('# ' + wrong.slice(0, 5).join('\n# '));
    report(wrong.length === 0, `randomized: ${accepted} valid proofs accepted, ${rejected} corrupted ones rejected (${ms.length} old sizes)`);
  } finally {
    await stopAnvil(anvil);
  }
}

main().then(() => process.exit(failed ? 1 : 0), (e) => { console.log(`not ok - contract tests: ${e.stack || e}`); process.exit(1); });
