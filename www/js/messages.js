// Every failure the user can meet, as a title and a sentence that says what to do next.
// The e2e tests look for these titles, so keep them stable.

export const CAMERA_MESSAGES = {
  denied: {
    title: 'Camera permission denied',
    body: 'The browser was told not to share the camera with this page. Allow the camera in the site settings ' +
      '(the icon left of the address) and reload, or classify a photo instead.',
  },
  missing: {
    title: 'No camera found',
    body: 'This device has no camera the browser can use. Choose or drop a photo instead (you can also paste one).',
  },
  busy: {
    title: 'The camera is busy',
    body: 'Another app or tab is using the camera. Close it and try again, or classify a photo instead.',
  },
  insecure: {
    title: 'Camera needs a secure page',
    body: 'Browsers only share the camera with https:// pages or localhost. Classify a photo instead.',
  },
  failed: {
    title: 'The camera could not start',
    body: 'The browser reported an error while starting the camera. Try again, or classify a photo instead.',
  },
};

/** Maps a getUserMedia failure (a DOMException) to one of CAMERA_MESSAGES' keys. */
export function cameraProblem(error) {
  switch (error?.name) {
    case 'NotAllowedError':
    case 'SecurityError':
    case 'PermissionDeniedError':
      return 'denied';
    case 'NotFoundError':
    case 'DevicesNotFoundError':
    case 'OverconstrainedError':
      return 'missing';
    case 'NotReadableError':
    case 'TrackStartError':
    case 'AbortError':
      return 'busy';
    case 'InsecureContextError':
      return 'insecure';
    default:
      return 'failed';
  }
}

/** Maps a MobileCnnError (by .code) to what the user reads. `what` names the model or file. */
export function modelMessage(error, what = 'the model') {
  const detail = error?.message ? ` (${error.message})` : '';
  switch (error?.code) {
    case 'download':
      return { title: 'Model download failed',
        body: `Could not download ${what}. Check the connection and try again${detail}.` };
    case 'checksum':
      return { title: 'Model file is corrupt (checksum wrong)',
        body: `The downloaded bytes of ${what} do not match the catalogue's sha256, so they were not used. ` +
          'Try again; if it persists the server holds a different file.' };
    case 'malformed':
      return { title: 'Unreadable model file',
        body: `${what} is not a TFLite or ONNX model this runtime can read${detail}.` };
    case 'unsupported':
      return { title: 'Model not supported',
        body: `${what} uses an operation or layout this runtime does not implement${detail}.` };
    case 'too-large':
      return { title: 'Model too large',
        body: `${what} is larger than this runtime accepts${detail}.` };
    case 'input':
      return { title: 'Preprocessing needed',
        body: `${what} does not say how to prepare its input${detail}. Choose the preprocessing below and load it again.` };
    case 'no-simd':
      return { title: 'This browser lacks WebAssembly SIMD',
        body: 'The models run on WebAssembly SIMD, which this browser does not support. ' +
          'Use a current Chrome, Edge, Firefox or Safari (16.4 or later).' };
    case 'disposed':
      return null; // a switch superseded the work: not the user's problem
    default:
      return { title: 'Something went wrong', body: `${error?.message ?? String(error)}` };
  }
}
