use crate::domain::error::msg;
use crate::domain::error::{AppError, AppResult};
use entity::RegionLevel;
use entity::{household, region, Role};
use sea_orm::{sea_query::Query as SqlQuery, ColumnTrait, Condition};
use uuid::Uuid;

/// The region a viewer is bound to; everything they see is inside (or above) it.
#[derive(Clone, Debug)]
pub struct Scope {
    pub region_id: Uuid,
    pub level: RegionLevel,
    /// Materialised path of the region (see `regions.path`).
    pub path: String,
}

#[derive(Clone, Debug)]
pub enum Principal {
    Account { id: Uuid, username: String },
    ApiToken { id: Uuid, name: String },
}

/// The authenticated caller of one request.
#[derive(Clone, Debug)]
pub struct Viewer {
    pub principal: Principal,
    pub role: Role,
    pub scope: Scope,
    pub must_change_password: bool,
}

impl Viewer {
    pub fn account_id(&self) -> Option<Uuid> {
        match &self.principal {
            Principal::Account { id, .. } => Some(*id),
            Principal::ApiToken { .. } => None,
        }
    }

    pub fn is_api_token(&self) -> bool {
        matches!(self.principal, Principal::ApiToken { .. })
    }

    pub fn label(&self) -> String {
        match &self.principal {
            Principal::Account { username, .. } => username.clone(),
            Principal::ApiToken { name, .. } => format!("token:{name}"),
        }
    }

    /// Personal data (ID numbers, phones) is shown in full only to those who
    /// work on the household: ADMIN, and the TOWNSHIP and VERIFIER of its area.
    pub fn sees_personal_data(&self) -> bool {
        !self.is_api_token() && matches!(self.role, Role::Admin | Role::Township | Role::Verifier)
    }

    /// `action` is a catalogue key naming what is refused (`key::ACT_…`).
    pub fn require_role(&self, roles: &[Role], action: &'static str) -> AppResult<()> {
        if self.is_api_token() || !roles.contains(&self.role) {
            return Err(AppError::forbidden(msg!(ROLE_MAY_NOT).arg_key("action", action)));
        }
        Ok(())
    }

    /// True when `region` is inside the viewer's scope (the scope itself or below).
    pub fn covers(&self, region: &region::Model) -> bool {
        region.path.starts_with(&self.scope.path)
    }

    /// True when the viewer may see the region's name and code: inside the
    /// scope, or one of its ancestors (for breadcrumbs).
    pub fn can_see_region(&self, region: &region::Model) -> bool {
        self.covers(region) || self.scope.path.starts_with(&region.path)
    }

    /// The condition that limits households to the viewer's scope.
    pub fn household_condition(&self) -> Condition {
        region_household_condition(self.scope.region_id, self.scope.level, &self.scope.path)
    }
}

/// Households under a region, by the ancestor column of its level: one indexed
/// equality for county, township and village; a subquery for wider regions.
pub fn region_household_condition(region_id: Uuid, level: RegionLevel, path: &str) -> Condition {
    match level {
        RegionLevel::County => Condition::all().add(household::Column::CountyId.eq(region_id)),
        RegionLevel::Township => Condition::all().add(household::Column::TownshipId.eq(region_id)),
        RegionLevel::Village => Condition::all().add(household::Column::VillageId.eq(region_id)),
        // The nation covers every household.
        RegionLevel::Nation => Condition::all(),
        RegionLevel::Province | RegionLevel::City => Condition::all().add(
            household::Column::CountyId.in_subquery(
                SqlQuery::select()
                    .column(region::Column::Id)
                    .from(region::Entity)
                    .and_where(region::Column::Level.eq(RegionLevel::County))
                    .and_where(region::Column::Path.starts_with(path))
                    .to_owned(),
            ),
        ),
    }
}

/// `131126198711084294` → `131126********4294`; short values are masked whole.
pub fn mask_id_number(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() < 10 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..6].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 10))
}

/// `17995289078` → `179****9078`.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() < 7 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 7))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn masks() {
        assert_eq!(mask_id_number("13112619360705085X"), "131126********085X");
        assert_eq!(mask_phone("17995289078"), "179****9078");
        assert_eq!(mask_id_number("123"), "***");
    }
}
