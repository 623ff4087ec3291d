#!/usr/bin/env bash
# deploy/images/build-images.sh on the real bin/logd and bin/collector, from a package
# lock made fresh from the archive apt reads now (so Debian's updates cannot break it):
# two builds from different directories, time zones and umasks give the same digests;
# each image's config has its user and entrypoint and the image holds no shell; the app
# layer holds the exact release binary; a CA bundle changed by one byte changes both
# digests; the collector's test build is refused. The layouts are copied by digest with
# skopeo as the release workflow pushes them (deploy/push-images.sh, to oci: and dir:
# here: no registry). Then both programs run from their unpacked images
# (chroot, own network namespace): logd answers /checkpoint, the collector boots against
# it and answers /v1/user-count. Needs apt's index and Debian's archive (downloads are
# cached in build/debs and checked against the lock).
set -u
root=${XT_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root" || exit 2
BIN=${BIN:-bin}
. "$root/tests/lib/harness.sh"
harness_init --no-anvil images-test logd collector collector-test
cache=${XT_DEB_CACHE:-$root/build/debs}
export TZ=UTC  # tar -tv prints times in local time; the checks below compare UTC dates

section "a lock from the current archive"
bash deploy/images/make-lock.sh --bin "$B" --out "$tmp/lock" 2>"$tmp/lock.err" \
  && ok "make-lock: $(grep -c '^pkg ' "$tmp/lock") packages pinned" \
  || { nok "make-lock"; sed 's/^/#   /' "$tmp/lock.err"; harness_done; exit; }
grep -q '^pkg libc6 .* logd,collector$' "$tmp/lock" && grep -q '^pkg ca-certificates .* logd,collector$' "$tmp/lock" \
  && ! grep -qE '^pkg (dash|bash|busybox) ' "$tmp/lock" \
  && ok "lock: libc6 and ca-certificates for both, no shell package" || nok "lock contents"

build() { # name dir tz umask [extra args]: prints the digests
  local name=$1 dir=$2 tz=$3 um=$4; shift 4
  mkdir -p "$dir/bin" && cp "$B/logd" "$B/collector" "$dir/bin/"
  (cd "$dir" && umask "$um" && env -i PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin HOME="$dir" \
     TZ="$tz" LC_ALL=C.UTF-8 SOURCE_DATE_EPOCH=1700000000 \
     bash "$root/deploy/images/build-images.sh" --bin bin --lock "$tmp/lock" --cache "$cache" \
     --out "$dir/images" "$@") >"$tmp/$name.digests" 2>"$tmp/$name.log"
}
section "two builds"
build a "$tmp/a" UTC 022 || { nok "build A"; tail -n 20 "$tmp/a.log" | sed 's/^/#   /'; harness_done; exit; }
build b "$tmp/build-b-longer/x" Pacific/Kiritimati 077 || { nok "build B"; tail -n 20 "$tmp/b.log" | sed 's/^/#   /'; }
[ "$(wc -l <"$tmp/a.digests")" = 2 ] && grep -qE '^logd sha256:[0-9a-f]{64}$' "$tmp/a.digests" \
  && grep -qE '^collector sha256:[0-9a-f]{64}$' "$tmp/a.digests" && ok "two digests printed" || nok "digest lines"
cmp -s "$tmp/a.digests" "$tmp/b.digests" && ok "same digests from both builds ($(tr '\n' ' ' <"$tmp/a.digests"))" \
  || nok "digests differ: $(cat "$tmp/a.digests" "$tmp/b.digests" | tr '\n' ' ')"
for img in logd collector; do
  d=$(sed -n "s/^$img //p" "$tmp/a.digests")
  [ -f "$tmp/a/images/$img/blobs/sha256/${d#sha256:}" ] \
    && [ "$(sha256sum <"$tmp/a/images/$img/blobs/sha256/${d#sha256:}" | cut -d' ' -f1)" = "${d#sha256:}" ] \
    && [ "$(jq -r '.manifests[0].digest' "$tmp/a/images/$img/index.json")" = "$d" ] \
    && [ "$(cat "$tmp/a/images/$img/oci-layout")" = '{"imageLayoutVersion":"1.0.0"}' ] \
    && ok "$img: OCI layout whose index names the printed manifest digest" || nok "$img: layout"
done

blob() { echo "$tmp/a/images/$1/blobs/sha256/${2#sha256:}"; }
unpack() { # image dir: every layer, in order
  local m l
  m=$(jq -r '.manifests[0].digest' "$tmp/a/images/$1/index.json")
  mkdir -p "$2"
  for l in $(jq -r '.layers[].digest' "$(blob "$1" "$m")"); do tar -xzf "$(blob "$1" "$l")" -C "$2" || return 1; done
}
section "configs and contents"
for spec in logd:10001:8080 collector:10002:8081; do
  IFS=: read -r img uid port <<<"$spec"
  m=$(jq -r '.manifests[0].digest' "$tmp/a/images/$img/index.json")
  cfg=$(blob "$img" "$(jq -r .config.digest "$(blob "$img" "$m")")")
  want=$(jq -cn --arg u "$uid:$uid" --arg e "/usr/local/bin/$img" --arg p "$port/tcp" \
    '{User: $u, Entrypoint: [$e], Env: ["PATH=/usr/local/bin:/usr/bin:/bin"], WorkingDir: "/", ExposedPorts: {($p): {}}, Volumes: {"/data": {}}}')
  [ "$(jq -c '.config' "$cfg")" = "$(jq -cS . <<<"$want")" ] && ok "$img config: user $uid, entrypoint /usr/local/bin/$img, no Cmd" \
    || nok "$img config: $(jq -c .config "$cfg")"
  [ "$(jq -c 'keys' "$cfg")" = '["architecture","config","os","rootfs"]' ] \
    && ok "$img config: no created time, history or host data" || nok "$img config keys $(jq -c keys "$cfg")"
  unpack "$img" "$tmp/rootfs-$img" || nok "$img: unpack"
  cmp -s "$tmp/rootfs-$img/usr/local/bin/$img" "$B/$img" && ok "$img: the image's /usr/local/bin/$img is the release binary" \
    || nok "$img: binary in the image differs"
  shells=$(cd "$tmp/rootfs-$img" && find . \( -name sh -o -name bash -o -name dash -o -name busybox -o -name '*.sh' \) | head -n 3)
  [ -z "$shells" ] && [ ! -e "$tmp/rootfs-$img/bin" ] && [ ! -e "$tmp/rootfs-$img/usr/bin" ] \
    && ok "$img: no shell, no bin/ or usr/bin/" || nok "$img: shell or programs found: $shells"
  grep -qx "$img:x:$uid:$uid::/nonexistent:/usr/sbin/nologin" "$tmp/rootfs-$img/etc/passwd" \
    && ok "$img: /etc/passwd names the user" || nok "$img: passwd"
  l2=$(blob "$img" "$(jq -r '.layers[1].digest' "$(blob "$img" "$m")")")
  [ "$(tar -tvzf "$l2" | awk '$6 == "data/" {print $1, $2}')" = "drwx------ $uid/$uid" ] \
    && [ -z "$(tar -tvzf "$l2" | awk '$6 != "data/" && $2 != "0/0"')" ] \
    && ok "$img: /data 0700 owned by $uid; everything else owned by 0" || nok "$img: owners"
  [ -z "$(tar -tvzf "$(blob "$img" "$(jq -r '.layers[0].digest' "$(blob "$img" "$m")")")" | awk '$2 != "0/0" || $4 != "2023-11-14"')" ] \
    && ok "$img: base layer owned by 0, every mtime SOURCE_DATE_EPOCH" || nok "$img: base layer owners/times"
done
cmp -s "$tmp/rootfs-collector/etc/ssl/certs/ca-certificates.crt" "$tmp/rootfs-logd/etc/ssl/certs/ca-certificates.crt" \
  && [ "$(grep -c 'BEGIN CERTIFICATE' "$tmp/rootfs-logd/etc/ssl/certs/ca-certificates.crt")" -gt 100 ] \
  && ok "both images hold the same CA bundle, made from the locked ca-certificates" || nok "CA bundle"

section "a CA bundle changed by one byte"
ca=$tmp/rootfs-collector/etc/ssl/certs/ca-certificates.crt
cp "$ca" "$tmp/ca-same.crt"
cp "$ca" "$tmp/ca-evil.crt"
printf 'X' | dd of="$tmp/ca-evil.crt" bs=1 seek=100 conv=notrunc status=none
[ "$(cmp -l "$ca" "$tmp/ca-evil.crt" | wc -l)" = 1 ] || nok "the modified bundle differs in exactly one byte"
build same "$tmp/c" UTC 022 --ca-bundle "$tmp/ca-same.crt" || nok "build with the same CA bundle"
cmp -s "$tmp/same.digests" "$tmp/a.digests" && ok "the same bundle given explicitly: the same digests" || nok "explicit same bundle changed a digest"
build evil "$tmp/d" UTC 022 --ca-bundle "$tmp/ca-evil.crt" || nok "build with the modified CA bundle"
[ "$(wc -l <"$tmp/evil.digests")" = 2 ] \
  && [ "$(grep '^logd ' "$tmp/evil.digests")" != "$(grep '^logd ' "$tmp/a.digests")" ] \
  && [ "$(grep '^collector ' "$tmp/evil.digests")" != "$(grep '^collector ' "$tmp/a.digests")" ] \
  && ok "one byte of the CA bundle changes both images' digests" || nok "CA change not visible in the digests"

section "a package that does not match the lock, a toolchain that differs"
sed -e 's/^\(pkg libjansson4 [^ ]* [^ ]* \)[0-9a-f]\{64\}/\1'"$(printf 'a%.0s' $(seq 64))"'/' \
    -e 's/^tool gzip .*/tool gzip 0.1-test/' "$tmp/lock" >"$tmp/lock-bad"
mkdir -p "$tmp/e/bin" && cp "$B/logd" "$B/collector" "$tmp/e/bin/"
bash deploy/images/build-images.sh --bin "$tmp/e/bin" --lock "$tmp/lock-bad" --cache "$tmp/e-cache" \
  --out "$tmp/e/images" --epoch 1700000000 >/dev/null 2>"$tmp/e.log"
rc=$?
[ $rc = 1 ] && grep -q 'libjansson4 .*SHA-256 .*the lock says a\{64\}' "$tmp/e.log" \
  && ok "a package whose SHA-256 is not the lock's is refused (exit 1, named)" \
  || { nok "lock mismatch: exit $rc"; tail -n 3 "$tmp/e.log" | sed 's/^/#   /'; }
grep -q "note: installed gzip is $(dpkg-query -W -f='${Version}' gzip), the lock was made with 0.1-test" "$tmp/e.log" \
  && ok "a toolchain version other than the lock's is said (note: installed gzip ...)" || nok "toolchain difference not said"

section "the collector's test build is never put in an image"
mkdir -p "$tmp/f/bin" && cp "$B/logd" "$tmp/f/bin/" && cp "$B/collector-test" "$tmp/f/bin/collector"
bash deploy/images/build-images.sh --bin "$tmp/f/bin" --lock "$tmp/lock" --cache "$cache" \
  --out "$tmp/f/images" --epoch 1700000000 >/dev/null 2>"$tmp/f.log"
rc=$?
[ $rc = 1 ] && grep -q 'knows --api-base: that is the collector.s test build' "$tmp/f.log" && [ ! -e "$tmp/f/images/collector" ] \
  && ok "collector-test handed in as bin/collector: refused (exit 1), no image" || { nok "collector-test not refused: exit $rc"; tail -n 3 "$tmp/f.log" | sed 's/^/#   /'; }

section "pushed by digest with skopeo (deploy/push-images.sh, as deploy/ci/release.yml does)"
if ! command -v skopeo >/dev/null; then
  nok "skopeo missing (make deps)"
else
  rel=$tmp/rel
  mkdir -p "$rel" && cp -R "$tmp/a/images" "$rel/images"
  ld=$(sed -n 's/^logd //p' "$tmp/a.digests") cd_=$(sed -n 's/^collector //p' "$tmp/a.digests")
  jq -n --arg l "$ld" --arg c "$cd_" '{reproducible: true, version: "0.1.0", images: {logd: {digest: $l}, collector: {digest: $c}}}' >"$rel/manifest.json"
  for to in "oci:$tmp/pushed-oci" "dir:$tmp/pushed-dir"; do
    bash deploy/push-images.sh --release "$rel" --to "$to" >"$tmp/push.out" 2>"$tmp/push.err"
    rc=$?
    [ $rc = 0 ] && [ "$(awk '{print $1, $NF}' "$tmp/push.out")" = "$(printf 'logd %s\ncollector %s' "$ld" "$cd_")" ] \
      && ok "push-images.sh --to ${to%%:*}: both images, by their release digests" \
      || { nok "push-images.sh --to ${to%%:*}: exit $rc"; sed 's/^/#   /' "$tmp/push.err" | tail -n 5; }
  done
  # read back independently of the script: the same manifest bytes, the same layer blobs
  good=1
  for img in logd collector; do
    d=$(sed -n "s/^$img //p" "$tmp/a.digests")
    [ "sha256:$(skopeo inspect --raw "oci:$tmp/pushed-oci/$img:0.1.0" 2>/dev/null | sha256sum | cut -d' ' -f1)" = "$d" ] || good=0
    [ "sha256:$(sha256sum <"$tmp/pushed-dir/$img/manifest.json" | cut -d' ' -f1)" = "$d" ] || good=0
    for l in $(jq -r '.layers[].digest, .config.digest' "$(blob "$img" "$d")"); do
      cmp -s "$(blob "$img" "$l")" "$tmp/pushed-dir/$img/${l#sha256:}" || good=0
      cmp -s "$(blob "$img" "$l")" "$tmp/pushed-oci/$img/blobs/sha256/${l#sha256:}" || good=0
    done
  done
  [ $good = 1 ] && ok "the copies hold the release's manifest (same digest) and the same layer and config blobs" \
    || nok "skopeo's copies differ from the layouts"
  jq --arg d "sha256:$(printf 'b%.0s' $(seq 64))" '.images.collector.digest = $d' "$rel/manifest.json" >"$rel/m2" && mv "$rel/m2" "$rel/manifest.json"
  bash deploy/push-images.sh --release "$rel" --to "oci:$tmp/pushed-bad" >/dev/null 2>"$tmp/push.err"
  rc=$?
  [ $rc = 1 ] && grep -q "images/collector holds $cd_, manifest.json says sha256:b\{64\}" "$tmp/push.err" \
    && ok "a layout that is not the manifest's image is not pushed (exit 1, named)" || { nok "push of a wrong layout: exit $rc"; sed 's/^/#   /' "$tmp/push.err" | tail -n 3; }
  bash deploy/push-images.sh --release "$rel" --to "https://registry.example/x" >/dev/null 2>&1
  [ $? = 2 ] && ok "push-images.sh refuses a destination that is not docker://, oci: or dir: (exit 2)" || nok "bad destination accepted"
fi

section "both programs run from their images (chroot, own network namespace)"
if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null || ! unshare -n true 2>/dev/null; then
  nok "chroot run needs root and unshare (not available here)"
else
  cat >"$tmp/run-in-ns.sh" <<'EOF'
set -u
t=$1
ip link set lo up
chroot --userspec=10001:10001 "$t/rootfs-logd" /usr/local/bin/logd --dev --data /data \
  --listen 127.0.0.1:8080 --origin images.test/log >"$t/logd.log" 2>&1 &
lp=$!
for _ in $(seq 100); do curl -sf http://127.0.0.1:8080/checkpoint >"$t/checkpoint" 2>/dev/null && break; sleep 0.1; done
cp "$t/rootfs-logd/data/dev-token" "$t/rootfs-collector/data/logd-token"
chown 10002:10002 "$t/rootfs-collector/data/logd-token"
chroot --userspec=10002:10002 "$t/rootfs-collector" /usr/local/bin/collector --dev --data /data \
  --listen 127.0.0.1:8081 --logd http://127.0.0.1:8080 --logd-token @/data/logd-token \
  --archive-token images-test-archive-token >"$t/collector.log" 2>&1 &
cp=$!
for _ in $(seq 100); do
  code=$(curl -s -o "$t/user-count" -w '%{http_code}' -H 'Authorization: Bearer images-test-archive-token' \
    http://127.0.0.1:8081/v1/user-count 2>/dev/null)
  [ "$code" = 200 ] && break; sleep 0.1
done
echo "$code" >"$t/user-count.code"
kill $cp $lp 2>/dev/null; wait $cp $lp 2>/dev/null
EOF
  chown -R 10001:10001 "$tmp/rootfs-logd/data"
  chown -R 10002:10002 "$tmp/rootfs-collector/data"
  timeout 60 unshare -n bash "$tmp/run-in-ns.sh" "$tmp"
  head -n 1 "$tmp/checkpoint" 2>/dev/null | grep -qx 'images.test/log' \
    && ok "logd from its image answers /checkpoint ($(sed -n 2p "$tmp/checkpoint") entries)" \
    || { nok "logd from its image: no checkpoint"; tail -n 5 "$tmp/logd.log" | sed 's/^/#   /'; }
  [ "$(cat "$tmp/user-count.code" 2>/dev/null)" = 200 ] && jq -e '.count == 0' "$tmp/user-count" >/dev/null 2>&1 \
    && ok "collector from its image boots against logd and answers /v1/user-count" \
    || { nok "collector from its image: /v1/user-count $(cat "$tmp/user-count.code" 2>/dev/null)"; tail -n 5 "$tmp/collector.log" | sed 's/^/#   /'; }
fi

harness_done
