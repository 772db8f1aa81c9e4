// Number formatting shared by the views: short, with units people read at a glance.

export function formatBytes(n) {
  if (!Number.isFinite(n)) return '–';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}

/** 569_000_000 → "569M", 14_100_000 → "14.1M", 3_200 → "3.2k". */
export function formatCount(n) {
  if (!Number.isFinite(n)) return '–';
  const units = [[1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
  for (const [size, unit] of units) {
    if (Math.abs(n) >= size) {
      const v = n / size;
      return `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1).replace(/\.0$/, '') : v.toFixed(2).replace(/0$/, '')}${unit}`;
    }
  }
  return String(Math.round(n));
}

/** Exact integer with thin grouping, for tables whose columns must add up. */
export function formatExact(n) {
  return Math.round(n).toLocaleString('en-US');
}

export function formatPercent(fraction, digits = 1) {
  if (!Number.isFinite(fraction)) return '–';
  return `${(fraction * 100).toFixed(digits)}%`;
}

export function formatMs(ms) {
  if (!Number.isFinite(ms)) return '–';
  return ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2);
}

/** "Egyptian cat, Felis catus" → "Egyptian cat" (the first of an ImageNet synonym list). */
export function shortLabel(label) {
  return String(label).split(',')[0].trim();
}
