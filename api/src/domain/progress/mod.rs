//! Campaigns, their deadline milestones, and progress against them.

mod board;
mod campaigns;

pub use board::*;
pub use campaigns::*;
