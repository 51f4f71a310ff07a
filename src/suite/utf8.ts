import { Transform, type TransformCallback } from 'node:stream';
import { isUtf8 } from 'node:buffer';
import { AssayError } from '../common/errors.js';

/**
 * Passes a data file's bytes through unchanged, failing on the first line that is not valid UTF-8
 * (DATASET_ENCODING, naming file and line). A decoder would otherwise replace bad bytes with U+FFFD
 * and the model would be sent text that is not in the dataset. Complete lines are checked as they
 * pass (one fast isUtf8 per chunk; per line only to name the bad one).
 */
export function utf8Checked(file: string): Transform {
  let carry: Buffer = Buffer.alloc(0);
  let line = 1;
  const check = (buf: Buffer): void => {
    if (isUtf8(buf)) {
      for (let i = buf.indexOf(10); i >= 0; i = buf.indexOf(10, i + 1)) line++;
      return;
    }
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(10, start);
      const end = nl < 0 ? buf.length : nl;
      if (!isUtf8(buf.subarray(start, end)))
        throw new AssayError('DATASET_ENCODING', 'line is not valid UTF-8 (re-encode the file as UTF-8; bytes are never replaced)', { file, line });
      if (nl < 0) return;
      line++;
      start = nl + 1;
    }
  };
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      const buf = carry.length ? Buffer.concat([carry, chunk]) : chunk;
      const last = buf.lastIndexOf(10);
      try {
        if (last >= 0) check(buf.subarray(0, last + 1));
      } catch (e) {
        return cb(e as Error);
      }
      carry = last >= 0 ? Buffer.from(buf.subarray(last + 1)) : buf;
      cb(null, chunk);
    },
    flush(cb: TransformCallback) {
      try {
        if (carry.length) check(carry);
      } catch (e) {
        return cb(e as Error);
      }
      cb();
    },
  });
}
