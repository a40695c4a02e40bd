/**
 * Plain SVG charts: a sparkline, a step line chart with several series, and parallel
 * coordinates. Colours come from CSS classes bound to JupyterLab's theme variables
 * (style/base.css), so they follow the light and dark themes.
 */
import { IParameter, ITrial } from './api';

const SVG = 'http://www.w3.org/2000/svg';

export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number> = {},
  parent?: Element
): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) {
    node.setAttribute(key, String(value));
  }
  parent?.appendChild(node);
  return node;
}

export function formatNumber(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) {
    return '–';
  }
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e5)) {
    return value.toExponential(3);
  }
  return Number(value.toPrecision(4)).toString();
}

/** A best-so-far sparkline: lower is drawn lower for both directions (the curve's shape is what matters). */
export function sparkline(values: number[], width = 72, height = 22): SVGSVGElement {
  const root = svg('svg', { width, height, viewBox: `0 0 ${width} ${height}`, class: 'jp-MetaHPO-sparkline' });
  if (values.length === 0) {
    return root;
  }
  const points = values.length === 1 ? [values[0], values[0]] : values;
  const low = Math.min(...points);
  const high = Math.max(...points);
  const span = high - low || 1;
  const path = points
    .map((v, i) => {
      const x = 1 + (i * (width - 2)) / (points.length - 1);
      const y = height - 2 - ((v - low) / span) * (height - 4);
      return `${i === 0 ? 'M' : 'L'}${x.toFixed(1)},${y.toFixed(1)}`;
    })
    .join(' ');
  svg('path', { d: path, class: 'jp-MetaHPO-sparkline-line' }, root);
  return root;
}

export interface ISeries {
  label: string;
  points: [number, number][];
}

/** Several step series on shared axes (best so far: constant until the next improvement). */
export function stepChart(
  series: ISeries[],
  options: { xLabel: string; yLabel: string; width?: number; height?: number; xMax?: number; xFormat?: (x: number) => string }
): SVGSVGElement {
  const width = options.width ?? 520;
  const height = options.height ?? 200;
  const margin = { left: 64, right: 16, top: 10, bottom: 34 };
  const root = svg('svg', {
    viewBox: `0 0 ${width} ${height}`,
    class: 'jp-MetaHPO-chart',
    role: 'img',
    'aria-label': `${options.yLabel} by ${options.xLabel}`
  });
  const all = series.flatMap(s => s.points);
  if (all.length === 0) {
    svg('text', { x: width / 2, y: height / 2, 'text-anchor': 'middle', class: 'jp-MetaHPO-axis-label' }, root)
      .textContent = 'No complete trial yet';
    return root;
  }
  const xs = all.map(p => p[0]);
  const ys = all.map(p => p[1]);
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs, options.xMax ?? -Infinity);
  const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const xSpan = x1 - x0 || 1;
  const ySpan = y1 - y0 || Math.abs(y0) || 1;
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const X = (x: number) => margin.left + ((x - x0) / xSpan) * plotW;
  const Y = (y: number) => margin.top + plotH - ((y - y0) / ySpan) * plotH;
  const xFormat = options.xFormat ?? formatNumber;
  // Axes, with the ends labelled.
  svg('line', { x1: margin.left, y1: margin.top + plotH, x2: margin.left + plotW, y2: margin.top + plotH, class: 'jp-MetaHPO-axis' }, root);
  svg('line', { x1: margin.left, y1: margin.top, x2: margin.left, y2: margin.top + plotH, class: 'jp-MetaHPO-axis' }, root);
  const label = (x: number, y: number, text: string, anchor: string) => {
    const t = svg('text', { x, y, 'text-anchor': anchor, class: 'jp-MetaHPO-axis-label' }, root);
    t.textContent = text;
  };
  label(margin.left, height - 18, xFormat(x0), 'start');
  label(margin.left + plotW, height - 18, xFormat(x1), 'end');
  label(margin.left + plotW / 2, height - 4, options.xLabel, 'middle');
  label(margin.left - 6, margin.top + 10, formatNumber(y1), 'end');
  label(margin.left - 6, margin.top + plotH, formatNumber(y0), 'end');
  const yl = svg('text', { x: 12, y: margin.top + plotH / 2, 'text-anchor': 'middle', class: 'jp-MetaHPO-axis-label', transform: `rotate(-90 12 ${margin.top + plotH / 2})` }, root);
  yl.textContent = options.yLabel;
  series.forEach((s, k) => {
    if (s.points.length === 0) {
      return;
    }
    const sorted = [...s.points].sort((a, b) => a[0] - b[0]);
    let d = `M${X(sorted[0][0]).toFixed(1)},${Y(sorted[0][1]).toFixed(1)}`;
    for (let i = 1; i < sorted.length; i++) {
      d += ` H${X(sorted[i][0]).toFixed(1)} V${Y(sorted[i][1]).toFixed(1)}`;
    }
    d += ` H${X(x1).toFixed(1)}`;
    svg('path', { d, class: `jp-MetaHPO-series jp-MetaHPO-series-${k % 6}` }, root);
    for (const [x, y] of sorted) {
      svg('circle', { cx: X(x).toFixed(1), cy: Y(y).toFixed(1), r: 2.5, class: `jp-MetaHPO-dot jp-MetaHPO-series-${k % 6}` }, root);
    }
  });
  if (series.length > 1) {
    series.forEach((s, k) => {
      const y = margin.top + 12 + k * 14;
      svg('rect', { x: margin.left + plotW - 150, y: y - 8, width: 10, height: 3, class: `jp-MetaHPO-legend jp-MetaHPO-series-${k % 6}` }, root);
      const t = svg('text', { x: margin.left + plotW - 134, y, class: 'jp-MetaHPO-axis-label' }, root);
      t.textContent = s.label.length > 22 ? s.label.slice(0, 21) + '…' : s.label;
    });
  }
  return root;
}

