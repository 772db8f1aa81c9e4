//! The execution plan: a graph compiled once into a list of kernel calls with pre-packed weights,
//! all activations in one arena whose space is reused once a value is dead.
//!
//! Views cost nothing: a `Slice` is read in place through its parent's buffer (offset + pixel
//! stride), the producers of a `Concat` write straight into their channel range of the concat's
//! buffer, and a `Flatten` of a dense value is the same memory. Every step writes one output
//! region given as units (image rows, GEMM rows or weight panels) so threads can split a step
//! into disjoint shares (`threads`).

use std::borrow::Cow;
use std::collections::HashSet;
use std::ops::Range;

use super::ir::{Conv, Graph, Op, ValueId};
use crate::error::{Error, Result};
use crate::kernels::conv::{conv, PackedConv};
use crate::kernels::dwconv::{dwconv, PackedDepthwise};
use crate::kernels::elementwise::{activation, add, affine, copy_channels, gather_channels};
use crate::kernels::gemm::{gemm_panels, gemm_panels_residual, GemmInput, PackedGemm, Residual, NR};
use crate::kernels::pool::{avg_pool, global_avg_pool, max_pool};
use crate::kernels::softmax::softmax;
use crate::kernels::{Activation, Padding, Window};
use crate::tensor::{ChannelView, Shape};

#[cfg(feature = "threads")]
mod threads;

/// The arena may not exceed this many floats (1 GiB).
const MAX_ARENA_ELEMENTS: usize = 1 << 28;

/// Time spent in one graph node during [`Plan::run_profiled`].
#[derive(Clone, Debug, PartialEq)]
pub struct StepTime {
    pub node: String,
    pub kind: &'static str,
    pub ms: f64,
}

pub struct Plan {
    input_shape: Shape,
    input: Loc,
    output: Loc,
    steps: Vec<Step>,
    /// Arena offset of every buffer.
    bases: Vec<usize>,
    arena: Vec<f32>,
    /// Name and kind of every graph node, for the profile.
    nodes: Vec<(String, &'static str)>,
    /// Floats all buffers would take without reusing space.
    unshared_len: usize,
    /// When to run as a team and where its threads meet.
    #[cfg(feature = "threads")]
    schedule: threads::Schedule,
}

impl Plan {
    /// Compiles `g` (any valid graph; usually `optimize`d first). Every check happens here, so
    /// `run` cannot fail on anything but its input length.
    pub fn new(g: &Graph) -> Result<Plan> {
        g.validate()?;
        if let Some(v) = (0..g.shapes.len()).find(|&v| g.shape(v).is_empty()) {
            return Err(Error::shape("plan", format!("value {v} has no elements ({})", g.shape(v))));
        }
        let mut unplaceable = HashSet::new();
        loop {
            let built = Builder::new(g, &unplaceable).build()?;
            // Placing concat parts can make a step read and write the same buffer (a part computed
            // from another part); such concats fall back to copies.
            match built.conflicting_concat() {
                Some(concat) => {
                    unplaceable.insert(concat);
                }
                None => return built.into_plan(g),
            }
        }
    }

    pub fn input_shape(&self) -> Shape {
        self.input_shape
    }

    pub fn output_len(&self) -> usize {
        self.output.span()
    }

    pub fn arena_bytes(&self) -> usize {
        self.arena.len() * size_of::<f32>()
    }

    /// Bytes the activations would take if no buffer reused a dead one's space.
    pub fn unshared_bytes(&self) -> usize {
        self.unshared_len * size_of::<f32>()
    }

    /// Kernel calls per graph node, in node order: 0 for zero-copy views.
    pub fn kernel_calls(&self) -> Vec<usize> {
        let mut calls = vec![0; self.nodes.len()];
        for s in &self.steps {
            calls[s.node] += 1;
        }
        calls
    }

    /// Runs the network on `input` (NHWC, [`Plan::input_shape`]) and returns the output values.
    /// With the `threads` feature, every thread of the current rayon pool computes a share of
    /// each step.
    pub fn run(&mut self, input: &[f32]) -> Result<&[f32]> {
        self.load(input)?;
        let arena = Arena::new(&mut self.arena);
        #[cfg(feature = "threads")]
        if self.schedule.use_team() {
            // SAFETY: `arena` borrows `self.arena` mutably for the call; the schedule is this plan's.
            unsafe { threads::run_team(&self.steps, &self.schedule, arena, &self.bases, None) };
            return Ok(self.output());
        }
        for step in &self.steps {
            // SAFETY: one part covering every unit, on this thread only.
            unsafe { step.run_units(arena, &self.bases, 0..step.units()) }
        }
        Ok(self.output())
    }

