// The KMS stand-ins (tests/kms/KmsStandins.sol) for tests/audit-policy.test.sh: an
// honest deployment, then the hostile operator's moves on it one at a time.
//
//   node tests/kms/policy-kms.js deploy RPC_URL COMPOSE_HASH OS_IMAGE_HASH [INIT]
//     DstackKms behind its proxy, the app from the KMS's factory with COMPOSE_HASH,
//     requiring an UpToDate TCB, the KMS allowing OS_IMAGE_HASH (none when ""). INIT
//     "any-device" initialises allowAnyDevice true, "tcb-any" requireTcbUpToDate false
//     (both without an event, as dstack's initializer does). Prints {kms, app, kms_impl,
//     app_impl, owner, kms_created, app_created} (the creation blocks).
//   node tests/kms/policy-kms.js route RPC_URL KMS APP NAME [ARG]
//     NAME: brief H (add H, then remove it), allow-all (upgrade the app to
//     DstackAppAllowAll), transfer (hand the app to anvil's second key, which accepts),
//     any-device (AllowAnyDeviceSet(true)), os H (the KMS allows OS image H), tcb-any
//     (RequireTcbUpToDateSet(false)), kms-mr H (the KMS allows aggregated MR H), benign
//     (events the policy allows: a device, a KMS device, KmsInfoSet, GatewayAppIdSet,
//     AppImplementationSet, another app registered, RequireTcbUpToDateSet(true)).
//     Prints {route, txs: [{tx, block}], allow_all_impl?, new_owner?}.
'use strict';
const { ethers } = require('ethers');
const { connect } = require('./chain');

async function main() {
  const [mode, url, ...rest] = process.argv.slice(2);
  const { c, owner, next, receipt, deploy, send: sendRaw } = connect(url);
  const send = async (p) => {
    const r = await sendRaw(p);
    return { tx: r.hash, block: r.blockNumber };
  };
  const kmsIface = new ethers.Interface(c.DstackKmsStandin.abi);

  if (mode === 'deploy') {
    const [h, os, init] = rest;
    const requireTcb = init !== 'tcb-any', allowAny = init === 'any-device';
    const appImpl = await deploy('DstackAppStandin');
    const kmsImpl = await deploy('DstackKmsStandin');
    const proxy = await deploy('StandinProxy', await kmsImpl.getAddress(),
      kmsIface.encodeFunctionData('initialize', [await owner.getAddress(), await appImpl.getAddress()]));
    const kmsCreated = (await receipt(proxy.deploymentTransaction().hash)).blockNumber;
    const kms = new ethers.Contract(await proxy.getAddress(), c.DstackKmsStandin.abi, owner);
    const rc = await receipt((await kms.deployAndRegisterApp(await owner.getAddress(), false, requireTcb, allowAny,
      ethers.id('device 1'), '0x' + h)).hash);
    const app = rc.logs.map((l) => { try { return kmsIface.parseLog(l); } catch { return null; } })
      .find((p) => p && p.name === 'AppDeployedViaFactory').args[0];
    if (os) await send(kms.addOsImageHash('0x' + os));
    console.log(JSON.stringify({
      kms: (await kms.getAddress()).toLowerCase(), app: app.toLowerCase(),
      kms_impl: (await kmsImpl.getAddress()).toLowerCase(), app_impl: (await appImpl.getAddress()).toLowerCase(),
      owner: (await owner.getAddress()).toLowerCase(), kms_created: kmsCreated, app_created: rc.blockNumber,
    }));
    return;
  }
  if (mode !== 'route') throw new Error('usage: policy-kms.js deploy|route ...');
  const [kmsAddr, appAddr, name, arg] = rest;
  const kms = new ethers.Contract(kmsAddr, c.DstackKmsStandin.abi, owner);
  const app = new ethers.Contract(appAddr, c.DstackAppStandin.abi, owner);
  const out = { route: name, txs: [] };
  // The app's owner now: the deployer, or anvil's second key after the transfer route.
  const appOwner = (await app.owner()).toLowerCase() === (await next.getAddress()).toLowerCase() ? next : owner;
  if (name === 'brief') {
    out.txs.push(await send(app.addComposeHash('0x' + arg)));
    out.txs.push(await send(app.removeComposeHash('0x' + arg)));
  } else if (name === 'allow-all') {
    const allowAll = await deploy('DstackAppAllowAll');
    out.allow_all_impl = (await allowAll.getAddress()).toLowerCase();
    out.txs.push(await send(app.upgradeToAndCall(await allowAll.getAddress(), '0x')));
  } else if (name === 'transfer') {
    out.new_owner = (await next.getAddress()).toLowerCase();
    out.txs.push(await send(app.transferOwnership(await next.getAddress())));
    out.txs.push(await send(app.connect(next).acceptOwnership()));
  } else if (name === 'any-device') {
    out.txs.push(await send(app.setAllowAnyDevice(true)));
  } else if (name === 'os') {
    out.txs.push(await send(kms.addOsImageHash('0x' + arg)));
  } else if (name === 'tcb-any') {
    out.txs.push(await send(app.connect(appOwner).setRequireTcbUpToDate(false)));
  } else if (name === 'kms-mr') {
    out.txs.push(await send(kms.addKmsAggregatedMr('0x' + arg)));
  } else if (name === 'benign') {
    out.txs.push(await send(app.connect(appOwner).addDevice(ethers.id('device 2'))));
    out.txs.push(await send(kms.addKmsDevice(ethers.id('kms device 2'))));
    out.txs.push(await send(kms.setKmsInfo('0x02' + '11'.repeat(32))));
    out.txs.push(await send(kms.setGatewayAppId('gateway-app')));
    out.txs.push(await send(kms.setAppImplementation(await app.getAddress())));
    out.txs.push(await send(kms.registerApp('0x00000000000000000000000000000000000000bb')));
    out.txs.push(await send(app.connect(appOwner).setRequireTcbUpToDate(true)));
  } else {
    throw new Error('unknown route ' + name);
  }
  console.log(JSON.stringify(out));
}
main().catch((e) => { console.error(e); process.exit(1); });
