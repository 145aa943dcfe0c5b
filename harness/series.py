#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Write the kernel patch series of harness/series/manifest.

usage: series.py TOP TREE [--configs FILE]

TOP is our repository; its committed HEAD is what the series builds up
to.  TREE is a git tree of the pristine base tree whose tag 'base' the
series starts from; branch 'series' is rebuilt there, one commit per
patch.  With --configs, FILE gets one line per patch: the commit and the
config overrides that step is built with (tab separated).
"""
import os
import re
import shlex
import shutil
import subprocess
import sys


def die(msg):
    print(f"[harness] error: series: {msg}", file=sys.stderr)
    sys.exit(1)


def git(repo, *args, env=None):
    r = subprocess.run(["git", "-C", repo, "-c", "user.name=harness",
                        "-c", "user.email=harness@invalid", *args],
                       capture_output=True,
                       env={**os.environ, **env} if env else None)
    if r.returncode:
        die(f"git {' '.join(args)}: {r.stderr.decode().strip()}")
    return r.stdout


class Patch:
    def __init__(self, name):
        self.name = name
        self.adds = []
        self.drops = []		# (path, [exceptions])
        self.config = []


def parse(path):
    patches, holds = [], []
    for n, line in enumerate(open(path), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        words = shlex.split(line)
        op, args = words[0], words[1:]
        where = f"{path}:{n}"
        if op == "patch":
            patches.append(Patch(args[0]))
            continue
        if not patches:
            die(f"{where}: '{op}' before the first patch")
        cur = patches[-1]
        if op == "add":
            cur.adds.append(args[0])
        elif op == "drop":
            cur.drops.append((args[0], args[2:] if args[1:2] == ["except"] else []))
        elif op == "config":
            cur.config.append(args[0])
        elif op in ("hold", "holdblock", "holdword"):
            holds.append((op, args[0], args[1], args[2:], where))
        else:
            die(f"{where}: unknown line '{op}'")
    return patches, holds


def apply_hold(lines, op, args, where):
    """Return lines without the held part; die if it matches nothing."""
    out, i, hit = [], 0, False
    if op == "holdword":
        word = re.compile(r"[ \t]*(?<![\w.])" + re.escape(args[0]) + r"(?![\w.])")
        for line in lines:
            new = word.sub("", line)
            hit |= new != line
            out.append(new)
        # a continuation line left empty goes, with its backslash
        res = []
        for line in out:
            if not line.strip() and res and res[-1].rstrip().endswith("\\"):
                res[-1] = res[-1].rstrip()[:-1].rstrip()
                continue
            res.append(line)
        out = res
    elif op == "holdblock":
        start, end = re.compile(args[0]), re.compile(args[1])
        while i < len(lines):
            if start.search(lines[i]):
                hit = True
                i += 1
                while i < len(lines) and not end.search(lines[i]):
                    i += 1
                continue
            out.append(lines[i])
            i += 1
    else:
        regex = re.compile(args[0])
        count = int(args[1]) if len(args) > 1 else None
        while i < len(lines):
            if not regex.search(lines[i]):
                out.append(lines[i])
                i += 1
                continue
            hit = True
            if count is not None:
                i += count
                continue
            depth = 0
            while i < len(lines):
                depth += lines[i].count("(") - lines[i].count(")")
                i += 1
                if depth <= 0:
                    break
    if not hit:
        die(f"{where}: the hold matches nothing")
    return out


class Ours:
    """Our committed tree (HEAD), read once: paths, modes and contents."""

    def __init__(self, top):
        self.top = top
        self.entries = {}
        self.blobs = {}
        for line in git(top, "ls-tree", "-r", "HEAD").decode().splitlines():
            meta, name = line.split("\t", 1)
            mode, kind, sha = meta.split()
            if kind == "blob":
                self.entries[name] = (mode, sha)

    def under(self, path):
        """The files at or below path."""
        prefix = path.rstrip("/") + "/"
        return sorted(n for n in self.entries
                      if n == path or n.startswith(prefix))

    def data(self, name):
        if name not in self.blobs:
            self.blobs[name] = git(self.top, "cat-file", "blob",
                                   self.entries[name][1])
        return self.blobs[name]

    def executable(self, name):
        return self.entries[name][0] == "100755"


def main():
    top, tree = sys.argv[1], sys.argv[2]
    configs = sys.argv[4] if sys.argv[3:4] == ["--configs"] else None
    patches, holds = parse(os.path.join(top, "harness/series/manifest"))
    index = {p.name: k for k, p in enumerate(patches)}
    for op, path, name, args, where in holds:
        if name not in index:
            die(f"{where}: no patch '{name}'")

    # Every kernel file of ours is added exactly once.
    repo = Ours(top)
    added = {}
    for k, p in enumerate(patches):
        for path in p.adds:
            if not repo.under(path):
                die(f"'{path}' is not in our tree")
            for name in repo.under(path):
                if name in added:
                    die(f"{name} is added by two patches")
                added[name] = k
    for path in os.environ.get("SERIES_PATHS", "").split():
        for name in repo.under(path):
            if name not in added:
                die(f"{name} is in no patch of the series")
    held = {h[1] for h in holds}

    author = git(top, "log", "-1", "--format=%an <%ae>").decode().strip()
    date = git(top, "log", "-1", "--format=%aD").decode().strip()
    git(tree, "checkout", "-q", "-f", "base")
    git(tree, "checkout", "-q", "-B", "series", "base")
    config, cfg_lines = [], []
    for k, p in enumerate(patches):
        for path, keep in p.drops:
            full = os.path.join(tree, path)
            kept = {e: open(os.path.join(tree, e), "rb").read() for e in keep}
            if os.path.isdir(full):
                shutil.rmtree(full)
            elif os.path.exists(full):
                os.remove(full)
            for e, data in kept.items():
                os.makedirs(os.path.dirname(os.path.join(tree, e)), exist_ok=True)
                open(os.path.join(tree, e), "wb").write(data)
        # The files this patch adds, and the earlier ones whose holds may
        # end here, with the holds still open at patch k
        for path in p.adds:
            full = os.path.join(tree, path)
            if os.path.isdir(full):
                shutil.rmtree(full)
        for name in sorted(added):
            if added[name] > k or (added[name] < k and name not in held):
                continue
            lines = repo.data(name).decode().split("\n")
            for op, hpath, name_until, args, where in holds:
                if hpath == name and index[name_until] > k:
                    lines = apply_hold(lines, op, args, where)
            dest = os.path.join(tree, name)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            # a new inode: the tree may be hard links into the base
            if os.path.lexists(dest):
                os.remove(dest)
            with open(dest, "w") as f:
                f.write("\n".join(lines))
            os.chmod(dest, 0o755 if repo.executable(name) else 0o644)
        git(tree, "add", "-A", "-f", ".")
        msg = os.path.join(top, "harness/series", p.name + ".msg")
        if not os.path.exists(msg):
            die(f"no message {msg}")
        git(tree, "commit", "-q", "--allow-empty", f"--author={author}",
            f"--date={date}", "-F", msg,
            f"--trailer=Signed-off-by: {author}",
            env={"GIT_COMMITTER_DATE": date})  # the same series, the same ids
        config += p.config
        rev = git(tree, "rev-parse", "HEAD").decode().strip()
        cfg_lines.append(rev + "\t" + "\t".join(config))
    if configs:
        with open(configs, "w") as f:
            f.write("\n".join(cfg_lines) + "\n")
    print(len(patches))


main()
