// Turns what a page has (video, image, canvas, bitmap, ImageData, VideoFrame) into a message for the
// worker: an ImageBitmap (drawn there into RGBA) or RGBA bytes, always transferred, never the caller's own.

import { MobileCnnError } from './errors.js';

const has = (name) => typeof globalThis[name] === 'function';

/** `{ frame, transfer }`: frame is `{ bitmap }` or `{ rgba, width, height }`. */
export async function captureFrame(input) {
  if (has('ImageData') && input instanceof ImageData) {
    // Copy: transferring the caller's buffer would detach it under their feet.
    const rgba = new Uint8Array(input.data);
    return { frame: { rgba, width: input.width, height: input.height }, transfer: [rgba.buffer] };
  }
  if (has('HTMLVideoElement') && input instanceof HTMLVideoElement) {
    if (input.readyState < 2 || input.videoWidth === 0) {
      throw new MobileCnnError('input', 'the video has no frame yet (wait for its loadeddata event)');
    }
  } else if (has('HTMLImageElement') && input instanceof HTMLImageElement) {
    if (!input.complete || input.naturalWidth === 0) {
      try {
        await input.decode();
      } catch (e) {
        throw new MobileCnnError('input', `the image could not be decoded: ${input.currentSrc || input.src}`, { cause: e });
      }
    }
  } else if (!isBitmapSource(input)) {
    throw new MobileCnnError(
      'input',
      'classify() takes an HTMLVideoElement, HTMLImageElement, HTMLCanvasElement, OffscreenCanvas, ImageBitmap, ImageData or VideoFrame',
    );
  }
  let bitmap;
  try {
    bitmap = await (isImage(input) ? drawnImage(input) : createImageBitmap(input));
  } catch (e) {
    throw new MobileCnnError('input', `could not read the pixels: ${e.message}`, { cause: e });
  }
  if (typeof OffscreenCanvas === 'function') return { frame: { bitmap }, transfer: [bitmap] };
  return readOnThisThread(bitmap);
}

const isImage = (x) => has('HTMLImageElement') && x instanceof HTMLImageElement;

/**
 * An <img> drawn into a bitmap. createImageBitmap(img) decodes the file again (~15 ms for a 0.5 MP
 * JPEG in Chromium); drawing reuses the decoded image the page already has.
 */
function drawnImage(img) {
  if (typeof OffscreenCanvas !== 'function') return createImageBitmap(img);
  const canvas = new OffscreenCanvas(img.naturalWidth, img.naturalHeight);
  canvas.getContext('2d').drawImage(img, 0, 0);
  return canvas.transferToImageBitmap();
}

function isBitmapSource(x) {
  return ['HTMLCanvasElement', 'OffscreenCanvas', 'ImageBitmap', 'VideoFrame', 'SVGImageElement'].some(
    (name) => has(name) && x instanceof globalThis[name],
  );
}

/** Browsers without OffscreenCanvas (old Safari) cannot draw in the worker: read the pixels here. */
function readOnThisThread(bitmap) {
  const canvas = document.createElement('canvas');
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  const { data, width, height } = ctx.getImageData(0, 0, canvas.width, canvas.height);
  const rgba = new Uint8Array(data.buffer);
  return { frame: { rgba, width, height }, transfer: [rgba.buffer] };
}

/** A mid-grey frame of `size`², for profiling without an input. */
export function greyFrame(size) {
  const rgba = new Uint8Array(size * size * 4).fill(128);
  return { frame: { rgba, width: size, height: size }, transfer: [rgba.buffer] };
}
