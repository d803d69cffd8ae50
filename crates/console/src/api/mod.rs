//! The console's JSON API, one module per page.

pub mod dlq;
pub mod groups;
pub mod message_view;
pub mod messages;
pub mod overview;
pub mod replication;
pub mod topics;

use serde::Serialize;

use crate::http::{Request, Response};

/// Largest page a list answers.
pub const MAX_PAGE_SIZE: usize = 500;

/// One page of a server-side filtered list.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    /// Items matching the filter, over all pages.
    pub total: usize,
    /// 1-based page number.
    pub page: usize,
    /// Page size.
    pub size: usize,
    /// This page's items.
    pub items: Vec<T>,
}

/// `page` (1-based) and `size` (default 50, at most [`MAX_PAGE_SIZE`]) of a request.
pub fn page_params(req: &Request) -> Result<(usize, usize), Response> {
    let page = req.number("page", 1usize)?.max(1);
    let size = req.number("size", 50usize)?.clamp(1, MAX_PAGE_SIZE);
    Ok((page, size))
}

/// The slice of `all` on `page`, with the total.
pub fn paginate<T: Clone>(all: &[T], page: usize, size: usize) -> (usize, Vec<T>) {
    let start = (page - 1).saturating_mul(size).min(all.len());
    let end = start.saturating_add(size).min(all.len());
    (all.len(), all[start..end].to_vec())
}

/// Case-insensitive substring filter; an empty needle matches everything.
pub fn matches(name: &str, needle: &str) -> bool {
    needle.is_empty() || name.to_lowercase().contains(&needle.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages() {
        let all: Vec<i32> = (0..105).collect();
        assert_eq!(paginate(&all, 1, 50), (105, (0..50).collect()));
        assert_eq!(paginate(&all, 3, 50), (105, (100..105).collect()));
        assert_eq!(paginate(&all, 9, 50), (105, vec![]));
        assert!(matches("OrderTopic", "order"));
        assert!(!matches("OrderTopic", "pay"));
    }
}
