// The model picker: a bottom sheet listing every catalogue model (architecture, size, published top-1,
// MACs, params), plus "use your own .tflite/.onnx" with the preprocessing chosen here when the file has none.

import { el } from './dom.js';
import { formatBytes, formatCount, formatPercent } from './format.js';

const ARCH_TITLES = {
  mobilenet_v1: 'MobileNet V1',
  mobilenet_v2: 'MobileNet V2',
  shufflenet_v1: 'ShuffleNet V1',
  shufflenet_v2: 'ShuffleNet V2',
};

/** Preprocessing presets as Classifier.load takes them: float = (byte · inputScale − mean[c]) / std[c]. */
export const PREPROCESSING_PRESETS = {
  tf: { colorOrder: 'RGB', inputScale: 1, mean: [127.5, 127.5, 127.5], std: [127.5, 127.5, 127.5] },
  torch: { colorOrder: 'RGB', inputScale: 1 / 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  caffe: { colorOrder: 'BGR', inputScale: 1, mean: [0, 0, 0], std: [1, 1, 1] },
};

export function architectureTitle(arch) {
  return ARCH_TITLES[arch] ?? arch;
}

/** "mobilenet_v1_0.25_128_quant" → "MobileNet V1 0.25 · 128 px · uint8" */
export function modelTitle(model) {
  const h = model.hyperparameters ?? {};
  const parts = [architectureTitle(model.architecture)];
  if (h.alpha != null) parts.push(`${h.alpha}×`);
  if (h.groups != null) parts.push(`g=${h.groups}`);
  if (h.scale != null) parts.push(`${h.scale}×`);
  return `${parts.join(' ')} · ${model.input_size} px${model.precision === 'uint8' ? ' · quant' : ''}`;
}

export class PickerView {
  constructor({ dialog, list, ownFile, ownFileName, ownLoad, prepPreset, prepFieldset, ownDetails }) {
    Object.assign(this, { dialog, list, ownFile, ownFileName, ownLoad, prepPreset, prepFieldset, ownDetails });
    this.models = [];
    this.currentId = null;
    this.macsById = {};
    this.ownBytes = null;
    this.ownName = '';
    this.onPick = () => {};
    this.onOwnModel = () => {};

    ownFile.addEventListener('change', () => {
      const file = ownFile.files?.[0];
      ownFile.value = '';
      if (file) this.takeFile(file);
    });
    ownLoad.addEventListener('click', () => {
      if (!this.ownBytes) return;
      this.dialog.close();
      this.onOwnModel({ bytes: this.ownBytes, name: this.ownName, preprocessing: this.preprocessing() });
    });
    // A tap on the backdrop closes the sheet (the dialog element itself is the backdrop's hit target).
    dialog.addEventListener('click', (e) => { if (e.target === dialog) dialog.close(); });
  }

  /** A model file picked here or dropped on the page: remember its bytes, open the sheet at "own model". */
  async takeFile(file) {
    this.ownBytes = new Uint8Array(await file.arrayBuffer());
    this.ownName = file.name;
    this.ownFileName.textContent = `${file.name} · ${formatBytes(file.size)}`;
    this.ownLoad.disabled = false;
    this.ownDetails.open = true;
    if (!this.dialog.open) this.dialog.showModal();
  }

  /** Ask for preprocessing: the file did not carry it. */
  needPreprocessing() {
    this.ownDetails.open = true;
    this.prepFieldset.classList.add('needed');
    if (this.prepPreset.value === 'file') this.prepPreset.value = 'tf';
    if (!this.dialog.open) this.dialog.showModal();
  }

  /** undefined = let the file decide; otherwise the chosen preset. (Input size and the background class of
   *  1001-output files come from the model itself.) */
  preprocessing() {
    const preset = PREPROCESSING_PRESETS[this.prepPreset.value];
    return preset ? structuredClone(preset) : undefined;
  }

  setModels(models, currentId) {
    this.models = models;
    this.currentId = currentId;
    this.render();
  }

  setCurrent(id) {
    this.currentId = id;
    this.render();
  }

  /** The MACs a loaded model reports replace the catalogue's figure (they agree for catalogue files). */
  setMacs(id, macs) {
    if (!Number.isFinite(macs) || this.macsById[id] === macs) return;
    this.macsById[id] = macs;
    this.render();
  }

  open() {
    this.prepFieldset.classList.remove('needed');
    this.dialog.showModal();
    this.list.querySelector('[aria-current="true"]')?.scrollIntoView({ block: 'nearest' });
  }

  render() {
    const items = this.models.map((m) => {
      const macs = this.macsById[m.id] ?? m.macs;
      const current = m.id === this.currentId;
      return el('li', {}, el('button', {
        type: 'button', class: 'model-item', 'aria-current': current ? 'true' : 'false', dataset: { model: m.id },
        onclick: () => { this.dialog.close(); if (!current) this.onPick(m); },
      },
      el('span', {}, el('span', { class: 'arch' }, architectureTitle(m.architecture)), el('br'),
        el('span', { class: 'title' }, modelTitle(m))),
      el('span', { class: 'badge' }, current ? 'running' : ''),
      el('span', { class: 'facts' },
        el('span', {}, 'size ', el('b', {}, formatBytes(m.bytes))),
        el('span', {}, 'top-1 ', el('b', {}, m.published_top1 != null ? formatPercent(m.published_top1) : '–')),
        el('span', {}, 'MACs ', el('b', {}, macs ? formatCount(macs) : '–')),
        el('span', {}, 'params ', el('b', {}, m.params ? formatCount(m.params) : '–')),
        el('span', {}, el('b', {}, m.format === 'tflite' ? 'TFLite' : 'ONNX')))));
    });
    this.list.replaceChildren(...items);
  }
}
