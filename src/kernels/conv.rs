//! Direct dense convolution for few input channels (the 3×3 stride-2 stem from RGB), and the
//! fallback for any ungrouped k×k convolution.
