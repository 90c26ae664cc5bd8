//! Refusals and validation messages of the API, and the names of things and
//! actions they mention.

crate::catalogue! { ERRORS:
    // General
    INTERNAL => "内部错误，已记录。请稍后再试。", "Internal error; it has been logged. Please try again later.";
    UNAVAILABLE => "服务暂时无法连接数据库或照片存储，未做任何更改；请 {seconds} 秒后重试。", "The service cannot reach its database or photo store for a moment; nothing was changed. Try again in {seconds} s.";
    NOT_FOUND => "没有该{what}，或它不在您的辖区内。", "No {what} with that ID exists, or it is outside your region.";
    UNIQUE_TAKEN => "该记录已存在（唯一值已被占用）。", "That record already exists (a unique value is taken).";
    REFERENCE_MISSING => "引用的记录不存在或仍在使用中。", "A referenced record does not exist or is still in use.";
    RATE_LIMITED => "尝试次数过多，请 {seconds} 秒后再试。", "Too many attempts; try again in {seconds} seconds.";
    TOO_MANY_REQUESTS => "请求过多：每分钟最多 {limit} 次，请 {seconds} 秒后再试。", "Too many requests: at most {limit} a minute. Try again in {seconds} s.";
    MEDIA_TYPE_REFUSED => "GraphQL 请求须以 application/json（UTF-8）发送；文件上传用 multipart/form-data，并带上 Authorization 或 GraphQL-Preflight 请求头。", "Send GraphQL requests as application/json (UTF-8); file uploads as multipart/form-data with an Authorization or GraphQL-Preflight header.";
    NOT_ACCEPTABLE => "只能以 application/graphql-response+json 或 application/json 回答：请在 Accept 中包含其中之一。", "Answers are application/graphql-response+json or application/json; accept one of them.";
    GET_QUERIES_ONLY => "GET 请求只能执行查询；变更和订阅请用 POST（订阅用 WebSocket）。", "GET runs queries only; send mutations with POST (subscriptions over the WebSocket).";
    BAD_VARIABLE => "变量 ${name} 的值无效：{detail}（日期时间请写成 2020-06-30T16:00:00Z）。", "Variable ${name} has an invalid value: {detail} (write date-times as 2020-06-30T16:00:00Z).";
    SYNTAX_ERROR => "GraphQL 语法错误（第 {line} 行第 {column} 列）：此处应为 {expected}。", "GraphQL syntax error at line {line}, column {column}: expected {expected}.";
    GRAPHQL_METHODS => "GraphQL 请求请用 POST（查询也可用 GET）。", "Send GraphQL requests with POST (queries may also use GET).";
    NOT_GRAPHQL => "这不是一个 GraphQL 请求：{detail}", "The request is not a GraphQL request: {detail}";
    UPLOAD_OVER_LIMIT => "上传的文件超过了 {mb} MB 的上限（APP_MAX_BODY_BYTES）：请拆分文件，或请运维人员提高上限。", "The upload is larger than the {mb} MB limit (APP_MAX_BODY_BYTES); split the file or ask the operator to raise the limit.";
    REQUEST_OVER_LIMIT => "请求超过了 GraphQL 请求 {mb} MB 的上限：文件请以 multipart 方式上传。", "The request is larger than the {mb} MB limit for GraphQL requests; send files as a multipart upload.";
    TOO_MANY_DIRECTIVES => "查询中的指令过多（{count} 个，最多 {max} 个）。", "The query has too many directives ({count}; at most {max}).";
    QUERY_TOO_DEEP => "查询嵌套过深（{depth} 层，最多 {max} 层）：请减少嵌套。", "The query is nested too deep ({depth} levels; at most {max}): nest less.";
    INTROSPECTION_TOO_NESTED => "自省查询中类型成员列表嵌套过多（{count} 层，最多 {max} 层）。", "The introspection query nests type member lists too often ({count}; at most {max}).";
    QUERY_TOO_COSTLY => "查询代价为 {cost}，超过上限 {budget}：请减小 first、少取嵌套列表，或拆成几个请求。", "The query costs {cost}, over the budget of {budget}: ask for fewer items (first), fewer nested lists, or split it into several requests.";
    RESPONSE_TOO_LARGE => "回答超过 {mb} MB 的上限：请分页（first/after）或少取字段。", "The answer is larger than the {mb} MB limit: page through it (first/after) or select fewer fields.";
    MORE_ERRORS => "另有 {count} 个错误未列出。", "{count} more errors are not listed.";
    WS_SUBSCRIPTIONS_ONLY => "WebSocket 上只运行订阅；查询和变更请用 HTTP POST 发送。", "Only subscriptions run over the WebSocket; send queries and mutations with HTTP POST.";
    TOO_MANY_ALIASES => "查询中的别名过多（{count} 个，最多 {max} 个）：请拆成几个请求。", "The query has too many aliases ({count}; at most {max}): split it into several requests.";
    BAD_CURSOR => "分页游标无效，请使用本接口返回的游标。", "The cursor is not one this API returned.";
    FIRST_RANGE => "`first` 须在 0 到 {max} 之间。", "`first` must be between 0 and {max}.";
    BAD_ID => "“{id}”不是本接口签发的 ID。", "'{id}' is not an ID this API issued.";
    WRONG_ID_KIND => "需要{expected}的 ID，收到的是{got}的 ID。", "Expected a {expected} ID, got a {got} ID.";
    REGION_OUTSIDE => "该区域不在您的辖区内。", "That region is outside your own.";
    ROLE_MAY_NOT => "您的角色不能{action}。", "Your role may not {action}.";
    TEXT_LENGTH => "{what}须为 1 到 {max} 个字符。", "{what} must have 1 to {max} characters.";
    TEXT_TOO_LONG => "{what}最多 {max} 个字符。", "{what} is limited to {max} characters.";

    // Signing in
    SIGN_IN_FIRST => "请先登录（发送 `Authorization: Bearer <token>`）。", "Sign in first: send `Authorization: Bearer <token>`.";
    TOKEN_REFUSED => "访问令牌无效（{detail}），请刷新或重新登录。", "The access token was refused ({detail}); refresh it or sign in again.";
    BAD_CREDENTIALS => "用户名或密码不正确。", "The username or password is incorrect.";
    REFRESH_INVALID => "刷新令牌无效，请重新登录。", "The refresh token is not valid; sign in again.";
    REFRESH_REUSED => "该刷新令牌已被使用过，此次登录的所有会话均已结束，请重新登录。", "This refresh token was already used, so every session from that sign-in has been ended. Sign in again.";
    PASSWORD_CHANGE_REQUIRED => "请先修改初始密码，再进行其他操作。", "This account must change its initial password before doing anything else.";
    TOKEN_READ_ONLY => "API 令牌只能读取，不能执行变更（{field}）：请用账号登录后再操作。", "API tokens are read-only and may not run mutations ({field}); sign in with an account to change data.";
    TOKEN_HAS_NO_PASSWORD => "API 令牌没有密码。", "API tokens have no password.";
    CURRENT_PASSWORD_WRONG => "当前密码不正确。", "The current password is incorrect.";
    PASSWORD_TOO_SHORT => "新密码至少 10 个字符。", "The new password must have at least 10 characters.";
    PASSWORD_TOO_LONG => "新密码最多 128 个字符。", "The new password must have at most 128 characters.";
    PASSWORD_TOO_SIMPLE => "新密码须包含字母、数字、其他字符中的至少两类。", "Mix at least two of: letters, digits, other characters.";
    PASSWORD_HAS_USERNAME => "密码不能包含用户名。", "The password must not contain the username.";
    PASSWORD_UNCHANGED => "新密码不能与当前密码相同。", "The new password must differ from the current one.";

    // Accounts and tokens
    USERNAME_FORM => "用户名为 3 到 64 个字母、数字、“.”、“_”或“-”。", "Use 3 to 64 letters, digits, '.', '_' or '-'.";
    USERNAME_TAKEN => "用户名“{username}”已被占用。", "The username '{username}' is taken.";
    PHONE_FORM => "电话号码为 5 到 20 位数字。", "A phone number has 5 to 20 digits.";
    ROLE_LEVEL => "{role}账号须属于{level}级区域。", "A {role} account belongs to a {level} region.";
    ISSUE_CONFIRM_RESET => "将重置 {count} 个正在使用的账号（新密码、结束其全部会话）。确认请输入区划代码 {code}。", "This resets {count} accounts in use (new passwords, every session ended); to confirm, type the region code {code}.";
    TOKEN_BEYOND_REGION => "令牌的范围不能超出您自己的辖区。", "A token cannot reach beyond your own region.";
    EXPIRY_IN_PAST => "到期时间须在将来。", "The expiry must be in the future.";

    // Campaigns and milestones
    NO_CAMPAIGN => "尚未设立核验工作。", "No campaign is set up yet.";
    MILESTONE_ORDER => "节点的结束时间须晚于开始时间。", "A milestone must end after it starts.";
    TARGET_PERCENT => "目标为百分比，0 到 100。", "The target is a percent, 0 to 100.";
    COUNTY_TEAM_ONLY => "只有本县的工作组能{action}。", "Only the county's own team may {action}.";
    CAMPAIGN_REGION => "核验工作须覆盖您辖区内的一个区域：县、市、省或全国。", "A campaign covers a region in your area: a county, a city, a province or the nation.";
    CAMPAIGN_ONE_REGION => "请给出 regionId（不要同时给出旧名 countyId）。", "Give regionId (not together with its older name countyId).";
    CAMPAIGN_JOIN_COUNTY => "由县级管理员让本县加入核验工作。", "A county joins a campaign through its county ADMIN.";
    CAMPAIGN_NOT_ABOVE => "这项核验工作不覆盖本县。", "This campaign does not cover your county.";
    CAMPAIGN_NOT_JOINED => "本县尚未加入核验工作“{campaign}”，请先加入（joinCampaign）。", "Your county has not joined the campaign '{campaign}' yet; join it first (joinCampaign).";
    MILESTONE_CAMPAIGN_TEAM => "只有核验工作所在区域的管理员能修改这个节点；下级区域可用 tightenMilestone 收紧它。", "Only ADMINs of the campaign's own region edit this milestone; a region below may tighten it with tightenMilestone.";
    MILESTONE_TIGHTEN_BELOW => "只有核验工作覆盖区域之内的下级管理员能收紧节点。", "Only an ADMIN of a region below the campaign's tightens its milestones.";
    MILESTONE_LOOSEN_END => "下级只能收紧节点、不能放宽：结束时间不能晚于上级规定的 {limit}。", "A lower level may tighten a milestone, not loosen it: end no later than {limit}.";
    MILESTONE_LOOSEN_TARGET => "下级只能收紧节点、不能放宽：目标不能低于上级规定的 {limit}%。", "A lower level may tighten a milestone, not loosen it: a target of at least {limit}%.";
    TIME_ZONE => "请使用 IANA 时区，例如 Asia/Shanghai。", "Use an IANA time zone such as Asia/Shanghai.";
    CAMPAIGN_DATES => "核验工作的结束日期不能早于开始日期。", "A campaign must end on or after its first day.";
    MILESTONE_KIND => "节点类型为 TRAINING、VERIFICATION、LOOK_BACK 或其他大写单词（如 WORD_LIKE_THIS）。", "A kind is TRAINING, VERIFICATION, LOOK_BACK or another WORD_LIKE_THIS.";
    PROGRESS_OWN_REGION => "只能查看本辖区及下级区域的进度。", "Progress is shown for your own region and the regions below it.";

    // Households and verification
    SEARCH_TOO_LONG => "搜索内容最多 64 个字符。", "Search text is limited to 64 characters.";
    FLOORS_RANGE => "层数须为 1 到 10。", "Floors must be between 1 and 10.";
    AREA_RANGE => "面积须为 1 到 2000 平方米。", "Floor area must be 1 to 2000 m².";
    YEAR_RANGE => "建造年份须为 1900 到 {year}。", "Year built must be 1900 to {year}.";
    OCCUPANTS_RANGE => "居住人数须为 0 到 50。", "Occupants must be 0 to 50.";
    LAT_LON => "请同时填写纬度和经度（单位：度）。", "Give both latitude and longitude, in degrees.";
    IDEMPOTENCY_KEY_FORM => "幂等键为 1 到 128 个字符。", "An idempotency key has 1 to 128 characters.";
    IDEMPOTENCY_KEY_REUSED => "该幂等键已用于另一项操作。", "This idempotency key was used for another operation.";
    EVIDENCE_OTHER_PATH => "只填写所选安全类型的依据。", "Give only the evidence of the chosen path.";
    NO_RECORD_YET => "该户还没有核验记录，请以版本 0 保存。", "This household has no record yet; save with version 0.";
    NOT_IN_STATE => "记录为“{status}”时不能{action}。", "You cannot {action} while the record is {status}.";
    CHANGED_MEANWHILE => "该记录已被他人修改（现为第 {version} 版，状态“{status}”），请刷新后重新修改。", "Someone changed this record meanwhile (now version {version}, status {status}); reload it and apply your change again.";
    SUBMISSIONS_CLOSED => "回头看已于 {ended} 结束，不能再提交；管理员可延长期限。", "Submissions closed when the look-back review ended ({ended}); an ADMIN can extend it.";
    RETURN_NEEDS_REASON => "请填写原因，以便核验员知道要改什么。", "Say why, so the verifier knows what to fix.";
    FIX_FINDINGS_FIRST => "请先改正错误并确认提醒：{rules}。", "Fix the errors and acknowledge the warnings first: {rules}.";
    ONLY_WARNINGS_ACK => "错误必须改正，只有提醒可以确认。", "Errors must be fixed; only warnings can be acknowledged.";
    VILLAGE_OF_TOWNSHIP => "请选择该户所在乡镇的行政村。", "Choose a village of the household's own township.";

    // Look-back
    LOOKBACK_PERCENT => "抽查比例须大于 0 且不超过 100。", "The percentage is above 0 and at most 100.";
    LOOKBACK_PER_VILLAGE => "每村最多 100 户。", "At most 100 per village.";
    LOOKBACK_CHECKERS => "请至少指定一名复核人。", "Name at least one checker.";
    LOOKBACK_NOTHING => "该区域还没有可抽查的已核准农户。", "No approved household in that region to sample yet.";
    LOOKBACK_CHECKER_ROLE => "{username} 不能复核记录。", "{username} cannot re-check records.";
    LOOKBACK_NO_OTHER_CHECKER => "除原核验员外，没有复核人能查看农户 {code}。", "No checker other than its verifier can see household {code}.";
    LOOKBACK_DONE => "该复核已有结果。", "This re-check already has a result.";
    LOOKBACK_SAY_WHAT => "请说明哪里不一致，以便更正记录。", "Say what disagrees, so the record can be corrected.";

    // Photos, exports, webhooks
    PHOTO_TYPE => "照片须为 JPEG、PNG 或 WebP 格式。", "Photos must be JPEG, PNG or WebP.";
    PHOTO_SIZE => "照片大小须为 1 字节到 {mb} MB。", "A photo must be 1 byte to {mb} MB.";
    UPLOAD_CONFIRMED => "该上传已确认过。", "This upload was already confirmed.";
    TICKET_EXPIRED => "上传凭证已过期，请重新申请。", "The upload ticket has expired; ask for a new one.";
    UPLOAD_CONTENT_TYPE => "请按凭证所示以 {contentType} 格式发送。", "Send the body as {contentType}, as the ticket says.";
    UPLOAD_INTERRUPTED => "上传中断，请重试。", "The upload was interrupted; try again.";
    UPLOAD_TOO_LARGE => "上传内容超过了凭证允许的 {bytes} 字节。", "The body is larger than the {bytes} bytes granted.";
    PHOTO_REFUSED => "照片被拒绝：{detail}。", "The photo was refused: {detail}.";
    NOTHING_UPLOADED => "该凭证还没有上传任何内容。", "Nothing was uploaded for this ticket yet.";
    UPLOAD_UNREADABLE => "无法读取上传的文件：{detail}", "The upload cannot be read: {detail}";
    PHOTO_LINK_INVALID => "照片链接无效。", "This photo link is not valid.";
    PHOTO_LINK_EXPIRED => "照片链接已过期，请刷新页面获取新链接。", "This photo link has expired; reload the page for a new one.";
    EXPORT_LINK_INVALID => "下载链接无效。", "This download link is not valid.";
    EXPORT_LINK_EXPIRED => "下载链接已过期，请重新导出。", "This download link has expired; export again.";
    EXPORT_ACCOUNTS_ONLY => "导出仅限已登录账号；看板令牌请直接读取接口。", "Exports are for signed-in accounts; a dashboard token reads the API.";
    WEBHOOK_EVENTS => "请至少选择一个事件。", "Choose at least one event.";
    WEBHOOK_URL => "回调地址不可用：{detail}", "The webhook URL cannot be used: {detail}";
    WEBHOOK_EVENTS_ABOVE_COUNTY => "县级以上的回调只接收进度节点事件（MILESTONE_AT_RISK、MILESTONE_MISSED）；核验和导入事件请由各县设置。", "Above the county a webhook receives milestone events only (MILESTONE_AT_RISK, MILESTONE_MISSED); record and import events are each county's to subscribe to.";

    // Setting up a county
    REGION_CODE_UNKNOWN => "区划代码 {code} 不在区划名单中。", "{code} is not in the region list.";
    NOT_A_REGION_LIST => "这不是行政区划名单。", "This is not a region list.";
    REGION_LIST_REFUSED => "区划名单被拒绝，未做任何修改。{rows}", "The region list was refused; nothing was changed. {rows}";
    REGION_LIST_NO_COUNTY => "区划名单中没有县级区域（级别 县）。", "The region list has no county (级别 县).";
    REGION_LIST_MANY_COUNTIES => "区划名单含 {count} 个县，请用 --county 指定一个（{codes}）。", "The region list holds {count} counties; name one with --county ({codes}).";
    NO_SUCH_ACCOUNT => "没有名为“{username}”的可用账号。", "There is no enabled account named '{username}'.";
    RUN_INIT_FIRST => "没有代码为 {code} 的区域，请先运行 `api init`。", "No region with code {code}; run `api init` first.";
    NO_ADMIN_COVERS => "没有覆盖{region}的管理员账号，请先运行 `api init`。", "No ADMIN account covers {region}; run `api init` first.";
    NAME_THE_ADMIN => "请用 --as USERNAME 指定操作账号（{region}的管理员：{names}）。", "Name the account to act as with --as USERNAME (ADMIN accounts for {region}: {names}).";
}

