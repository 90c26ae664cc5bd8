//! Chinese first, English on request. `t` reads the language signal, so text
//! inside `move ||` closures follows a switch at once.

use crate::enums::*;
use crate::state::ctx;
use leptos::prelude::*;

#[rustfmt::skip]
static TEXT: &[(&str, &str, &str)] = &[
    ("app", "住房安全有保障核验", "Housing-safety verification"),
    ("username", "用户名", "Username"),
    ("password", "密码", "Password"),
    ("sign_in", "登录", "Sign in"),
    ("sign_out", "退出", "Sign out"),
    ("signing_in", "正在登录…", "Signing in…"),
    ("change_pw_title", "请修改初始密码", "Change your initial password"),
    ("change_pw_hint", "首次登录须设置新密码：至少 10 位，含字母和数字，不能与用户名相同。", "Before you start, set a new password: at least 10 characters with letters and digits, not your username."),
    ("current_pw", "当前密码", "Current password"),
    ("new_pw", "新密码", "New password"),
    ("repeat_pw", "再次输入新密码", "New password again"),
    ("pw_mismatch", "两次输入的新密码不一致。", "The two new passwords differ."),
    ("save_pw", "保存新密码", "Save new password"),
    ("households", "农户", "Households"),
    ("outbox", "待发送", "Outbox"),
    ("review", "审核", "Review"),
    ("board", "进度", "Progress"),
    ("findings", "问题", "Findings"),
    ("admin", "管理", "Admin"),
    ("search", "搜索户主、户编号或身份证后四位", "Search name, household code or ID tail"),
    ("load_more", "加载更多", "Load more"),
    ("signout_unsent", "还有 {n} 条记录没有发送。退出后它们留在本机，只有您再次登录后才会继续发送，其他账号看不到。仍要退出吗？（点“取消”留在此页，联网后自动发送）", "{n} entries are not sent yet. After signing out they stay on this phone and are sent only when you sign in again; other accounts never see them. Sign out anyway? (Cancel stays here and sends them when online.)"),
    ("no_results", "没有找到", "Nothing found for"),
    ("clear_search", "清除搜索", "Clear the search"),
    ("loading", "加载中…", "Loading…"),
    ("total", "共", "Total"),
    ("status", "状态", "Status"),
    ("path", "安全类型", "Safety path"),
    ("expected_path", "参考类型", "Expected path"),
    ("open_findings", "未解决问题", "Open findings"),
    ("none", "无", "none"),
    ("offline", "离线：录入先保存在本机，联网后自动发送", "Offline: entries are kept on this phone and sent when the network returns"),
    ("practice_banner", "练习模式：这里的录入不计入进度，可随时清除", "Practice mode: entries here never count and can be cleared"),
    ("practice", "练习模式", "Practice mode"),
    ("three_offices", "三部门数据对比", "What the three offices hold"),
    ("src_poverty", "扶贫办", "Poverty office"),
    ("src_appraisal", "住建局鉴定", "Appraisal"),
    ("src_renovation", "危改", "Renovation"),
    ("differs", "不一致", "differs"),
    ("f_head", "户主", "Head"),
    ("f_id", "身份证号", "ID number"),
    ("f_township", "乡镇", "Township"),
    ("f_village", "村", "Village"),
    ("f_size", "人口", "Members"),
    ("f_grade", "鉴定等级", "Grade"),
    ("f_appraised_on", "鉴定日期", "Appraised on"),
    ("f_ren_year", "改造年份", "Renovation year"),
    ("f_ren_kind", "改造方式", "Renovation kind"),
    ("f_accepted_on", "验收日期", "Accepted on"),
    ("f_subsidy", "补助（元）", "Subsidy (yuan)"),
    ("f_exit_year", "脱贫年份", "Exit year"),
    ("entry", "核验录入", "Verification entry"),
    ("choose_path", "请选择住房安全类型", "Choose how the house is safe"),
    ("confirmed_on_site", "已现场核实鉴定结论", "Appraisal confirmed on site"),
    ("ren_kind", "改造方式", "Renovation kind"),
    ("new_address", "新住址（搬迁时填写）", "New address (if moved)"),
    ("arrangement", "保障方式", "Arrangement"),
    ("address", "现住址", "Address"),
    ("with_whom", "同住人", "Living with"),
    ("description", "情况说明", "Description"),
    ("house_facts", "房屋情况", "House facts"),
    ("structure", "结构", "Structure"),
    ("floors", "层数", "Floors"),
    ("floor_area", "面积（平方米）", "Floor area (m²)"),
    ("year_built", "建造年份", "Year built"),
    ("occupants", "居住人数", "Occupants"),
    ("notes", "备注", "Notes"),
    ("front_photo", "房屋正面全景照片", "Front panoramic photo"),
    ("take_photo", "拍照 / 选择照片", "Take or choose a photo"),
    ("save_draft", "保存草稿", "Save draft"),
    ("submit", "提交复验", "Submit"),
    ("queued", "已保存在本机，正在发送", "Kept on this phone, sending"),
    ("queued_submit", "已提交（保存在本机，正在发送），等待乡镇审核", "Submitted (kept on this phone, sending); waiting for the township's review"),
    ("err_save_first", "这条记录还没有保存成功，请先保存草稿。", "This record was not saved yet; save the draft first."),
    ("err_photo_missing", "照片已不在本机，请重新拍摄。", "The photo is no longer on this phone; take it again."),
    ("record_location", "记录位置", "Record location"),
    ("location_recorded", "已记录位置：", "Location recorded:"),
    ("gps_denied", "未允许定位：请在浏览器设置中允许本网站使用位置，或不记录位置直接保存。", "Location not allowed: allow it for this site in the browser settings, or save without it."),
    ("gps_failed", "暂时无法获取位置，请到开阔处再试，或不记录位置直接保存。", "The position could not be found; try again in the open, or save without it."),
    ("gps_unavailable", "此浏览器不能定位。", "This browser cannot give a location."),
    ("download_village", "下载本村数据（离线可用）", "Download my village (for offline use)"),
    ("downloaded", "已下载，可离线查看和录入：", "Downloaded for offline use:"),
    ("send_all", "全部发送", "Send all"),
    ("reset_warning", "该区域已有 {n} 个账号在使用。重新开通会给它们新的初始密码，并立即结束它们的全部登录：", "{n} accounts of this region are in use. Issuing again gives them new initial passwords and ends all their sessions at once:"),
    ("reset_type_code", "请输入该区划的 12 位代码以确认", "Type the region's 12-digit code to confirm"),
    ("reset_confirm", "确认重置并开通", "Reset and issue"),
    ("forbidden_title", "无权限", "Not allowed"),
    ("forbidden_text", "您的账号不能使用这个页面。请从上方菜单选择。", "Your account cannot use this page. Choose one from the menu above."),
    ("bulk_excluded", "未核准：有待处理的问题", "Not approved: open problems"),
    ("not_confirmed", "未现场确认", "not confirmed on site"),
    ("village", "行政村", "Village"),
    ("all_villages", "全部村", "All villages"),
    ("all_records", "全部记录", "All records"),
    ("with_findings", "有问题的", "With findings"),
    ("without_findings", "无问题的", "Without findings"),
    ("return_reason_needed", "请填写退回原因，核验员要据此修改。", "Give the reason: the verifier needs it to fix the record."),
    ("revoke_confirm", "吊销令牌“{name}”后，使用它的看板立即无法读取数据，且不能恢复。确定吊销？", "Revoking '{name}' stops every dashboard using it at once, for good. Revoke it?"),
    ("rule", "问题类型", "Rule"),
    ("all_rules", "全部问题类型", "All rules"),
    ("severity", "严重程度", "Severity"),
    ("all_severities", "全部严重程度", "All severities"),
    ("ms_training", "业务培训", "Training"),
    ("ms_verification", "入户核验", "Household verification"),
    ("ms_look_back", "回头看", "Look-back review"),
    ("done", "完成", "done"),
    ("map", "各村核准进度地图", "Villages by approval"),
    ("download_geojson", "下载 GeoJSON", "Download GeoJSON"),
    ("all_regions", "全部乡镇", "All townships"),
    ("findings_open", "未解决", "Open"),
    ("findings_resolved", "已解决", "Resolved"),
    ("fix_fields", "请先改正标红的项目，未保存任何内容。", "Fix the marked fields first; nothing was saved."),
    ("err_floors", "层数须为 1 到 10 的整数", "Floors: a whole number from 1 to 10"),
    ("err_floor_area", "面积须为 1 到 2000 平方米，最多两位小数", "Floor area: 1 to 2000 m², at most two decimals"),
    ("err_year_built", "建造年份须为 1900 年到今年的整数", "Year built: a whole year from 1900 to this year"),
    ("err_occupants", "居住人数须为 0 到 50 的整数", "Occupants: a whole number from 0 to 50"),
    ("err_path", "请选择住房安全方式", "Choose how the house counts as safe"),
    ("err_ren_kind", "请选择改造方式", "Choose the kind of renovation"),
    ("err_arrangement", "请选择保障方式", "Choose the arrangement"),
    ("err_address", "请填写现住址", "Give the address where the family lives"),
    ("submissions_closed", "提交已截止（回头看已结束）：可以保存草稿，提交需县管理员延长期限。截止时间：", "Submissions are closed (the look-back review has ended): drafts can be saved; an ADMIN can extend the deadline. Ended:"),
    ("retry", "重试", "Retry"),
    ("remove", "移除", "Remove"),
    ("outbox_empty", "没有待发送的内容。", "Nothing waiting to be sent."),
    ("acknowledge", "确认并说明", "Acknowledge"),
    ("ack_reason", "说明原因", "Reason"),
    ("acknowledged", "已确认", "acknowledged"),
    ("returned_reason", "退回原因", "Returned because"),
    ("verified_by", "核验人", "Verified by"),
    ("approved_by", "核准人", "Approved by"),
    ("history", "操作记录", "History"),
    ("not_found", "找不到该户，或不在您的管辖范围。", "No such household, or it is outside your area."),
    ("page_not_found", "页面不存在。", "No such page."),
    ("review_queue", "待审核记录", "Submitted records to review"),
    ("approve", "核准", "Approve"),
    ("return", "退回", "Return"),
    ("return_reason", "退回原因（必填）", "Reason for returning (required)"),
    ("bulk_approve", "批量核准无问题记录", "Approve all without findings"),
    ("queue_empty", "没有待审核的记录。", "No records waiting for review."),
    ("by_village", "各村进度", "Progress by village"),
    ("by_township", "各乡镇进度", "Progress by township"),
    ("households_n", "户数", "Households"),
    ("submitted", "已提交", "Submitted"),
    ("approved", "已核准", "Approved"),
    ("open_errors", "错误", "Errors"),
    ("open_warnings", "提醒", "Warnings"),
    ("by_status", "按状态", "By status"),
    ("by_path", "按安全类型", "By safety path"),
    ("milestones", "时间节点", "Milestones"),
    ("ends_in", "剩余", "Ends in"),
    ("ended", "已结束", "Ended"),
    ("behind_pace", "进度落后", "Behind pace"),
    ("behind_by", "落后", "Behind by"),
    ("burn_up", "累计进度与计划", "Burn-up against plan"),
    ("expected", "计划", "Plan"),
    ("live", "实时", "Live"),
    ("up", "上一级", "Up"),
    ("view_households", "查看农户", "View households"),
    ("by_rule", "按规则统计", "By rule"),
    ("import", "导入数据", "Import"),
    ("import_kind", "数据类型", "Data"),
    ("choose_file", "选择文件（CSV 或 xlsx）", "Choose a file (CSV or xlsx)"),
    ("upload", "上传", "Upload"),
    ("import_ok", "导入成功", "Imported"),
    ("import_preview", "预览：以下是导入后的结果，尚未写入任何数据", "Preview: what the import would do; nothing has been written yet"),
    ("import_apply", "确认导入", "Apply the import"),
    ("import_undo", "撤销这次导入", "Undo this import"),
    ("import_undo_confirm", "撤销后，这次导入替换掉的数据将恢复，新增且无人处理的农户将删除。确定撤销？", "Undoing restores what this import replaced and removes households it added that nobody has worked on. Undo it?"),
    ("import_undone", "已撤销，恢复/撤回行数", "Undone; rows restored / withdrawn"),
    ("new_campaign", "新建核验工作", "New campaign"),
    ("campaign_name", "名称", "Name"),
    ("county", "县", "County"),
    ("campaign_region", "覆盖区域", "Region covered"),
    ("not_joined", "本县尚未加入这项核验工作。加入后即可导入本县名单、开展核验。", "Your county has not joined this campaign. Join it to import your lists and verify in it."),
    ("join_campaign", "加入核验工作", "Join the campaign"),
    ("tighten_hint", "上级规定的节点，本级可以提前截止或提高目标，但不能放宽。", "Milestones set above: you may end them earlier or raise the target for your region, never loosen them."),
    ("tighten", "收紧", "Tighten"),
    ("tightened", "已收紧", "tightened"),
    ("campaign_sets", "上级规定", "Set above"),
    ("starts_on", "开始日期", "First day"),
    ("ends_on", "结束日期", "Last day"),
    ("template_pilot", "使用 2020 年试点的三个时间节点（培训、入户核验、回头看）", "With the 2020 pilot's three milestones (training, verification, look-back)"),
    ("campaign_created", "已创建：", "Created:"),
    ("import_large", "此文件将改动超过五分之一的已有农户，请确认文件是否正确", "This file would change more than a fifth of the existing households: check it is the right file"),
    ("import_changes", "将改动的已有农户", "Existing households it changes"),
    ("import_notices", "读取时跳过或清理的内容", "Skipped or cleaned while reading"),
    ("field", "字段", "Field"),
    ("household_code", "户编号", "Household code"),
    ("old_value", "原值", "Before"),
    ("new_value", "新值", "After"),
    ("import_refused", "文件有误，未导入任何数据", "The file was refused; nothing was imported"),
    ("rows", "行数", "Rows"),
    ("created", "新增", "Created"),
    ("updated", "更新", "Updated"),
    ("unchanged", "未变", "Unchanged"),
    ("row", "行", "Row"),
    ("column", "列", "Column"),
    ("reason", "原因", "Reason"),
    ("accounts", "账号", "Accounts"),
    ("issue_accounts", "为所选区域的乡镇和村发放账号", "Issue accounts for the region's townships and villages"),
    ("print_sheet", "打印账号二维码", "Print the QR sheet"),
    ("region", "区域", "Region"),
    ("initial_pw", "初始密码", "Initial password"),
    ("tokens", "API 令牌", "API tokens"),
    ("token_name", "名称（如：扶贫办大屏）", "Name (e.g. poverty office board)"),
    ("create", "创建", "Create"),
    ("revoke", "吊销", "Revoke"),
    ("revoked", "已吊销", "revoked"),
    ("token_once", "令牌只显示这一次，请立即复制保存：", "Shown only once; copy it now:"),
    ("last_used", "最近使用", "Last used"),
    ("edit", "修改", "Edit"),
    ("save", "保存", "Save"),
    ("target", "目标", "Target"),
    ("ends_at", "截止", "Ends"),
    ("progress_done", "完成", "done"),
    ("language", "English", "中文"),
    ("must_fill", "请填写", "Please fill in"),
    ("export_households", "导出核验明细（Excel）", "Export households (Excel)"),
    ("export_summary", "导出汇总（Excel）", "Export summary (Excel)"),
    ("exporting", "正在生成…", "Generating…"),
];

