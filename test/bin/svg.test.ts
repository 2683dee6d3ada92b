import t from 'tap';
import { linePlot, stackPlots } from '../../bin/report/svg.js';

const points = (svg: string) =>
  [...svg.matchAll(/<polyline[^>]* points="([^"]*)"/g)].map((m) =>
    m[1]!
      .split(' ')
      .filter(Boolean)
      .map((p) => p.split(',').map(Number)),
  );

t.test('a plot: title, labels and legend escaped, one polyline per series, points inside the frame', async (t) => {
  const svg = linePlot({
    title: 'a < b & "c"',
    xLabel: 'x',
    yLabel: 'y',
    series: [
      {
        name: 'up',
        points: [
          [0, 0],
          [1, 1],
          [2, 4],
        ],
      },
      {
        name: 'down',
        points: [
          [0, 4],
          [2, 0],
        ],
        color: 'black',
      },
    ],
    width: 400,
    height: 200,
  });
  t.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="400" height="200"/);
  t.match(svg, 'a &lt; b &amp; &quot;c&quot;');
  t.match(svg, '>up</text>');
  t.match(svg, 'stroke="black"');
  const [up, down] = points(svg);
  t.equal(up!.length, 3);
  t.equal(down!.length, 2);
  for (const [x, y] of [...up!, ...down!]) t.ok(x! >= 64 && x! <= 384 && y! >= 36 && y! <= 152, `${x},${y} inside`);
  t.ok(up![0]![1]! > up![2]![1]!, 'larger y is higher up');
  t.match(svg, />0<\/text>/);
  t.match(svg, />4<\/text>/, 'round ticks at the data extent');
});

t.test('long series become a min/max envelope per pixel column, keeping the peaks', async (t) => {
  const n = 200_000;
  const series = Array.from({ length: n }, (_, i) => [i, i === 123_456 ? 5 : Math.sin(i / 10)] as [number, number]);
  const svg = linePlot({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 's', points: series }] });
  const [p] = points(svg);
  t.ok(p!.length <= 2 * 720 + 2, `${p!.length} points drawn for ${n}`);
  const top = Math.min(...p!.map((q) => q[1]!));
  t.equal(top, 36, 'the single peak still reaches the top of the frame');
  t.ok(svg.length < 60_000, `${svg.length} bytes`);
});

t.test('edge cases: constant data, no data, NaN points, forced ranges', async (t) => {
  const flat = linePlot({
    title: 't',
    xLabel: 'x',
    yLabel: 'y',
    series: [
      {
        name: 'f',
        points: [
          [0, 3],
          [1, 3],
        ],
      },
    ],
  });
  t.notMatch(flat, /NaN|Infinity/, 'a constant series gets a range around it');
  const empty = linePlot({ title: 't', xLabel: 'x', yLabel: 'y', series: [] });
  t.notMatch(empty, /NaN|Infinity/);
  const holes = linePlot({
    title: 't',
    xLabel: 'x',
    yLabel: 'y',
    series: [
      {
        name: 'h',
        points: [
          [0, 1],
          [1, NaN],
          [2, 2],
        ],
      },
    ],
    xRange: [0, 1],
    yRange: [-1, 1],
  });
  t.equal(points(holes)[0]!.length, 1, 'NaN and out-of-range points are left out');
  t.match(holes, />-1<\/text>/);
  t.match(holes, />0.2<\/text>/, 'fractional ticks');
});

t.test('stackPlots puts plots one above the other', async (t) => {
  const a = linePlot({ title: 'a', xLabel: 'x', yLabel: 'y', series: [], width: 300, height: 100 });
  const b = linePlot({ title: 'b', xLabel: 'x', yLabel: 'y', series: [], width: 500, height: 200 });
  const s = stackPlots([a, b]);
  t.match(s, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="500" height="300"/);
  t.match(s, '<svg y="0" ');
  t.match(s, '<svg y="100" ');
});

t.test('a verdict under the title; a dashed trace; a one-point series is a dot', async (t) => {
  const svg = linePlot({
    title: 't',
    xLabel: 'x',
    yLabel: 'y',
    series: [
      { name: 'one', points: [[1, 1]] },
      {
        name: 'over',
        points: [
          [0, 0],
          [2, 2],
        ],
        dashed: true,
      },
    ],
    note: { text: 'sample-exact: NO', ok: false },
  });
  t.match(svg, /<text [^>]*fill="#d62728">sample-exact: NO<\/text>/, 'the verdict, red when it fails');
  t.match(svg, /<circle cx="[\d.]+" cy="[\d.]+" r="3"/, 'the lone point is drawn');
  t.match(svg, /stroke-dasharray="6 4" points=/, 'the dashed series');
  t.match(
    linePlot({ title: 't', xLabel: 'x', yLabel: 'y', series: [], note: { text: 'ok', ok: true } }),
    'fill="#2ca02c"',
  );
});
