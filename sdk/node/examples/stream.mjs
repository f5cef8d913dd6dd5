// Streaming with interactive stdin: the program asks, we answer as its output arrives.
//
//   node examples/stream.mjs      (SOULBOX_URL / SOULBOX_API_KEY from the environment)
import { Client } from '@soulbox/sdk';

const client = new Client();

const stream = await client.stream({
  language: 'python',
  code: `
    total = 0
    while True:
        line = input("number? ")
        if line == "done":
            break
        total += int(line)
        print(f"running total: {total}", flush=True)
    print(f"final: {total}")
    `,
});

const answers = ['5', '10', '27', 'done'];
let output = '';
let answered = 0;
for await (const event of stream) {
  if (event.type === 'started') console.log(`started ${event.id}`);
  else if (event.type === 'stdout') {
    process.stdout.write(event.data);
    // Output arrives in chunks as the program writes it: each prompt seen gets the next answer.
    output += event.data;
    while (output.split('number? ').length - 1 > answered) {
      const a = answers[answered++];
      console.log(`<< ${a}`);
      stream.sendStdin(a + '\n');
    }
  } else if (event.type === 'stderr') process.stderr.write(event.data);
  else if (event.type === 'exit') console.log(`exit: status=${event.status} exit_code=${event.exit_code}`);
}
