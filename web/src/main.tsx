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
import { Dashboard, ModelPage, RegistryHome, SignIn } from './Registry';
import { isRegistry } from './registry-api';
import { FindingPage, Findings, Inbox, Obligations } from './FollowUp';
import './style.css';

/** Registry screens (served by `assay server` under /ui/). */
function RegistryScreen({ parts, query }: { parts: string[]; query: URLSearchParams }) {
  const [a, b] = parts;
  if (a === 'signin') return <SignIn />;
  if (a === 'dashboard') return <Dashboard />;
  if (a === 'model' && b) return <ModelPage id={b} />;
  if (a === 'findings') return <Findings query={query} />;
  if (a === 'finding' && b) return <FindingPage id={b} />;
  if (a === 'obligations') return <Obligations query={query} />;
  if (a === 'inbox') return <Inbox {...(b ? { orgId: b } : {})} query={query} />;
  return <RegistryHome />;
}

function Screen() {
  const { parts, query } = useRoute();
  if (isRegistry()) return <RegistryScreen parts={parts} query={query} />;
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
      <header>
        {isRegistry() ? (
          <nav aria-label="main"><strong>Assay registry</strong> <a href={href([])}>Public</a> <a href={href(['findings'])}>Findings</a> <a href={href(['dashboard'])}>Dashboard</a> <a href={href(['obligations'])}>Obligations</a> <a href={href(['inbox'])}>Inbox</a> <a href={href(['signin'])}>Sign in</a></nav>
        ) : (
          <nav aria-label="main"><strong>Assay</strong> <a href={href([])}>Runs</a> <a href={href(['compare'])}>Compare</a> <a href={href(['reports'])}>Reports</a> <a href={href(['log'])}>Transparency log</a></nav>
        )}
      </header>
      <main><Screen /></main>
    </>
  );
}

createRoot(document.getElementById('root')!).render(<StrictMode><App /></StrictMode>);
