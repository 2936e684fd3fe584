//! A drop-in for the tutorial's demo image (under construction).
