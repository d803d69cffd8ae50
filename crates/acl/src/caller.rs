//! The identity a request was accepted under, readable by whoever serves the request (e.g. an
//! audit log of admin codes) without passing it through every function.

use std::future::Future;

tokio::task_local! {
    static CURRENT: Caller;
}

/// How a request was let in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authentication {
    /// ACL is off: nobody is checked.
    Disabled,
    /// The peer matches `globalWhiteRemoteAddresses`.
    GlobalWhiteList,
    /// The peer matches the account's `whiteRemoteAddress`.
    AccountWhiteAddress,
    /// The request carries a valid signature of the account.
    Signature,
    /// The request code needs no check (name-server queries).
    NotChecked,
}

/// Who sent the request being served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    access_key: Option<String>,
    authentication: Authentication,
}

impl Caller {
    /// A caller of a server whose ACL is off, or of a code that is not checked.
    pub fn anonymous(authentication: Authentication) -> Caller {
        Caller {
            access_key: None,
            authentication,
        }
    }

    pub(crate) fn anonymous_white_listed() -> Caller {
        Caller::anonymous(Authentication::GlobalWhiteList)
    }

    pub(crate) fn account(access_key: &str) -> Caller {
        Caller {
            access_key: Some(access_key.to_string()),
            authentication: Authentication::Signature,
        }
    }

    pub(crate) fn by_address(mut self) -> Caller {
        self.authentication = Authentication::AccountWhiteAddress;
        self
    }

    /// The authenticated access key; `None` when nobody was authenticated.
    pub fn access_key(&self) -> Option<&str> {
        self.access_key.as_deref()
    }

    /// How the request was let in.
    pub fn authentication(&self) -> Authentication {
        self.authentication
    }
}

/// Runs `fut` (the serving of one request) with `caller` as its [`current_caller`].
pub async fn with_caller<F: Future>(caller: Caller, fut: F) -> F::Output {
    CURRENT.scope(caller, fut).await
}

/// The caller of the request being served on this task, if any.
pub fn current_caller() -> Option<Caller> {
    CURRENT.try_with(Caller::clone).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn caller_is_visible_inside_the_scope_only() {
        assert_eq!(current_caller(), None);
        let seen = with_caller(Caller::account("RocketMQ"), async {
            current_caller().and_then(|c| c.access_key().map(String::from))
        })
        .await;
        assert_eq!(seen.as_deref(), Some("RocketMQ"));
        assert_eq!(current_caller(), None);
    }
}