    /// Like [`Plan::run`], timing every graph node with `clock` (milliseconds); views take ~0 ms.
    /// The output stays readable through [`Plan::output`]. Threaded runs meet before every step
    /// so each step's time is its slowest share's; one of the pool's threads reads the clock.
    pub fn run_profiled(&mut self, input: &[f32], clock: &(dyn Fn() -> f64 + Sync)) -> Result<Vec<StepTime>> {
        self.load(input)?;
        let mut times: Vec<StepTime> =
            self.nodes.iter().map(|(node, kind)| StepTime { node: node.clone(), kind, ms: 0.0 }).collect();
        let arena = Arena::new(&mut self.arena);
        #[cfg(feature = "threads")]
        if self.schedule.use_team() {
            let mut stamps = vec![0.0; self.steps.len() + 1];
            // SAFETY: as in `run`.
            unsafe { threads::run_team(&self.steps, &self.schedule, arena, &self.bases, Some((clock, &mut stamps))) };
            for (step, t) in self.steps.iter().zip(stamps.windows(2)) {
                times[step.node].ms += t[1] - t[0];
            }
            return Ok(times);
        }
        for step in &self.steps {
            let start = clock();
            // SAFETY: `arena` borrows `self.arena` mutably; one step at a time.
            unsafe { step.run_units(arena, &self.bases, 0..step.units()) }
            times[step.node].ms += clock() - start;
        }
        Ok(times)
    }

    /// The output of the last run.
    pub fn output(&self) -> &[f32] {
        &self.arena[self.output.range(&self.bases)]
    }

    fn load(&mut self, input: &[f32]) -> Result<()> {
        if input.len() != self.input_shape.len() {
            return Err(Error::Input(format!(
                "input has {} values, the model expects {} = {}",
                input.len(),
                self.input_shape,
                self.input_shape.len()
            )));
        }
        let r = self.input.range(&self.bases);
        self.arena[r].copy_from_slice(input);
        Ok(())
    }
}

/// Where a value lives: pixel `p`, channel `ch` at `arena[bases[buf] + offset + p * stride + ch]`.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Loc {
    buf: usize,
    offset: usize,
    stride: usize,
    c: usize,
    pixels: usize,
}

impl Loc {
    fn dense(buf: usize, s: Shape) -> Loc {
        Loc { buf, offset: 0, stride: s.c, c: s.c, pixels: s.pixels() }
    }

    /// Channels `start .. start + c` of this location.
    fn channels(self, start: usize, c: usize) -> Loc {
        Loc { offset: self.offset + start, c, ..self }
    }

    fn span(&self) -> usize {
        ChannelView { offset: 0, pixel_stride: self.stride }.span(self.pixels, self.c)
    }

    /// Offsets within its buffer.
    fn local_range(&self) -> Range<usize> {
        self.offset..self.offset + self.span()
    }

    fn range(&self, bases: &[usize]) -> Range<usize> {
        let start = bases[self.buf] + self.offset;
        start..start + self.span()
    }

    fn is_contiguous(&self) -> bool {
        self.pixels == 1 || self.stride == self.c
    }
}

enum Kernel {
    /// `rows` pixels (or the one row of a dense layer) times the packed weights, plus `residual`
    /// (an Add fused into a 1×1 conv; never on a one-row GEMM) before `act`.
    Gemm { rows: usize, input: Loc, k_stride: usize, w: PackedGemm, residual: Option<Loc>, act: Activation },
    Depthwise { in_shape: Shape, input: Loc, win: Window, rows: usize, w: PackedDepthwise, act: Activation },
    Conv { in_shape: Shape, input: Loc, win: Window, rows: usize, w: PackedConv, act: Activation },
    MaxPool { in_shape: Shape, input: Loc, win: Window, rows: usize },
    AvgPool { in_shape: Shape, input: Loc, win: Window, rows: usize, count_include_pad: bool },
    GlobalAvgPool { in_shape: Shape, input: Loc },
    Add { a: Loc, b: Loc, act: Activation },
    Affine { input: Loc, scale: Vec<f32>, shift: Vec<f32>, act: Activation },
    Activation { input: Loc, act: Activation },
    Copy { input: Loc },
    Gather { input: Loc, idx: Vec<usize> },
    /// In place on the step's output.
    Softmax,
}