pub fn tr(key: &str, english: bool) -> &'static str {
    for (k, zh, en) in TEXT {
        if *k == key {
            return if english { en } else { zh };
        }
    }
    "?"
}

/// Text for a key in the current language (reactive).
pub fn t(key: &str) -> &'static str {
    tr(key, ctx().english.get())
}

/// An enum value people see: its Chinese and English names.
pub trait Label: Copy {
    fn names(self) -> (&'static str, &'static str);
}

/// Label of an enum value (status, path, severity…) in the current language (reactive).
pub fn label(v: impl Label) -> &'static str {
    let (zh, en) = v.names();
    if ctx().english.get() {
        en
    } else {
        zh
    }
}

// A value newer than this app has no name yet.
const UNKNOWN: (&str, &str) = ("—", "—");

impl Label for VerificationStatus {
    fn names(self) -> (&'static str, &'static str) {
        use VerificationStatus::*;
        match self {
            NOT_STARTED => ("未开始", "Not started"),
            DRAFT => ("草稿", "Draft"),
            SUBMITTED => ("待审核", "Submitted"),
            RETURNED => ("已退回", "Returned"),
            APPROVED => ("已核准", "Approved"),
            REOPENED => ("回头看重开", "Reopened"),
            Other => UNKNOWN,
        }
    }
}

