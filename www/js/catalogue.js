// The model catalogue: the package's bundled copy of catalogue/models.json (or the served file when the
// package has none), ordered by architecture and cost, with each model's MACs.

// Multiply-adds per image of each catalogue model, from `mobilecnn info` on the matching zoo architecture
// (same layers, same widths, same resolution). The catalogue will carry these itself; until then this
// table fills the picker, and a loaded model's own profile replaces its entry.
const KNOWN_MACS = {
  'mobilenet_v1_0.25_128_quant': 13.570e6, // zoo mobilenet_v1_0.25_128
  'mobilenet_v1_0.5_160_quant': 76.525e6, // zoo mobilenet_v1_0.5_160
  'mobilenet_v1_0.75_192_quant': 239.273e6, // zoo mobilenet_v1_0.75_192
  'keras_mobilenet_v1_0.25_224': 41.030e6, // zoo mobilenet_v1_0.25_224
  'mobilenet_v2_1.0_224_quant': 300.774e6, // zoo mobilenet_v2_1.0_224
  'tf2_mobilenet_v2_1.0_224_ptq': 300.774e6, // zoo mobilenet_v2_1.0_224
  'shufflenet_v1_g3_0.5x': 37.590e6, // zoo shufflenet_v1_g3_0.5
  'shufflenet_v1_g8_0.5x': 40.470e6, // zoo shufflenet_v1_g8_0.5
  'shufflenet_v2_x0_25': 17.576e6, // zoo shufflenet_v2_0.25
  'shufflenet_v2_x0_33': 22.455e6, // zoo shufflenet_v2_0.33
};

export async function loadCatalogue(pkg, url = '/catalogue/models.json') {
  let catalogue;
  if (Array.isArray(pkg?.catalogue) && pkg.catalogue.length) {
    catalogue = { models: pkg.catalogue, default: pkg.defaultModelId };
  } else {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`catalogue: HTTP ${response.status}`);
    catalogue = await response.json();
  }
  const order = ['mobilenet_v1', 'mobilenet_v2', 'shufflenet_v1', 'shufflenet_v2'];
  const models = catalogue.models
    .map((m) => ({ ...m, macs: m.macs ?? KNOWN_MACS[m.id] }))
    .sort((a, b) => order.indexOf(a.architecture) - order.indexOf(b.architecture) || (a.macs ?? 0) - (b.macs ?? 0));
  return { ...catalogue, models };
}
