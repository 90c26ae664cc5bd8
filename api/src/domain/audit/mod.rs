//! Append-only, hash-chained audit trail. Each event carries the hash of the
//! previous one; `api audit-verify` recomputes the chain.

pub mod queries;

use crate::domain::auth::Viewer;
use crate::domain::error::AppResult;
use chrono::{DateTime, Utc};
use entity::audit_event;
use sea_orm::{ActiveValue::Set, ConnectionTrait, DatabaseBackend, EntityTrait, QueryOrder, QuerySelect, Statement};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Timestamps are kept at microsecond precision so they round-trip through
/// PostgreSQL unchanged (the chain hashes them).
pub fn now() -> DateTime<Utc> {
    let n = Utc::now();
    DateTime::from_timestamp_micros(n.timestamp_micros()).unwrap_or(n)
}

/// Who did it, as recorded.
#[derive(Clone, Debug, Default)]
pub struct Actor {
    pub id: Option<Uuid>,
    pub role: Option<String>,
    pub name: Option<String>,
    pub client_addr: Option<String>,
}

impl Actor {
    pub fn of(viewer: &Viewer, client_addr: Option<String>) -> Self {
        Self {
            id: viewer.account_id(),
            role: Some(viewer.role.as_str().into()),
            name: Some(viewer.label()),
            client_addr,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct NewEvent {
    pub action: &'static str,
    pub entity_type: &'static str,
    pub entity_id: Option<Uuid>,
    pub household_id: Option<Uuid>,
    pub region_id: Option<Uuid>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

pub fn chain_hash(prev: &str, e: &audit_event::Model) -> String {
    let mut h = Sha256::new();
    let opt = |u: Option<Uuid>| u.map(|u| u.to_string()).unwrap_or_default();
    let json = |v: &Option<serde_json::Value>| v.as_ref().map(|v| v.to_string()).unwrap_or_default();
    for part in [
        prev.to_string(),
        e.seq.to_string(),
        e.occurred_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        opt(e.actor_id),
        e.actor_role.clone().unwrap_or_default(),
        e.actor_name.clone().unwrap_or_default(),
        e.client_addr.clone().unwrap_or_default(),
        e.action.clone(),
        e.entity_type.clone(),
        opt(e.entity_id),
        opt(e.household_id),
        opt(e.region_id),
        json(&e.before),
        json(&e.after),
    ] {
        h.update(part.as_bytes());
        h.update([0x1f]);
    }
    hex::encode(h.finalize())
}

/// Appends one event. Call it inside the transaction of the change it records,
/// so the event exists exactly when the change does.
pub async fn append<C: ConnectionTrait>(conn: &C, actor: &Actor, ev: NewEvent) -> AppResult<audit_event::Model> {
    if conn.get_database_backend() == DatabaseBackend::Postgres {
        // The chain is a single sequence: serialise appenders for the rest of
        // this transaction (SQLite already serialises writers).
        conn.execute(Statement::from_string(DatabaseBackend::Postgres, "SELECT pg_advisory_xact_lock(7140001)"))
            .await?;
    }
    let last = audit_event::Entity::find().order_by_desc(audit_event::Column::Seq).limit(1).one(conn).await?;
    let (seq, prev) = last.map(|l| (l.seq + 1, l.hash)).unwrap_or((1, GENESIS.to_string()));
    let mut model = audit_event::Model {
        id: Uuid::new_v4(),
        seq,
        occurred_at: now(),
        actor_id: actor.id,
        actor_role: actor.role.clone(),
        actor_name: actor.name.clone(),
        client_addr: actor.client_addr.clone(),
        action: ev.action.into(),
        entity_type: ev.entity_type.into(),
        entity_id: ev.entity_id,
        household_id: ev.household_id,
        region_id: ev.region_id,
        before: ev.before,
        after: ev.after,
        prev_hash: prev.clone(),
        hash: String::new(),
    };
    model.hash = chain_hash(&prev, &model);
    let am = audit_event::ActiveModel {
        id: Set(model.id),
        seq: Set(model.seq),
        occurred_at: Set(model.occurred_at),
        actor_id: Set(model.actor_id),
        actor_role: Set(model.actor_role.clone()),
        actor_name: Set(model.actor_name.clone()),
        client_addr: Set(model.client_addr.clone()),
        action: Set(model.action.clone()),
        entity_type: Set(model.entity_type.clone()),
        entity_id: Set(model.entity_id),
        household_id: Set(model.household_id),
        region_id: Set(model.region_id),
        before: Set(model.before.clone()),
        after: Set(model.after.clone()),
        prev_hash: Set(model.prev_hash.clone()),
        hash: Set(model.hash.clone()),
    };
    audit_event::Entity::insert(am).exec_without_returning(conn).await?;
    Ok(model)
}

/// The first place the chain breaks.
#[derive(Debug, Clone, PartialEq)]
pub struct BrokenLink {
    pub seq: i64,
    pub reason: String,
}

/// The chain's newest event: its number and hash. Kept outside the table (the
/// log, /metrics, an operator's notes), it shows when the newest events were
/// deleted, which the chain alone cannot: what is left still links up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub seq: i64,
    pub hash: String,
}

impl std::fmt::Display for Head {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.seq, self.hash)
    }
}

impl std::str::FromStr for Head {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (seq, hash) = s.split_once(':').ok_or("expected <seq>:<hash>, as /metrics or the log show it")?;
        let seq = seq.trim().parse().map_err(|_| format!("`{seq}` is not an event number"))?;
        Ok(Self { seq, hash: hash.trim().to_owned() })
    }
}