impl Label for SafetyPath {
    fn names(self) -> (&'static str, &'static str) {
        match self {
            Self::APPRAISED => ("鉴定安全", "Appraised safe"),
            Self::RENOVATED => ("改造安全", "Renovated safe"),
            Self::SECURED => ("保障安全", "Secured safe"),
            Self::Other => UNKNOWN,
        }
    }
}

impl Label for Severity {
    fn names(self) -> (&'static str, &'static str) {
        match self {
            Self::ERROR => ("错误", "Error"),
            Self::WARNING => ("提醒", "Warning"),
            Self::Other => UNKNOWN,
        }
    }
}

impl Label for RenovationKind {
    fn names(self) -> (&'static str, &'static str) {
        match self {
            Self::REBUILT => ("拆除重建", "Rebuilt"),
            Self::REINFORCED => ("修缮加固", "Reinforced"),
            Self::RELOCATED => ("易地扶贫搬迁", "Relocated"),
            Self::RESETTLED => ("其他移民搬迁", "Resettled"),
            Self::Other => UNKNOWN,
        }
    }
}

impl Label for Arrangement {
    fn names(self) -> (&'static str, &'static str) {
        match self {
            Self::PUBLIC_RENTAL => ("集体公租房", "Public rental"),
            Self::ELDERLY_HOME => ("幸福大院", "Shared elderly home"),
            Self::RENTED_FARMHOUSE => ("租赁闲置农房", "Rented farmhouse"),
            Self::RELATIVES => ("投亲靠友", "With relatives"),
            Self::OTHER => ("其他", "Other"),
            Self::Other => UNKNOWN,
        }
    }
}

