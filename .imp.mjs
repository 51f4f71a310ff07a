const c0 = process.cpuUsage(); const t = performance.now();
for (const m of process.argv.slice(2)) await import(m.startsWith('./') ? new URL(m, import.meta.url).href : m);
const c = process.cpuUsage(c0);
console.log(((c.user + c.system) / 1000).toFixed(0), (performance.now() - t).toFixed(0));