struct Step {
    /// Index of the graph node this step belongs to (a node may need several steps).
    node: usize,
    kernel: Kernel,
    out: Loc,
}

impl Step {
    fn inputs(&self) -> [Option<&Loc>; 2] {
        match &self.kernel {
            Kernel::Add { a, b, .. } => [Some(a), Some(b)],
            Kernel::Gemm { input, residual, .. } => [Some(input), residual.as_ref()],
            Kernel::Softmax => [None, None],
            Kernel::Depthwise { input, .. }
            | Kernel::Conv { input, .. }
            | Kernel::MaxPool { input, .. }
            | Kernel::AvgPool { input, .. }
            | Kernel::GlobalAvgPool { input, .. }
            | Kernel::Affine { input, .. }
            | Kernel::Activation { input, .. }
            | Kernel::Copy { input }
            | Kernel::Gather { input, .. } => [Some(input), None],
        }
    }

    /// Independent units the step's output splits into: image rows for the sliding-window
    /// kernels, GEMM rows (pixels) for 1×1 convs, weight panels for a one-row GEMM (a dense
    /// layer), pixels for the element-wise ones. Threads take disjoint unit ranges; a step whose
    /// output cannot be split has one unit.
    fn units(&self) -> usize {
        match &self.kernel {
            Kernel::Gemm { rows: 1, w, .. } => w.n.div_ceil(NR),
            Kernel::Gemm { rows, .. }
            | Kernel::Depthwise { rows, .. }
            | Kernel::Conv { rows, .. }
            | Kernel::MaxPool { rows, .. }
            | Kernel::AvgPool { rows, .. } => *rows,
            Kernel::Add { .. } | Kernel::Affine { .. } | Kernel::Activation { .. } | Kernel::Copy { .. } | Kernel::Gather { .. } => {
                self.out.pixels
            }
            Kernel::GlobalAvgPool { .. } | Kernel::Softmax => 1,
        }
    }

    /// Rough work of the whole step in multiply-adds (or element visits): below a threshold a
    /// step is not worth splitting between threads.
    #[cfg_attr(not(feature = "threads"), allow(dead_code))]
    fn work(&self) -> usize {
        let out = self.out.pixels * self.out.c;
        match &self.kernel {
            Kernel::Gemm { w, .. } => out * w.k,
            Kernel::Depthwise { win, .. } | Kernel::MaxPool { win, .. } | Kernel::AvgPool { win, .. } => out * win.kh * win.kw,
            Kernel::Conv { win, in_shape, .. } => out * win.kh * win.kw * in_shape.c,
            _ => out,
        }
    }

    /// Computes output units `units` (see [`Step::units`]).
    ///
    /// # Safety
    /// `arena` must point at the plan's arena, which nothing else accesses during the call except
    /// other `run_units` of this step on disjoint unit ranges: those write disjoint parts of the
    /// output, and the plan guarantees no input overlaps the output.
    unsafe fn run_units(&self, arena: Arena, bases: &[usize], units: Range<usize>) {
        if units.is_empty() {
            return;
        }
        let read = |loc: &Loc| -> &[f32] { arena.slice(loc.range(bases)) };
        if let Kernel::Gemm { rows: 1, input, k_stride, w, act, .. } = &self.kernel {
            // Units are weight panels: this part writes output columns from `units.start * NR`.
            let start = self.out.range(bases).start + units.start * NR;
            let out = arena.slice_mut(start..start + (units.end * NR).min(w.n) - units.start * NR);
            let a = GemmInput { a: read(input), row_stride: input.stride, k_stride: *k_stride };
            return gemm_panels(1, a, w, units, out, self.out.stride, *act);
        }
        let view = |loc: &Loc| ChannelView { offset: 0, pixel_stride: loc.stride };
        let (os, c) = (self.out.stride, self.out.c);
        let (first, count) = (units.start, units.len());
        // Output pixels per unit, and this part's output from its first pixel to its last channel.
        let unit_pixels = self.out.pixels / self.units();
        let out_start = self.out.range(bases).start + first * unit_pixels * os;
        let out = arena.slice_mut(out_start..out_start + (count * unit_pixels - 1) * os + c);
        let pixels = count * unit_pixels;
        // Inputs of the per-pixel kernels, from this part's first pixel.
        let from = |loc: &Loc| &read(loc)[first * loc.stride..];
        match &self.kernel {
            Kernel::Gemm { input, k_stride, w, residual, act, .. } => {
                let a = GemmInput { a: from(input), row_stride: input.stride, k_stride: *k_stride };
                let res = residual.as_ref().map(|r| Residual { r: from(r), stride: r.stride });
                gemm_panels_residual(count, a, w, 0..w.n.div_ceil(NR), out, os, res, *act)
            }
            Kernel::Depthwise { in_shape, input, win, w, act, .. } => {
                dwconv(read(input), *in_shape, view(input), win, w, out, os, units, *act)
            }
            Kernel::Conv { in_shape, input, win, w, act, .. } => {
                conv(read(input), *in_shape, view(input), win, w, out, os, units, *act)
            }
            Kernel::MaxPool { in_shape, input, win, .. } => max_pool(read(input), *in_shape, view(input), win, out, os, units),
            Kernel::AvgPool { in_shape, input, win, count_include_pad, .. } => {
                avg_pool(read(input), *in_shape, view(input), win, *count_include_pad, out, os, units)
            }
            Kernel::GlobalAvgPool { in_shape, input } => global_avg_pool(read(input), *in_shape, view(input), out),
            Kernel::Add { a, b, act } => add(pixels, c, from(a), a.stride, from(b), b.stride, out, os, *act),
            Kernel::Affine { input, scale, shift, act } => affine(pixels, c, from(input), input.stride, scale, shift, out, os, *act),
            Kernel::Activation { input, act } => activation(pixels, c, from(input), input.stride, out, os, *act),
            Kernel::Copy { input } => copy_channels(pixels, c, from(input), input.stride, out, os),
            Kernel::Gather { input, idx } => gather_channels(pixels, from(input), input.stride, idx, out, os),
            Kernel::Softmax => softmax(out),
        }
    }
}

