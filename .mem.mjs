const m0 = process.memoryUsage();
for (const m of process.argv.slice(2)) await import(new URL(m, import.meta.url).href);
const m = process.memoryUsage();
console.log('rss +', ((m.rss - m0.rss) / 1048576).toFixed(1), 'heapUsed +', ((m.heapUsed - m0.heapUsed) / 1048576).toFixed(1), 'maxRSS', process.resourceUsage().maxRSS >> 10);
