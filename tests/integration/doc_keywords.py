#!/usr/bin/env python3
"""Every keyword a builtin unpacks by name (fb_star_unpack (th, "NAME", ...)
in src/lang/*.c) appears in its reference entry's signature, as printed by
`faultbox help builtins NAME`. Prints what is missing; exit 1 then."""
import glob, re, subprocess, sys

src, faultbox = sys.argv[1:3]
missing = []
for f in sorted(glob.glob(src + "/src/lang/*.c")):
    text = open(f).read()
    for m in re.finditer(r'fb_star_unpack\s*\(\s*th\s*,\s*"([a-z_.]+)"\s*,\s*[&\w]+\s*,(.*?)NULL\s*\)', text, re.S):
        name, params = m.group(1), re.findall(r'"([a-z_]+)[?:a-z]*"\s*,\s*&', m.group(2))
        r = subprocess.run([faultbox, "help", "builtins", name], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        if r.returncode:
            continue  # an internal name (json); test_docs checks what is registered
        sig = r.stdout.splitlines()[0]
        for p in params:
            if not re.search(r"\b%s\b" % p, sig):
                missing.append("%s: keyword %s= not in its signature (%s)" % (name, p, f.split("/")[-1]))
for line in missing:
    print(line)
sys.exit(1 if missing else 0)
