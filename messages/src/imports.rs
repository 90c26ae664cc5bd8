//! What an import says about a file and its rows: refusals (the file is
//! refused whole), notices (what was skipped or cleaned) and the undo.

crate::catalogue! { IMPORTS:
    // Reading the file
    IMPORT_BAD_UTF8 => "文件声明为 UTF-8，但不是有效的 UTF-8。", "The file says UTF-8 but is not valid UTF-8.";
    IMPORT_ENCODING => "无法识别文件编码：请另存为 CSV UTF-8、GBK/GB18030 的 CSV 或 .xlsx。", "Unreadable encoding: save the file as CSV UTF-8, a GBK/GB18030 CSV, or .xlsx.";
    IMPORT_CSV_ROW => "不是格式正确的 CSV 行：{detail}", "Not a well-formed CSV row: {detail}";
    IMPORT_WORKBOOK => "无法读取 {format} 工作簿：{detail}", "Not a readable {format} workbook: {detail}";
    IMPORT_NO_SHEET => "工作簿中没有工作表。", "The workbook has no sheet.";
    IMPORT_SHEET => "无法读取第一个工作表：{detail}", "The first sheet cannot be read: {detail}";
    IMPORT_SHEET_TOO_BIG => "第一个工作表的范围过大（{rows} 行 × {cols} 列）：请删去空白区域后重新导出。", "The first sheet spans too much ({rows} rows × {cols} columns); delete the empty area and export again.";
    IMPORT_UNPACKS_TOO_BIG => "工作簿解压后约 {mb} MB，超过上限：这不是正常的名单文件。", "The workbook unpacks to about {mb} MB, over the limit: not an ordinary list.";
    IMPORT_EMPTY => "文件是空的。", "The file is empty.";
    IMPORT_NO_ROWS => "文件只有表头，没有数据行。", "The file has a header but no rows.";
    // The header
    IMPORT_COLUMN_MISSING => "缺少必填列“{column}”：前 {search} 行都没有这一列，第 {row} 行最接近表头。", "Required column '{column}' is missing. None of the first {search} rows has it; row {row} comes closest.";
    IMPORT_COLUMN_TWICE => "列“{column}”出现了两次（第 {first} 列和第 {second} 列），请只保留一列。", "Column '{column}' appears twice (columns {first} and {second}); keep one.";
    IMPORT_COLUMN_IGNORED => "列“{column}”不需要，已忽略。", "Column '{column}' is not used and was ignored.";
    IMPORT_TITLE_ROW => "已跳过标题行：“{text}”。", "Title row skipped: '{text}'.";
    IMPORT_TOTAL_ROW => "已跳过合计行。", "Total row skipped.";
    // Cells
    IMPORT_REQUIRED => "必填项为空。", "Required value is empty.";
    IMPORT_OUT_OF_RANGE => "{value} 超出范围 {min}–{max}。", "{value} is outside {min}–{max}.";
    IMPORT_NOT_WHOLE => "“{value}”不是整数。", "'{value}' is not a whole number.";
    IMPORT_NOT_DATE => "“{value}”不是日期（年-月-日）。", "'{value}' is not a date (YYYY-MM-DD).";
    IMPORT_SCIENTIFIC => "“{value}”是以科学计数法保存的数字，其中的数字不可信。请把“{column}”列设置为文本格式后重新导出。", "'{value}' was stored as a number, in scientific notation, so its digits cannot be trusted. Format the column {column} as text (文本) and export the file again.";
    IMPORT_EXCEL_CUT => "“{value}”以 000 结尾且校验位错误：Excel 按数字保存时截断了它。请把“{column}”列设置为文本格式后重新导出。", "'{value}' ends in 000 with a wrong check character: Excel rounded it as a number. Format the column {column} as text (文本) and export the file again.";
    IMPORT_TOO_LONG => "内容过长（{count} 个字，最多 {max} 个）：请检查这一格是否粘贴错了。", "The value is too long ({count} characters; at most {max}): check that nothing was pasted into this cell by mistake.";
    IMPORT_TWO_DIGIT_YEAR => "“{value}”的年份只有两位：请写成四位年份，如 2019-05-01。", "'{value}' has a two-digit year: write the year in full, e.g. 2019-05-01.";
    IMPORT_DATE_TOO_EARLY => "日期“{value}”早于 1950 年，不可能是本项记录的日期。", "The date '{value}' is before 1950; it cannot belong to this record.";
    IMPORT_FUTURE_DATE => "日期“{value}”在今天之后。", "The date '{value}' is in the future.";
    IMPORT_ACCEPTED_BEFORE_RENOVATION => "竣工验收日期 {accepted} 早于改造年度 {year}。", "The acceptance date {accepted} is before the renovation year {year}.";
    IMPORT_INVISIBLE => "已从“{value}”中删除 {count} 个不可见字符。", "{count} invisible character(s) removed from '{value}'.";
    IMPORT_REGION_CODE => "“{value}”不是 12 位区划代码。", "'{value}' is not a 12-digit region code.";
    IMPORT_REGION_TWICE => "区划代码 {value} 在文件中出现了两次。", "Region code {value} appears twice in the file.";
    IMPORT_LEVEL => "“{value}”不是级别（县、乡镇或村）。", "'{value}' is not a level (县, 乡镇 or 村).";
    IMPORT_CODE_TWICE => "户编号 {value} 也在第 {row} 行。", "Household code {value} is also on row {row}.";
    IMPORT_GRADE => "“{value}”不是鉴定等级（A、B、C 或 D）。", "'{value}' is not a grade (A, B, C or D).";
    IMPORT_RENOVATION_KIND => "“{value}”不是“拆除重建”或“修缮加固”。", "'{value}' is not 拆除重建 or 修缮加固.";
    IMPORT_REGION_OUTSIDE => "{value} 不在您的辖区内。", "{value} is outside your region.";
    IMPORT_PARENT_UNKNOWN => "上级区域既不在文件中，也不在已有区划中。", "The parent region is neither in the file nor known.";
    IMPORT_TOWNSHIP_UNKNOWN => "乡镇“{value}”不在统计用区划代码中。", "Township '{value}' is not on the official region list.";
    IMPORT_KEPT_VALID_ID => "保留原证件号码 {old}：新号码 {new} 校验位错误。", "Kept the ID number {old}: the new one, {new}, has a wrong check character.";
    IMPORT_KEPT_UNMASKED => "保留原证件号码 {old}：新号码 {new} 是打码后的号码。", "Kept the ID number {old}: the new one, {new}, is masked.";
    IMPORT_KEPT_ON_EMPTY => "保留原值“{old}”：新文件中该项为空。", "Kept '{old}': the new file leaves it empty.";
    // The county and undo
    IMPORT_CODE_OTHER_COUNTY => "户编号 {value} 已属于本次核验工作中另一个县的农户。", "Household code {value} already belongs to a household of another county in this campaign.";
    IMPORT_BY_COUNTY => "覆盖多个县的核验工作，由各县管理员分别导入本县的名单。", "In a campaign over several counties, each county's ADMIN imports the county's own lists.";
    IMPORT_COUNTY_TEAM => "只有本县的工作组能导入本县的基础数据。", "Only the county's own team imports its reference data.";
    IMPORT_UNDO_REGIONS => "区划名单的导入不能撤销：账号和农户都挂在区划上。请导入正确的区划名单。", "A region list import cannot be undone (accounts and households hang on the regions); import the right list instead.";
    IMPORT_UNDO_WORKED_ON => "这次导入新增的农户已有核验记录、照片或回头看任务，不能撤销；请导入更正后的名单。", "Households this import added already have records, photos or look-back items, so it cannot be undone; import a corrected list instead.";
    IMPORT_UNDO_DONE => "这次导入已经撤销过了。", "This import was already undone.";
    IMPORT_UNDO_LATER => "这次导入之后又导入了同类名单 {file}，请先撤销后来的那次导入。", "A later list of the same kind ({file}) was imported after this one; undo that one first.";
}
