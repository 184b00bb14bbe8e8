#!/usr/bin/python3
"""The README stands alone and says what the code does (make test).

1. Every link in README.md, NEWS.md, CONTRIBUTING.md and docs/*.md points inside the
   repository, at a file that exists, and at a heading that exists when it
   names one (#anchor): a clone has everything the manual refers to.
2. Every row of the README's table "Errors and what to do" is what the code
   raises: for each message it quotes (the parts between "…" taken in
   order), some error the suite saw has that message and one of the row's
   SQLSTATEs.  The errors the suite saw are the pg_regress expected outputs
   (clf_error_of prints "sqlstate: X" then "message: M") and, with
   --fault-log, the fault suite's "# error X: M" lines.

3. Every test that CONTRIBUTING.md's table "What covers what" names exists:
   the files in backquotes, the fault-suite cases in double quotes (words
   of a case's name in test/fault_suite.py, or of test/run.sh when the row
   names it), and the sabotage entries in brackets (ids of
   test/sabotages.txt).
4. The shared segment's name the README gives (`contact_list_fdw vN`) has
   the layout version src/shared_state.h builds by default.

Usage: check_readme.py [--fault-log FILE] [--always-shared] [--links-only]
--always-shared (PostgreSQL 17+): rows whose advice starts "PostgreSQL
15/16" cannot happen there and need no test.  --links-only: the links
alone, when the suite did not run.
Prints one line per problem and exits 1 if there is any.
"""
import glob
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SQLSTATE = re.compile(r"^[0-9A-Z]{5}$")


def slug(heading):
    """The anchor a Markdown renderer gives a heading (GitHub's rule)."""
    text = heading.strip().lower()
    text = re.sub(r"[`*_]", "", text)
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path):
    with open(path, encoding="utf-8") as f:
        return {slug(m.group(1)) for m in re.finditer(r"^#+\s+(.*)$", f.read(), re.M)}


def check_links(problems):
    files = ["README.md", "NEWS.md", "CONTRIBUTING.md"] + sorted(
        os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "docs", "*.md")))
    for name in files:
        path = os.path.join(ROOT, name)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        # links outside code blocks only
        text = re.sub(r"```.*?```", "", text, flags=re.S)
        for m in re.finditer(r"\]\(([^)\s]+)\)", text):
            target = m.group(1)
            if re.match(r"[a-z]+:", target):
                problems.append("%s: link %s leaves the repository" % (name, target))
                continue
            file_part, _, anchor = target.partition("#")
            dest = os.path.normpath(os.path.join(os.path.dirname(path), file_part)) if file_part else path
            if not dest.startswith(ROOT + os.sep):
                problems.append("%s: link %s points outside the repository" % (name, target))
                continue
            if not os.path.exists(dest):
                problems.append("%s: link %s: no such file" % (name, target))
                continue
            if anchor and dest.endswith(".md") and anchor not in anchors(dest):
                problems.append("%s: link %s: no such heading in %s" % (name, target,
                                                                       os.path.relpath(dest, ROOT)))


def errors_table():
    """(line number, quoted messages, SQLSTATEs) of each row of the table."""
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        lines = f.read().split("\n")
    start = next(i for i, l in enumerate(lines) if l.strip() == "## Errors and what to do")
    rows = []
    in_table = False
    for i in range(start + 1, len(lines)):
        line = lines[i]
        if line.startswith("## "):
            break
        if line.startswith("| you see |"):
            in_table = True
            continue
        if not in_table or not line.startswith("|") or line.startswith("|---"):
            if in_table and not line.startswith("|"):
                in_table = False
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        if len(cells) < 3:
            continue
        codes = [c.strip() for c in cells[1].split("/")]
        codes = [c for c in codes if SQLSTATE.match(c)]
        quoted = re.findall(r"`([^`]+)`", cells[0])
        rows.append((i + 1, quoted, codes, cells[2]))
    return rows


def seen_errors(fault_log):
    """(SQLSTATE, message) pairs the suite saw."""
    seen = []
    for path in sorted(glob.glob(os.path.join(ROOT, "expected", "*.out"))):
        with open(path, encoding="utf-8") as f:
            lines = [l.strip() for l in f]
        for a, b in zip(lines, lines[1:]):
            if a.startswith("sqlstate: ") and b.startswith("message: "):
                seen.append((a[len("sqlstate: "):].split()[0], b[len("message: "):]))
    if fault_log:
        with open(fault_log, encoding="utf-8", errors="replace") as f:
            for line in f:
                m = re.match(r"# error ([0-9A-Z]{5}): (.*)$", line.rstrip("\n"))
                if m:
                    # the patterns' "…" search lazily: a line of megabytes
                    # would take them minutes, and a message's start says
                    # which row it is
                    seen.append((m.group(1), m.group(2)[:1000]))
    return seen


def pattern_regex(pattern):
    """The README's way of quoting a message as a regular expression: "…"
    stands for any text, a lone N for a number, "x", "u" and "wecom" for any
    name."""
    parts = []
    for piece in re.split(r"(…|\bN\b|\"(?:x|u|wecom)\")", pattern):
        if piece == "…":
            parts.append(".*?")
        elif piece == "N":
            parts.append(r"-?\d+")
        elif piece in ('"x"', '"u"', '"wecom"'):
            parts.append(r'"[^"]*"')
        else:
            parts.append(re.escape(piece.strip()) if piece.strip() != piece and piece.strip() == "" else re.escape(piece))
    return re.compile("".join(parts))