/// The newest event's number and hash (None before the first event).
pub async fn head<C: ConnectionTrait>(conn: &C) -> AppResult<Option<Head>> {
    Ok(audit_event::Entity::find()
        .order_by_desc(audit_event::Column::Seq)
        .one(conn)
        .await?
        .map(|e| Head { seq: e.seq, hash: e.hash }))
}

/// Writes the head to the log at start and every five minutes when it moved:
/// the log (shipped elsewhere) then holds anchors the database cannot rewrite.
pub fn spawn_head_log(db: sea_orm::DatabaseConnection) {
    tokio::spawn(async move {
        let mut last = None;
        loop {
            if let Ok(Some(h)) = head(&db).await {
                if last.as_ref() != Some(&h) {
                    tracing::info!(anchor = %h, "audit head");
                    last = Some(h);
                }
            }
            tokio::time::sleep(std::time::Duration::from_secs(300)).await;
        }
    });
}

/// Verifies the chain and that it still reaches an anchor taken earlier:
/// the anchored event exists with the anchored hash (later events may follow).
pub async fn verify_against<C: ConnectionTrait>(conn: &C, anchor: &Head) -> AppResult<Result<u64, BrokenLink>> {
    let n = match verify_chain(conn).await? {
        Ok(n) => n,
        broken => return Ok(broken),
    };
    if (n as i64) < anchor.seq {
        let reason = format!("the chain ends at event {n}, but event {} was recorded: events were deleted", anchor.seq);
        return Ok(Err(BrokenLink { seq: n as i64 + 1, reason }));
    }
    use sea_orm::{ColumnTrait, QueryFilter};
    let at = audit_event::Entity::find().filter(audit_event::Column::Seq.eq(anchor.seq)).one(conn).await?;
    if at.is_none_or(|e| e.hash != anchor.hash) {
        let reason = "its hash differs from the anchor: the chain was rewritten".to_owned();
        return Ok(Err(BrokenLink { seq: anchor.seq, reason }));
    }
    Ok(Ok(n))
}

/// Recomputes the whole chain in order; Ok(number of events) or the first broken link.
pub async fn verify_chain<C: ConnectionTrait>(conn: &C) -> AppResult<Result<u64, BrokenLink>> {
    use sea_orm::{ColumnTrait, QueryFilter};
    let mut prev = GENESIS.to_string();
    let mut expected_seq = 1i64;
    let mut checked = 0u64;
    loop {
        let page = audit_event::Entity::find()
            .filter(audit_event::Column::Seq.gte(expected_seq))
            .order_by_asc(audit_event::Column::Seq)
            .limit(1000)
            .all(conn)
            .await?;
        if page.is_empty() {
            return Ok(Ok(checked));
        }
        for e in page {
            if e.seq != expected_seq {
                return Ok(Err(BrokenLink { seq: expected_seq, reason: format!("event {expected_seq} is missing") }));
            }
            if e.prev_hash != prev {
                return Ok(Err(BrokenLink { seq: e.seq, reason: "it does not point to the previous event".into() }));
            }
            if chain_hash(&prev, &e) != e.hash {
                return Ok(Err(BrokenLink {
                    seq: e.seq,
                    reason: "its content does not match its hash (edited)".into(),
                }));
            }
            prev = e.hash;
            expected_seq += 1;
            checked += 1;
        }
    }
}
