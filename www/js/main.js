// The demo's wiring: camera or photo → Runner (the npm package's Classifier in its worker) → views.
// URL switches: ?model=<catalogue id>  ?threads=<n> (0 or 1 = single-thread build)  ?camera=off  ?sw=off

import { $ } from './dom.js';
import { Camera, CameraError } from './camera.js';
import { CAMERA_MESSAGES, modelMessage } from './messages.js';
import { loadCatalogue } from './catalogue.js';
import { Runner } from './runner.js';
import { ResultsView } from './results-view.js';
import { ProfileView } from './profile-view.js';
import { PickerView, modelTitle } from './picker-view.js';
import { wireStillInputs, showStill } from './still.js';
import { formatBytes, formatCount } from './format.js';

const params = new URLSearchParams(location.search);
/** classifier → the key of its model (catalogue id, or own:<file name>), set before it becomes current. */
const modelKeys = new WeakMap();
const LAST_MODEL_KEY = 'mobilecnn.model';

const state = {
  pkg: null,
  catalogue: null,
  runner: null,
  camera: new Camera($('video')),
  model: null, // {id, title} of the running model
  still: null, // the ImageBitmap on show in photo mode
  userPaused: false,
  profileShown: false,
};

const results = new ResultsView({ list: $('top5'), stageLabel: $('stage-top1'), announce: $('sr-top1'), fps: $('stat-fps'), ms: $('stat-ms') });
const profileView = new ProfileView({ root: $('profile-body'), button: $('profile-run') });
const picker = new PickerView({
  dialog: $('picker'), list: $('model-list'), ownFile: $('own-file'), ownFileName: $('own-file-name'),
  ownLoad: $('own-load'), prepPreset: $('prep-preset'), prepFieldset: document.querySelector('.prep'), ownDetails: $('own-model'),
});

// ---------- notices and progress ----------

function notify({ title, body }, { kind = 'error', actions = [] } = {}) {
  $('notice').className = `notice ${kind}`;
  $('notice-title').textContent = title;
  $('notice-body').textContent = body;
  $('notice-actions').replaceChildren(...actions.map(([label, run]) => {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'btn';
    button.textContent = label;
    button.addEventListener('click', () => { hideNotice(); run(); });
    return button;
  }));
  $('notice').hidden = false;
}

function hideNotice() {
  $('notice').hidden = true;
}
$('notice-close').addEventListener('click', hideNotice);

function showProgress(label, fraction) {
  $('loading').hidden = false;
  $('loading-label').textContent = label;
  const bar = $('loading-bar');
  if (Number.isFinite(fraction)) bar.value = Math.min(1, Math.max(0, fraction));
  else bar.removeAttribute('value'); // indeterminate
}

function hideProgress() {
  $('loading').hidden = true;
}

/** The package reports downloads of the wasm runtime and of the model file. */
function onLoadProgress(what) {
  return (p) => {
    const { phase, loaded = 0, total = 0 } = p ?? {};
    const noun = phase === 'wasm' ? 'runtime (WebAssembly)' : what;
    const amount = total ? `${formatBytes(loaded)} / ${formatBytes(total)}` : loaded ? formatBytes(loaded) : '';
    showProgress(`Downloading ${noun}${amount ? ` · ${amount}` : ''}`, total ? loaded / total : NaN);
  };
}

// ---------- model ----------

/** ?threads=0 or 1 forces the single-thread build; ?threads=n asks for n threads (when isolated). */
function threadsOption() {
  const value = params.get('threads');
  if (value == null || value === '' || value === 'auto') return 'auto';
  const n = Number(value);
  return Number.isInteger(n) && n > 1 ? n : false;
}

function classifierOptions(extra = {}) {
  return {
    threads: threadsOption(),
    modelBaseUrl: new URL('/models/', location.href).href,
    ...extra,
  };
}

