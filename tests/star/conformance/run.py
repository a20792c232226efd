#!/usr/bin/env python3
"""Runs the vendored Starlark conformance files with
`faultbox star --test-builtins`: starlark-go's (testdata/*.star) and the
bazelbuild/starlark suite's (testdata/bazel/*.star).

Each file is split into chunks at lines that are exactly "---"; a chunk is
run on its own beside assert.star (load("assert.star", "assert")), padded
with blank lines so that its line numbers are those of the file, after one
dialect line: the spec's (and starlark-go's) defaults, plus what its
"# option:" lines allow (while, recursion, ...). A chunk with "### pattern"
comments must fail on one of those lines; any other chunk must succeed.
Wording differences (assert.fails patterns, ### patterns) are only shown with
-v. Chunks needing what we deliberately lack are skipped with a reason
(SKIP below).

Usage: run.py [-v] FAULTBOX [FILE...]"""
import os, re, shutil, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TESTDATA = os.path.join(HERE, "testdata")

# starlark-go's "# option:NAME" lines that map to our "allow=" switches (the
# others, float, set, ..., name what is always on).
OPTIONS = {
    "while": ["while"],
    "recursion": ["recursion"],
    "toplevelcontrol": ["toplevelcontrol"],
    "globalreassign": ["globalreassign", "toplevelcontrol"],
}

# (file, chunk number from 1): reason
SKIP = {
    ("assign.star", 9): "this older chunk has a closure capture its free variable's value "
                        "at def; later starlark-go (function.star) captures the cell, as we do",
}


def chunks(text):
    """Yields (first line number, text) of each chunk."""
    start, cur = 1, []
    for i, line in enumerate(text.split("\n"), 1):
        if line == "---":
            yield start, "\n".join(cur)
            start, cur = i + 1, []
        else:
            cur.append(line)
    yield start, "\n".join(cur)


# Lines before a chunk's own: the dialect line, and for the bazelbuild suite
# (testdata/bazel) the load of its global helpers.
HEADER = 2


def run_chunk(fb, tmp, first, body, bazel):
    """Runs the chunk; its line N is line N + HEADER of chunk.star."""
    allow = sorted({a for o in re.findall(r"option:(\w+)", body) for a in OPTIONS.get(o, [])})
    path = os.path.join(tmp, "chunk.star")
    with open(path, "w") as f:
        f.write("# starlark: %s\n" % ("allow=" + ",".join(allow) if allow else "dialect=faultbox"))
        f.write('load("assert.star", "assert_eq", "assert_")\n' if bazel else "\n")
        f.write("\n" * (first - 1) + body + "\n")
    try:
        r = subprocess.run([fb, "star", "--dialect=faultbox", "--test-builtins", "chunk.star"],
                           cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)
    except subprocess.TimeoutExpired:
        return 124, "", "timed out"
    return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


def check(fb, tmp, first, body, bazel):
    """Returns (failure or None, wording notes)."""
    want = {}
    for i, line in enumerate(body.split("\n"), first):
        m = re.search(r"###\s*(.*)$", line)
        if m:
            want[i] = m.group(1).strip().strip("\"`")
    rc, out, err = run_chunk(fb, tmp, first, body, bazel)
    notes = [l[len("wording: "):] for l in out.split("\n") if l.startswith("wording: ")]
    if not want:
        return (None if rc == 0 else "exit %d: %s" % (rc, err.strip())), notes
    if rc != 1:
        return "exit %d, want an error matching %s" % (rc, list(want.values())), notes
    lines = [int(n) - HEADER for n in re.findall(r"chunk\.star:(\d+)", err)]
    if not any(n in want for n in lines):
        return "error at lines %s, want one of %s: %s" % (lines, sorted(want), err.strip()), notes
    pats = [p for n, p in want.items() if n in lines]
    if not any(re.search(p, err) for p in pats):
        notes.append("error %r does not match %r" % (err.strip(), pats))
    return None, notes


def main():
    args = sys.argv[1:]
    verbose = bool(args) and args[0] == "-v"
    if verbose:
        args = args[1:]
    if not args:
        sys.exit(__doc__)
    fb = os.path.abspath(args[0])
    files = args[1:] or sorted(os.path.join(root, f) for root in (TESTDATA, os.path.join(TESTDATA, "bazel"))
                               for f in os.listdir(root) if f.endswith(".star"))
    tmp = tempfile.mkdtemp(prefix="star-conformance.")
    shutil.copy(os.path.join(HERE, "assert.star"), tmp)
    npass = nskip = 0
    failures = []
    try:
        for path in files:
            bazel = os.path.basename(os.path.dirname(os.path.abspath(path))) == "bazel"
            name = ("bazel/" if bazel else "") + os.path.basename(path)
            for n, (first, body) in enumerate(chunks(open(path, encoding="utf-8").read()), 1):
                where = "%s chunk %d (line %d)" % (name, n, first)
                reason = SKIP.get((name, n))
                if reason:
                    nskip += 1
                    if verbose:
                        print("SKIP %s: %s" % (where, reason))
                    continue
                fail, notes = check(fb, tmp, first, body, bazel)
                if fail:
                    failures.append("FAIL %s: %s" % (where, fail))
                else:
                    npass += 1
                if verbose:
                    for note in notes:
                        print("wording %s: %s" % (where, note))
    finally:
        shutil.rmtree(tmp)
    for f in failures:
        print(f)
    print("%d passed, %d skipped, %d failed" % (npass, nskip, len(failures)))
    sys.exit(1 if failures else 0)


main()
