//! Stored-message encoding; see the store and broker for its uses.
