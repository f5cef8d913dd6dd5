/**
 * Server-Sent Events and NDJSON readers over a response body.
 * @internal
 */
import type { IncomingMessage } from 'node:http';
import { ConnectionError } from './errors.js';

/** One Server-Sent Event: its `event` name and its `data` parsed as JSON (or the text). @internal */
export interface SseEvent {
  event: string;
  data: unknown;
}

function abortable(res: IncomingMessage, signal?: AbortSignal): () => void {
  if (!signal) return () => undefined;
  const onAbort = (): void => { res.destroy(signal.reason as Error); };
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}

/** Splits a response body into lines (without their `\n`/`\r\n`). @internal */
export async function* lines(res: IncomingMessage, signal?: AbortSignal): AsyncGenerator<string> {
  const off = abortable(res, signal);
  res.setEncoding('utf8');
  let buf = '';
  try {
    for await (const chunk of res) {
      buf += chunk as string;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        let line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line.endsWith('\r')) line = line.slice(0, -1);
        yield line;
      }
    }
    if (buf !== '') yield buf;
  } catch (e) {
    if (signal?.aborted) throw signal.reason;
    throw new ConnectionError(`the stream broke: ${(e as Error).message}`, { code: 'connection_error', cause: e });
  } finally {
    off();
    // A body read to its end leaves the connection in the pool; one left early is closed.
    if (!res.complete) res.destroy();
  }
}

/** Parses Server-Sent Events from a response body. @internal */
export async function* sseEvents(res: IncomingMessage, signal?: AbortSignal): AsyncGenerator<SseEvent> {
  let event = '';
  let data: string[] = [];
  for await (const line of lines(res, signal)) {
    if (line === '') {
      if (data.length) {
        const text = data.join('\n');
        let parsed: unknown = text;
        try { parsed = JSON.parse(text); } catch { /* keep the text */ }
        yield { event: event || 'message', data: parsed };
      }
      event = '';
      data = [];
      continue;
    }
    if (line.startsWith(':')) continue;
    const c = line.indexOf(':');
    const field = c < 0 ? line : line.slice(0, c);
    let value = c < 0 ? '' : line.slice(c + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  if (data.length) {
    const text = data.join('\n');
    let parsed: unknown = text;
    try { parsed = JSON.parse(text); } catch { /* keep the text */ }
    yield { event: event || 'message', data: parsed };
  }
}

/** Parses NDJSON (one JSON object per line) from a response body. @internal */
export async function* ndjson(res: IncomingMessage, signal?: AbortSignal): AsyncGenerator<unknown> {
  for await (const line of lines(res, signal)) {
    if (line.trim() === '') continue;
    yield JSON.parse(line);
  }
}
