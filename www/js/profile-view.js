// "Why fast or slow": the running model's per-layer profile (clf.profile()) as
//  1. a summary per operation type: share of FLOPs (multiply-adds) beside share of measured time,
//  2. a mirrored column chart over the layers in order (FLOPs share up, time share down),
//  3. the full table (MACs, params, memory access cost, ms) whose columns add up to the totals row.

import { el, svg } from './dom.js';
import { formatCount, formatExact, formatPercent } from './format.js';

// The runtime's op kinds (graph::Op::kind) in words.
const OP_NAMES = {
  conv: 'Full conv (stem)', conv1x1: '1×1 conv', conv1x1_grouped: 'Grouped 1×1 conv', depthwise: 'Depthwise conv',
  batchnorm: 'BatchNorm', activation: 'Activation', maxpool: 'Max pool', avgpool: 'Average pool',
  global_avgpool: 'Global avg pool', add: 'Add', concat: 'Concat', slice: 'Channel split', shuffle: 'Channel shuffle',
  dense: 'Dense (classifier)', softmax: 'Softmax', flatten: 'Flatten',
};

export function opName(op) {
  const key = String(op).toLowerCase();
  return OP_NAMES[key] ?? String(op);
}

export class ProfileView {
  constructor({ root, button }) {
    this.root = root;
    this.button = button;
  }

  busy(message) {
    this.button.disabled = true;
    this.root.replaceChildren(el('p', { class: 'profile-status' }, message));
  }

  idle(message) {
    this.button.disabled = false;
    this.root.replaceChildren(message ? el('p', { class: 'profile-status' }, message) : '');
  }

  /** @param {{layers: Array<{name, op, macs, params, mac, ms}>, totals: object}} profile */
  show(profile, modelTitle) {
    this.button.disabled = false;
    this.button.textContent = 'Again';
    const layers = profile.layers ?? [];
    const totals = totalsOf(profile);
    this.root.replaceChildren(
      el('p', { class: 'profile-status' },
        `${modelTitle}: ${layers.length} layers, ${formatCount(totals.macs)} MACs, `
        + `${formatCount(totals.params)} params, ${totals.ms.toFixed(2)} ms per image `
        + `(sum over layers${profile.runs > 1 ? `, each the median of ${profile.runs} runs` : ''}).`),
      this.#opSummary(layers, totals),
      this.#chart(layers, totals),
      this.#table(layers, totals),
    );
  }

