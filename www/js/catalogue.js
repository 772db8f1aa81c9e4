// The model catalogue: the package's bundled copy of catalogue/models.json (or the served file when the
// package has none), ordered by architecture and cost. Each entry carries its `macs` and `params`,
// computed from the model file's graph by tools/make_catalogue.py.

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
  const models = [...catalogue.models]
    .sort((a, b) => order.indexOf(a.architecture) - order.indexOf(b.architecture) || (a.macs ?? 0) - (b.macs ?? 0));
  return { ...catalogue, models };
}
