//! Running a plan on every thread of the rayon pool at once (feature `threads`).
//!
//! One `rayon::broadcast` per inference starts a team: each thread walks the whole step list and
//! computes its share of every step (a fixed slice of the step's units), and the threads meet at
//! a spinning barrier only where a step reads or overwrites what an earlier, unsynchronised step
//! wrote or read. Handing every layer to the pool and joining it (the previous design) cost a
//! sleeping thread's wake-up per layer: tens of µs, as long as a whole small ShuffleNet layer.

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::thread::Thread;

use super::{Arena, Kernel, Loc, Step};

/// Work (multiply-adds or element visits) below which a step runs on one thread: splitting it
/// would cost more in shared cache lines than it saves.
const MIN_SPLIT_WORK: usize = 8 * 1024;

/// A plan whose largest step is below this runs on the calling thread alone: starting the team
/// (waking the pool) costs more than the whole network.
const MIN_TEAM_STEP_WORK: usize = 512 * 1024;

/// What a team run needs to know about a plan, worked out once when the plan is built.
pub(super) struct Schedule {
    /// Whether the largest step is worth waking the pool for.
    pays_off: bool,
    /// For each step, whether the team must meet before it (see [`sync_points`]).
    sync_before: Vec<bool>,
}

impl Schedule {
    pub(super) fn new(steps: &[Step], bases: &[usize]) -> Schedule {
        Schedule { pays_off: steps.iter().any(|s| s.work() >= MIN_TEAM_STEP_WORK), sync_before: sync_points(steps, bases) }
    }

    /// Whether to run as a team: the plan has a large step and the current pool more than one thread.
    pub(super) fn use_team(&self) -> bool {
        self.pays_off && rayon::current_num_threads() > 1
    }
}

/// For each step, whether the team must meet before it: the step reads something written, or
/// writes something read or written, by a step since the last meeting. Steps with disjoint
/// inputs and outputs (the groups of a grouped 1×1 conv, the two branches of a ShuffleNet unit)
/// run back to back without one.
fn sync_points(steps: &[Step], bases: &[usize]) -> Vec<bool> {
    let mut read: Vec<Loc> = Vec::new();
    let mut written: Vec<Loc> = Vec::new();
    steps
        .iter()
        .map(|step| {
            let mut inputs: Vec<Loc> = step.inputs().into_iter().flatten().copied().collect();
            if matches!(step.kernel, Kernel::Softmax) {
                inputs.push(step.out); // in place
            }
            let hazard = inputs.iter().any(|i| written.iter().any(|w| overlap(i, w, bases)))
                || read.iter().chain(&written).any(|x| overlap(&step.out, x, bases));
            if hazard {
                read.clear();
                written.clear();
            }
            read.extend(inputs);
            written.push(step.out);
            hazard
        })
        .collect()
}

/// Whether two locations share an element. Views with the same pixel stride whose channel ranges
/// fall in disjoint columns of that stride are apart even when their spans interleave.
fn overlap(a: &Loc, b: &Loc, bases: &[usize]) -> bool {
    let (ra, rb) = (a.range(bases), b.range(bases));
    if ra.end <= rb.start || rb.end <= ra.start {
        return false;
    }
    if a.stride != b.stride || a.pixels == 1 || b.pixels == 1 {
        return true;
    }
    let (ca, cb) = (ra.start % a.stride, rb.start % b.stride);
    let wraps = ca + a.c > a.stride || cb + b.c > b.stride;
    wraps || (ca < cb + b.c && cb < ca + a.c)
}

/// The units of `step` that thread `t` of `n` computes. GEMM shares are whole 2-row blocks (the
/// 4-row micro-kernel's tail runs 2 rows at near full speed; 4-row shares split a 7×7 layer's 49
/// rows 28/21) or 4-panel groups for a dense layer; a small or indivisible step is all thread 0's.
fn share(step: &Step, t: usize, n: usize) -> Range<usize> {
    let units = step.units();
    if units == 1 || step.work() < MIN_SPLIT_WORK {
        return if t == 0 { 0..units } else { 0..0 };
    }
    let align = match step.kernel {
        Kernel::Gemm { rows: 1, .. } => 4,
        Kernel::Gemm { .. } => 2,
        _ => 1,
    };
    let tiles = units.div_ceil(align);
    let bound = |p: usize| (p * tiles / n * align).min(units);
    bound(t)..bound(t + 1)
}

/// Only one team runs at a time: two teams sharing a pool would each hold a thread the other's
/// barrier waits for.
static TEAM: Mutex<()> = Mutex::new(());

