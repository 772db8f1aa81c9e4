// The camera: rear camera first on phones, a switch through the other cameras, clean stops.

import { cameraProblem } from './messages.js';

export class CameraError extends Error {
  constructor(problem, cause) {
    super(problem);
    this.problem = problem; // a key of CAMERA_MESSAGES
    this.cause = cause;
  }
}

export class Camera {
  /** @param {HTMLVideoElement} video */
  constructor(video) {
    this.video = video;
    this.stream = null;
    this.deviceIds = [];
    this.deviceIndex = -1;
  }

  get running() {
    return !!this.stream;
  }

  /** More than one camera: worth showing the switch. Labels/ids are known only after permission. */
  get canSwitch() {
    return this.deviceIds.length > 1;
  }

  async start(deviceId) {
    if (!navigator.mediaDevices?.getUserMedia) {
      throw new CameraError(window.isSecureContext ? 'missing' : 'insecure');
    }
    const video = {
      width: { ideal: 640 },
      height: { ideal: 480 },
      // The rear camera on phones; laptops have only a front one and ignore "ideal".
      ...(deviceId ? { deviceId: { exact: deviceId } } : { facingMode: { ideal: 'environment' } }),
    };
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video, audio: false });
    } catch (error) {
      throw new CameraError(cameraProblem(error), error);
    }
    this.stop();
    this.stream = stream;
    this.video.srcObject = stream;
    try {
      await this.video.play();
    } catch (error) {
      // Autoplay of a muted inline video is allowed everywhere we care about; a failure here is an
      // interrupted play() (a quick switch), which the next start() replaces.
      if (error?.name !== 'AbortError') throw new CameraError('failed', error);
    }
    await this.#refreshDevices(stream);
  }

  /** Next camera in the device list (front ↔ rear on phones). */
  async switchCamera() {
    if (!this.canSwitch) return;
    const next = (this.deviceIndex + 1) % this.deviceIds.length;
    await this.start(this.deviceIds[next]);
  }

  pause() {
    this.video.pause();
  }

  async resume() {
    if (this.stream) await this.video.play().catch(() => {});
  }

  stop() {
    if (!this.stream) return;
    for (const track of this.stream.getTracks()) track.stop();
    this.stream = null;
    this.video.srcObject = null;
  }

  async #refreshDevices(stream) {
    try {
      const devices = await navigator.mediaDevices.enumerateDevices();
      this.deviceIds = devices.filter((d) => d.kind === 'videoinput' && d.deviceId).map((d) => d.deviceId);
    } catch {
      this.deviceIds = [];
    }
    const current = stream.getVideoTracks()[0]?.getSettings?.().deviceId;
    this.deviceIndex = Math.max(0, this.deviceIds.indexOf(current));
  }
}
