/**
 * A tiny dependency-free SVG line plot for reports (the CLI's report.svg, benchmarks):
 *
 *   writeFileSync('plot.svg', linePlot({ title, xLabel: 's', yLabel: 'ms', series: [{ name, points }] }));
 *
 * Axes get "nice" ticks; series longer than the plot is wide are reduced to a min/max envelope per pixel
 * column, so a waveform of a million samples stays a small file and keeps its peaks.
 */

export interface PlotSeries {
  name: string;
  points: ReadonlyArray<readonly [number, number]>;
  /** CSS colour; default from a palette. */
  color?: string;
  /** Dashed (a trace drawn over another that may cover it exactly). Default false. */
  dashed?: boolean;
}

export interface LinePlotOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: PlotSeries[];
  /** Pixels. Default 800 × 360. */
  width?: number;
  height?: number;
  /** Force axis ranges; default: the data's extent. */
  xRange?: readonly [number, number];
  yRange?: readonly [number, number];
  /** A line under the title (a verdict), green when `ok`, red when not. */
  note?: { text: string; ok: boolean };
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];
const M = { left: 64, right: 16, top: 36, bottom: 48 };

export function linePlot(opts: LinePlotOptions): string {
  const width = opts.width ?? 800;
  const height = opts.height ?? 360;
  const pw = width - M.left - M.right;
  const ph = height - M.top - M.bottom;
  const all = opts.series.flatMap((s) => s.points);
  const [x0, x1] = opts.xRange ?? padRange(extent(all.map((p) => p[0])));
  const [y0, y1] = opts.yRange ?? padRange(extent(all.map((p) => p[1])));
  const sx = (x: number) => M.left + ((x - x0) / (x1 - x0)) * pw;
  const sy = (y: number) => M.top + ph - ((y - y0) / (y1 - y0)) * ph;

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${esc(opts.title)}</text>`,
  ];
  if (opts.note) {
    const color = opts.note.ok ? '#2ca02c' : '#d62728';
    out.push(`<text x="${width - M.right}" y="20" text-anchor="end" fill="${color}">${esc(opts.note.text)}</text>`);
  }
  for (const x of ticks(x0, x1)) {
    out.push(
      `<line x1="${f(sx(x))}" y1="${M.top}" x2="${f(sx(x))}" y2="${M.top + ph}" stroke="#eee"/>`,
      `<text x="${f(sx(x))}" y="${M.top + ph + 16}" text-anchor="middle">${label(x)}</text>`,
    );
  }
  for (const y of ticks(y0, y1)) {
    out.push(
      `<line x1="${M.left}" y1="${f(sy(y))}" x2="${M.left + pw}" y2="${f(sy(y))}" stroke="#eee"/>`,
      `<text x="${M.left - 6}" y="${f(sy(y) + 4)}" text-anchor="end">${label(y)}</text>`,
    );
  }
  out.push(
    `<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`,
    `<text x="${M.left + pw / 2}" y="${height - 10}" text-anchor="middle">${esc(opts.xLabel)}</text>`,
    `<text transform="translate(16 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(opts.yLabel)}</text>`,
  );
  opts.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length]!;
    const drawn = envelope(s.points, x0, x1, pw);
    const pts = drawn.map(([x, y]) => `${f(sx(x))},${f(sy(y))}`).join(' ');
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    // a polyline of one point draws nothing: a lone point gets a dot
    if (drawn.length === 1) {
      const [x, y] = drawn[0]!;
      out.push(`<circle cx="${f(sx(x))}" cy="${f(sy(y))}" r="3" fill="${esc(color)}"/>`);
    }
    out.push(
      `<polyline fill="none" stroke="${esc(color)}" stroke-width="1.2"${dash} points="${pts}"/>`,
      `<rect x="${M.left + 8}" y="${M.top + 8 + i * 16}" width="12" height="3" fill="${esc(color)}"/>`,
      `<text x="${M.left + 24}" y="${M.top + 13 + i * 16}">${esc(s.name)}</text>`,
    );
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

function extent(values: number[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo > hi ? [0, 1] : [lo, hi];
}

function padRange([lo, hi]: [number, number]): [number, number] {
  if (lo === hi) return [lo - 1, hi + 1];
  return [lo, hi];
}

/** About five round-numbered ticks within [lo, hi]. */
function ticks(lo: number, hi: number): number[] {
  const raw = (hi - lo) / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Math.round(v / step) * step);
  return out;
}

/** Points within [x0, x1]; more than two per pixel column become that column's first/min/max/last. */
function envelope(points: PlotSeries['points'], x0: number, x1: number, columns: number): [number, number][] {
  const inRange = points.filter(([x, y]) => x >= x0 && x <= x1 && Number.isFinite(y));
  if (inRange.length <= columns * 2) return inRange.map(([x, y]) => [x, y]);
  const out: [number, number][] = [];
  let col = -1;
  let bucket: (readonly [number, number])[] = [];
  const flush = () => {
    if (bucket.length === 0) return;
    let min = bucket[0]!;
    let max = bucket[0]!;
    for (const p of bucket) {
      if (p[1] < min[1]) min = p;
      if (p[1] > max[1]) max = p;
    }
    const [a, b] = min[0] <= max[0] ? [min, max] : [max, min];
    out.push([a[0], a[1]], [b[0], b[1]]);
    bucket = [];
  };
  for (const p of inRange) {
    const c = Math.floor(((p[0] - x0) / (x1 - x0)) * columns);
    if (c !== col) {
      flush();
      col = c;
    }
    bucket.push(p);
  }
  flush();
  return out;
}

function f(v: number): string {
  return v.toFixed(1);
}

function label(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
}

function esc(s: string): string {
  return s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
}

/** Several plots (from linePlot) one above the other in one SVG document. */
export function stackPlots(plots: string[]): string {
  let y = 0;
  let width = 0;
  const inner: string[] = [];
  for (const p of plots) {
    const w = Number(/width="(\d+)"/.exec(p)?.[1] ?? 0);
    const h = Number(/height="(\d+)"/.exec(p)?.[1] ?? 0);
    inner.push(p.replace('<svg ', `<svg y="${y}" `));
    y += h;
    width = Math.max(width, w);
  }
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}">\n` +
    inner.join('') +
    '</svg>\n'
  );
}
