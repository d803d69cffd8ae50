//! Consumer offsets.

pub mod consumer_offset_manager;

pub use consumer_offset_manager::ConsumerOffsetManager;
