import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { Compare } from './Compare';
import { href, useRoute } from './hooks';
import { Log, Report, Reports } from './Reports';
import { Run } from './Run';
import { Runs } from './Runs';
import { Sample } from './Sample';
import { Samples } from './Samples';
import { Verdict } from './Verdict';
import './style.css';

function Screen() {
  const { parts, query } = useRoute();
  const [a, b, c, d] = parts;
  if (a === 'run' && b && c === 'samples') return <Samples id={b} query={query} />;
  if (a === 'run' && b && c === 'sample' && d) return <Sample id={b} sampleKey={d} />;
  if (a === 'run' && b) return <Run id={b} />;
  if (a === 'compare') return <Compare {...(b ? { a: b } : {})} {...(c ? { b: c } : {})} />;
  if (a === 'verdict' && b) return <Verdict id={b} />;
  if (a === 'reports') return <Reports />;
  if (a === 'report' && b) return <Report name={b} />;
  if (a === 'log') return <Log />;
  return <Runs />;
}

function App() {
  return (
    <>
      <header><nav aria-label="main"><strong>Assay</strong> <a href={href([])}>Runs</a> <a href={href(['compare'])}>Compare</a> <a href={href(['reports'])}>Reports</a> <a href={href(['log'])}>Transparency log</a></nav></header>
      <main><Screen /></main>
    </>
  );
}

createRoot(document.getElementById('root')!).render(<StrictMode><App /></StrictMode>);