def matches(pattern, message):
    return pattern_regex(pattern).search(message) is not None


def check_errors(problems, fault_log, always_shared):
    seen = seen_errors(fault_log)
    rows = errors_table()
    if len(rows) < 20:
        problems.append("README.md: the errors table has only %d rows: was it found?" % len(rows))
    for lineno, quoted, codes, advice in rows:
        if always_shared and advice.startswith("PostgreSQL 15/16"):
            continue
        if not codes:
            problems.append("README.md:%d: the errors table row names no SQLSTATE" % lineno)
            continue
        # the first quoted text is the message; later ones may be options or commands
        candidates = [q for q in quoted if " " in q]
        if not candidates:
            problems.append("README.md:%d: the errors table row quotes no message" % lineno)
            continue
        pattern = candidates[0]
        hits = [code for code, msg in seen if matches(pattern, msg)]
        if not hits:
            problems.append("README.md:%d: no test raises `%s`" % (lineno, pattern))
        elif not set(hits) & set(codes):
            problems.append("README.md:%d: `%s` is raised as %s, the README says %s"
                            % (lineno, pattern, "/".join(sorted(set(hits))), "/".join(codes)))


def fault_case_names():
    """The names of the fault suite's cases: the first argument of each
    self.case(...) and self.shared(...) call."""
    import ast
    path = os.path.join(ROOT, "test", "fault_suite.py")
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    names = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("case", "shared") and node.args
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            names.append(node.args[0].value)
    return names


def check_tests_named(problems):
    """CONTRIBUTING.md's table of promises names only tests that exist."""
    with open(os.path.join(ROOT, "CONTRIBUTING.md"), encoding="utf-8") as f:
        lines = f.read().split("\n")
    with open(os.path.join(ROOT, "test", "sabotages.txt"), encoding="utf-8") as f:
        sabotage_ids = set(re.findall(r"^id: (\S+)$", f.read(), re.M))
    cases = fault_case_names()
    rows = 0
    in_table = False
    for i, line in enumerate(lines):
        if line.startswith("| promise (README section) |"):
            in_table = True
            continue
        if not in_table:
            continue
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.split(" | ")]
        if line.startswith("|---") or len(cells) < 2 or not cells[-1].strip(" |"):
            continue
        rows += 1
        where = "CONTRIBUTING.md:%d" % (i + 1)
        cell = cells[-1].rstrip(" |")
        files = [p for p in re.findall(r"`([^`\s]+)`", cell)
                 if re.match(r"^(sql|test|expected|bench|src|docs)/[\w./-]+$", p)]
        for path in files:
            if not os.path.exists(os.path.join(ROOT, path)):
                problems.append("%s: no such file %s" % (where, path))
        texts = []
        for path in files:
            if path.startswith("test/") and not path.endswith(".py"):
                with open(os.path.join(ROOT, path), encoding="utf-8", errors="replace") as f:
                    texts.append(f.read())
        for quoted in re.findall(r'"([^"]+)"', cell):
            if not any(quoted in name for name in cases) and not any(quoted in t for t in texts):
                problems.append('%s: no fault-suite case (or step of a file the row names) "%s"'
                                % (where, quoted))
        for group in re.findall(r"\[([^\]]+)\]", cell):
            for ident in (s.strip() for s in group.split(",")):
                if ident not in sabotage_ids:
                    problems.append("%s: no sabotage entry %s in test/sabotages.txt" % (where, ident))
    if rows < 50:
        problems.append("CONTRIBUTING.md: the table of promises has only %d rows: was it found?" % rows)


def check_layout_name(problems):
    """The README names the segment after the layout the code builds."""
    with open(os.path.join(ROOT, "src", "shared_state.h"), encoding="utf-8") as f:
        built = re.findall(r"^#define CLF_SHARED_LAYOUT_VERSION\s+(\d+)", f.read(), re.M)
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        named = re.findall(r"`contact_list_fdw v(\d+)`", f.read())
    if len(built) != 2:
        problems.append("src/shared_state.h: expected the default and the bumped layout version, found %r" % built)
        return
    if not named:
        problems.append("README.md: the shared segment's name (`contact_list_fdw vN`) is not given")
    for version in named:
        if version != built[-1]:
            problems.append("README.md: names the shared segment `contact_list_fdw v%s`, the code builds layout %s"
                            % (version, built[-1]))


def main():
    fault_log = None
    if "--fault-log" in sys.argv:
        fault_log = sys.argv[sys.argv.index("--fault-log") + 1]
    problems = []
    check_links(problems)
    check_tests_named(problems)
    check_layout_name(problems)
    if "--links-only" not in sys.argv:
        check_errors(problems, fault_log, "--always-shared" in sys.argv)
    for p in problems:
        print(p)
    if problems:
        return 1
    print("README: %s agree with the repository%s; CONTRIBUTING names only tests that exist" % (("links", "") if "--links-only" in sys.argv else ("links and errors table", " and the suite")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
