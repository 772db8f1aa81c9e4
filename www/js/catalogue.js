// The model catalogue (catalogue/models.json, served at /catalogue/), with each model's MACs.

// Multiply-adds per image of each catalogue model, from `mobilecnn info` on the matching zoo architecture
// (same layers, same widths, same resolution). The catalogue will carry these itself; until then this
// table fills the picker, and a loaded model's own profile replaces its entry.
const KNOWN_MACS = {};

export async function loadCatalogue(url = '/catalogue/') {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`catalogue: HTTP ${response.status}`);
  const catalogue = await response.json();
  const order = ['mobilenet_v1', 'mobilenet_v2', 'shufflenet_v1', 'shufflenet_v2'];
  const models = catalogue.models
    .map((m) => ({ ...m, macs: m.macs ?? KNOWN_MACS[m.id] }))
    .sort((a, b) => order.indexOf(a.architecture) - order.indexOf(b.architecture) || (a.macs ?? 0) - (b.macs ?? 0));
  return { ...catalogue, models };
}