/// The arena as a raw pointer that threads share; each builds the disjoint slices it may touch.
#[derive(Clone, Copy)]
struct Arena {
    ptr: *mut f32,
    len: usize,
}

// SAFETY: an `Arena` is only dereferenced through `Step::run_units`, whose contract makes the
// slices that different threads build disjoint wherever one of them writes.
unsafe impl Send for Arena {}
unsafe impl Sync for Arena {}

impl Arena {
    fn new(arena: &mut [f32]) -> Arena {
        Arena { ptr: arena.as_mut_ptr(), len: arena.len() }
    }

    /// # Safety
    /// Nothing may write `r` while the slice lives.
    unsafe fn slice<'a>(self, r: Range<usize>) -> &'a [f32] {
        assert!(r.start <= r.end && r.end <= self.len, "arena range out of bounds");
        std::slice::from_raw_parts(self.ptr.add(r.start), r.len())
    }

    /// # Safety
    /// Nothing else may access `r` while the slice lives.
    #[allow(clippy::mut_from_ref)]
    unsafe fn slice_mut<'a>(self, r: Range<usize>) -> &'a mut [f32] {
        assert!(r.start <= r.end && r.end <= self.len, "arena range out of bounds");
        std::slice::from_raw_parts_mut(self.ptr.add(r.start), r.len())
    }
}

/// A region of the arena and the steps during which it holds live data.
struct Buffer {
    len: usize,
    first: usize,
    last: usize,
}

/// Where a concat part is written: the concat's value and the part's first channel.
#[derive(Clone, Copy)]
struct Placement {
    concat: ValueId,
    channel: usize,
}

/// One compilation attempt. Time `t` is 0 for the graph input and `i + 1` for node `i`.
struct Builder<'g> {
    g: &'g Graph,
    def: Vec<usize>,
    last_use: Vec<usize>,
    /// Nodes reading each value (the graph output counts as one more).
    uses: Vec<usize>,
    placement: Vec<Option<Placement>>,
    locs: Vec<Option<Loc>>,
    buffers: Vec<Buffer>,
    /// The concat value whose buffer each buffer is, if any.
    concat_of: Vec<Option<ValueId>>,
    steps: Vec<Step>,
}

