import cliProgress from 'cli-progress';
import type { Progress } from '../run/engine.js';

const fmtDur = (ms: number) => {
  if (!Number.isFinite(ms)) return '?';
  const s = Math.round(ms / 1000);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
};

export function describe(p: Progress): { rate: number; eta: number } {
  const dt = (p.elapsedMs || 1) / 1000;
  const rate = (p.done - p.startDone) / dt;
  const eta = rate > 0 ? ((p.total - p.done) / rate) * 1000 : Infinity;
  return { rate, eta };
}

/**
 * A live bar with rate, ETA, errors and spend on a terminal; plain periodic lines otherwise
 * (CI logs and pipes get a readable record instead of control codes).
 */
export function progressReporter(stream: NodeJS.WriteStream = process.stderr, opts: { intervalMs?: number; quiet?: boolean } = {}) {
  if (opts.quiet) return { update: (_: Progress) => {}, stop: () => {} };
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream,
        format: '{bar} {percentage}% | {value}/{total} | {rate}/s | ETA {eta_h} | err {errors} | conc {conc} | {tokens} tok{cost}',
        barsize: 24,
        hideCursor: true,
        clearOnComplete: false,
      },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      update(p: Progress) {
        const { rate, eta } = describe(p);
        const payload = { rate: rate.toFixed(1), eta_h: fmtDur(eta), errors: p.errored, conc: `${p.inFlight}/${p.concurrency}`, tokens: p.inputTokens + p.outputTokens, cost: p.cost ? ` $${p.cost.toFixed(4)}` : '' };
        if (!started) {
          bar.start(p.total, p.done, payload);
          started = true;
        } else bar.update(p.done, payload);
      },
      stop() {
        if (started) bar.stop();
      },
    };
  }
  const interval = opts.intervalMs ?? 5000;
  let last = -Infinity;
  return {
    update(p: Progress) {
      if (p.elapsedMs - last < interval && p.done < p.total) return;
      last = p.elapsedMs;
      const { rate, eta } = describe(p);
      stream.write(
        `progress ${p.done}/${p.total} (${((100 * p.done) / Math.max(1, p.total)).toFixed(1)}%) rate=${rate.toFixed(1)}/s eta=${fmtDur(eta)} errors=${p.errored} concurrency=${p.concurrency} tokens=${p.inputTokens + p.outputTokens}${p.cost ? ` cost=$${p.cost.toFixed(4)}` : ''}\n`,
      );
    },
    stop() {},
  };
}
