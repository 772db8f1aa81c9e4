//! Element-wise add (+activation), per-channel affine, channel copy/permute.