impl<'g> Builder<'g> {
    fn new(g: &'g Graph, unplaceable: &HashSet<ValueId>) -> Self {
        let n = g.shapes.len();
        let mut def = vec![0; n];
        let mut last_use = vec![0; n];
        let mut uses = vec![0; n];
        let mut producer_op: Vec<Option<&Op>> = vec![None; n];
        for (i, node) in g.nodes.iter().enumerate() {
            def[node.output] = i + 1;
            last_use[node.output] = i + 1;
            producer_op[node.output] = Some(&node.op);
            for &v in &node.inputs {
                last_use[v] = i + 1;
                uses[v] += 1;
            }
        }
        last_use[g.output] = g.nodes.len() + 1;
        uses[g.output] += 1;

        // A concat part is written in place when its producer takes an output pixel stride and it
        // is needed nowhere else as a dense tensor of its own.
        let mut placement = vec![None; n];
        for node in g.nodes.iter().filter(|n| matches!(n.op, Op::Concat) && !unplaceable.contains(&n.output)) {
            let mut channel = 0;
            for &u in &node.inputs {
                let writes_strided = matches!(
                    producer_op[u],
                    Some(
                        Op::Conv(_)
                            | Op::Affine { .. }
                            | Op::Act(_)
                            | Op::MaxPool { .. }
                            | Op::AvgPool { .. }
                            | Op::GlobalAvgPool
                            | Op::Add { .. }
                            | Op::Dense { .. }
                            | Op::Permute { .. }
                    )
                );
                if writes_strided && u != g.output && placement[u].is_none() {
                    placement[u] = Some(Placement { concat: node.output, channel });
                }
                channel += g.shape(u).c;
            }
        }
        Builder {
            g,
            def,
            last_use,
            uses,
            placement,
            locs: vec![None; n],
            buffers: Vec::new(),
            concat_of: Vec::new(),
            steps: Vec::new(),
        }
    }

    fn new_buffer(&mut self, len: usize, time: usize, concat: Option<ValueId>) -> usize {
        self.buffers.push(Buffer { len, first: time, last: time });
        self.concat_of.push(concat);
        self.buffers.len() - 1
    }

    /// Records that `v` lives at `loc`, keeping its buffer alive while `v` is.
    fn assign(&mut self, v: ValueId, loc: Loc) {
        let b = &mut self.buffers[loc.buf];
        b.first = b.first.min(self.def[v]);
        b.last = b.last.max(self.last_use[v]);
        self.locs[v] = Some(loc);
    }

    fn loc(&self, v: ValueId) -> Loc {
        self.locs[v].expect("values are located before they are read")
    }

    /// The buffer of concat value `concat`, created at the first write into it.
    fn concat_buffer(&mut self, concat: ValueId, time: usize) -> usize {
        if let Some(b) = self.concat_of.iter().position(|&c| c == Some(concat)) {
            return b;
        }
        self.new_buffer(self.g.shape(concat).len(), time, Some(concat))
    }

    /// Where node output `v` is written: its slice of a concat buffer, or a buffer of its own.
    fn place_output(&mut self, v: ValueId) -> Loc {
        let s = self.g.shape(v);
        let loc = match self.placement[v] {
            Some(p) => {
                let whole = self.g.shape(p.concat);
                let buf = self.concat_buffer(p.concat, self.def[v]);
                Loc::dense(buf, whole).channels(p.channel, s.c)
            }
            None => Loc::dense(self.new_buffer(s.len(), self.def[v], None), s),
        };
        self.assign(v, loc);
        loc
    }

    /// A buffer holding `s` only during node `i`.
    fn scratch(&mut self, i: usize, s: Shape) -> Loc {
        Loc::dense(self.new_buffer(s.len(), i + 1, None), s)
    }

    fn push(&mut self, node: usize, kernel: Kernel, out: Loc) {
        self.steps.push(Step { node, kernel, out });
    }

