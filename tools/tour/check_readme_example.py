#!/usr/bin/env python3
"""Fails when README.md's example and tools/tour/readme_example.cpp differ.

usage: check_readme_example.py README.md readme_example.cpp

The README's example is the first ```cpp block after the "## Example"
heading. It must equal readme_example.cpp from its first #include line to
the end (the file's leading comment, which says why it exists, is not part
of the README). Trailing whitespace is ignored.
"""
import difflib
import sys


def readme_block(path):
    lines = open(path, encoding="utf-8").read().splitlines()
    try:
        start = next(i for i, l in enumerate(lines) if l.strip() == "## Example")
    except StopIteration:
        sys.exit(f"{path}: no '## Example' heading")
    block = None
    for i in range(start + 1, len(lines)):
        if lines[i].startswith("## "):
            break
        if lines[i].strip() == "```cpp":
            block = []
            for j in range(i + 1, len(lines)):
                if lines[j].strip() == "```":
                    return block
                block.append(lines[j])
            sys.exit(f"{path}: the ```cpp block after '## Example' is not closed")
    sys.exit(f"{path}: no ```cpp block in the '## Example' section")


def example_body(path):
    lines = open(path, encoding="utf-8").read().splitlines()
    for i, l in enumerate(lines):
        if l.startswith("#include"):
            return lines[i:]
    sys.exit(f"{path}: no #include line")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    readme = [l.rstrip() for l in readme_block(sys.argv[1])]
    source = [l.rstrip() for l in example_body(sys.argv[2])]
    while source and not source[-1]:
        source.pop()
    while readme and not readme[-1]:
        readme.pop()
    if readme == source:
        print("README.md's example matches", sys.argv[2])
        return 0
    sys.stdout.writelines(
        l + "\n" for l in difflib.unified_diff(source, readme, sys.argv[2], "README.md ## Example", lineterm=""))
    print("README.md's example and", sys.argv[2], "differ: edit both together")
    return 1


if __name__ == "__main__":
    sys.exit(main())
