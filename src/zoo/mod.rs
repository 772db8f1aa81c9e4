//! The four architectures of the mobile-CNN line as graph builders with deterministic random weights.
