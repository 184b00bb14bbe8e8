#!/usr/bin/python3
"""make check-layers: hold src/ to the floors that CONTRIBUTING.md lists.

The map is the fenced block under "## The house" in CONTRIBUTING.md, one
line a floor, top floor first:

    floor 3  wecom
    floor 2  http page_parser
    floor 1  clf_common.h redact

A bare name stands for NAME.c and NAME.h; a name ending in .h is a header
of its own; NAME+OTHER.h also gives module NAME the header OTHER.h.  A file may include the headers, and call the functions, of
files on floors below its own, and its own module's header; nothing on its
own floor or above.  Every file in src/ must be on the map, and every name
on the map must exist, so the map cannot drift from the tree.

Calls are found the plain way PostgreSQL's style makes reliable: a
function is defined where its name starts a line and is followed by "(";
a call is that name followed by "(" anywhere else in another file.

--selftest checks the checker on a made-up tree with one upward include
and one upward call: both must be reported.
"""

import os
import re
import sys
import tempfile

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
DEFINITION = re.compile(r'^([A-Za-z_]\w*)\(', re.M)
COMMENT = re.compile(r'/\*.*?\*/|//[^\n]*', re.S)
STRING = re.compile(r'"(?:\\.|[^"\\\n])*"')


def read_map(contributing):
    """Floor of every file the map names, and the list of problems."""
    with open(contributing, encoding='utf-8') as f:
        text = f.read()
    section = re.search(r'^## The house\b.*?^```[^\n]*\n(.*?)^```', text, re.M | re.S)
    if not section:
        return None, ['%s: no "## The house" section with a fenced map' % contributing]
    floors = {}
    problems = []
    for line in section.group(1).splitlines():
        if not line.strip():
            continue
        m = re.match(r'\s*floor\s+(\d+)\s+(.*)$', line)
        if not m:
            problems.append('map: cannot read %r' % line)
            continue
        floor = int(m.group(1))
        for word in m.group(2).split():
            name, *extra = word.split('+')
            files = [name] if name.endswith('.h') else [name + '.c', name + '.h']
            files += extra
            for f in files:
                if f in floors:
                    problems.append('map: %s is on two floors' % f)
                floors[f] = (floor, name)
    return floors, problems


def strip_code(text):
    return STRING.sub('""', COMMENT.sub(' ', text))


def check(srcdir, floors):
    problems = []
    present = sorted(f for f in os.listdir(srcdir) if f.endswith(('.c', '.h')))
    for f in present:
        if f not in floors:
            problems.append('%s: not on the map (CONTRIBUTING.md, "The house")' % f)
    for name in sorted({name for (_, name) in floors.values()}):
        files = [f for f, (_, n) in floors.items() if n == name]
        if not any(os.path.exists(os.path.join(srcdir, f)) for f in files):
            problems.append('map: %s names no file in src/' % name)

    texts = {}
    for f in present:
        with open(os.path.join(srcdir, f), encoding='utf-8') as fh:
            texts[f] = fh.read()

    def may_use(user, used):
        if user not in floors or used not in floors:
            return True         # reported above
        (ufloor, umod), (dfloor, dmod) = floors[user], floors[used]
        return umod == dmod or dfloor < ufloor

    for f in present:
        for inc in INCLUDE.findall(texts[f]):
            if inc in floors and not may_use(f, inc):
                problems.append('%s (floor %d) includes %s (floor %d)'
                                % (f, floors[f][0], inc, floors[inc][0]))

    defined_in = {}
    for f in present:
        if f.endswith('.c'):
            code = strip_code(texts[f])
            for name in DEFINITION.findall(code):
                if name.isupper():
                    continue    # a macro's use, such as PG_FUNCTION_INFO_V1(f)
                # a static function is another file's business only if it
                # shares the name, which the compiler would not allow to link
                defined_in.setdefault(name, f)
    statics = set()
    for f in present:
        if f.endswith('.c'):
            for m in re.finditer(r'^static\s[^;{]*?\n([A-Za-z_]\w*)\(', strip_code(texts[f]), re.M):
                statics.add((f, m.group(1)))
    if not defined_in:
        return problems
    call = re.compile(r'\b(' + '|'.join(sorted(map(re.escape, defined_in), key=len, reverse=True)) + r')\s*\(')
    for f in present:
        if not f.endswith('.c'):
            continue
        seen = set()
        for name in call.findall(strip_code(texts[f])):
            where = defined_in[name]
            if where == f or (where, name) in statics or name in seen:
                continue
            seen.add(name)
            if not may_use(f, where):
                problems.append('%s (floor %d) calls %s() of %s (floor %d)'
                                % (f, floors[f][0], name, where, floors[where][0]))
    return problems


def selftest():
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, 'src')
        os.mkdir(src)
        files = {
            'low.h': 'extern void low_fn(void);\n',
            'low.c': '#include "low.h"\n#include "high.h"\nvoid\nlow_fn(void)\n{\n\thigh_fn();\n}\n',
            'high.h': 'extern void high_fn(void);\n',
            'high.c': '#include "low.h"\nvoid\nhigh_fn(void)\n{\n\tlow_fn();\n}\n',
        }
        for name, text in files.items():
            with open(os.path.join(src, name), 'w') as fh:
                fh.write(text)
        with open(os.path.join(d, 'CONTRIBUTING.md'), 'w') as fh:
            fh.write('## The house\n\n```\nfloor 2  high\nfloor 1  low\n```\n')
        floors, problems = read_map(os.path.join(d, 'CONTRIBUTING.md'))
        problems += check(src, floors)
        want = ['low.c (floor 1) includes high.h (floor 2)',
                'low.c (floor 1) calls high_fn() of high.c (floor 2)']
        if problems != want:
            print('check_layers selftest: expected %r, got %r' % (want, problems))
            return 1
    print('check_layers selftest: an upward include and an upward call are both caught')
    return 0


def main():
    if sys.argv[1:] == ['--selftest']:
        return selftest()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    floors, problems = read_map(os.path.join(root, 'CONTRIBUTING.md'))
    if floors is not None:
        problems += check(os.path.join(root, 'src'), floors)
    for p in problems:
        print('check-layers: ' + p)
    if problems:
        print('check-layers: %d problem(s); the map is in CONTRIBUTING.md, "The house"' % len(problems))
        return 1
    print('check-layers: every include and call in src/ runs down the map')
    return 0


if __name__ == '__main__':
    sys.exit(main())
