// The classifier's life: load, switch (new one ready first, then the old one disposed), and the
// continuous loop over video frames — one inference in flight at a time, so the worker never queues up.

const TOP_K = 5;

export class Runner {
  /**
   * @param {object} o
   * @param {typeof import('/pkg/index.js').Classifier} o.Classifier
   * @param {(result: object, meta: {source: 'video'|'still', classifier}) => void} o.onResult
   * @param {(error: Error) => void} o.onError   errors of classify() (load errors are thrown by load())
   */
  constructor({ Classifier, onResult, onError }) {
    this.Classifier = Classifier;
    this.onResult = onResult;
    this.onError = onError;
    this.classifier = null;
    this.video = null;
    this.paused = false;
    this.loadGeneration = 0;
    this.inFlight = null; // the promise of the running classify(), if any
    this.looping = false;
    this.switches = 0;
    this.frames = 0;
  }

  /**
   * Loads a model and makes it current. The old classifier keeps classifying until the new one is ready,
   * then it is disposed (after its in-flight frame). A later load() supersedes an earlier unfinished one.
   * `accept(classifier)` may throw to refuse the new one before it replaces the old.
   * Returns the new classifier, or null when superseded.
   */
  async load(source, options, accept = () => {}) {
    const generation = ++this.loadGeneration;
    const next = await this.Classifier.load(source, options);
    if (generation !== this.loadGeneration) {
      next.dispose();
      return null;
    }
    try {
      accept(next); // a last check by the caller; throwing keeps the old classifier running
    } catch (error) {
      next.dispose();
      throw error;
    }
    const previous = this.classifier;
    this.classifier = next;
    this.switches += previous ? 1 : 0;
    if (previous) {
      // Let its in-flight frame finish (or fail as disposed) before freeing the worker's memory.
      await this.inFlight?.catch(() => {});
      previous.dispose();
    }
    this.#kick();
    return next;
  }

  /** Continuous classification of a playing video element (null stops it). */
  setVideo(video) {
    this.video = video;
    this.#kick();
  }

  setPaused(paused) {
    this.paused = paused;
    this.#kick();
  }

  /** One classification of a still image (ImageBitmap/canvas/img). */
  async classifyStill(image) {
    const classifier = this.classifier;
    if (!classifier) return null;
    await this.inFlight?.catch(() => {});
    return this.#classify(classifier, image, 'still');
  }

  /** Re-runs the still image after a model switch, when there is no video. */
  async #classify(classifier, image, source) {
    const job = classifier.classify(image, { topK: TOP_K });
    this.inFlight = job;
    try {
      const result = await job;
      if (classifier === this.classifier) this.onResult(result, { source, classifier });
      return result;
    } catch (error) {
      if (error?.code !== 'disposed') this.onError(error);
      return null;
    } finally {
      if (this.inFlight === job) this.inFlight = null;
    }
  }

  #kick() {
    if (this.looping || !this.#shouldRun()) return;
    this.looping = true;
    this.#loop().finally(() => { this.looping = false; });
  }

  #shouldRun() {
    return !!(this.classifier && this.video && !this.paused);
  }

  async #loop() {
    const video = this.video;
    const frames = new FrameWatcher(video);
    let seen = 0;
    try {
      while (this.#shouldRun() && video === this.video) {
        const count = await frames.next(seen);
        if (!this.#shouldRun() || video !== this.video) break;
        if (count === seen || video.readyState < 2) continue; // no new frame: nothing new to say
        seen = count;
        const result = await this.#classify(this.classifier, video, 'video');
        if (result) this.frames++;
        else await sleep(100); // an error: do not spin
      }
    } finally {
      frames.stop();
    }
  }
}

/** Counts the frames a video presents (requestVideoFrameCallback), so the loop classifies a frame that
 *  arrived during the last inference at once, instead of waiting for the one after it. */
class FrameWatcher {
  constructor(video) {
    this.video = video;
    this.count = 0;
    this.wake = null;
    this.stopped = false;
    this.supported = 'requestVideoFrameCallback' in HTMLVideoElement.prototype;
    if (this.supported) this.#watch();
  }

  #watch() {
    this.id = this.video.requestVideoFrameCallback(() => {
      this.count++;
      this.wake?.();
      if (!this.stopped) this.#watch();
    });
  }

  /** The frame count once it exceeds `seen` (or as it is after 500 ms: a paused video presents nothing,
   *  and the loop must notice pause and switches). Without rVFC, one frame per animation frame. */
  next(seen) {
    if (!this.supported) return new Promise((resolve) => requestAnimationFrame(() => resolve(seen + 1)));
    if (this.count > seen) return Promise.resolve(this.count);
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.wake = null; resolve(this.count); }, 500);
      this.wake = () => { clearTimeout(timer); this.wake = null; resolve(this.count); };
    });
  }

  stop() {
    this.stopped = true;
    if (this.supported) this.video.cancelVideoFrameCallback(this.id);
    this.wake?.();
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