    fn build(mut self) -> Result<Built> {
        let g = self.g;
        let input = Loc::dense(self.new_buffer(g.shape(g.input).len(), 0, None), g.shape(g.input));
        self.assign(g.input, input);
        for (i, node) in g.nodes.iter().enumerate() {
            let v = node.output;
            let s = g.shape(v);
            let x = node.inputs.first().map(|&u| self.loc(u));
            let in_shape = node.inputs.first().map(|&u| g.shape(u));
            match &node.op {
                Op::Slice { start, len } => {
                    let view = self.loc(node.inputs[0]).channels(*start, *len);
                    if v == g.output {
                        // The caller gets one contiguous slice.
                        let out = self.place_output(v);
                        self.push(i, Kernel::Copy { input: view }, out);
                    } else {
                        self.assign(v, view);
                    }
                }
                Op::Flatten => {
                    let x = x.expect("arity checked");
                    if x.is_contiguous() {
                        self.assign(v, Loc { offset: x.offset, stride: s.c, c: s.c, pixels: 1, buf: x.buf });
                    } else {
                        let dense = Loc::dense(self.new_buffer(s.len(), i + 1, None), s);
                        self.assign(v, dense);
                        let out = Loc { stride: x.c, c: x.c, pixels: x.pixels, ..dense };
                        self.push(i, Kernel::Copy { input: x }, out);
                    }
                }
                Op::Concat => {
                    let buf = self.concat_buffer(v, i + 1);
                    let whole = Loc::dense(buf, s);
                    self.assign(v, whole);
                    let mut channel = 0;
                    for &u in &node.inputs {
                        let part = g.shape(u).c;
                        let placed_here = self.placement[u].is_some_and(|p| p.concat == v && p.channel == channel);
                        if !placed_here {
                            self.push(i, Kernel::Copy { input: self.loc(u) }, whole.channels(channel, part));
                        }
                        channel += part;
                    }
                }
                op => {
                    let x = x.expect("every other op has an input");
                    let in_shape = in_shape.expect("every other op has an input");
                    let out = self.place_output(v);
                    self.compute(i, op, &node.inputs, x, in_shape, out, s)?;
                }
            }
        }
        Ok(Built { steps: self.steps, buffers: self.buffers, concat_of: self.concat_of, locs: self.locs })
    }

    /// Steps of a computing node `i` reading `x` (shape `in_shape`) and writing `out` (shape `s`).
    #[allow(clippy::too_many_arguments)]
    fn compute(&mut self, i: usize, op: &Op, inputs: &[ValueId], x: Loc, in_shape: Shape, out: Loc, s: Shape) -> Result<()> {
        let kernel = match op {
            Op::Conv(c) => return self.conv(i, c, x, in_shape, out, s),
            Op::Dense { out: n, weight, bias, act } => {
                let w = PackedGemm::pack_nk(in_shape.c, *n, weight, bias.as_deref());
                Kernel::Gemm { rows: 1, input: x, k_stride: 1, w, residual: None, act: *act }
            }
            Op::Affine { scale, shift, act } => Kernel::Affine { input: x, scale: scale.clone(), shift: shift.clone(), act: *act },
            Op::Act(act) => Kernel::Activation { input: x, act: *act },
            Op::MaxPool { win } => Kernel::MaxPool { in_shape, input: x, win: *win, rows: s.h },
            Op::AvgPool { win, count_include_pad } => {
                Kernel::AvgPool { in_shape, input: x, win: *win, rows: s.h, count_include_pad: *count_include_pad }
            }
            Op::GlobalAvgPool => Kernel::GlobalAvgPool { in_shape, input: x },
            Op::Add { act } if self.fuse_residual(i, inputs, out, *act) => return Ok(()),
            Op::Add { act } => Kernel::Add { a: x, b: self.loc(inputs[1]), act: *act },
            Op::Permute { perm } => Kernel::Gather { input: x, idx: perm.clone() },
            Op::Softmax => {
                self.push(i, Kernel::Copy { input: x }, out);
                Kernel::Softmax
            }
            Op::Concat | Op::Slice { .. } | Op::Flatten => unreachable!("views are planned by the caller"),
        };
        self.push(i, kernel, out);
        Ok(())
    }

    /// Folds Add node `i` into the 1×1 conv computed just before it when that conv feeds only
    /// the add and has no activation of its own: its GEMMs add the other input in their epilogue
    /// and write the add's output, saving a pass over the activation. Returns whether it did.
    fn fuse_residual(&mut self, i: usize, inputs: &[ValueId], out: Loc, act: Activation) -> bool {
        let g = self.g;
        let Some((u, other)) = [(inputs[0], inputs[1]), (inputs[1], inputs[0])].into_iter().find(|&(u, o)| {
            u != o
                && i > 0
                && self.def[u] == i // produced by node i - 1
                && self.uses[u] == 1
                && u != g.output
                && self.placement[u].is_none()
                && matches!(&g.nodes[i - 1].op, Op::Conv(c) if c.act == Activation::None)
        }) else {
            return false;
        };
        let conv_loc = self.loc(u);
        let first = self.steps.iter().rposition(|s| s.node != i - 1).map_or(0, |p| p + 1);
        let steps = &self.steps[first..];
        let fusable = !steps.is_empty()
            && steps.iter().all(|s| {
                matches!(s.kernel, Kernel::Gemm { rows, residual: None, .. } if rows > 1) && s.out.buf == conv_loc.buf
            });
        if !fusable {
            return false;
        }
        let residual = self.loc(other);
        for step in &mut self.steps[first..] {
            let (c0, c) = (step.out.offset - conv_loc.offset, step.out.c);
            step.out = out.channels(c0, c);
            if let Kernel::Gemm { residual: r, act: a, .. } = &mut step.kernel {
                (*r, *a) = (Some(residual.channels(c0, c)), act);
            }
        }
        // The add's output is now written at the conv's time (so it must not share space with the
        // conv's input); the conv's own output is never written.
        self.buffers[out.buf].first = self.buffers[out.buf].first.min(i);
        self.buffers[conv_loc.buf].len = 0;
        true
    }

