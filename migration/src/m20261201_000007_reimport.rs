use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn a(s: &str) -> Alias {
    Alias::new(s)
}

/// The same file may be imported again after a later file changed the data
/// (to restore it), so its content hash is no longer unique per campaign and
/// kind; it stays indexed for the "already imported" look-up.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(Index::drop().name("ix_reference_imports_content").table(a("reference_imports")).to_owned())
            .await?;
        m.create_index(
            Index::create()
                .name("ix_reference_imports_content_seen")
                .table(a("reference_imports"))
                .col(a("campaign_id"))
                .col(a("kind"))
                .col(a("content_sha256"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(Index::drop().name("ix_reference_imports_content_seen").table(a("reference_imports")).to_owned())
            .await?;
        m.create_index(
            Index::create()
                .name("ix_reference_imports_content")
                .table(a("reference_imports"))
                .col(a("campaign_id"))
                .col(a("kind"))
                .col(a("content_sha256"))
                .unique()
                .to_owned(),
        )
        .await
    }
}