async function switchModel(model) {
  const title = modelTitle(model);
  picker.setCurrent(model.id);
  showProgress(`Loading ${title}…`, NaN);
  document.documentElement.dataset.modelState = 'loading';
  try {
    const clf = await state.runner.load(model.id, classifierOptions({ onProgress: onLoadProgress(title) }),
      (candidate) => modelKeys.set(candidate, model.id));
    if (!clf) return; // superseded by a later pick
    localStorage.setItem(LAST_MODEL_KEY, model.id);
    modelReady(clf, { id: model.id, title });
  } catch (error) {
    modelFailed(error, title, () => switchModel(model));
  }
}

async function loadOwnModel({ bytes, name, preprocessing }) {
  showProgress(`Loading ${name}…`, NaN);
  document.documentElement.dataset.modelState = 'loading';
  try {
    // The worker takes the bytes; keep our copy so a retry with other preprocessing needs no new pick.
    const clf = await state.runner.load(bytes.slice(), classifierOptions({ preprocessing, onProgress: onLoadProgress(name) }),
      (candidate) => {
        if (!candidate.info?.preprocessing) throw Object.assign(new Error('the file does not say how to preprocess images'), { code: 'input' });
        modelKeys.set(candidate, `own:${name}`);
      });
    if (!clf) return;
    picker.setCurrent(null);
    modelReady(clf, { id: null, key: `own:${name}`, title: name });
  } catch (error) {
    if (error?.code === 'input' && !preprocessing) {
      hideProgress();
      document.documentElement.dataset.modelState = state.runner.classifier ? 'ready' : 'failed';
      notify(modelMessage(error, name));
      picker.needPreprocessing();
      return;
    }
    modelFailed(error, name, () => loadOwnModel({ bytes, name, preprocessing }));
  }
}

function modelReady(clf, model) {
  hideProgress();
  hideNotice();
  state.model = model;
  document.documentElement.dataset.model = model.key ?? model.id;
  document.documentElement.dataset.modelState = 'ready';
  $('model-name').textContent = model.title;
  showBuild(clf.info);
  const macs = clf.info?.macs;
  $('stat-macs').textContent = macs ? formatCount(macs) : '–';
  if (model.id && macs) picker.setMacs(model.id, macs);
  if (state.camera.running || state.still) results.markStale();
  else results.clear('Start the camera or choose a photo.');
  $('btn-pause').disabled = !state.camera.running;
  if (state.still && !state.camera.running) classifyStill();
  // Paused camera: the new model still gets to say what it sees in the frame on screen.
  if (state.camera.running && state.userPaused) state.runner.classifyStill($('video'));
  if (state.profileShown) runProfile();
  else profileView.idle();
}

function modelFailed(error, what, retry) {
  hideProgress();
  document.documentElement.dataset.modelState = 'failed';
  const message = modelMessage(error, what);
  if (!message) return;
  if (state.runner.classifier) {
    // The old model keeps running: say so, so the failure does not look like a hang.
    message.body += ` Still running: ${state.model?.title ?? 'the previous model'}.`;
  }
  console.error(error);
  notify(message, { actions: retry && error?.code !== 'malformed' && error?.code !== 'unsupported' ? [['Try again', retry]] : [] });
}

function showBuild(info) {
  const build = info?.build === 'threads' ? 'threads' : 'simd';
  const threads = info?.threads ?? 1;
  const text = build === 'threads'
    ? `WASM SIMD · ${threads} thread${threads === 1 ? '' : 's'}`
    : `WASM SIMD · 1 thread${window.crossOriginIsolated ? '' : ' (not isolated)'}`;
  $('build').textContent = text;
  $('build').className = 'build simd';
  $('build').title = build === 'threads'
    ? 'Threaded SIMD build: the page is cross-origin isolated, so the worker shares memory with a thread pool.'
    : 'Single-thread SIMD build' + (window.crossOriginIsolated ? '.' : ': the page is not cross-origin isolated, so threads are unavailable.');
  document.documentElement.dataset.build = build;
  document.documentElement.dataset.threads = String(threads);
}

// ---------- camera and photos ----------

