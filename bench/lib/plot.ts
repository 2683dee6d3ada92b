/**
 * A horizontal bar chart for bench/results/ (line plots use bin/report/svg.ts `linePlot`).
 */

const W = 640;
const COLORS = ['#d62728', '#1f77b4', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** `unit` follows each value (default '×'). */
export function barPlot(o: { title: string; bars: [string, number][]; unit?: string }): string {
  const max = Math.max(1, ...o.bars.map(([, v]) => v));
  const left = 170;
  const right = 80;
  const rowH = 34;
  const h = 50 + o.bars.length * rowH + 20;
  const pw = W - left - right;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${h}" viewBox="0 0 ${W} ${h}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${h}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${esc(o.title)}</text>`,
  ];
  o.bars.forEach(([label, v], i) => {
    const y = 45 + i * rowH;
    const w = (Math.max(0, v) / max) * pw;
    parts.push(`<text x="${left - 8}" y="${y + 17}" text-anchor="end">${esc(label)}</text>`);
    parts.push(
      `<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${rowH - 10}" fill="${COLORS[(i + 1) % COLORS.length]}"/>`,
    );
    parts.push(`<text x="${left + w + 6}" y="${y + 17}">${v}${esc(o.unit ?? '×')}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
