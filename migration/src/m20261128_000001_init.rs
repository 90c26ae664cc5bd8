use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn a(s: &str) -> Alias {
    Alias::new(s)
}

/// A real foreign key, named after table and column.
fn fk(table: &str, column: &str, target: &str, delete: ForeignKeyAction) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{table}_{column}"))
        .from(a(table), a(column))
        .to(a(target), a("id"))
        .on_delete(delete)
        .to_owned()
}

fn index(table: &str, name: &str, columns: &[&str], unique: bool) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(format!("ix_{table}_{name}")).table(a(table));
    for c in columns {
        i.col(a(c));
    }
    if unique {
        i.unique();
    }
    i.to_owned()
}

const RESTRICT: ForeignKeyAction = ForeignKeyAction::Restrict;
const CASCADE: ForeignKeyAction = ForeignKeyAction::Cascade;
const SET_NULL: ForeignKeyAction = ForeignKeyAction::SetNull;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(a("regions"))
                .col(pk_uuid(a("id")))
                .col(string_len(a("code"), 12).unique_key())
                .col(string(a("name")))
                .col(string_len(a("level"), 24))
                .col(uuid_null(a("parent_id")))
                .col(string(a("path")))
                .col(double_null(a("latitude")))
                .col(double_null(a("longitude")))
                .col(timestamp_with_time_zone(a("created_at")))
                .foreign_key(&mut fk("regions", "parent_id", "regions", RESTRICT))
                .to_owned(),
        )
        .await?;
        m.create_index(index("regions", "parent", &["parent_id"], false)).await?;
        m.create_index(index("regions", "path", &["path"], false)).await?;

        m.create_table(
            Table::create()
                .table(a("campaigns"))
                .col(pk_uuid(a("id")))
                .col(string(a("name")))
                .col(uuid(a("county_id")))
                .col(string(a("time_zone")))
                .col(date(a("starts_on")))
                .col(date(a("ends_on")))
                .col(timestamp_with_time_zone(a("created_at")))
                .foreign_key(&mut fk("campaigns", "county_id", "regions", RESTRICT))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(a("accounts"))
                .col(pk_uuid(a("id")))
                .col(string_len(a("username"), 64).unique_key())
                .col(string(a("display_name")))
                .col(string_null(a("phone")))
                .col(string_len(a("role"), 24))
                .col(uuid(a("region_id")))
                .col(string(a("password_hash")))
                .col(boolean(a("must_change_password")))
                .col(boolean(a("disabled")))
                .col(timestamp_with_time_zone_null(a("password_changed_at")))
                .col(timestamp_with_time_zone_null(a("last_sign_in_at")))
                .col(timestamp_with_time_zone(a("created_at")))
                .col(timestamp_with_time_zone(a("updated_at")))
                .foreign_key(&mut fk("accounts", "region_id", "regions", RESTRICT))
                .to_owned(),
        )
        .await?;
        m.create_index(index("accounts", "region", &["region_id"], false)).await?;

        m.create_table(
            Table::create()
                .table(a("households"))
                .col(pk_uuid(a("id")))
                .col(uuid(a("campaign_id")))
                .col(string_len(a("code"), 32))
                .col(string(a("head_name")))
                .col(string_len(a("id_number"), 32))
                .col(integer_null(a("size")))
                .col(string_null(a("phone")))
                .col(uuid(a("county_id")))
                .col(uuid(a("township_id")))
                .col(uuid_null(a("village_id")))
                .col(string_len_null(a("expected_path"), 24))
                .col(timestamp_with_time_zone(a("created_at")))
                .col(timestamp_with_time_zone(a("updated_at")))
                .foreign_key(&mut fk("households", "campaign_id", "campaigns", RESTRICT))
                .foreign_key(&mut fk("households", "county_id", "regions", RESTRICT))
                .foreign_key(&mut fk("households", "township_id", "regions", RESTRICT))
                .foreign_key(&mut fk("households", "village_id", "regions", RESTRICT))
                .to_owned(),
        )
        .await?;
        // Lists page by code inside a region subtree; these serve each level.
        m.create_index(index("households", "campaign_code", &["campaign_id", "code"], true)).await?;
        m.create_index(index("households", "county_code", &["campaign_id", "county_id", "code"], false)).await?;
        m.create_index(index("households", "township_code", &["campaign_id", "township_id", "code"], false)).await?;
        m.create_index(index("households", "village_code", &["campaign_id", "village_id", "code"], false)).await?;
        m.create_index(index("households", "id_number", &["campaign_id", "id_number"], false)).await?;

        m.create_table(
            Table::create()
                .table(a("reference_imports"))
                .col(pk_uuid(a("id")))
                .col(uuid(a("campaign_id")))
                .col(string_len(a("kind"), 24))
                .col(string(a("file_name")))
                .col(string_len(a("content_sha256"), 64))
                .col(string_len(a("encoding"), 24))
                .col(integer(a("row_count")))
                .col(json_binary(a("report")))
                .col(uuid_null(a("imported_by")))
                .col(timestamp_with_time_zone(a("created_at")))
                .foreign_key(&mut fk("reference_imports", "campaign_id", "campaigns", RESTRICT))
                .foreign_key(&mut fk("reference_imports", "imported_by", "accounts", SET_NULL))
                .to_owned(),
        )
        .await?;
        m.create_index(index("reference_imports", "content", &["campaign_id", "kind", "content_sha256"], true)).await?;

        m.create_table(
            Table::create()
                .table(a("reference_records"))
                .col(pk_uuid(a("id")))
                .col(uuid(a("campaign_id")))
                .col(uuid_null(a("import_id")))
                .col(string_len(a("source"), 24))
                .col(string_len(a("household_code"), 32))
                .col(uuid_null(a("household_id")))
                .col(string(a("head_name")))
                .col(string_len(a("id_number"), 32))
                .col(string_null(a("township_name")))
                .col(string_null(a("village_name")))
                .col(integer_null(a("household_size")))
                .col(string_null(a("phone")))
                .col(integer_null(a("exit_year")))
                .col(string_len_null(a("grade"), 4))
                .col(date_null(a("appraised_on")))
                .col(string_null(a("appraiser")))
                .col(integer_null(a("renovation_year")))
                .col(string_null(a("renovation_kind")))
                .col(date_null(a("accepted_on")))
                .col(big_integer_null(a("subsidy_yuan")))
                .col(string(a("source_file")))
                .col(integer(a("row_number")))
                .col(boolean(a("current")))
                .col(timestamp_with_time_zone(a("created_at")))
                .foreign_key(&mut fk("reference_records", "campaign_id", "campaigns", RESTRICT))
                .foreign_key(&mut fk("reference_records", "import_id", "reference_imports", SET_NULL))
                .foreign_key(&mut fk("reference_records", "household_id", "households", CASCADE))
                .to_owned(),
        )
        .await?;
        m.create_index(index("reference_records", "household", &["household_id", "source", "current"], false)).await?;
        m.create_index(index("reference_records", "code", &["campaign_id", "source", "household_code"], false)).await?;

        m.create_table(
            Table::create()
                .table(a("verifications"))
                .col(pk_uuid(a("id")))
                .col(uuid(a("campaign_id")))
                .col(uuid(a("household_id")))
                .col(boolean(a("practice")))
                .col(string_len(a("status"), 24))
                .col(string_len_null(a("path"), 24))
                .col(integer(a("version")))
                .col(json_binary_null(a("evidence")))
                .col(string_null(a("structure")))
                .col(integer_null(a("floors")))
                .col(double_null(a("floor_area")))
                .col(integer_null(a("year_built")))
                .col(integer_null(a("occupants")))
                .col(double_null(a("latitude")))
                .col(double_null(a("longitude")))
                .col(text_null(a("notes")))
                .col(uuid_null(a("verified_by")))
                .col(timestamp_with_time_zone_null(a("submitted_at")))
                .col(uuid_null(a("approved_by")))
                .col(timestamp_with_time_zone_null(a("approved_at")))
                .col(text_null(a("return_reason")))
                .col(timestamp_with_time_zone(a("created_at")))
                .col(timestamp_with_time_zone(a("updated_at")))
                .foreign_key(&mut fk("verifications", "campaign_id", "campaigns", RESTRICT))
                .foreign_key(&mut fk("verifications", "household_id", "households", CASCADE))
                .foreign_key(&mut fk("verifications", "verified_by", "accounts", SET_NULL))
                .foreign_key(&mut fk("verifications", "approved_by", "accounts", SET_NULL))
                .to_owned(),
        )
        .await?;
        m.create_index(index("verifications", "household", &["household_id", "campaign_id", "practice"], true)).await?;
        m.create_index(index("verifications", "status", &["campaign_id", "status"], false)).await?;

        m.create_table(
            Table::create()
                .table(a("photos"))
                .col(pk_uuid(a("id")))
                .col(uuid(a("household_id")))
                .col(uuid_null(a("verification_id")))
                .col(string_len(a("kind"), 24))
                .col(string(a("object_key")).unique_key())
                .col(string_null(a("thumbnail_key")))
                .col(string_len(a("content_type"), 64))
                .col(big_integer(a("size_bytes")))
                .col(string_len(a("sha256"), 64))
                .col(big_integer_null(a("phash")))
                .col(integer(a("width")))
                .col(integer(a("height")))
                .col(timestamp_with_time_zone_null(a("taken_at")))
                .col(double_null(a("latitude")))
                .col(double_null(a("longitude")))
                .col(boolean(a("practice")))
                .col(uuid(a("uploaded_by")))
                .col(timestamp_with_time_zone(a("uploaded_at")))
                .foreign_key(&mut fk("photos", "household_id", "households", CASCADE))
                .foreign_key(&mut fk("photos", "verification_id", "verifications", SET_NULL))
                .foreign_key(&mut fk("photos", "uploaded_by", "accounts", RESTRICT))
                .to_owned(),
        )
        .await?;
        m.create_index(index("photos", "household", &["household_id"], false)).await?;
        m.create_index(index("photos", "sha256", &["sha256"], false)).await?;

        m.create_table(
            Table::create()
                .table(a("milestones"))
                .col(pk_uuid(a("id")))
                .col(uuid(a("campaign_id")))
                .col(string_len(a("kind"), 32))
                .col(string(a("title")))
                .col(timestamp_with_time_zone(a("starts_at")))
                .col(timestamp_with_time_zone(a("ends_at")))
                .col(string_len(a("target_metric"), 24))
                .col(double(a("target_percent")))
                .col(timestamp_with_time_zone(a("created_at")))
                .col(timestamp_with_time_zone(a("updated_at")))
                .foreign_key(&mut fk("milestones", "campaign_id", "campaigns", CASCADE))
                .to_owned(),
        )
        .await?;
        m.create_index(index("milestones", "campaign", &["campaign_id", "starts_at"], false)).await?;

        m.create_table(
            Table::create()
                .table(a("refresh_tokens"))
                .col(pk_uuid(a("id")))
                .col(uuid(a("account_id")))
                .col(uuid(a("family_id")))
                .col(string_len(a("token_hash"), 64).unique_key())
                .col(timestamp_with_time_zone(a("expires_at")))
                .col(timestamp_with_time_zone_null(a("used_at")))
                .col(timestamp_with_time_zone_null(a("revoked_at")))
                .col(timestamp_with_time_zone(a("created_at")))
                .foreign_key(&mut fk("refresh_tokens", "account_id", "accounts", CASCADE))
                .to_owned(),
        )
        .await?;
        m.create_index(index("refresh_tokens", "family", &["family_id"], false)).await?;
        m.create_index(index("refresh_tokens", "account", &["account_id"], false)).await?;

        m.create_table(
            Table::create()
                .table(a("api_tokens"))
                .col(pk_uuid(a("id")))
                .col(string(a("name")))
                .col(uuid(a("region_id")))
                .col(string_len(a("token_hash"), 64).unique_key())
                .col(string_len(a("token_prefix"), 16))
                .col(uuid(a("created_by")))
                .col(timestamp_with_time_zone_null(a("expires_at")))
                .col(timestamp_with_time_zone_null(a("revoked_at")))
                .col(timestamp_with_time_zone_null(a("last_used_at")))
                .col(timestamp_with_time_zone(a("created_at")))
                .foreign_key(&mut fk("api_tokens", "region_id", "regions", RESTRICT))
                .foreign_key(&mut fk("api_tokens", "created_by", "accounts", RESTRICT))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(a("audit_events"))
                .col(pk_uuid(a("id")))
                .col(big_integer(a("seq")).unique_key())
                .col(timestamp_with_time_zone(a("occurred_at")))
                .col(uuid_null(a("actor_id")))
                .col(string_len_null(a("actor_role"), 24))
                .col(string_null(a("actor_name")))
                .col(string_null(a("client_addr")))
                .col(string_len(a("action"), 48))
                .col(string_len(a("entity_type"), 32))
                .col(uuid_null(a("entity_id")))
                .col(uuid_null(a("household_id")))
                .col(uuid_null(a("region_id")))
                .col(json_binary_null(a("before")))
                .col(json_binary_null(a("after")))
                .col(string_len(a("prev_hash"), 64))
                .col(string_len(a("hash"), 64))
                .to_owned(),
        )
        .await?;
        m.create_index(index("audit_events", "household", &["household_id", "seq"], false)).await?;
        m.create_index(index("audit_events", "actor", &["actor_id", "seq"], false)).await?;
        m.create_index(index("audit_events", "time", &["occurred_at"], false)).await?;

        m.create_table(
            Table::create()
                .table(a("findings"))
                .col(pk_uuid(a("id")))
                .col(uuid(a("campaign_id")))
                .col(uuid(a("household_id")))
                .col(uuid_null(a("verification_id")))
                .col(string_len(a("rule"), 48))
                .col(string_len(a("severity"), 24))
                .col(json_binary(a("details")))
                .col(json_binary(a("sources")))
                .col(boolean(a("practice")))
                .col(boolean(a("open")))
                .col(uuid_null(a("acknowledged_by")))
                .col(timestamp_with_time_zone_null(a("acknowledged_at")))
                .col(text_null(a("ack_reason")))
                .col(timestamp_with_time_zone(a("created_at")))
                .col(timestamp_with_time_zone_null(a("resolved_at")))
                .foreign_key(&mut fk("findings", "campaign_id", "campaigns", RESTRICT))
                .foreign_key(&mut fk("findings", "household_id", "households", CASCADE))
                .foreign_key(&mut fk("findings", "verification_id", "verifications", CASCADE))
                .to_owned(),
        )
        .await?;
        m.create_index(index("findings", "household", &["household_id", "open"], false)).await?;
        m.create_index(index("findings", "open", &["campaign_id", "open", "severity"], false)).await?;

        m.create_table(
            Table::create()
                .table(a("sign_in_throttle"))
                .col(string_len(a("key"), 128).primary_key())
                .col(integer(a("failures")))
                .col(timestamp_with_time_zone(a("last_failure_at")))
                .col(timestamp_with_time_zone_null(a("locked_until")))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "sign_in_throttle",
            "findings",
            "audit_events",
            "api_tokens",
            "refresh_tokens",
            "milestones",
            "photos",
            "verifications",
            "reference_records",
            "reference_imports",
            "households",
            "accounts",
            "campaigns",
            "regions",
        ] {
            m.drop_table(Table::drop().table(a(t)).to_owned()).await?;
        }
        Ok(())
    }
}
