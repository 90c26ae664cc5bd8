//! Campaigns, their deadline milestones, and progress against them.

mod board;
mod campaigns;
mod reach;
mod templates;

pub use board::*;
pub use campaigns::*;
pub use reach::*;
pub use templates::CampaignTemplate;