    fn conv(&mut self, i: usize, c: &Conv, x: Loc, in_shape: Shape, out: Loc, s: Shape) -> Result<()> {
        let (win, groups, cout, act) = (c.win, c.groups, c.cout, c.act);
        let (cin_g, cout_g) = (in_shape.c / groups, cout / groups);
        let bias = c.bias.as_deref();
        let pointwise = win.kh == 1 && win.kw == 1 && win.stride_h == 1 && win.stride_w == 1 && win.pad == Padding::default();
        let depthwise = groups > 1 && groups == in_shape.c && groups == cout;

        if groups == 1 {
            // The permutation folds into the weights: the conv's channel i is source channel perm[i].
            let w: Cow<[f32]> = match &c.input_perm {
                None => Cow::Borrowed(&c.weight),
                Some(perm) => {
                    let mut w = c.weight.clone();
                    for (dst, src) in w.chunks_exact_mut(in_shape.c).zip(c.weight.chunks_exact(in_shape.c)) {
                        for (i, &p) in perm.iter().enumerate() {
                            dst[p] = src[i];
                        }
                    }
                    Cow::Owned(w)
                }
            };
            let kernel = if pointwise {
                let w = PackedGemm::pack_nk(in_shape.c, cout, &w, bias);
                Kernel::Gemm { rows: x.pixels, input: x, k_stride: 1, w, residual: None, act }
            } else {
                let w = PackedConv::pack(in_shape.c, cout, win.kh, win.kw, &w, bias);
                Kernel::Conv { in_shape, input: x, win, rows: s.h, w, act }
            };
            self.push(i, kernel, out);
            return Ok(());
        }

        let gathered = |this: &mut Self, x: Loc| match &c.input_perm {
            Some(perm) => {
                let scratch = this.scratch(i, in_shape);
                this.push(i, Kernel::Gather { input: x, idx: perm.clone() }, scratch);
                scratch
            }
            None => x,
        };
        if pointwise && !depthwise {
            // Each group reads its permuted channels in place when they form an arithmetic
            // progression in some order (true of ShuffleNet V1's Megvii shuffle); else gather first.
            let in_place = |perm: Option<&[usize]>| -> Option<Vec<(usize, usize)>> {
                let source = |ch: usize| perm.map_or(ch, |p| p[ch]);
                (0..groups).map(|gi| progression((0..cin_g).map(|j| source(gi * cin_g + j)))).collect()
            };
            let (x, perm, progressions) = match in_place(c.input_perm.as_deref()) {
                Some(found) => (x, c.input_perm.as_deref(), found),
                None => (gathered(self, x), None, in_place(None).expect("contiguous groups")),
            };
            for (gi, &(start, step)) in progressions.iter().enumerate() {
                let mut w_kn = vec![0.0; cin_g * cout_g];
                for j in 0..cin_g {
                    let row = (perm.map_or(gi * cin_g + j, |p| p[gi * cin_g + j]) - start) / step;
                    for o in 0..cout_g {
                        w_kn[row * cout_g + o] = c.weight[(gi * cout_g + o) * cin_g + j];
                    }
                }
                let w = PackedGemm::pack(cin_g, cout_g, &w_kn, bias.map(|b| &b[gi * cout_g..(gi + 1) * cout_g]));
                let input = x.channels(start, (cin_g - 1) * step + 1);
                let kernel = Kernel::Gemm { rows: x.pixels, input, k_stride: step, w, residual: None, act };
                self.push(i, kernel, out.channels(gi * cout_g, cout_g));
            }
            return Ok(());
        }

        // The other kernels read contiguous channels.
        let x = gathered(self, x);
        if depthwise {
            let (kh, kw) = (win.kh, win.kw);
            let mut w_hwc = vec![0.0; kh * kw * cout];
            for (ch, taps) in c.weight.chunks_exact(kh * kw).enumerate() {
                for (t, &v) in taps.iter().enumerate() {
                    w_hwc[t * cout + ch] = v;
                }
            }
            let w = PackedDepthwise::pack(cout, kh, kw, &w_hwc, bias);
            self.push(i, Kernel::Depthwise { in_shape, input: x, win, rows: s.h, w, act }, out);
            return Ok(());
        }
        // Any other grouped conv: one dense conv per group on its channel range.
        let per_group = cout_g * win.kh * win.kw * cin_g;
        for gi in 0..groups {
            let w = PackedConv::pack(
                cin_g,
                cout_g,
                win.kh,
                win.kw,
                &c.weight[gi * per_group..(gi + 1) * per_group],
                bias.map(|b| &b[gi * cout_g..(gi + 1) * cout_g]),
            );
            let group_shape = Shape::new(in_shape.h, in_shape.w, cin_g);
            let kernel = Kernel::Conv { in_shape: group_shape, input: x.channels(gi * cin_g, cin_g), win, rows: s.h, w, act };
            self.push(i, kernel, out.channels(gi * cout_g, cout_g));
        }
        Ok(())
    }
}

