//! Campaigns, their deadline milestones, and progress against them.

mod board;
mod campaigns;
mod templates;

pub use board::*;
pub use campaigns::*;
pub use templates::CampaignTemplate;
