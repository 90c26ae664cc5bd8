//! Live boards: `progressChanged` sends a region's progress now and again
//! whenever its figures move (at most every half second), across processes.

use crate::{
    domain::progress::progress_for,
    graphql::{ids, progress::ProgressNode, CtxExt},
};
use async_graphql::{Context, ID};

#[derive(Default)]
pub struct ProgressSubscription;

#[async_graphql::Subscription]
impl ProgressSubscription {
    /// The region's progress now, then again whenever it changes (at most every
    /// half second: a burst of saves becomes one update). Works across API processes.
    async fn progress_changed(
        &self,
        ctx: &Context<'_>,
        region_id: ID,
        campaign_id: Option<ID>,
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
        let updates = futures_util::stream::unfold((rx, state, caller), move |(mut rx, state, caller)| async move {
            loop {
                match rx.recv().await {
                    Ok(regions) if regions.contains(&rid) => break,
                    Ok(_) => continue,
                    Err(RecvError::Lagged(_)) => break,
                    Err(RecvError::Closed) => return None,
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            while rx.try_recv().is_ok() {}
            let item = progress_for(&caller, &state.db, Some(rid), cid)
                .await
                .map(ProgressNode)
                .map_err(async_graphql::Error::from);
            Some((item, (rx, state, caller)))
        });
        Ok(futures_util::stream::once(async move { Ok(first) }).chain(updates))
    }
}
