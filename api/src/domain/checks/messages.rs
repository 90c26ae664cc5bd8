//! What each finding says, in zh-CN and English. Findings store only a rule
//! code and its details, so the words can change (or a language be chosen per
//! viewer) without touching stored data. Grouped like the rules that open them.

use serde_json::Value;

/// A finding's message in the viewer's language (zh-CN unless English is asked for).
pub fn message(rule: &str, details: &Value, english: bool) -> String {
    let (zh, en) = reference_message(rule, details)
        .or_else(|| entry_message(rule, details))
        .or_else(|| photo_message(rule, details))
        // A rule without words (yet) still shows something: its code.
        .unwrap_or_else(|| (rule.to_owned(), rule.to_owned()));
    if english {
        en
    } else {
        zh
    }
}

/// A detail as text: strings as they are, other values as JSON, missing ones empty.
fn detail(details: &Value, k: &str) -> String {
    details.get(k).map(|v| v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string())).unwrap_or_default()
}

/// The other households a finding names: the codes the viewer may see, and
/// how many more are outside their area (not named).
fn others(details: &Value, english: bool) -> String {
    let codes: Vec<&str> = details
        .get("otherCodes")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let outside = details.get("otherOutsideScope").and_then(Value::as_u64).unwrap_or(0);
    let mut text = codes.join(if english { ", " } else { "、" });
    if outside > 0 {
        let sep = if text.is_empty() {
            ""
        } else if english {
            ", and "
        } else {
            "，以及"
        };
        text += &if english {
            format!("{sep}{outside} outside your area")
        } else {
            format!("{sep}辖区外 {outside} 户")
        };
    }
    text
}

/// Messages of the rules on the reference data alone.
fn reference_message(rule: &str, details: &Value) -> Option<(String, String)> {
    let d = |k: &str| detail(details, k);
    Some(match rule {
        "ID_CHECKSUM" => (
            format!("证件号码校验位错误（尾号 {}），请与扶贫办核对。", d("idNumberTail")),
            format!(
                "The ID number's check character is wrong (ends {}); check it with the poverty office.",
                d("idNumberTail")
            ),
        ),
        "NAME_MISMATCH" => (
            format!("户主姓名不一致：扶贫办为“{}”，其他来源为 {}。", d("poverty"), d("others")),
            format!("Head of household differs: poverty list '{}', other sources {}.", d("poverty"), d("others")),
        ),
        "ID_MISMATCH" => {
            ("各来源的证件号码不一致，请核对。".into(), "The sources hold different ID numbers; reconcile them.".into())
        }
        "VILLAGE_UNKNOWN" => (
            format!("行政村“{}”不在统计用区划代码中，需由县住建局确定归属。", d("village")),
            format!(
                "Village '{}' is not on the official region list; the county team must place the household.",
                d("village")
            ),
        ),
        "MISSING_FROM_POVERTY" => {
            ("扶贫办名单中没有该户。".into(), "The household is missing from the poverty office's list.".into())
        }
        "MISSING_FROM_APPRAISAL" => (
            "住建局鉴定名单中没有该户，缺少房屋鉴定等级。".into(),
            "The household is missing from the housing bureau's appraisal list.".into(),
        ),
        "DUPLICATE_ID" => (
            format!("证件号码与其他户重复：{}。", others(details, false)),
            format!("The same ID number is on other households: {}.", others(details, true)),
        ),
        "RENOVATION_NOT_ACCEPTED" => {
            ("危房改造尚未竣工验收。".into(), "The renovation has no completion acceptance yet.".into())
        }
        _ => return None,
    })
}

/// Messages of the rules on the verifier's entry, and of the look-back a person opens.
fn entry_message(rule: &str, details: &Value) -> Option<(String, String)> {
    let d = |k: &str| detail(details, k);
    Some(match rule {
        "MISSING_FROM_RENOVATION" => (
            "选择了危房改造，但住建局改造名单中没有该户。".into(),
            "Renovation was chosen but the household is not on the renovation list.".into(),
        ),
        "UNSAFE_PENDING" => (
            format!("房屋鉴定为{}级且无已验收的改造，需核实安全住房保障方式。", d("grade")),
            format!("Graded {} with no accepted renovation: record how the family is housed safely.", d("grade")),
        ),
        "UNSAFE_HOUSE" => (
            format!("危房（{}级）既无已验收改造，也无搬迁或保障安排，住房不安全。", d("grade")),
            format!(
                "Unsafe house (grade {}) with no accepted renovation, relocation or secured arrangement.",
                d("grade")
            ),
        ),
        "PATH_MISSING" => ("请选择住房安全方式。".into(), "Choose how the house counts as safe.".into()),
        "PATH_EVIDENCE" => {
            ("所选住房安全方式缺少相应依据，请补充。".into(), "The chosen path lacks the evidence it needs.".into())
        }
        "GRADE_NOT_CONFIRMED" => ("请现场确认房屋鉴定等级。".into(), "Confirm the appraisal grade on site.".into()),
        "PHOTO_MISSING" => {
            ("请上传现住房正面全景照片。".into(), "Upload the front panoramic photo of the house.".into())
        }
        "LOOK_BACK" => (format!("回头看发现问题：{}", d("reason")), format!("Look-back review: {}", d("reason"))),
        _ => return None,
    })
}

/// Messages of the rules on the front photo.
fn photo_message(rule: &str, details: &Value) -> Option<(String, String)> {
    let d = |k: &str| detail(details, k);
    Some(match rule {
        "PHOTO_DUPLICATE" => (
            format!("照片与其他户相同或几乎相同：{}。请现场重新拍摄本户住房。", others(details, false)),
            format!(
                "The same (or a near-identical) photo is on other households: {}. Take this house's own photo.",
                others(details, true)
            ),
        ),
        "PHOTO_OUTSIDE_CAMPAIGN" => (
            format!("照片拍摄时间（{}）不在核验期间内，请确认或重新拍摄。", d("takenAt")),
            format!("The photo was taken at {}, outside the campaign; confirm or retake it.", d("takenAt")),
        ),
        "PHOTO_FAR" => (
            format!("照片拍摄地点距本村约{}米，请确认是否为本户住房。", d("metres")),
            format!("The photo was taken about {} m from the village; confirm it shows this house.", d("metres")),
        ),
        "PHOTO_DARK" => {
            ("照片过暗，请在光线充足时重新拍摄。".into(), "The photo is very dark; retake it in better light.".into())
        }
        "PHOTO_BLURRED" => (
            "照片模糊，请稳住手机重新拍摄。".into(),
            "The photo is blurred; hold the phone steady and retake it.".into(),
        ),
        "PHOTO_TOO_SMALL" => (
            format!("照片太小（{}×{}），看不清整栋房屋，请重新拍摄。", d("width"), d("height")),
            format!("The photo is too small ({}×{}) to show the whole house; retake it.", d("width"), d("height")),
        ),
        _ => return None,
    })
}