impl Label for MilestoneState {
    fn names(self) -> (&'static str, &'static str) {
        match self {
            Self::UPCOMING => ("未开始", "Upcoming"),
            Self::ACTIVE => ("进行中", "Active"),
            Self::MET => ("已达成", "Met"),
            Self::MISSED => ("未达成", "Missed"),
            Self::AT_RISK => ("有风险", "At risk"),
            Self::Other => UNKNOWN,
        }
    }
}

impl Label for ImportKind {
    fn names(self) -> (&'static str, &'static str) {
        match self {
            Self::REGIONS => ("行政区划", "Regions"),
            Self::POVERTY => ("扶贫办建档立卡户", "Poverty list"),
            Self::APPRAISAL => ("住建局房屋鉴定", "Appraisals"),
            Self::RENOVATION => ("危房改造", "Renovations"),
            Self::Other => UNKNOWN,
        }
    }
}

impl Label for State {
    fn names(self) -> (&'static str, &'static str) {
        match self {
            State::Waiting => ("等待网络", "Waiting"),
            State::Sending => ("发送中", "Sending"),
            State::Sent => ("已发送", "Sent"),
            State::Refused => ("被拒绝", "Refused"),
        }
    }
}

impl Label for Kind {
    fn names(self) -> (&'static str, &'static str) {
        match self {
            Kind::Save => ("保存", "Save"),
            Kind::Submit => ("提交", "Submit"),
            Kind::Photo => ("照片", "Photo"),
        }
    }
}

