// Builds a TF.js forward function from our exported graph (bench/wasm/src/export.rs) with our
// weights, from the tf ops a TF.js user would write: fused conv2d / depthwiseConv2d with bias and
// activation, per-group conv2d + concat for grouped 1×1 convs, gather for channel shuffles.

const ACT = { none: 'linear', relu: 'relu', relu6: 'relu6' };

export function buildTfModel(tf, g, w) {
  const W = ([at, len]) => w.subarray(at, at + len);
  const owned = [];
  const keep = (t) => { owned.push(t); return t; };
  const inShape = new Map([[g.input, g.input_shape]]);
  for (const n of g.nodes) inShape.set(n.output, n.shape);

  const layers = g.nodes.map((n) => {
    const ins = n.inputs;
    const [, , cin] = inShape.get(ins[0]);
    switch (n.op) {
      case 'conv': {
        const [kh, kw] = n.k;
        const [t, l, b, r] = n.pad;
        const pad = [[0, 0], [t, b], [l, r], [0, 0]];
        const perm = n.perm ? keep(tf.tensor1d(n.perm, 'int32')) : null;
        const cing = cin / n.groups;
        const coutg = n.cout / n.groups;
        const ohwi = tf.tensor4d(W(n.weight), [n.cout, kh, kw, cing]);
        const bias = n.bias ? W(n.bias) : null;
        const activation = ACT[n.act];
        let f;
        if (n.groups === 1) {
          const filter = keep(tf.transpose(ohwi, [1, 2, 3, 0]));
          const bt = bias && keep(tf.tensor1d(bias));
          f = (x) => tf.fused.conv2d({ x, filter, strides: n.stride, pad, bias: bt, activation });
        } else if (n.groups === cin && n.groups === n.cout) {
          const filter = keep(tf.transpose(ohwi, [1, 2, 0, 3]));
          const bt = bias && keep(tf.tensor1d(bias));
          f = (x) => tf.fused.depthwiseConv2d({ x, filter, strides: n.stride, pad, bias: bt, activation });
        } else {
          const parts = [];
          for (let gi = 0; gi < n.groups; gi++) {
            const filter = keep(tf.transpose(tf.slice(ohwi, [gi * coutg, 0, 0, 0], [coutg, kh, kw, cing]), [1, 2, 3, 0]));
            const bt = bias && keep(tf.tensor1d(bias.subarray(gi * coutg, (gi + 1) * coutg)));
            parts.push({ filter, bt });
          }
          f = (x) => tf.concat(tf.split(x, n.groups, 3).map((xg, gi) =>
            tf.fused.conv2d({ x: xg, filter: parts[gi].filter, strides: n.stride, pad, bias: parts[gi].bt, activation })), 3);
        }
        ohwi.dispose();
        return perm ? (x) => f(tf.gather(x, perm, 3)) : f;
      }
      case 'maxpool':
      case 'avgpool': {
        const [t, l, b, r] = n.pad;
        if (n.op === 'avgpool' && n.count_include_pad && t + l + b + r > 0) {
          return (x) => tf.avgPool(tf.pad(x, [[0, 0], [t, b], [l, r], [0, 0]]), n.k, n.stride, 'valid');
        }
        if (!(t === l && l === b && b === r)) throw new Error(`tfjs: asymmetric pooling pad in ${n.name}`);
        const pool = n.op === 'maxpool' ? tf.maxPool : tf.avgPool;
        return (x) => pool(x, n.k, n.stride, t);
      }
      case 'global_avgpool':
        return (x) => tf.mean(x, [1, 2], true);
      case 'add':
        return n.act === 'none' ? (a, b) => tf.add(a, b)
          : n.act === 'relu' ? (a, b) => tf.relu(tf.add(a, b)) : (a, b) => tf.relu6(tf.add(a, b));
      case 'concat':
        return (...xs) => tf.concat(xs, 3);
      case 'slice':
        return (x) => tf.slice(x, [0, 0, 0, n.start], [-1, -1, -1, n.len]);
      case 'permute': {
        const perm = keep(tf.tensor1d(n.perm, 'int32'));
        return (x) => tf.gather(x, perm, 3);
      }
      case 'dense': {
        const k = n.weight[1] / n.out;
        const b = keep(tf.transpose(tf.tensor2d(W(n.weight), [n.out, k])));
        const bias = n.bias && keep(tf.tensor1d(W(n.bias)));
        return (x) => tf.reshape(tf.fused.matMul({ a: tf.reshape(x, [1, k]), b, bias, activation: ACT[n.act] }), [1, 1, 1, n.out]);
      }
      case 'softmax':
        return (x) => tf.reshape(tf.softmax(tf.reshape(x, [1, -1])), x.shape);
      case 'flatten':
        return (x) => tf.reshape(x, [1, 1, 1, -1]);
      case 'act':
        return (x) => (n.act === 'relu' ? tf.relu(x) : n.act === 'relu6' ? tf.relu6(x) : x);
      default:
        throw new Error(`tfjs: op ${n.op} not supported`);
    }
  });

  return {
    forward(x) {
      const vals = new Map([[g.input, x]]);
      g.nodes.forEach((n, i) => vals.set(n.output, layers[i](...n.inputs.map((v) => vals.get(v)))));
      return vals.get(g.output);
    },
    dispose() { owned.forEach((t) => t.dispose()); },
  };
}
