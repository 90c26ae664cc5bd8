//! The one way a write happens: begin (behind SQLite's write gate), change,
//! append the audit events, move the progress counters, commit, then tell
//! every API process which regions moved. `commit` refuses a write that
//! recorded no audit event, so no change can go unrecorded by accident;
//! bookkeeping that records no one's action says so with `commit_bookkeeping`.

use crate::{
    domain::{
        audit::{self, Actor, NewEvent},
        counters::{self, Tracker},
        error::{AppError, AppResult},
        regions,
    },
    AppState,
};
use entity::{audit_event, region};
use sea_orm::{DatabaseTransaction, TransactionTrait};
use std::sync::{
    atomic::{AtomicBool, Ordering},
    Mutex,
};
use uuid::Uuid;

pub struct Tx {
    _gate: Option<tokio::sync::OwnedMutexGuard<()>>,
    txn: DatabaseTransaction,
    actor: Actor,
    audited: AtomicBool,
    trackers: Mutex<Vec<Tracker>>,
    moved: Mutex<Vec<Uuid>>,
    subtrees: Mutex<Vec<region::Model>>,
}

impl Tx {
    /// Begins a write done by `actor`. SQLite has one writer, so writes queue
    /// at the gate instead of failing with SQLITE_BUSY.
    pub async fn begin(state: &AppState, actor: Actor) -> AppResult<Self> {
        let gate = state.write_turn().await;
        let txn = state.db.begin().await?;
        Ok(Self {
            _gate: gate,
            txn,
            actor,
            audited: AtomicBool::new(false),
            trackers: Mutex::new(Vec::new()),
            moved: Mutex::new(Vec::new()),
            subtrees: Mutex::new(Vec::new()),
        })
    }

    /// The open transaction, for the change itself.
    pub fn conn(&self) -> &DatabaseTransaction {
        &self.txn
    }

    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// Appends an event by this write's actor, inside the transaction.
    pub async fn audit(&self, ev: NewEvent) -> AppResult<audit_event::Model> {
        self.audit_as(&self.actor.clone(), ev).await
    }

    /// Appends an event by another actor (sign-in names the account it found).
    pub async fn audit_as(&self, actor: &Actor, ev: NewEvent) -> AppResult<audit_event::Model> {
        let e = audit::append(&self.txn, actor, ev).await?;
        self.audited.store(true, Ordering::Relaxed);
        Ok(e)
    }

    /// Remembers a household's figures now; commit applies the difference.
    pub async fn track(&self, campaign_id: Uuid, household_id: Uuid) -> AppResult<()> {
        let t = counters::track(&self.txn, campaign_id, household_id).await?;
        self.trackers.lock().unwrap_or_else(|e| e.into_inner()).push(t);
        Ok(())
    }

    /// A region whose whole subtree moved (a bulk import or recount); its
    /// members are read after the commit, so regions the write created count.
    pub fn moved_subtree(&self, region: &region::Model) {
        self.subtrees.lock().unwrap_or_else(|e| e.into_inner()).push(region.clone());
    }

    /// Moves the counters, commits and notifies. Refuses a write with no audit event.
    pub async fn commit(self, state: &AppState) -> AppResult<()> {
        if !self.audited.load(Ordering::Relaxed) {
            return Err(AppError::Internal(anyhow::anyhow!("a write without an audit event was refused")));
        }
        self.finish(state).await
    }

    /// Commits bookkeeping that records nobody's action (sign-in throttling,
    /// token rotation, webhook delivery status).
    pub async fn commit_bookkeeping(self, state: &AppState) -> AppResult<()> {
        self.finish(state).await
    }

    async fn finish(self, state: &AppState) -> AppResult<()> {
        let Tx { _gate, txn, trackers, moved, subtrees, .. } = self;
        let mut moved = moved.into_inner().unwrap_or_else(|e| e.into_inner());
        for t in trackers.into_inner().unwrap_or_else(|e| e.into_inner()) {
            moved.extend(t.finish(&txn).await?);
        }
        txn.commit().await?;
        drop(_gate);
        for r in subtrees.into_inner().unwrap_or_else(|e| e.into_inner()) {
            moved.extend(regions::subtree_ids(&state.db, &r).await?);
        }
        moved.sort();
        moved.dedup();
        if !moved.is_empty() {
            state.notifier.publish(&state.db, moved).await;
        }
        Ok(())
    }
}