/** One vertical axis per parameter and one for the value; each complete trial is a line,
 * the better a trial the stronger its line (the best tenth in the accent colour). */
export function parallelCoordinates(
  space: Record<string, IParameter>,
  trials: ITrial[],
  maximize: boolean,
  width = 720,
  height = 260
): SVGSVGElement {
  const names = Object.keys(space);
  const complete = trials.filter(t => t.state === 'complete' && t.value !== null);
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, class: 'jp-MetaHPO-chart jp-MetaHPO-parcoords', role: 'img', 'aria-label': 'parallel coordinates' });
  if (complete.length === 0 || names.length === 0) {
    const t = svg('text', { x: width / 2, y: height / 2, 'text-anchor': 'middle', class: 'jp-MetaHPO-axis-label' }, root);
    t.textContent = 'No complete trial yet';
    return root;
  }
  const top = 24;
  const bottom = height - 24;
  const axes = [...names, '(value)'];
  const step = (width - 80) / (axes.length - 1 || 1);
  const axisX = (i: number) => 40 + i * step;
  const values = complete.map(t => t.value as number);
  const vLow = Math.min(...values);
  const vHigh = Math.max(...values);
  const unit = (name: string, raw: unknown): number | null => {
    const p = space[name];
    if (p.type === 'choice') {
      const options = p.options ?? [];
      const i = options.findIndex(o => o === raw);
      return i < 0 ? null : options.length === 1 ? 0.5 : i / (options.length - 1);
    }
    const x = Number(raw);
    const low = p.low ?? 0;
    const high = p.high ?? 1;
    if (!Number.isFinite(x)) {
      return null;
    }
    if (p.type === 'loguniform' || p.log) {
      return (Math.log(x) - Math.log(low)) / (Math.log(high) - Math.log(low) || 1);
    }
    return (x - low) / (high - low || 1);
  };
  const Y = (u: number) => bottom - Math.min(1, Math.max(0, u)) * (bottom - top);
  // Worst first, so that the best lines are drawn on top.
  const order = [...complete].sort((a, b) => ((a.value as number) - (b.value as number)) * (maximize ? 1 : -1));
  const group = svg('g', {}, root);
  order.forEach((trial, rank) => {
    const quality = order.length === 1 ? 1 : rank / (order.length - 1);
    const us = names.map(n => unit(n, trial.config[n]));
    const v = vHigh === vLow ? 0.5 : ((trial.value as number) - vLow) / (vHigh - vLow);
    const points = [...us, v]
      .map((u, i) => (u === null ? null : `${axisX(i).toFixed(1)},${Y(u).toFixed(1)}`))
      .filter(p => p !== null);
    const best = quality >= 0.9;
    const line = svg('polyline', {
      points: points.join(' '),
      class: best ? 'jp-MetaHPO-pc-line jp-MetaHPO-pc-best' : 'jp-MetaHPO-pc-line',
      'stroke-opacity': best ? 0.9 : (0.12 + 0.5 * quality).toFixed(2)
    }, group);
    const title = svg('title', {}, line);
    title.textContent = `trial ${trial.number}: ${formatNumber(trial.value)}`;
  });
  axes.forEach((name, i) => {
    const x = axisX(i);
    svg('line', { x1: x, y1: top, x2: x, y2: bottom, class: 'jp-MetaHPO-axis' }, root);
    const t = svg('text', { x, y: 14, 'text-anchor': 'middle', class: 'jp-MetaHPO-axis-label' }, root);
    t.textContent = name.length > 14 ? name.slice(0, 13) + '…' : name;
    const p = space[name];
    let lowText = formatNumber(vLow);
    let highText = formatNumber(vHigh);
    if (p) {
      if (p.type === 'choice') {
        const options = p.options ?? [];
        lowText = String(options[0]);
        highText = String(options[options.length - 1]);
      } else {
        lowText = formatNumber(p.low);
        highText = formatNumber(p.high);
      }
    }
    const hi = svg('text', { x: x + 3, y: top + 10, class: 'jp-MetaHPO-axis-tick' }, root);
    hi.textContent = highText;
    const lo = svg('text', { x: x + 3, y: bottom, class: 'jp-MetaHPO-axis-tick' }, root);
    lo.textContent = lowText;
  });
  return root;
}
