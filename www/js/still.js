// Still photos: file picker, drag and drop, paste. Each yields an ImageBitmap drawn on the stage canvas.

/** Calls onImage(ImageBitmap, name) for each photo the user picks, drops or pastes; onError(message).
 *  A dropped .tflite/.onnx goes to onModelFile(file) instead. */
export function wireStillInputs({ input, dropZone, dropHint, onImage, onModelFile, onError }) {
  const accept = async (file) => {
    if (!file) return;
    if (/\.(tflite|onnx)$/i.test(file.name)) {
      onModelFile(file);
      return;
    }
    if (!file.type.startsWith('image/')) {
      onError(`"${file.name}" is not an image.`);
      return;
    }
    try {
      const bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
      onImage(bitmap, file.name);
    } catch {
      onError(`"${file.name}" could not be decoded as an image.`);
    }
  };

  input.addEventListener('change', () => {
    accept(input.files?.[0]);
    input.value = ''; // picking the same file again still fires change
  });

  // Drag and drop anywhere on the page, with the stage highlighted.
  let depth = 0;
  const hasFiles = (e) => [...(e.dataTransfer?.types ?? [])].includes('Files');
  document.addEventListener('dragenter', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    if (depth++ === 0) { dropZone.classList.add('dragging'); dropHint.hidden = false; }
  });
  document.addEventListener('dragleave', (e) => {
    if (!hasFiles(e)) return;
    if (--depth <= 0) { depth = 0; dropZone.classList.remove('dragging'); dropHint.hidden = true; }
  });
  document.addEventListener('dragover', (e) => { if (hasFiles(e)) e.preventDefault(); });
  document.addEventListener('drop', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    depth = 0;
    dropZone.classList.remove('dragging');
    dropHint.hidden = true;
    const files = [...e.dataTransfer.files];
    accept(files.find((f) => f.type.startsWith('image/')) ?? files[0]);
  });

  document.addEventListener('paste', (e) => {
    const item = [...(e.clipboardData?.items ?? [])].find((i) => i.kind === 'file' && i.type.startsWith('image/'));
    if (item) { e.preventDefault(); accept(item.getAsFile()); }
  });
}

/** Draws a bitmap on the stage canvas at its own resolution (CSS scales it to fit). */
export function showStill(canvas, bitmap) {
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  canvas.getContext('2d').drawImage(bitmap, 0, 0);
}
