import { Writable } from 'node:stream';

/** A writable stream standing in for stdout/stderr, so a test can read what the CLI printed. */
export function captureOutput() {
  let text = '';
  const stream = new Writable({
    write(chunk, _encoding, done) {
      text += chunk;
      done();
    },
  });
  return { stream, text: () => text };
}