/// Runs `steps` on every thread of the current pool. With `clock`, the team also meets before
/// every step and after the last, and thread 0 records `clock()` there: `stamps[i]` at the start
/// of step `i`, `stamps[steps.len()]` at the end.
///
/// # Safety
/// As [`Step::run_units`]: `arena` is the plan's arena, not otherwise accessed meanwhile, and
/// `schedule` was made from these steps and bases.
pub(super) unsafe fn run_team(
    steps: &[Step],
    schedule: &Schedule,
    arena: Arena,
    bases: &[usize],
    clock: Option<(&(dyn Fn() -> f64 + Sync), &mut [f64])>,
) {
    let _one_team = TEAM.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let barrier = SpinBarrier::new(rayon::current_num_threads());
    let profiling = clock.is_some();
    let clock = clock.map(|(clock, stamps)| (clock, Mutex::new(stamps)));
    let stamp = |i: usize| {
        if let Some((clock, stamps)) = &clock {
            stamps.lock().unwrap_or_else(|p| p.into_inner())[i] = clock();
        }
    };
    rayon::broadcast(|ctx| {
        let (t, n) = (ctx.index(), ctx.num_threads());
        barrier.register(t);
        for (i, (step, &sync)) in steps.iter().zip(&schedule.sync_before).enumerate() {
            if sync || profiling {
                barrier.wait();
            }
            if profiling && t == 0 {
                stamp(i);
            }
            // SAFETY: the shares of one step are disjoint, and every step a share depends on (or
            // that reads what it overwrites) finished before the last barrier.
            unsafe { step.run_units(arena, bases, share(step, t, n)) }
        }
        if profiling {
            barrier.wait();
            if t == 0 {
                stamp(steps.len());
            }
        }
    });
}

/// A barrier whose waiters spin: the team's threads each own a core for the few milliseconds of
/// an inference, and a spinning thread sees the last arrival within ~100 ns, where a sleeping one
/// (std's Barrier; Atomics.wait in the browser) takes tens of µs to wake. A long wait (a thread
/// descheduled on a busy machine) parks the waiter, so it gives its core to the thread it waits
/// for instead of spinning through its time slice; the last arrival unparks it.
struct SpinBarrier {
    threads: usize,
    arrived: AtomicUsize,
    generation: AtomicUsize,
    /// Waiters parked or about to park.
    sleepers: AtomicUsize,
    /// Every team thread's handle, registered before its first wait.
    handles: Vec<OnceLock<Thread>>,
}

impl SpinBarrier {
    /// Spins (an atomic load each, a few ns) before a waiter parks: longer than the usual wait on
    /// an idle machine (a share's imbalance, a pool thread waking up), so parking is rare there.
    const SPINS_BEFORE_PARK: u32 = 1 << 18;

    fn new(threads: usize) -> Self {
        SpinBarrier {
            threads,
            arrived: AtomicUsize::new(0),
            generation: AtomicUsize::new(0),
            sleepers: AtomicUsize::new(0),
            handles: (0..threads).map(|_| OnceLock::new()).collect(),
        }
    }

    /// Thread `t` of the team joins; before it first waits.
    fn register(&self, t: usize) {
        let _ = self.handles[t].set(std::thread::current());
    }

    fn wait(&self) {
        let generation = self.generation.load(Ordering::Acquire);
        // AcqRel: the last arrival acquires every earlier arrival's writes, and releases them all
        // with the new generation.
        if self.arrived.fetch_add(1, Ordering::AcqRel) + 1 == self.threads {
            self.arrived.store(0, Ordering::Relaxed);
            // SeqCst with the sleepers count (and the waiter's mirror image below): either the
            // waiter sees the new generation, or this sees the waiter counted and unparks it.
            self.generation.fetch_add(1, Ordering::SeqCst);
            if self.sleepers.load(Ordering::SeqCst) > 0 {
                self.handles.iter().filter_map(OnceLock::get).for_each(Thread::unpark);
            }
            return;
        }
        let mut spins = 0u32;
        while self.generation.load(Ordering::Acquire) == generation {
            if spins < Self::SPINS_BEFORE_PARK {
                spins += 1;
                std::hint::spin_loop();
                continue;
            }
            self.sleepers.fetch_add(1, Ordering::SeqCst);
            if self.generation.load(Ordering::SeqCst) == generation {
                // Futex wait natively, memory.atomic.wait32 (Atomics.wait) in a wasm pool worker;
                // it may also return early, hence the loop.
                std::thread::park();
            }
            self.sleepers.fetch_sub(1, Ordering::SeqCst);
        }
    }
}
