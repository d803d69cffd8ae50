//! Long polling: pulls that found nothing wait here until a message arrives.

pub mod pull_request_hold_service;

pub use pull_request_hold_service::PullRequestHoldService;
