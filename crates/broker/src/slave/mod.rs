//! What a slave broker does besides receiving the commit log: `SlaveSynchronize` keeps its
//! metadata (topics, subscription groups, consumer and delay offsets) equal to the master's.

mod slave_synchronize;

pub use slave_synchronize::{SlaveSynchronize, SyncReport, SYNC_INITIAL_DELAY, SYNC_PERIOD};
