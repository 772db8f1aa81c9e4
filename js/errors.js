// Typed errors: every failure the package reports is a MobileCnnError with a stable `code`.

export const ERROR_CODES = [
  'download', 'checksum', 'malformed', 'unsupported', 'too-large', 'input', 'no-simd', 'disposed', 'internal',
];

export class MobileCnnError extends Error {
  constructor(code, message, options) {
    super(message, options);
    this.name = 'MobileCnnError';
    this.code = ERROR_CODES.includes(code) ? code : 'internal';
  }
}

/** The wasm side says `"<code>: <detail>"`; anything else (a trap, a bug) is `internal`. */
export function fromWorkerError({ code, message }) {
  return new MobileCnnError(code, message);
}
