// Top-5 with probability bars. Video results are smoothed over frames (an exponential moving average per
// class) so labels do not flicker; the bars ease to their new length with a CSS transition.

import { el } from './dom.js';
import { formatPercent, shortLabel } from './format.js';

const ROWS = 5;
const SMOOTHING = 0.45; // weight of the newest frame
const FORGET_BELOW = 0.004;

export class ResultsView {
  constructor({ list, stageLabel, announce, fps, ms }) {
    this.list = list;
    this.announce = announce; // a polite live region: told only when the top-1 changes, not 30 times a second
    this.stageLabel = stageLabel;
    this.fpsOut = fps;
    this.msOut = ms;
    this.smoothed = new Map(); // classIndex → {label, wnid, probability}
    this.rows = [];
    this.frameTimes = [];
    this.recentMs = [];
    this.inferenceMs = NaN;
    this.lastStatsPaint = 0;
    this.clear('Starting…');
  }

  /** Empty rows with a one-line message (e.g. while the model loads). */
  clear(message) {
    this.smoothed.clear();
    this.frameTimes = [];
    this.recentMs = [];
    this.inferenceMs = NaN;
    this.rows = [];
    this.list.replaceChildren(el('li', { class: 'placeholder' }, message));
    this.stageLabel.textContent = '';
    this.fpsOut.textContent = '–';
    this.msOut.textContent = '–';
  }

  /** A new model: its first frame starts the average afresh; until then the old rows stay, dimmed. */
  markStale() {
    this.smoothed.clear();
    this.recentMs = [];
    this.inferenceMs = NaN;
    this.list.classList.add('stale');
  }

  /** @param {{predictions: Array, timings: object}} result @param {boolean} smooth  video frames smooth, stills do not */
  show(result, smooth) {
    this.list.classList.remove('stale');
    this.#paintPredictions(smooth ? this.#smooth(result.predictions) : result.predictions);
    this.#countFrame(result.timings, smooth);
  }

  #smooth(predictions) {
    const seen = new Set();
    for (const p of predictions) {
      seen.add(p.classIndex);
      const old = this.smoothed.get(p.classIndex);
      const prob = old ? old.probability + SMOOTHING * (p.probability - old.probability) : p.probability * SMOOTHING;
      this.smoothed.set(p.classIndex, { ...p, probability: prob });
    }
    for (const [key, value] of this.smoothed) {
      if (seen.has(key)) continue;
      value.probability *= 1 - SMOOTHING; // not in this frame's top-k: fade out
      if (value.probability < FORGET_BELOW) this.smoothed.delete(key);
    }
    return [...this.smoothed.values()].sort((a, b) => b.probability - a.probability).slice(0, ROWS);
  }

  #paintPredictions(predictions) {
    if (this.rows.length !== ROWS) {
      this.rows = Array.from({ length: ROWS }, () => {
        const label = el('span', { class: 'label' });
        const prob = el('span', { class: 'prob' });
        const fill = el('i');
        const li = el('li', {}, label, prob, el('span', { class: 'bar', 'aria-hidden': 'true' }, fill));
        return { li, label, prob, fill };
      });
      this.list.replaceChildren(...this.rows.map((r) => r.li));
    }
    this.rows.forEach((row, i) => {
      const p = predictions[i];
      row.li.hidden = !p;
      if (!p) return;
      const name = shortLabel(p.label);
      if (row.label.textContent !== name) {
        row.label.textContent = name;
        row.label.title = p.label;
        row.li.dataset.wnid = p.wnid ?? '';
      }
      row.prob.textContent = formatPercent(p.probability);
      row.fill.style.transform = `scaleX(${Math.min(1, Math.max(0, p.probability))})`;
    });
    const top = predictions[0];
    this.stageLabel.textContent = top ? `${shortLabel(top.label)} · ${formatPercent(top.probability, 0)}` : '';
    if (top && this.announce && this.announce.textContent !== shortLabel(top.label)) this.announce.textContent = shortLabel(top.label);
  }

  #countFrame(timings, continuous) {
    const now = performance.now();
    const ms = timings?.inferenceMs ?? timings?.totalMs;
    if (Number.isFinite(ms)) {
      // The median of the last frames: the first run of a model (caches cold) and a busy moment do not count.
      this.recentMs.push(ms);
      if (this.recentMs.length > 15) this.recentMs.shift();
      const sorted = [...this.recentMs].sort((a, b) => a - b);
      this.inferenceMs = sorted[sorted.length >> 1];
    }
    if (continuous) {
      this.frameTimes.push(now);
      while (this.frameTimes.length && now - this.frameTimes[0] > 2000) this.frameTimes.shift();
    } else {
      this.frameTimes = [];
    }
    // Numbers that change 30 times a second cannot be read: repaint them 4 times a second.
    if (now - this.lastStatsPaint < 250 && continuous) return;
    this.lastStatsPaint = now;
    const n = this.frameTimes.length;
    const fps = n > 1 ? ((n - 1) * 1000) / (this.frameTimes[n - 1] - this.frameTimes[0]) : NaN;
    this.fpsOut.textContent = Number.isFinite(fps) ? fps.toFixed(1) : '–';
    this.msOut.textContent = Number.isFinite(this.inferenceMs) ? this.inferenceMs.toFixed(1) : '–';
  }

  /** Paused: keep the labels, stop claiming a frame rate. */
  markPaused() {
    this.frameTimes = [];
    this.fpsOut.textContent = '–';
  }
}
