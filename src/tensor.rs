//! Activation shapes and the strided channel views that let split/concat run without copies.
//!
//! Every activation is one image (batch 1) in NHWC order, f32, channels innermost.

/// Shape of one activation: height × width × channels (batch is always 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Shape {
    pub h: usize,
    pub w: usize,
    pub c: usize,
}

impl Shape {
    pub const fn new(h: usize, w: usize, c: usize) -> Self {
        Shape { h, w, c }
    }
    pub const fn pixels(&self) -> usize {
        self.h * self.w
    }
    pub const fn len(&self) -> usize {
        self.h * self.w * self.c
    }
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl std::fmt::Display for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}x{}", self.h, self.w, self.c)
    }
}

/// Where a tensor's channels sit inside a buffer: element `(y, x, ch)` is at
/// `offset + (y * w + x) * pixel_stride + ch`. A dense tensor has `offset = 0, pixel_stride = c`;
/// a channel slice of a wider buffer (split, or a concat's part) has `pixel_stride` = the buffer's channels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ChannelView {
    pub offset: usize,
    pub pixel_stride: usize,
}

impl ChannelView {
    pub const fn dense(c: usize) -> Self {
        ChannelView { offset: 0, pixel_stride: c }
    }
    /// Number of floats a buffer must hold for `pixels` pixels of `c` channels in this view.
    pub const fn span(&self, pixels: usize, c: usize) -> usize {
        if pixels == 0 {
            0
        } else {
            self.offset + (pixels - 1) * self.pixel_stride + c
        }
    }
}
