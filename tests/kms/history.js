// Deploys the KMS stand-ins (tests/kms/KmsStandins.sol) on a local chain the way dstack
// deploys the real ones — DstackKms behind an ERC-1967 proxy, the app created by the
// KMS's factory behind its own proxy — and drives a history through every event both
// contracts emit, with --gap blocks (default 1,500) and an hour of chain time between
// steps, so that a reader limited to 2,000 blocks per eth_getLogs must page. The
// history ends with the app owner handing the contract to a second key, which upgrades
// it to an implementation that allows every compose hash without a ComposeHashAdded.
// Prints, as JSON, what happened as ethers reads it back from the chain:
//   {kms, app, kms_created, app_created, app_impl, allow_all_impl, owner, new_owner,
//    events: [{contract: "app"|"kms", event, block, log_index, time, tx, args: {...}}]}
// Argument values: bytes32 as 64 hex digits, addresses as lowercase 0x + 40, bools,
// strings, bytes as 0x hex.
//
//   node tests/kms/history.js RPC_URL H1 H2 OS1 [--gap N]
'use strict';
const { ethers } = require('ethers');
const { connect } = require('./chain');

const b32 = (s) => '0x' + s;
const fmt = (v) => {
  if (typeof v === 'string' && /^0x[0-9a-fA-F]{64}$/.test(v)) return v.slice(2).toLowerCase();
  if (typeof v === 'string' && /^0x[0-9a-fA-F]{40}$/.test(v)) return v.toLowerCase();
  if (typeof v === 'bigint') return Number(v);
  return v;
};

async function main() {
  const argv = process.argv.slice(2);
  const gi = argv.indexOf('--gap');
  const gap = gi >= 0 ? Number(argv.splice(gi, 2)[1]) : 1500;
  const [url, h1, h2, os1] = argv;
  const { c, provider, owner, next, receipt, deploy, send } = connect(url);
  const step = async () => {
    await provider.send('evm_increaseTime', [3600]);
    await provider.send('anvil_mine', ['0x' + gap.toString(16)]);
  };

  const appImpl = await deploy('DstackAppStandin');
  const kmsImpl = await deploy('DstackKmsStandin');
  const kmsIface = new ethers.Interface(c.DstackKmsStandin.abi);
  await step();
  const kmsProxy = await deploy('StandinProxy', await kmsImpl.getAddress(),
    kmsIface.encodeFunctionData('initialize', [await owner.getAddress(), await appImpl.getAddress()]));
  const kmsCreated = (await receipt(kmsProxy.deploymentTransaction().hash)).blockNumber;
  const kms = new ethers.Contract(await kmsProxy.getAddress(), c.DstackKmsStandin.abi, owner);

  await step();
  const dev1 = ethers.id('device 1'), dev2 = ethers.id('device 2');
  const rc = await send(kms.deployAndRegisterApp(await owner.getAddress(), false, false, false, dev1, b32(h1)));
  const appAddr = rc.logs.map((l) => { try { return kmsIface.parseLog(l); } catch { return null; } })
    .find((p) => p && p.name === 'AppDeployedViaFactory').args[0];
  const appCreated = rc.blockNumber;
  const app = new ethers.Contract(appAddr, c.DstackAppStandin.abi, owner);

  const steps = [
    () => kms.setKmsInfo('0x02' + '11'.repeat(32)),
    () => kms.setGatewayAppId('gateway-app'),
    () => kms.addOsImageHash(b32(os1)),
    () => kms.addKmsAggregatedMr(ethers.id('kms mr')),
    () => kms.addKmsDevice(ethers.id('kms device')),
    () => app.addComposeHash(b32(h2)),
    () => app.removeComposeHash(b32(h1)),
    () => app.addDevice(dev2),
    () => app.removeDevice(dev1),
    () => app.setAllowAnyDevice(true),
    () => app.setRequireTcbUpToDate(true),
    () => kms.addOsImageHash(ethers.id('dev os image')),
    () => kms.removeOsImageHash(ethers.id('dev os image')),
    () => kms.removeKmsAggregatedMr(ethers.id('kms mr')),
    () => kms.removeKmsDevice(ethers.id('kms device')),
    () => kms.registerApp('0x00000000000000000000000000000000000000bb'),
    () => app.transferOwnership(next.getAddress()),
    () => app.connect(next).acceptOwnership(),
  ];
  for (const [i, s] of steps.entries()) {
    await step();
    await send(s());
    if (process.env.XT_VERBOSE) console.error('step', i, Number(await provider.send('eth_blockNumber', [])));
  }
  await step();
  const allowAll = await deploy('DstackAppAllowAll');
  await step();
  await send(app.connect(next).upgradeToAndCall(await allowAll.getAddress(), '0x'));
  await step();
  await send(kms.upgradeToAndCall(await kmsImpl.getAddress(), '0x'));
  await step();
  await send(app.connect(next).disableUpgrades());
  await step();

  const ifaces = { app: new ethers.Interface(c.DstackAppStandin.abi), kms: kmsIface };
  const head = Number(await provider.send('eth_blockNumber', []));
  const events = [];
  for (const [name, addr] of [['kms', await kms.getAddress()], ['app', appAddr]]) {
    for (let from = 0; from <= head; from += 2000) {
      const logs = await provider.getLogs({ address: addr, fromBlock: from, toBlock: Math.min(head, from + 1999) });
      for (const l of logs) {
        const p = ifaces[name].parseLog(l);
        const b = await provider.getBlock(l.blockNumber);
        const args = {};
        p.fragment.inputs.forEach((inp, i) => { args[inp.name] = fmt(p.args[i]); });
        events.push({ contract: name, event: p.name, block: l.blockNumber, log_index: l.index,
                      time: new Date(b.timestamp * 1000).toISOString().replace('.000Z', 'Z'),
                      tx: l.transactionHash, args });
      }
    }
  }
  events.sort((a, b) => a.block - b.block || a.log_index - b.log_index);
  console.log(JSON.stringify({
    kms: (await kms.getAddress()).toLowerCase(), app: appAddr.toLowerCase(),
    kms_created: kmsCreated, app_created: appCreated,
    app_impl: (await appImpl.getAddress()).toLowerCase(), allow_all_impl: (await allowAll.getAddress()).toLowerCase(),
    owner: (await owner.getAddress()).toLowerCase(), new_owner: (await next.getAddress()).toLowerCase(),
    head, events,
  }));
}
main().catch((e) => { console.error(e); process.exit(1); });