crate::catalogue! { NAMES:
    // Things, as NOT_FOUND and WRONG_ID_KIND name them
    THING_HOUSEHOLD => "农户", "household";
    THING_REGION => "区域", "region";
    THING_COUNTY => "县", "county";
    THING_CAMPAIGN => "核验工作", "campaign";
    THING_MILESTONE => "时间节点", "milestone";
    THING_ACCOUNT => "账号", "account";
    THING_VERIFICATION => "核验记录", "verification";
    THING_FINDING => "问题", "finding";
    THING_WEBHOOK => "回调", "webhook";
    THING_DELIVERY => "回调投递", "delivery";
    THING_API_TOKEN => "API 令牌", "API token";
    THING_UPLOAD_TICKET => "上传凭证", "upload ticket";
    THING_EXPORT => "导出文件", "export";
    THING_PHOTO => "照片", "photo";
    THING_LOOKBACK_ITEM => "回头看复核", "look-back item";
    THING_IMPORT => "导入", "import";
    THING_OBJECT => "对象", "object";
    // Fields, as TEXT_LENGTH and TEXT_TOO_LONG name them
    FIELD_NAME => "名称", "A name";
    FIELD_TITLE => "标题", "A title";
    FIELD_DISPLAY_NAME => "显示名", "A display name";
    FIELD_TOKEN_NAME => "令牌名称", "A token name";
    FIELD_REASON => "原因", "A reason";
    FIELD_NOTES => "备注", "Notes";
    FIELD_STRUCTURE => "结构", "The structure";
    // Actions, as ROLE_MAY_NOT, COUNTY_TEAM_ONLY and NOT_IN_STATE name them
    ACT_IMPORT => "导入基础数据", "import reference data";
    ACT_UNDO_IMPORT => "撤销导入", "undo an import";
    ACT_EDIT_MILESTONES => "修改时间节点", "edit milestones";
    ACT_CREATE_CAMPAIGNS => "创建核验工作", "create campaigns";
    ACT_CREATE_MILESTONES => "创建时间节点", "create milestones";
    ACT_JOIN_CAMPAIGN => "加入核验工作", "join a campaign";
    ACT_TIGHTEN_MILESTONES => "收紧时间节点", "tighten milestones";
    ACT_READ_AUDIT => "查看操作记录", "read the audit trail";
    ACT_ENTER_DATA => "录入核验数据", "enter verification data";
    ACT_SAVE => "保存", "save";
    ACT_SUBMIT => "提交", "submit";
    ACT_APPROVE => "核准", "approve";
    ACT_RETURN => "退回", "return";
    ACT_REOPEN => "重开", "reopen";
    ACT_ACK_FINDINGS => "确认提醒", "acknowledge findings";
    ACT_RUN_CHECKS => "对区域运行检查", "run checks over a region";
    ACT_CLEAR_PRACTICE => "清除练习数据", "clear practice entries";
    ACT_PLACE_HOUSEHOLDS => "调整农户归属", "place households";
    ACT_MANAGE_WEBHOOKS => "管理回调", "manage webhooks";
    ACT_ISSUE_ACCOUNTS => "批量开通账号", "issue accounts";
    ACT_CREATE_TOKENS => "创建 API 令牌", "create API tokens";
    ACT_LIST_TOKENS => "查看 API 令牌", "list API tokens";
    ACT_CREATE_ACCOUNTS => "创建账号", "create accounts";
    ACT_LIST_ACCOUNTS => "查看账号", "list accounts";
    ACT_END_SESSIONS => "结束其他账号的会话", "end other accounts' sessions";
    ACT_DRAW_SAMPLES => "抽取回头看样本", "draw look-back samples";
    ACT_SEE_SAMPLES => "查看回头看样本", "see look-back samples";
    ACT_UPLOAD_PHOTOS => "上传照片", "upload photos";
    // Record states, as NOT_IN_STATE and CHANGED_MEANWHILE name them
    STATUS_NOT_STARTED => "未开始", "not started";
    STATUS_DRAFT => "草稿", "a draft";
    STATUS_SUBMITTED => "待审核", "submitted";
    STATUS_RETURNED => "已退回", "returned";
    STATUS_APPROVED => "已核准", "approved";
    STATUS_REOPENED => "回头看重开", "reopened";
}
