/**
 * Removes the indentation that every non-blank line of `code` starts with (Python's
 * `textwrap.dedent` rule: tabs and spaces must match exactly), after dropping a first
 * line that is empty; blank lines become empty. Code whose lines share no leading
 * whitespace is returned unchanged, so ordinary code never changes.
 *
 * ```ts
 * dedent(`
 *     import numpy as np
 *     print(np.random.rand(3, 3))
 *     `) === 'import numpy as np\nprint(np.random.rand(3, 3))\n'
 * ```
 */
export function dedent(code: string): string {
  // Fast path: a first character that is not blank means no common margin.
  const c0 = code.charCodeAt(0);
  if (c0 !== 32 && c0 !== 9 && c0 !== 10 && c0 !== 13) return code;
  const lines = code.split('\n');
  let margin: string | null = null;
  for (const line of lines) {
    let i = 0;
    while (i < line.length && (line[i] === ' ' || line[i] === '\t')) i++;
    if (i === line.length) continue; // blank line
    const ws = line.slice(0, i);
    if (margin === null) margin = ws;
    else {
      let j = 0;
      while (j < margin.length && j < ws.length && margin[j] === ws[j]) j++;
      margin = margin.slice(0, j);
    }
    if (margin === '') return code;
  }
  if (margin === null || margin === '') return code;
  if (lines[0] === '') lines.shift();
  const n = margin.length;
  for (let k = 0; k < lines.length; k++) {
    const line = lines[k];
    lines[k] = /^[ \t]*$/.test(line) ? '' : line.slice(n);
  }
  return lines.join('\n');
}
