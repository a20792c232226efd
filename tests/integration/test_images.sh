#!/usr/bin/env bash
# service(image=) on images built here (mkimage.py: busybox-static in two
# layers with a whiteout, an opaque directory, a symlink and a hard link):
# each transport answers a step; Entrypoint, Cmd (args= replacing it), Env
# (env= winning), WorkingDir and User honoured; the cache reused; escaping
# layers, a digest mismatch and a missing archive refused; a bare name
# saved from a local docker (a stand-in CLI) or refused with what to do.
. "$(dirname "$0")/lib.sh"
need_root
[ -x /bin/busybox ] || skip "needs busybox-static at /bin/busybox"
I="$TMP/img"
mkdir -p "$I/outside"
python3 "$FAULTBOX_SRC/tests/integration/mkimage.py" "$I"
export XDG_CACHE_HOME="$TMP/cache"
LAYERS="$XDG_CACHE_HOME/faultbox/layers/sha256"

# spec NAME IMAGE [MORE KWARGS]: a web service from IMAGE whose report a
# step prints (print() writes to stderr)
spec() {
  cat >"$I/$1.star" <<STAR
web = service("web", interface("http", "http", 8080), interface("extra", "tcp", 9090),
    image = "$2", env = {"GREETING": "from-spec"}, ${3:-}
    healthcheck = http("localhost:8080/report", timeout = "10s"))

def test_report():
    print(web.http.get(path = "/report").body)
STAR
}

# --- each transport answers; the config is honoured -------------------------
spec oci "oci:oci:v1"
run_fb test "$I/oci.star" --output "$TMP/oci.json"
expect_rc 0 "oci: a service from an OCI layout answers a step"
for l in 'argv=serve' 'pwd=/srv/app' 'id=1000:1000' 'greeting=from-spec' 'from_image=yes' \
         'removed=gone' 'old=fresh $' 'link=motd-from-layer-1' 'hard=hello from layer 2'; do
  expect_out err "^$l"
done
python3 - "$TMP/oci.json" <<'PY' && ok "ExposedPorts lacking 9090: an image_warning event" || fail "no image_warning for port 9090"
import json, sys
ev = json.load(open(sys.argv[1]))["tests"][0]["events"]
w = [e for e in ev if e["type"] == "image_warning"]
assert len(w) == 1 and "9090/tcp" in w[0]["fields"]["message"] and w[0]["fields"]["image"] == "oci:oci:v1", w
PY
snap() { find "$LAYERS" -mindepth 1 -maxdepth 1 -printf '%f %i %T@\n' | sort; }
first=$(snap)
[ "$(echo "$first" | wc -l)" = 2 ] && ok "two layers in the cache" || fail "cache: $first"

spec args "oci:oci" 'args = ["other"],'
run_fb test "$I/args.star"
expect_rc 0 "oci without a tag: the only image"
expect_out err '^argv=other$'     # args= replaces Cmd, Entrypoint stays
[ "$(snap)" = "$first" ] && ok "the cache is reused: the layer directories are the same inodes and times" \
  || fail "the cache changed: $(snap)"
[ -z "$(ls -A "$XDG_CACHE_HOME/faultbox/tmp" 2>/dev/null)" ] && ok "no temporary directory left" || fail "tmp left"

spec ociarchive "oci-archive:image.oci.tar:v1"
run_fb test "$I/ociarchive.star"
expect_rc 0 "oci-archive answers a step"
expect_out err '^id=1000:1000$'
[ "$(snap)" = "$first" ] && ok "oci-archive: the same layers, from the cache" || fail "oci-archive re-unpacked"

spec docker "docker-archive:image.docker.tar"
run_fb test "$I/docker.star"
expect_rc 0 "docker-archive answers a step"
expect_out err '^removed=gone$'
spec dockertag "docker-archive:image.docker.tar:fbtest:v1"
run_fb test "$I/dockertag.star"
expect_rc 0 "docker-archive with its RepoTag"

# --- refused: escaping layers, a digest mismatch, a missing archive ---------
spec dotdot "oci:escape-dotdot"
run_fb test "$I/dotdot.star"
expect_rc 1 "a layer entry climbing out with .."
expect_out err 'dotdot.star:1:7: service web: image "oci:escape-dotdot": layer sha256:[0-9a-f]{64}: entry "../escaped" escapes the root'
[ ! -e "$I/escaped" ] && [ ! -e "$TMP/escaped" ] && ok "nothing written beside the root" || fail "an escaped file"
spec symlink "oci:escape-symlink"
run_fb test "$I/symlink.star"
expect_rc 1 "a layer writing through a symlink that points out"
expect_out err 'entry "evil/pwned": cannot make its directory inside the root'
[ -z "$(ls -A "$I/outside")" ] && ok "the symlink's target outside is untouched" || fail "written outside: $(ls "$I/outside")"
[ -z "$(ls -A "$XDG_CACHE_HOME/faultbox/tmp" 2>/dev/null)" ] && ok "a refused layer leaves nothing in the cache" \
  || fail "tmp left after a refusal"

spec tampered "oci:tampered"
XDG_CACHE_HOME="$TMP/cache-fresh" run_fb test "$I/tampered.star"
expect_rc 1 "a layer whose content does not match its digest"
expect_out err 'image "oci:tampered": layer sha256:[0-9a-f]{64}: digest mismatch: its content hashes to sha256:[0-9a-f]{64}'
n=$(find "$TMP/cache-fresh/faultbox/layers/sha256" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
[ "$n" = 1 ] && ok "only the good layer reached the cache" || fail "$n layers cached"

spec missing "docker-archive:nosuch.tar"
run_fb test "$I/missing.star"
expect_rc 1 "a missing archive"
expect_out err "image \"docker-archive:nosuch.tar\": $I/nosuch.tar: No such file or directory \\(write one with \`docker save -o FILE REF\`"

spec nocmd "oci:nocmd"
run_fb test "$I/nocmd.star"
expect_rc 1 "an image with neither Entrypoint nor Cmd"
expect_out err 'image "oci:nocmd" has neither Entrypoint nor Cmd: give args=\[...\]'

# --- a bare name: from a local docker (a stand-in that answers as one) ------
F="$TMP/fakebin"
mkdir -p "$F"
cat >"$F/docker" <<SH
#!/bin/sh
echo "\$*" >>"$TMP/docker-calls"
case "\$1 \$2" in
  "image inspect") [ "\$5" = fbtest:v1 ] && { cat "$I/image-id"; exit 0; }
                   echo "Error: No such image: \$5" >&2; exit 1 ;;
  "save -o") cp "$I/image.docker.tar" "\$3" ;;
  *) exit 2 ;;
esac
SH
chmod +x "$F/docker"
spec bare "fbtest:v1"
PATH="$F:$PATH" run_fb test "$I/bare.star"
expect_rc 0 "a bare name docker has: saved into the cache"
expect_out err '^pwd=/srv/app$'
PATH="$F:$PATH" run_fb test "$I/bare.star"
expect_rc 0 "the second time"
[ "$(grep -c '^save' "$TMP/docker-calls")" = 1 ] && ok "saved once: the image id's archive is reused" \
  || fail "docker calls: $(cat "$TMP/docker-calls")"
spec absent "faultbox-test-absent:1"
PATH="$F:$PATH" run_fb test "$I/absent.star"
expect_rc 1 "a bare name no local tool has"
expect_out err 'no local podman or docker has it \(.*docker: Error: No such image: faultbox-test-absent:1\); faultbox never pulls'
expect_out err 'oci:DIR\[:TAG\], oci-archive:FILE\[:TAG\] and docker-archive:FILE'

finish
