#!/usr/bin/env python3
"""Builds and runs tests/consumer/consumer.cpp against weft (suite 'consumer').

  pkgconfig         stage `meson install --destdir` of this build, then
                    g++ $(pkg-config --cflags --libs weft), linked to libweft.so
                    (no Boost on the link line), and the interop build with
                    weft-interop (which adds Boost.Thread)
  pkgconfig-static  the same with `pkg-config --static`, linked to libweft.a
  cmake             a CMake project: find_package(weft) + weft::weft,
                    weft::interop and weft::weft_static, CMAKE_PREFIX_PATH at
                    the staged copy
  subproject        a Meson project with subprojects/weft -> this source tree

The staged installation lives in DESTDIR=<work>/stage, so its files carry the
build's real prefix (e.g. /usr/local). weftConfig.cmake is relocatable and
needs nothing more; for pkg-config copies of the .pc files with `prefix=` pointed at
the staged prefix goes in <work>/pkgconfig (the usual way to relocate a .pc;
the test also checks that every path in weft.pc hangs off ${prefix}).

Everything is written under --work (inside the build directory). Each binary
must print "weft consumer: ok", and the shared-library builds must load
libweft from the staged copy, not from some weft installed on the system.
Exit status: 0 pass, 1 fail, 77 skip (a tool is missing).
"""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys

OK_LINE = 'weft consumer: ok'


class Failure(Exception):
    pass


def run(cmd, env=None, cwd=None):
    print('+', ' '.join(cmd), flush=True)
    p = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print(p.stdout, end='', flush=True)
    if p.returncode != 0:
        raise Failure(f'exit status {p.returncode}: {" ".join(cmd)}')
    return p.stdout


def need(tool):
    path = shutil.which(tool) if os.path.basename(tool) == tool else tool
    if not path or not os.path.exists(path):
        print(f'SKIP: {tool} not found')
        sys.exit(77)
    return path


def fresh_dir(path):
    if os.path.lexists(path):
        shutil.rmtree(path)
    os.makedirs(path)
    return path


def stage_install(a):
    """meson install into <work>/stage; returns the staged prefix."""
    stage = fresh_dir(os.path.join(a.work, 'stage'))
    run([a.meson, 'install', '-C', a.build_root, '--no-rebuild', '--quiet', '--destdir', stage])
    pcs = glob.glob(os.path.join(stage, '**', 'pkgconfig', 'weft.pc'), recursive=True)
    if len(pcs) != 1:
        raise Failure(f'expected one staged weft.pc, found {pcs}')
    prefix = None
    with open(pcs[0]) as f:
        for line in f:
            if line.startswith('prefix='):
                prefix = line.split('=', 1)[1].strip()
    if not prefix or not os.path.isabs(prefix):
        raise Failure(f'weft.pc has no absolute prefix= line: {prefix!r}')
    return stage, stage + prefix, pcs[0]


def check_output(binary, env=None):
    out = run([binary], env=env)
    if OK_LINE not in out.splitlines():
        raise Failure(f'{binary} did not print "{OK_LINE}"')


def check_loads_from(binary, libdir, env=None):
    """The shared libweft that `binary` loads must come from `libdir`."""
    out = run(['ldd', binary], env=env)
    lines = [l for l in out.splitlines() if 'libweft.so' in l]
    if len(lines) != 1:
        raise Failure(f'{binary} does not load exactly one libweft.so: {lines}')
    m = re.search(r'=>\s*(\S+)', lines[0])
    if not m or os.path.realpath(os.path.dirname(m.group(1))) != os.path.realpath(libdir):
        raise Failure(f'{binary} loads libweft from the wrong place: {lines[0].strip()} (want {libdir})')


def check_static(binary):
    out = run(['ldd', binary])
    if 'libweft.so' in out:
        raise Failure(f'{binary} should link libweft.a, but loads libweft.so')


def relocated_pc(a, pc, staged_prefix):
    """Copies of weft.pc and weft-interop.pc whose prefix is the staged one;
    returns their dir."""
    pcdir = fresh_dir(os.path.join(a.work, 'pkgconfig'))
    for name in ('weft.pc', 'weft-interop.pc'):
        path = os.path.join(os.path.dirname(pc), name)
        if not os.path.exists(path):
            raise Failure(f'{name} was not installed next to weft.pc')
        with open(path) as f:
            text = f.read()
        for var in ('libdir', 'includedir'):
            m = re.search(rf'^{var}=(.*)$', text, re.M)
            if not m or not m.group(1).startswith('${prefix}'):
                raise Failure(f'{name}: {var} does not hang off ${{prefix}} ({m.group(1) if m else "missing"})')
        with open(os.path.join(pcdir, name), 'w') as f:
            f.write(re.sub(r'^prefix=.*$', 'prefix=' + staged_prefix, text, count=1, flags=re.M))
    return pcdir


def pkg_config(a, pcdir, *args, package='weft'):
    env = dict(os.environ)
    env['PKG_CONFIG_PATH'] = pcdir + (os.pathsep + env['PKG_CONFIG_PATH'] if env.get('PKG_CONFIG_PATH') else '')
    return run([a.pkg_config] + list(args) + [package], env=env).split()