  #opSummary(layers, totals) {
    const groups = new Map();
    for (const layer of layers) {
      const name = opName(layer.op);
      const g = groups.get(name) ?? { name, macs: 0, ms: 0, mac: 0, count: 0 };
      g.macs += layer.macs; g.ms += layer.ms; g.mac += layer.mac; g.count++;
      groups.set(name, g);
    }
    const rows = [...groups.values()].sort((a, b) => b.ms - a.ms);
    const max = Math.max(...rows.map((g) => Math.max(g.macs / totals.macs, g.ms / totals.ms)), 1e-9);
    const bar = (kind, share) => el('div', { class: `share ${kind}` },
      el('b', { style: { width: `${(share / max) * 75}%` } }), el('span', {}, `${formatPercent(share)} ${kind === 'flops' ? 'FLOPs' : 'time'}`));
    const rate = (g) => (g.ms > 0 && g.macs > 0 ? `${(g.macs / g.ms / 1e6).toFixed(1)} GMAC/s` : '');
    const summary = el('div', { class: 'op-summary' }, rows.map((g) => el('div', { class: 'op-row' },
      el('span', { class: 'op-name' }, `${g.name} ×${g.count}`, el('small', {}, rate(g))),
      bar('flops', g.macs / totals.macs), bar('time', g.ms / totals.ms))));
    return el('div', {}, summary, verdict(rows, totals));
  }

  #chart(layers, totals) {
    const n = layers.length;
    // Drawn at the container's own width, so text and bars keep their size from phone to desktop.
    const width = Math.max(280, Math.round(this.root.clientWidth || 360));
    const half = 70, gap = 14, label = 14, height = half * 2 + gap + 2 * label;
    const colW = width / Math.max(n, 1);
    const maxShare = Math.max(...layers.map((l) => Math.max(l.macs / totals.macs, l.ms / totals.ms)), 1e-9);
    const caption = el('p', { class: 'chart-caption' }, 'Tap a column for its layer.');
    const columns = layers.map((layer, i) => {
      const f = ((layer.macs / totals.macs) / maxShare) * half;
      const t = ((layer.ms / totals.ms) / maxShare) * half;
      const x = i * colW;
      const w = Math.max(colW - (colW > 3 ? 1 : 0), 0.6);
      const g = svg('g', { class: 'col', 'data-index': i },
        svg('rect', { x, y: 0, width: colW, height, fill: 'transparent' }),
        svg('rect', { x, y: label + half - f, width: w, height: Math.max(f, 0.5), fill: 'var(--flops)' }),
        svg('rect', { x, y: label + half + gap, width: w, height: Math.max(t, 0.5), fill: 'var(--time)' }),
        svg('title', {}, `${layer.name}`));
      g.addEventListener('click', () => {
        caption.textContent = `#${i + 1} ${layer.name} (${opName(layer.op)}): ${formatPercent(layer.macs / totals.macs)} of FLOPs, `
          + `${formatPercent(layer.ms / totals.ms)} of time, ${formatCount(layer.mac)} memory accesses, ${formatCount(layer.params)} params`;
      });
      return g;
    });
    const chart = svg('svg', { class: 'layer-chart', viewBox: `0 0 ${width} ${height}`, role: 'img',
      'aria-label': 'Per-layer share of FLOPs (up) and of measured time (down), layers in order' },
      columns,
      svg('text', { x: 2, y: 10 }, '▲ FLOPs share'),
      svg('text', { x: 2, y: height - 2 }, '▼ time share'),
      svg('line', { x1: 0, x2: width, y1: label + half + gap / 2, y2: label + half + gap / 2, stroke: 'var(--line)' }));
    return el('div', {}, chart, caption);
  }

  #table(layers, totals) {
    const head = el('tr', {}, ['#', 'layer', 'op', 'MACs', 'params', 'MAC', 'ms', 'FLOPs %', 'time %'].map((h) => el('th', { scope: 'col' }, h)));
    const body = layers.map((l, i) => el('tr', {},
      el('td', {}, i + 1), el('td', { class: 'name', title: l.name }, l.name), el('td', {}, opName(l.op)),
      el('td', { class: 'macs' }, formatExact(l.macs)), el('td', { class: 'params' }, formatExact(l.params)),
      el('td', { class: 'mac' }, formatExact(l.mac)), el('td', { class: 'ms' }, l.ms.toFixed(3)),
      el('td', {}, formatPercent(l.macs / totals.macs)), el('td', {}, formatPercent(l.ms / totals.ms))));
    const foot = el('tr', { class: 'totals' },
      el('td', {}, ''), el('td', {}, 'total'), el('td', {}, ''),
      el('td', { class: 'macs' }, formatExact(totals.macs)), el('td', { class: 'params' }, formatExact(totals.params)),
      el('td', { class: 'mac' }, formatExact(totals.mac)), el('td', { class: 'ms' }, totals.ms.toFixed(3)),
      el('td', {}, '100%'), el('td', {}, '100%'));
    return el('details', { class: 'layer-details' },
      el('summary', {}, 'All layers: MACs, params, memory access cost, time'),
      el('div', { class: 'table-wrap' },
        el('table', { class: 'layers' }, el('thead', {}, head), el('tbody', {}, body), el('tfoot', {}, foot))));
  }
}

/** Totals as the package reports them; the time total is the sum of the layers' measured times. */
function totalsOf(profile) {
  const layers = profile.layers ?? [];
  const sum = (key) => layers.reduce((s, l) => s + (l[key] ?? 0), 0);
  const t = profile.totals ?? {};
  return {
    macs: t.macs ?? sum('macs'),
    params: t.params ?? sum('params'),
    mac: t.mac ?? sum('mac'),
    ms: t.ms ?? sum('ms'),
  };
}

/** One sentence naming the op type whose share of the time most exceeds its share of the FLOPs. */
function verdict(rows, totals) {
  const candidates = rows
    .map((g) => ({ ...g, timeShare: g.ms / totals.ms, flopsShare: g.macs / totals.macs }))
    .filter((g) => g.timeShare >= 0.03);
  const slow = candidates.sort((a, b) => (b.timeShare - b.flopsShare) - (a.timeShare - a.flopsShare))[0];
  if (!slow || slow.timeShare - slow.flopsShare < 0.02) {
    return el('p', { class: 'op-verdict' }, 'Here time follows FLOPs closely: the ops with the multiply-adds also take the time.');
  }
  const perAccess = slow.macs / Math.max(slow.mac, 1);
  const why = perAccess < 1
    ? `It does ${perAccess < 0.05 ? 'almost no arithmetic' : `${perAccess.toFixed(2)} multiply-adds per memory access`}: `
      + 'its time goes to moving data (memory access cost, ShuffleNet V2\'s MAC).'
    : `Each memory access feeds only ${perAccess.toFixed(1)} multiply-adds, so it waits on memory more than on arithmetic `
      + '(memory access cost, ShuffleNet V2\'s MAC).';
  return el('p', { class: 'op-verdict' },
    `${slow.name}: ${formatPercent(slow.flopsShare)} of the FLOPs but ${formatPercent(slow.timeShare)} of the time. ${why}`);
}