/// A check's rule by its name people use (zh-CN, or English when switched);
/// a rule newer than this app shows its code.
pub fn rule_name(rule: &str) -> String {
    #[rustfmt::skip]
    static RULES: &[(&str, &str, &str)] = &[
        ("ID_CHECKSUM", "证件号码校验错误", "ID check character"), ("NAME_MISMATCH", "户主姓名不一致", "Names differ"),
        ("ID_MISMATCH", "证件号码不一致", "ID numbers differ"), ("VILLAGE_UNKNOWN", "行政村不在区划中", "Village not on the list"),
        ("MISSING_FROM_POVERTY", "不在扶贫办名单", "Not on the poverty list"), ("MISSING_FROM_APPRAISAL", "无房屋鉴定", "No appraisal"),
        ("DUPLICATE_ID", "证件号码重复", "Duplicate ID"), ("RENOVATION_NOT_ACCEPTED", "改造未验收", "Renovation not accepted"),
        ("MISSING_FROM_RENOVATION", "不在改造名单", "Not on the renovation list"), ("UNSAFE_PENDING", "危房待核实", "Unsafe, to verify"),
        ("UNSAFE_HOUSE", "住房不安全", "Unsafe house"), ("PATH_MISSING", "未选安全方式", "No path chosen"),
        ("PATH_EVIDENCE", "缺少依据", "Evidence missing"), ("GRADE_NOT_CONFIRMED", "鉴定等级未确认", "Grade not confirmed"),
        ("PHOTO_MISSING", "缺少照片", "No photo"), ("LOOK_BACK", "回头看问题", "Look-back finding"),
        ("PHOTO_DUPLICATE", "照片重复", "Duplicate photo"), ("PHOTO_OUTSIDE_CAMPAIGN", "照片时间不符", "Photo out of period"),
        ("PHOTO_FAR", "照片地点偏远", "Photo far away"), ("PHOTO_DARK", "照片过暗", "Photo too dark"),
        ("PHOTO_BLURRED", "照片模糊", "Photo blurred"), ("PHOTO_TOO_SMALL", "照片太小", "Photo too small"),
    ];
    let english = ctx().english.get();
    RULES
        .iter()
        .find(|(k, _, _)| *k == rule)
        .map_or_else(|| rule.to_owned(), |(_, zh, en)| (if english { *en } else { *zh }).to_owned())
}

/// A person-readable message for an API error.
pub fn error_text(e: &crate::gql::ApiError) -> String {
    let english = ctx().english.get_untracked();
    match e.code.as_str() {
        "NETWORK" => {
            if english { "No network. Try again when you are online." } else { "网络不通，请联网后重试。" }.to_owned()
        }
        "NOT_FOUND" => tr("not_found", english).to_owned(),
        // A proxy's bare 502–504: no message from the API itself.
        "UNAVAILABLE" if e.message.starts_with("HTTP ") => if english {
            "The server is busy for a moment. Try again shortly."
        } else {
            "服务器暂时忙，请稍后重试。"
        }
        .to_owned(),
        _ => {
            if e.message.is_empty() {
                e.code.clone()
            } else {
                e.message.clone()
            }
        }
    }
}
