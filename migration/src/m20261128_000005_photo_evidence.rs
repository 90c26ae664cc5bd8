use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Photo quality figures measured on acceptance (for the on-site quality hints).
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for col in [double_null(Alias::new("mean_luma")), double_null(Alias::new("sharpness"))] {
            m.alter_table(Table::alter().table(Alias::new("photos")).add_column(col).to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for col in ["mean_luma", "sharpness"] {
            m.alter_table(Table::alter().table(Alias::new("photos")).drop_column(Alias::new(col)).to_owned()).await?;
        }
        Ok(())
    }
}