async function startCamera() {
  $('btn-camera').disabled = true;
  try {
    await state.camera.start();
    state.still = null;
    $('still').hidden = true;
    $('video').hidden = false;
    $('stage-empty').hidden = true;
    $('btn-switch').hidden = !state.camera.canSwitch;
    setPaused(false);
    state.runner.setVideo($('video'));
    if (state.runner.classifier) results.clear('Looking…');
    hideNoticeIfCamera();
  } catch (error) {
    const problem = error instanceof CameraError ? error.problem : 'failed';
    if (!(error instanceof CameraError)) console.error(error);
    document.documentElement.dataset.camera = problem;
    $('stage-empty').hidden = false;
    $('stage-empty').textContent = 'No camera. Choose, drop or paste a photo to classify it.';
    notify(CAMERA_MESSAGES[problem], { actions: [['Choose a photo', () => $('photo-input').click()],
      ...(problem === 'denied' || problem === 'missing' ? [] : [['Try again', startCamera]])] });
  } finally {
    $('btn-camera').disabled = false;
    updateCameraButton();
  }
}

function hideNoticeIfCamera() {
  if (Object.values(CAMERA_MESSAGES).some((m) => m.title === $('notice-title').textContent)) hideNotice();
  document.documentElement.dataset.camera = 'on';
}

function stopCamera() {
  state.runner.setVideo(null);
  state.camera.stop();
  $('video').hidden = true;
  $('btn-switch').hidden = true;
  $('btn-pause').disabled = true;
  document.documentElement.dataset.camera = 'off';
  updateCameraButton();
}

function updateCameraButton() {
  $('btn-camera-label').textContent = state.camera.running ? 'Stop' : 'Camera';
  $('btn-camera').classList.toggle('active', state.camera.running);
  $('btn-pause').disabled = !state.camera.running || !state.runner?.classifier;
}

function setPaused(paused) {
  state.userPaused = paused;
  $('btn-pause').setAttribute('aria-pressed', String(paused));
  $('btn-pause-label').textContent = paused ? 'Resume' : 'Pause';
  $('stage-paused').hidden = !paused;
  if (paused) { state.camera.pause(); results.markPaused(); } else state.camera.resume();
  state.runner?.setPaused(paused);
}

async function showPhoto(bitmap) {
  if (state.camera.running) stopCamera();
  state.still?.close?.();
  state.still = bitmap;
  showStill($('still'), bitmap);
  $('still').hidden = false;
  $('stage-empty').hidden = true;
  $('stage-paused').hidden = true;
  await classifyStill();
}

async function classifyStill() {
  if (!state.still || !state.runner.classifier) return;
  results.clear('Looking…');
  await state.runner.classifyStill(state.still);
}

// ---------- profile ----------

async function runProfile() {
  const clf = state.runner.classifier;
  if (!clf) return;
  state.profileShown = true;
  profileView.busy('Measuring every layer of the running model…');
  try {
    const profile = await medianProfile(clf);
    if (!profile) return;
    if (clf !== state.runner.classifier) return; // switched meanwhile: the new model's profile follows
    profileView.show(profile, state.model?.title ?? 'this model');
    if (state.model?.id && profile?.totals?.macs) {
      picker.setMacs(state.model.id, profile.totals.macs);
      $('stat-macs').textContent = formatCount(profile.totals.macs);
    }
  } catch (error) {
    if (error?.code === 'disposed') return;
    profileView.idle(`Profiling failed: ${error?.message ?? error}`);
  }
}

const PROFILE_RUNS = 5;

/** clf.profile() a few times; each layer's time is its median over the runs (one run is at the mercy of
 *  whatever else the device does), and the time total is the sum of those medians. */
