import type { LogView, Verification } from './api';
import { href, useApi } from './hooks';
import { useState } from 'react';

/** Signed reports in the home, each verified as `assay verify <report> --run <its run>` would. */
export function Reports() {
  const { data, error } = useApi<{ reports: string[] }>('/api/reports');
  return (
    <section>
      <h1>Signed reports</h1>
      {error && <p role="alert" className="error">{error}</p>}
      <ul data-testid="reports">{(data?.reports ?? []).map((r) => <li key={r}><a href={href(['report', r])}>{r}</a></li>)}</ul>
      {data && !data.reports.length && <p>No signed reports (assay attest writes them beside the run log).</p>}
    </section>
  );
}

export function Report({ name }: { name: string }) {
  const { data: v, error } = useApi<Verification>(`/api/reports/${encodeURIComponent(name)}`);
  if (error) return <p role="alert" className="error">{error}</p>;
  if (!v) return <p>Verifying…</p>;
  return (
    <section>
      <h1>Report {name}</h1>
      <p className={v.ok ? 'ok' : 'error'} data-testid="verify-status"><strong>{v.ok ? 'VERIFIED' : 'FAILED'}</strong> — assay verify would exit <span data-testid="verify-exit">{v.exitCode}</span></p>
      {v.runId && <p>Recomputed from run <a href={href(['run', v.runId])}>{v.runId}</a>.</p>}
      <table data-testid="checks">
        <thead><tr><th scope="col">Check</th><th scope="col">Result</th><th scope="col">Where and why</th></tr></thead>
        <tbody>{v.checks.map((c) => <tr key={c.check} data-check={c.check}><th scope="row">{c.check}</th><td data-field="status">{c.status}</td><td>{c.failures.map((f, i) => <div key={i}>[{f.exit}] {f.where}: {f.message}</div>)}</td></tr>)}</tbody>
      </table>
      <h2>Signatures</h2>
      <ul>{v.signatures.map((s) => <li key={s.index}>#{s.index} {s.role ?? 'unknown role'} {s.keyId ?? '(no key verified it)'}: {s.valid ? 'valid' : 'invalid'}</li>)}</ul>
      {v.warnings.length > 0 && <><h2>Warnings</h2><ul>{v.warnings.map((w, i) => <li key={i}>{w}</li>)}</ul></>}
    </section>
  );
}

/** Transparency log: signed checkpoint, cosigners, entries, an entry's inclusion proof. */
export function Log() {
  const { data, error } = useApi<{ log: LogView | null }>('/api/log');
  const [idx, setIdx] = useState<number | null>(null);
  const { data: proof, error: perr } = useApi<{ index: number; size: number; root: string; proof: string[]; verified: boolean }>(idx === null ? null : `/api/log/proof/${idx}`);
  if (error) return <p role="alert" className="error">{error}</p>;
  if (!data) return <p>Loading…</p>;
  const l = data.log;
  if (!l) return <section><h1>Transparency log</h1><p>No log in this home.</p></section>;
  return (
    <section>
      <h1>Transparency log {l.origin}</h1>
      <dl className="facts" data-testid="checkpoint"><dt>Size</dt><dd data-field="size">{l.size}</dd><dt>Root</dt><dd className="mono">{l.root}</dd><dt>Signed by</dt><dd>{l.signers.join(', ')}</dd><dt>Verifier key</dt><dd className="mono">{l.vkey}</dd></dl>
      <h2>Signatures on the checkpoint</h2>
      <table data-testid="cosignatures">
        <thead><tr><th scope="col">Signer</th><th scope="col">Kind</th><th scope="col">Key ID</th><th scope="col">Cosigned at</th><th scope="col">Verification</th></tr></thead>
        <tbody>{l.signatures.map((s) => (
          <tr key={`${s.name}+${s.keyId}`} data-signer={s.name} data-kind={s.kind}>
            <th scope="row">{s.name}</th><td>{s.kind === 'log' ? 'log signature' : 'witness cosignature'}</td><td className="mono">{s.keyId}</td><td>{s.time ?? '—'}</td>
            <td data-field="verified">{s.verified === null ? 'not verified: witness not in the trust file for this log' : s.verified ? 'verified' : 'INVALID'}</td>
          </tr>
        ))}</tbody>
      </table>
      {!l.signatures.some((s) => s.kind === 'cosignature') && <p className="muted">No witness has cosigned this checkpoint (assay log witness --attach, or attest --witness-url).</p>}
      <h2>Checkpoint</h2><pre>{l.note}</pre>
      <h2>Entries</h2>
      <table data-testid="entries"><thead><tr><th scope="col">#</th><th scope="col">Type</th><th scope="col">Digest</th><th scope="col">Metadata</th><th scope="col">Proof</th></tr></thead>
        <tbody>{l.entries.map((e) => <tr key={e.index}><td>{e.index}</td><td>{e.entry.type}</td><td className="mono">{e.entry.digest}</td><td className="mono">{JSON.stringify(e.entry.metadata)}</td><td><button type="button" onClick={() => setIdx(e.index)}>Prove inclusion of entry {e.index}</button></td></tr>)}</tbody>
      </table>
      {perr && <p role="alert" className="error">{perr}</p>}
      {proof && <div data-testid="proof"><h2>Inclusion of entry {proof.index} in tree size {proof.size}: {proof.verified ? 'verified' : 'NOT verified'}</h2><ol>{proof.proof.map((h, i) => <li key={i} className="mono">{h}</li>)}</ol></div>}
    </section>
  );
}
