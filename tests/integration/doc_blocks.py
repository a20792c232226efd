#!/usr/bin/env python3
"""The code blocks of doc/*.md, for test_docs.sh and test_tutorial.sh.

A ```starlark block is a whole spec, or, when its first line is
`# file: NAME`, the file NAME of its page and `# append: NAME` adds to it.
A line `BIN = "..."` is pointed at this build's demo services.
spec-language.md's first block is the prelude of its other blocks.

  doc_blocks.py specs DOCDIR OUTDIR DEMO
      writes each block's spec (after it, for file:/append:) under OUTDIR,
      one directory per block, and prints their paths
  doc_blocks.py tutorial PAGE WORKDIR DEMO FAULTBOX
      writes the page's files into WORKDIR as it goes and runs each
      ```console block's `$ faultbox ...` lines there, comparing stdout and
      stderr with the lines that follow, modulo times, counts and run names
"""
import os, re, subprocess, sys

BLOCK = re.compile(r"^```(starlark|console)\n(.*?)^```", re.S | re.M)


def point_bin(text, demo):
    return re.sub(r'^BIN = ".*"$', 'BIN = "%s"' % demo, text, flags=re.M)


def apply(files, block, demo):
    """Updates files with a starlark block; returns the file it wrote or None."""
    m = re.match(r"# (file|append): (\S+)\n", block)
    if not m:
        return None
    name = m.group(2)
    files[name] = (files.get(name, "") if m.group(1) == "append" else "") + point_bin(block, demo)
    return name


def specs(docs, out, demo):
    os.makedirs(out)
    for md in sorted(f for f in os.listdir(docs) if f.endswith(".md")):
        blocks = [b for kind, b in BLOCK.findall(open(os.path.join(docs, md)).read()) if kind == "starlark"]
        prelude = ""
        if md == "spec-language.md":
            prelude, blocks = 'BIN = "%s"\n' % demo + blocks[0], blocks[1:]
        files = {}
        for i, b in enumerate(blocks):
            d = os.path.join(out, "%s-%02d" % (md[:-3], i + 1))
            os.makedirs(d)
            name = apply(files, b, demo)
            text = files[name] if name else prelude + point_bin(b, demo)
            path = os.path.join(d, name or "example.star")
            open(path, "w").write(text)
            print(path)


def normalize(text):
    rules = [
        (r"\d+ms\b", "Nms"), (r"\(\d+ events\)", "(N events)"), (r"#\d+ ", "#N "),
        (r"\d{8}-\d{6}-\d+", "RUN"), (r"\d+ total, \d+ faulted  \[[^]]*\]", "N total, N faulted"),
        (r"─+", "─"), (r" +", " "),
    ]
    out = []
    for line in text.splitlines():
        for pat, rep in rules:
            line = re.sub(pat, rep, line)
        out.append(line.rstrip())
    return out


def tutorial(page, work, demo, faultbox):
    os.makedirs(work, exist_ok=True)
    files, failed, ran = {}, 0, 0
    for kind, block in BLOCK.findall(open(page).read()):
        if kind == "starlark":
            name = apply(files, block, demo)
            if name:
                open(os.path.join(work, name), "w").write(files[name])
            continue
        for cmd in re.split(r"^\$ ", block, flags=re.M)[1:]:
            line, _, want = cmd.partition("\n")
            argv = line.split()
            argv = [faultbox] + [a.strip("'") for a in argv[1:]]
            r = subprocess.run(argv, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            ran += 1
            if normalize(r.stdout) != normalize(want):
                failed += 1
                print("FAIL: $ %s\n--- documented\n%s--- got\n%s" % (line, want, r.stdout))
            else:
                print("ok: $ %s" % line)
    print("%d commands run" % ran)
    return 1 if failed or not ran else 0


if __name__ == "__main__":
    if sys.argv[1] == "specs":
        specs(*sys.argv[2:5])
    else:
        sys.exit(tutorial(*sys.argv[2:6]))
