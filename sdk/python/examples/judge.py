#!/usr/bin/python3
"""A judge: compile a C++ solution once, run it against test cases, print per-case verdicts.

    SOULBOX_URL=... SOULBOX_API_KEY=... python3 examples/judge.py
"""
from soulbox import Client

SOLUTION = r"""
#include <iostream>
int main() {
    long long a, b;
    std::cin >> a >> b;
    std::cout << a + b << "\n";
}
"""

TESTS = [
    {"stdin": "1 2\n", "expected_output": "3\n"},
    {"stdin": "40 2\n", "expected_output": "42\n"},
    {"stdin": "-5 5\n", "expected_output": "0\n"},
    {"stdin": "1000000000000 1\n", "expected_output": "1000000000002\n"},  # deliberately wrong
]


def main() -> None:
    client = Client()
    result = client.execute(language="cpp", code=SOLUTION, test_cases=TESTS,
                            limits={"wall_time_ms": 2000, "memory_mb": 128})
    if result.status == "compile_error":
        print("compile error:\n" + (result.compile_output or ""))
        return
    for case in result.test_cases:
        print(f"case {case.index + 1}: {case.verdict} ({case.wall_time_ms} ms) "
              f"output={case.stdout.strip()!r}")
    s = result.summary
    print(f"summary: {s.accepted}/{s.total} accepted, verdict {s.verdict}")


if __name__ == "__main__":
    main()
