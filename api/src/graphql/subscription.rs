//! Live boards: `progressChanged` sends a region's progress now and again
//! whenever its figures move, across processes. The first change after a
//! quiet half second is sent at once (leading edge); changes within half a
//! second of the last update are merged into one update at the window's end.

use crate::{
    domain::progress::progress_for,
    graphql::{ids, progress::ProgressNode, CtxExt},
};
use async_graphql::{Context, ID};

#[derive(Default)]
pub struct ProgressSubscription;

#[async_graphql::Subscription]
impl ProgressSubscription {
    /// The region's progress now, then again whenever it changes: at once
    /// after a quiet moment, and at most every half second during a burst (a
    /// burst of saves becomes one update). Works across API processes.
    async fn progress_changed(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The region to watch.")] region_id: ID,
        #[graphql(desc = "The campaign (default: the newest).")] campaign_id: Option<ID>,
    ) -> async_graphql::Result<impl futures_util::Stream<Item = async_graphql::Result<ProgressNode>>> {
        use futures_util::StreamExt;
        use tokio::sync::broadcast::error::RecvError;
        // Who asks comes first (the root guard does not see subscriptions).
        ctx.viewer()?;
        let caller = ctx.caller().clone();
        let state = ctx.state().clone();
        let rid = ids::decode("Region", &region_id)?;
        let cid = campaign_id.as_ref().map(|c| ids::decode("Campaign", c)).transpose()?;
        let first = ProgressNode(progress_for(&caller, &state.db, Some(rid), cid).await?);
        let rx = state.notifier.subscribe();
        let window = std::time::Duration::from_millis(500);
        let start = (rx, state, caller, None::<tokio::time::Instant>);
        let updates = futures_util::stream::unfold(start, move |(mut rx, state, caller, last)| async move {
            loop {
                match rx.recv().await {
                    Ok(regions) if regions.contains(&rid) => break,
                    Ok(_) => continue,
                    Err(RecvError::Lagged(_)) => break,
                    Err(RecvError::Closed) => return None,
                }
            }
            // Within the window of the last update: wait for its end, and
            // let everything that arrives meanwhile ride on one update.
            if let Some(due) = last.map(|t| t + window).filter(|due| *due > tokio::time::Instant::now()) {
                tokio::time::sleep_until(due).await;
                while rx.try_recv().is_ok() {}
            }
            let sent = tokio::time::Instant::now();
            let item = progress_for(&caller, &state.db, Some(rid), cid)
                .await
                .map(ProgressNode)
                .map_err(async_graphql::Error::from);
            Some((item, (rx, state, caller, Some(sent))))
        });
        Ok(futures_util::stream::once(async move { Ok(first) }).chain(updates))
    }
}
