#!/usr/bin/env python3
"""Compile checks for weft's public headers (Meson suite 'compile').

  header:     a TU holding just `#include <weft/X.hpp>` twice builds with
              -Wall -Wextra -Wpedantic -Werror (self-contained, guarded,
              warning-free) in the given -std.
  must-fail:  a case of a source that must NOT compile. The same source
              without the case macro (the control) must compile first, and
              the failure must be an error on the line marked
              `// must-fail: <CASE>`, so it fails for the reason we claim
              (or a static_assert in a header template instantiated from
              that line, which compilers report where it is written).
  list:       every include/weft/*.hpp is in the install list (so a new
              header cannot silently miss installation and these checks).
  boundary:   no public header pulls in oneTBB (style.md, habit 2).

The compiler comes first, as a command array, then `--`; the mode after.
Everything written goes under --out (inside the build directory).
Exit status: 0 pass, 1 fail (Meson's exit-code protocol).
"""
import argparse
import os
import re
import subprocess
import sys

WARN = ['-Wall', '-Wextra', '-Wpedantic', '-Werror']


def run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return p.returncode, p.stdout


def slug(s):
    return re.sub(r'[^A-Za-z0-9_.-]+', '_', s)


def check_header(cxx, a):
    os.makedirs(a.out, exist_ok=True)
    tag = slug(f'{a.header}-{a.std}-{os.path.basename(cxx[0])}')
    tu = os.path.join(a.out, tag + '.cpp')
    with open(tu, 'w') as f:
        f.write(f'#include <{a.header}>\n#include <{a.header}>  // twice: the guard must hold\n')
    cmd = cxx + [f'-std={a.std}'] + WARN + ['-I', a.include, '-c', tu, '-o', os.path.join(a.out, tag + '.o')]
    rc, out = run(cmd)
    print(' '.join(cmd))
    print(out, end='')
    if rc != 0:
        print(f'FAIL: {a.header} does not compile alone as {a.std}')
        return 1
    print(f'ok: {a.header} compiles alone as {a.std}')
    return 0


def check_must_fail(cxx, a):
    os.makedirs(a.out, exist_ok=True)
    with open(a.source) as f:
        lines = f.read().splitlines()
    marker = f'// must-fail: {a.case}'
    marked = [i + 1 for i, l in enumerate(lines) if l.rstrip().endswith(marker)]
    if len(marked) != 1:
        print(f'FAIL: expected one line ending in "{marker}" in {a.source}, found {len(marked)}')
        return 1
    line = marked[0]
    base = cxx + [f'-std={a.std}'] + WARN + ['-I', a.include, '-c', a.source]
    tag = slug(f'{os.path.basename(a.source)}-{a.case}-{a.std}')

    rc, out = run(base + ['-o', os.path.join(a.out, tag + '-control.o')])
    print('control (no case macro):', ' '.join(base))
    print(out, end='')
    if rc != 0:
        print('FAIL: the control build failed, so the failure below would prove nothing')
        return 1

    cmd = base + [f'-D{a.case}', '-o', os.path.join(a.out, tag + '.o')]
    rc, out = run(cmd)
    print(f'case {a.case}:', ' '.join(cmd))
    print(out, end='')
    if rc == 0:
        print(f'FAIL: {a.case} compiled, but it must not')
        return 1
    name = re.escape(os.path.basename(a.source))
    at_line = re.compile(rf'{name}:{line}:(\d+:)? error:')
    # GCC: "<file>:<line>:<col>:   required from here"; clang: "<file>:<line>:<col>:
    # note: in instantiation of ... requested here". Either, with --expect, pins
    # a header's static_assert to the marked call.
    from_line = re.compile(rf'{name}:{line}:(\d+:)?\s+(required from here|note: in instantiation of .* requested here)')
    if not at_line.search(out) and not from_line.search(out):
        print(f'FAIL: the build failed, but not with an error at line {line} (the marked line)')
        return 1
    if a.expect and not re.search(a.expect, out):
        print(f'FAIL: the error does not match /{a.expect}/')
        return 1
    print(f'ok: {a.case} is rejected at line {line}')
    return 0


def check_list(a):
    weft_dir = os.path.join(a.include, 'weft')
    present = sorted(f for f in os.listdir(weft_dir) if f.endswith('.hpp'))
    listed = sorted(os.path.basename(h) for h in a.headers)
    missing = [h for h in present if h not in listed]
    gone = [h for h in listed if h not in present]
    for h in missing:
        print(f'FAIL: include/weft/{h} is not in weft_headers (include/weft/meson.build): '
              'it would be neither installed nor compile-checked')
    for h in gone:
        print(f'FAIL: weft_headers lists {h}, which does not exist')
    if missing or gone:
        return 1
    print(f'ok: all {len(present)} public headers are listed')
    return 0


def check_boundary(cxx, a):
    os.makedirs(a.out, exist_ok=True)
    tu = os.path.join(a.out, 'boundary.cpp')
    with open(tu, 'w') as f:
        for h in a.headers:
            f.write(f'#include <weft/{os.path.basename(h)}>\n')
    rc, out = run(cxx + [f'-std={a.std}', '-I', a.include, '-M', tu])
    if rc != 0:
        print(out, end='')
        print('FAIL: could not list the headers\' dependencies')
        return 1
    deps = out.replace('\\\n', ' ').split()
    tbb = [d for d in deps if '/oneapi/' in d or re.search(r'(^|/)tbb/', d)]
    if tbb:
        print('FAIL: public headers include oneTBB (users of weft must not need it):')
        print('\n'.join('  ' + d for d in tbb))
        return 1
    print(f'ok: none of the {len(a.headers)} public headers includes oneTBB')
    return 0


def main(argv):
    if '--' not in argv:
        print('usage: check_compile.py CXX... -- MODE [options]', file=sys.stderr)
        return 2
    sep = argv.index('--')
    cxx, rest = argv[:sep], argv[sep + 1:]
    ap = argparse.ArgumentParser()
    ap.add_argument('mode', choices=['header', 'must-fail', 'list', 'boundary'])
    ap.add_argument('--include', required=True, help='the include/ directory')
    ap.add_argument('--out', help='a scratch directory in the build tree')
    ap.add_argument('--std', default='c++14')
    ap.add_argument('--header', help='weft/X.hpp (mode header)')
    ap.add_argument('--source', help='the must-fail source (mode must-fail)')
    ap.add_argument('--case', help='the macro selecting the must-fail case')
    ap.add_argument('--expect', help='a regex the compiler error must match')
    ap.add_argument('headers', nargs='*', help='the listed public headers (modes list, boundary)')
    a = ap.parse_intermixed_args(rest)
    if a.mode == 'header':
        return check_header(cxx, a)
    if a.mode == 'must-fail':
        return check_must_fail(cxx, a)
    if a.mode == 'list':
        return check_list(a)
    return check_boundary(cxx, a)


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
