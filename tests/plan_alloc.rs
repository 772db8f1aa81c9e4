//! Running a plan allocates nothing: buffers live in the plan's arena, packed weights are made at
//! plan time, and the threaded split (feature `threads`) forks without heap jobs. Counted with a
//! global allocator over a second run (the first may set up thread-locals and the pool).
#![cfg(not(target_arch = "wasm32"))]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use mobilecnn::graph::plan::Plan;
use mobilecnn::graph::rewrite::optimize;

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn a_run_allocates_nothing() {
    for id in ["mobilenet_v2_0.5_96", "shufflenet_v1_g3_0.5_96", "shufflenet_v2_0.5_96"] {
        let mut plan = Plan::new(&optimize(&mobilecnn::zoo::build(id, 1).unwrap()).unwrap()).unwrap();
        let input = vec![0.5; plan.input_shape().len()];
        plan.run(&input).unwrap();
        let before = ALLOCATIONS.load(Ordering::Relaxed);
        for _ in 0..3 {
            plan.run(&input).unwrap();
        }
        let during = ALLOCATIONS.load(Ordering::Relaxed) - before;
        assert_eq!(during, 0, "{id}: {during} allocations in three runs");
    }
}
