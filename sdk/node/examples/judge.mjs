// A judge: run a C++ solution against test cases and print each case's verdict.
//
//   node examples/judge.mjs      (SOULBOX_URL / SOULBOX_API_KEY from the environment)
import { Client } from '@soulbox/sdk';

const client = new Client();

// Reads n and n numbers, prints their sum; wrong on purpose when the sum is negative.
const solution = `
  #include <iostream>
  int main() {
      long n, x, sum = 0;
      std::cin >> n;
      for (long i = 0; i < n; i++) { std::cin >> x; sum += x; }
      std::cout << (sum < 0 ? -sum : sum) << std::endl;
  }
  `;

const cases = [
  { stdin: '3\n1 2 3\n', expected_output: '6\n' },
  { stdin: '1\n42\n', expected_output: '42\n' },
  { stdin: '2\n-5 1\n', expected_output: '-4\n' },
  { stdin: '0\n', expected_output: '0\n' },
];

const result = await client.execute({
  language: 'cpp',
  code: solution,
  test_cases: cases,
  limits: { wall_time_ms: 2000, memory_mb: 128 },
});

if (result.status === 'compile_error') {
  console.log('compile error:\n' + result.compile_output);
  process.exit(1);
}
for (const tc of result.test_cases) {
  console.log(`case ${tc.index + 1}: ${tc.verdict} (${tc.wall_time_ms} ms) output=${JSON.stringify(tc.stdout)}`);
}
console.log(`summary: ${result.summary.accepted}/${result.summary.total} accepted, verdict ${result.summary.verdict}`);
