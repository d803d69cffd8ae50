//! Delayed messages (delay levels).

pub mod schedule_message_service;

pub use schedule_message_service::ScheduleMessageService;
