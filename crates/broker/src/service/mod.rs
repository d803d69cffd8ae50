//! The broker's service layer: the send, pull, POP and administration paths as transport-neutral
//! services.
//!
//! Each service is built by the `BrokerController` from the few managers it uses and shared
//! by every transport: the remoting processors are thin adapters over them (decode the header,
//! call the service, encode the response), the console calls them for its sends and its views,
//! and the gRPC endpoint calls them too. No service holds the controller.

pub mod admin_service;
pub mod pop_service;
pub mod pull_service;
pub mod recall;
pub mod send_back_service;
pub mod send_service;
pub mod transaction_service;

pub use admin_service::AdminService;
pub use pop_service::{PopRefusal, PopRequest, PopResult, PopService, PopStatus};
pub use pull_service::{PullResponse, PullService};
pub use recall::RecallHandle;
pub use send_back_service::{SendBackRefusal, SendBackRequest, SendBackService};
pub use send_service::{SendError, SendMessageRequest, SendResult, SendService};
pub use transaction_service::{TransactionError, TransactionResolution, TransactionService};
