// s3tool.mjs: the test's S3 client (@aws-sdk/client-s3), talking to the object store
// directly (path-style, the s3rver account S3RVER/S3RVER).
//   node s3tool.mjs ENDPOINT create BUCKET
//   node s3tool.mjs ENDPOINT nuke BUCKET            every object, then the bucket
//   node s3tool.mjs ENDPOINT dump BUCKET PREFIX DIR every object under PREFIX/ into
//                                                   DIR/<key below PREFIX>; prints
//                                                   "<key> <Cache-Control>" lines
import fs from 'node:fs';
import path from 'node:path';
import {
  S3Client, CreateBucketCommand, DeleteBucketCommand, DeleteObjectsCommand,
  GetObjectCommand, ListObjectsV2Command,
} from '@aws-sdk/client-s3';

const [endpoint, cmd, bucket, prefix, dir] = process.argv.slice(2);
const s3 = new S3Client({
  endpoint, region: 'us-east-1', forcePathStyle: true,
  credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
});

async function* keys(p) {
  let token;
  do {
    const r = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: p, ContinuationToken: token }));
    for (const o of r.Contents || []) yield o.Key;
    token = r.IsTruncated ? r.NextContinuationToken : undefined;
  } while (token);
}

if (cmd === 'create') {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
} else if (cmd === 'nuke') {
  // A writer may add objects meanwhile (BucketNotEmpty): delete again until it is gone.
  for (let tries = 0; ; tries++) {
    const all = [];
    for await (const k of keys('')) all.push({ Key: k });
    for (let i = 0; i < all.length; i += 1000)
      await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: all.slice(i, i + 1000) } }));
    try {
      await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
      break;
    } catch (e) {
      if (e.name !== 'BucketNotEmpty' || tries === 50) throw e;
    }
  }
} else if (cmd === 'dump') {
  const lines = [];
  for await (const k of keys(`${prefix}/`)) {
    const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: k }));
    const rel = k.slice(prefix.length + 1);
    const out = path.join(dir, rel);
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, Buffer.from(await r.Body.transformToByteArray()));
    lines.push(`${rel} ${r.CacheControl || '-'}`);
  }
  console.log(lines.join('\n'));
} else {
  console.error(`unknown command ${cmd}`);
  process.exit(2);
}