/// `(start, step)` when the channels, in some order, are `start, start + step, …` (step ≥ 1).
fn progression(channels: impl Iterator<Item = usize>) -> Option<(usize, usize)> {
    let mut sorted: Vec<usize> = channels.collect();
    sorted.sort_unstable();
    let step = if sorted.len() > 1 { sorted[1] - sorted[0] } else { 1 };
    let is_progression = step > 0 && sorted.windows(2).all(|w| w[1] - w[0] == step);
    is_progression.then(|| (sorted[0], step))
}

/// The result of one compilation attempt, before memory is laid out.
struct Built {
    steps: Vec<Step>,
    buffers: Vec<Buffer>,
    concat_of: Vec<Option<ValueId>>,
    locs: Vec<Option<Loc>>,
}

impl Built {
    /// A concat whose buffer some step both reads and writes in overlapping ranges.
    fn conflicting_concat(&self) -> Option<ValueId> {
        self.steps.iter().find_map(|step| {
            let out = step.out.local_range();
            step.inputs().into_iter().flatten().find_map(|input| {
                let r = input.local_range();
                let overlaps = input.buf == step.out.buf && r.start < out.end && out.start < r.end;
                if overlaps { self.concat_of[input.buf] } else { None }
            })
        })
    }

    fn into_plan(self, g: &Graph) -> Result<Plan> {
        let (bases, arena_len) = allocate(&self.buffers);
        if arena_len > MAX_ARENA_ELEMENTS {
            return Err(Error::TooLarge(format!("activations need {arena_len} floats, more than {MAX_ARENA_ELEMENTS}")));
        }
        let loc = |v: ValueId| self.locs[v].expect("every value is located");
        Ok(Plan {
            #[cfg(feature = "threads")]
            schedule: threads::Schedule::new(&self.steps, &bases),
            input_shape: g.shape(g.input),
            input: loc(g.input),
            output: loc(g.output),
            unshared_len: self.buffers.iter().map(|b| b.len).sum(),
            steps: self.steps,
            bases,
            arena: vec![0.0; arena_len],
            nodes: g.nodes.iter().map(|n| (n.name.clone(), n.op.kind())).collect(),
        })
    }
}

/// Greedy first-fit: buffers in order of first use, each at the lowest offset free for its whole
/// lifetime. Returns every buffer's offset and the arena length.
fn allocate(buffers: &[Buffer]) -> (Vec<usize>, usize) {
    let mut order: Vec<usize> = (0..buffers.len()).collect();
    order.sort_by_key(|&b| (buffers[b].first, std::cmp::Reverse(buffers[b].len)));
    let mut bases = vec![0; buffers.len()];
    let mut live: Vec<usize> = Vec::new();
    let mut arena_len = 0;
    for b in order {
        let buf = &buffers[b];
        // A buffer last read at step t still conflicts with one first written at t.
        live.retain(|&l| buffers[l].last >= buf.first);
        live.sort_by_key(|&l| bases[l]);
        let mut offset = 0;
        for &l in &live {
            if bases[l] >= offset + buf.len {
                break;
            }
            offset = offset.max(bases[l] + buffers[l].len);
        }
        bases[b] = offset;
        arena_len = arena_len.max(offset + buf.len);
        live.push(b);
    }
    (bases, arena_len)
}
