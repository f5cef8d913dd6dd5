"""docs/security.md and the attack suite agree: every test states its threat in
a one-line docstring and has exactly one row in the table of cases, under its
own file's heading, and no row names a test that does not exist.

Pure Python (ast): no server, no root, no binary."""
import ast
import glob
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DOC = os.path.join(ROOT, "docs", "security.md")
SELF = os.path.basename(__file__)

# "### `tests/security/test_x.py`" opens the rows of that file.
FILE_HEADING = re.compile(r"^#{1,6}\s+`tests/security/([^`/]+\.py)`\s*$")
ROW = re.compile(r"^\|\s*`(test_\w+)`\s*\|")


def suite_files():
    files = sorted(os.path.basename(p) for p in glob.glob(os.path.join(HERE, "test_*.py")))
    return [f for f in files if f != SELF]


def functions_of(filename):
    """{name: docstring or None} of the test functions of one file, in order,
    at module level and in test classes."""
    with open(os.path.join(HERE, filename)) as f:
        tree = ast.parse(f.read(), filename)
    found = {}
    nodes = list(tree.body)
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            nodes += node.body
    for node in nodes:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_"):
            found[node.name] = ast.get_docstring(node)
    return found


def split_row(line):
    """The cells of a table row, with escaped pipes (\\|) restored."""
    cells = re.split(r"(?<!\\)\|", line.strip())[1:-1]
    return [c.strip().replace("\\|", "|") for c in cells]


def doc_rows():
    """[(file or None, test name, cells, line number)] of the table rows in the doc."""
    with open(DOC) as f:
        lines = f.read().splitlines()
    rows, current = [], None
    for no, line in enumerate(lines, 1):
        m = FILE_HEADING.match(line)
        if m:
            current = m.group(1)
            continue
        if line.startswith("## "):
            current = None   # a new top-level section ends the table of cases
            continue
        m = ROW.match(line)
        if m:
            rows.append((current, m.group(1), split_row(line), no))
    return rows


def test_every_test_has_a_one_line_docstring():
    """A test without its threat stated (docstring missing, empty, or longer than one line)."""
    bad = []
    for filename in suite_files():
        for name, doc in functions_of(filename).items():
            if doc is None or not doc.strip():
                bad.append(f"{filename}::{name}: no docstring")
            elif "\n" in doc.strip():
                bad.append(f"{filename}::{name}: docstring spans {len(doc.strip().splitlines())} lines")
    assert not bad, "tests whose docstring is not one non-empty line:\n  " + "\n  ".join(bad)


def test_every_test_has_exactly_one_row_in_its_files_table():
    """A test missing from docs/security.md, listed twice, or listed under another file."""
    rows = doc_rows()
    missing, twice = [], []
    for filename in suite_files():
        listed = [name for f, name, _, _ in rows if f == filename]
        for name in functions_of(filename):
            n = listed.count(name)
            if n == 0:
                missing.append(f"{filename}::{name}")
            elif n > 1:
                twice.append(f"{filename}::{name} ({n} rows)")
    msg = []
    if missing:
        msg.append("tests with no row \"| `<name>` |\" under their file's heading in "
                   "docs/security.md:\n  " + "\n  ".join(missing))
    if twice:
        msg.append("tests with more than one row:\n  " + "\n  ".join(twice))
    assert not msg, "\n".join(msg)


def test_no_row_names_a_test_that_does_not_exist():
    """A row in docs/security.md for a test that was renamed or removed, or outside any file's table."""
    files = {f: functions_of(f) for f in suite_files()}
    bad = []
    for filename, name, _, no in doc_rows():
        if filename is None:
            bad.append(f"docs/security.md:{no}: `{name}` is not under a "
                       "\"### `tests/security/<file>.py`\" heading")
        elif filename not in files:
            bad.append(f"docs/security.md:{no}: `{name}` is under tests/security/{filename}, "
                       "which does not exist")
        elif name not in files[filename]:
            bad.append(f"docs/security.md:{no}: `{name}` is not a test in {filename}")
    assert not bad, "rows naming tests that do not exist:\n  " + "\n  ".join(bad)


def test_rows_state_the_docstring_and_a_result():
    """A row whose threat differs from the test's docstring, or whose result is empty."""
    files = {f: functions_of(f) for f in suite_files()}
    bad = []
    for filename, name, cells, no in doc_rows():
        doc = files.get(filename, {}).get(name)
        if doc is None:
            continue   # reported by the tests above
        if len(cells) != 3:
            bad.append(f"docs/security.md:{no}: `{name}`: {len(cells)} cells, want 3 "
                       "(test | threat | result; escape '|' as '\\|')")
            continue
        if cells[1] != doc.strip():
            bad.append(f"docs/security.md:{no}: `{name}`: threat is not the docstring\n"
                       f"      doc:       {cells[1]}\n      docstring: {doc.strip()}")
        if not cells[2]:
            bad.append(f"docs/security.md:{no}: `{name}`: no result")
    assert not bad, "rows that do not match their test:\n  " + "\n  ".join(bad)