def mode_pkgconfig(a, static):
    need(a.pkg_config)
    stage, prefix, pc = stage_install(a)
    pcdir = relocated_pc(a, pc, prefix)
    version = pkg_config(a, pcdir, '--modversion')
    if version != [a.version]:
        raise Failure(f'pkg-config reports weft {version}, expected {a.version}')
    libdir = pkg_config(a, pcdir, '--variable=libdir')[0]
    if not libdir.startswith(stage):
        raise Failure(f'libdir {libdir} is outside the staged copy')
    # The core program links `weft` alone; the interop one `weft-interop`,
    # which adds Boost.Thread for <weft/interop.hpp>.
    for package, defines in (('weft', []), ('weft-interop', ['-DWEFT_CONSUMER_INTEROP'])):
        cflags = pkg_config(a, pcdir, '--cflags', package=package)
        binary = os.path.join(a.work, 'consumer-' + package)
        if static:
            libs = pkg_config(a, pcdir, '--static', '--libs', package=package)
            # libweft.a, then (dynamically) what it needs: pkg-config --static
            # must list all of it (TBB from Requires.private, Boost, threads).
            for need_lib in ('-lweft', '-lboost_thread'):
                if need_lib not in libs:
                    raise Failure(f'pkg-config --static --libs {package} lacks {need_lib}: {libs}')
            libs = [('-l:libweft.a' if x == '-lweft' else x) for x in libs]
        else:
            libs = pkg_config(a, pcdir, '--libs', package=package)
            boost = [x for x in libs if 'boost' in x]
            if package == 'weft' and boost:
                raise Failure(f'pkg-config --libs weft links Boost ({boost}); only weft-interop should')
            if package == 'weft-interop' and '-lboost_thread' not in libs:
                raise Failure(f'pkg-config --libs weft-interop lacks -lboost_thread: {libs}')
        run(a.cxx + ['-std=c++14', '-Wall', '-Wextra', '-Werror'] + defines +
            [os.path.join(a.source, 'consumer.cpp'), '-o', binary] + cflags + libs)
        if static:
            check_static(binary)
            check_output(binary)
        else:
            env = dict(os.environ, LD_LIBRARY_PATH=libdir)
            check_loads_from(binary, libdir, env)
            check_output(binary, env)


def mode_cmake(a):
    need(a.cmake)
    ninja = need(a.ninja)
    stage, prefix, _ = stage_install(a)
    build = fresh_dir(os.path.join(a.work, 'cmake-build'))
    out = run([a.cmake, '-S', a.source, '-B', build, '-G', 'Ninja',
               '-DCMAKE_MAKE_PROGRAM=' + ninja,
               '-DCMAKE_CXX_COMPILER=' + a.cxx[0],
               '-DCMAKE_CXX_FLAGS=' + ' '.join(a.cxx[1:] + ['-Wall', '-Wextra', '-Werror']),
               '-DCMAKE_PREFIX_PATH=' + prefix,
               '-DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF'])
    m = re.search(r'weft_DIR=(.*)', out)
    if not m or not os.path.realpath(m.group(1).strip()).startswith(os.path.realpath(stage)):
        raise Failure('find_package(weft) did not pick the staged copy')
    run([a.cmake, '--build', build])
    binary = os.path.join(build, 'consumer')
    libdir = os.path.dirname(glob.glob(os.path.join(prefix, '**', 'libweft.so'), recursive=True)[0])
    for name in ('consumer', 'consumer_interop'):
        binary = os.path.join(build, name)
        check_loads_from(binary, libdir)  # through the RUNPATH CMake sets, no LD_LIBRARY_PATH
        check_output(binary)
    static_binary = os.path.join(build, 'consumer_static')
    if not os.path.exists(static_binary):
        raise Failure('weft::weft_static is missing (default_library=both builds it)')
    check_static(static_binary)
    check_output(static_binary)


def mode_subproject(a):
    proj = fresh_dir(os.path.join(a.work, 'proj'))
    shutil.copy(os.path.join(a.source, 'subproject', 'meson.build'), proj)
    shutil.copy(os.path.join(a.source, 'consumer.cpp'), proj)
    os.makedirs(os.path.join(proj, 'subprojects'))
    os.symlink(a.source_root, os.path.join(proj, 'subprojects', 'weft'))
    build = os.path.join(a.work, 'proj-build')
    if os.path.lexists(build):
        shutil.rmtree(build)
    env = dict(os.environ, CXX=' '.join(a.cxx))
    # --force-fallback-for: never pick up a weft installed on this system.
    run([a.meson, 'setup', build, proj, '--force-fallback-for=weft', '--buildtype=plain'], env=env)
    run([a.meson, 'compile', '-C', build], env=env)
    check_output(os.path.join(build, 'consumer'))
    check_output(os.path.join(build, 'consumer_interop'))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('mode', choices=['pkgconfig', 'pkgconfig-static', 'cmake', 'subproject'])
    ap.add_argument('--source-root', required=True, help="weft's source tree")
    ap.add_argument('--build-root', required=True, help='the Meson build directory to install from')
    ap.add_argument('--work', required=True, help='scratch directory (inside the build directory)')
    ap.add_argument('--version', required=True, help="weft's version")
    ap.add_argument('--meson', required=True)
    ap.add_argument('--pkg-config', default='pkg-config')
    ap.add_argument('--cmake', default='cmake')
    ap.add_argument('--ninja', default='ninja')
    ap.add_argument('--cxx', nargs='+', required=True, help='the C++ compiler command')
    a = ap.parse_args()
    a.source = os.path.join(a.source_root, 'tests', 'consumer')
    a.work = os.path.abspath(a.work)
    os.makedirs(a.work, exist_ok=True)
    try:
        if a.mode.startswith('pkgconfig'):
            mode_pkgconfig(a, static=a.mode.endswith('static'))
        elif a.mode == 'cmake':
            mode_cmake(a)
        else:
            mode_subproject(a)
    except Failure as e:
        print(f'FAIL ({a.mode}): {e}')
        return 1
    print(f'ok ({a.mode})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
