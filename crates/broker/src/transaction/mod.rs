//! Transactional messages: half messages, their resolution and the producer check-back.

pub mod transactional_message_bridge;
pub mod transactional_message_check_service;
