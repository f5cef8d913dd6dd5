// The unmodified npm piston-client 1.0.2 against SoulBox: node client.mjs <origin>.
// Prints one JSON line with every answer (checked by tests/integration/test_piston.py).
import piston from "piston-client";

const client = piston({ server: process.argv[2] });
const out = {};
out.runtimes = await client.runtimes();
out.python = await client.execute("python", 'print("Hello, SoulBox!")');
out.args = await client.execute("python", "import sys\nprint(sys.argv[1:])");
out.stdin = await client.execute("python", "import sys\nprint(repr(sys.stdin.read()))",
                                 { stdin: "in" });
out.c = await client.execute("c", '#include <stdio.h>\nint main(void) { puts("hi"); return 0; }\n');
out.compile_error = await client.execute("c", "int main(void) { return nope; }\n");
out.runtime_error = await client.execute("python", "import sys\nsys.exit(3)");
out.timeout = await client.execute("python", "while True:\n    pass\n", { runTimeout: 1000 });
out.output_limit = await client.execute("python",
    "import sys\nwhile True:\n    sys.stdout.write('x' * 4096)\n");
out.alias = await client.execute("py", "print(1)");
console.log(JSON.stringify(out));