async function medianProfile(clf) {
  const runs = [];
  for (let i = 0; i < PROFILE_RUNS; i++) {
    runs.push(await clf.profile());
    if (clf !== state.runner.classifier) return null;
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const layers = runs[0].layers.map((layer, i) => ({ ...layer, ms: median(runs.map((r) => r.layers[i].ms)) }));
  return { layers, totals: { ...runs[0].totals, ms: layers.reduce((sum, l) => sum + l.ms, 0) }, runs: PROFILE_RUNS };
}

// ---------- start-up ----------

function wireControls() {
  $('btn-model').addEventListener('click', () => picker.open());
  $('btn-photo').addEventListener('click', () => $('photo-input').click());
  $('btn-pause').addEventListener('click', () => setPaused(!state.userPaused));
  $('btn-camera').addEventListener('click', () => (state.camera.running ? stopCamera() : startCamera()));
  $('btn-switch').addEventListener('click', async () => {
    try { await state.camera.switchCamera(); } catch (error) {
      notify(CAMERA_MESSAGES[error?.problem ?? 'failed']);
    }
  });
  $('profile-run').addEventListener('click', runProfile);
  picker.onPick = (model) => switchModel(model);
  picker.onOwnModel = (own) => loadOwnModel(own);
  wireStillInputs({
    input: $('photo-input'), dropZone: $('stage'), dropHint: $('drop-hint'),
    onImage: (bitmap) => showPhoto(bitmap),
    onModelFile: (file) => picker.takeFile(file),
    onError: (message) => notify({ title: 'Not a photo', body: message }),
  });
  // A hidden tab needs no inference: stop the loop (and the battery drain) until it is visible again.
  document.addEventListener('visibilitychange', () => {
    if (!state.userPaused) state.runner?.setPaused(document.hidden);
  });
}

/** Registers the offline cache and, on a first visit, waits (briefly) until it controls the page, so the
 *  wasm and model files fetched next are cached for the second visit. */
async function registerServiceWorker() {
  if (params.get('sw') === 'off' || !('serviceWorker' in navigator)) return;
  try {
    await navigator.serviceWorker.register('/sw.js');
    if (navigator.serviceWorker.controller) return;
    await new Promise((resolve) => {
      navigator.serviceWorker.addEventListener('controllerchange', resolve, { once: true });
      setTimeout(resolve, 3000);
    });
  } catch (error) {
    console.warn('service worker:', error);
  }
}

async function main() {
  wireControls();
  await registerServiceWorker();

  let pkg;
  try {
    pkg = await import('/pkg/index.js');
  } catch (error) {
    console.error(error);
    notify({ title: 'The runtime did not load', body: 'Could not load the classifier package (/pkg/). Check the connection and reload.' },
      { actions: [['Reload', () => location.reload()]] });
    return;
  }
  state.pkg = pkg;
  if (!pkg.supportsSimd()) {
    document.documentElement.dataset.modelState = 'no-simd';
    $('build').textContent = 'no WebAssembly SIMD';
    notify(modelMessage({ code: 'no-simd' }));
    return;
  }

  state.runner = new Runner({
    Classifier: pkg.Classifier,
    onResult: (result, { source, classifier }) => {
      results.show(result, source === 'video');
      // Which model the rows on screen come from, and how many results so far (the e2e tests read these).
      $('top5').dataset.model = modelKeys.get(classifier) ?? '';
      document.documentElement.dataset.results = String(state.runner.frames + 1);
    },
    onError: (error) => notify(modelMessage(error, state.model?.title)),
  });
  window.mobilecnnDemo = { state, runner: state.runner, switchModel: (id) => switchModel(state.catalogue.models.find((m) => m.id === id)) };

  try {
    state.catalogue = await loadCatalogue(pkg);
  } catch (error) {
    console.error(error);
    notify({ title: 'Model list unavailable', body: 'Could not load the model catalogue. Check the connection and reload.' },
      { actions: [['Reload', () => location.reload()]] });
    return;
  }
  const models = state.catalogue.models;
  const wanted = params.get('model') ?? localStorage.getItem(LAST_MODEL_KEY) ?? state.catalogue.default;
  const first = models.find((m) => m.id === wanted) ?? models.find((m) => m.id === state.catalogue.default) ?? models[0];
  picker.setModels(models, first.id);

  // Camera and model start together: whichever is slower decides when the first label shows.
  const camera = params.get('camera') === 'off' ? null : startCamera();
  if (!camera) { $('stage-empty').hidden = false; }
  await Promise.all([switchModel(first), camera]);
  updateCameraButton();
}

main();
