use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn a(s: &str) -> Alias {
    Alias::new(s)
}

/// An applied import can be undone: each superseded reference row names the
/// import that superseded it, each household the import that created it, and
/// an import records when it was undone. One column per statement, as SQLite
/// adds columns one at a time.
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let add = |table: &str, col: ColumnDef| Table::alter().table(a(table)).add_column(col).to_owned();
        m.alter_table(add("reference_records", ColumnDef::new(a("superseded_by")).uuid().null().to_owned())).await?;
        m.alter_table(add("households", ColumnDef::new(a("created_by_import")).uuid().null().to_owned())).await?;
        m.alter_table(add(
            "reference_imports",
            ColumnDef::new(a("undone_at")).timestamp_with_time_zone().null().to_owned(),
        ))
        .await?;
        m.create_index(
            Index::create()
                .name("ix_reference_records_superseded_by")
                .table(a("reference_records"))
                .col(a("superseded_by"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(Index::drop().name("ix_reference_records_superseded_by").table(a("reference_records")).to_owned())
            .await?;
        let drop = |table: &str, col: &str| Table::alter().table(a(table)).drop_column(a(col)).to_owned();
        m.alter_table(drop("reference_imports", "undone_at")).await?;
        m.alter_table(drop("households", "created_by_import")).await?;
        m.alter_table(drop("reference_records", "superseded_by")).await
    }
}
