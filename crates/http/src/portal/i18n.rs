//! The portal's message catalogue: every label of every portal page, in Chinese (default) and
//! English. Templates call `c.t.t("key")`; a unit test checks that every key used in the
//! templates and handlers exists here.

crate::i18n::page_language! {
    /// The page language: `en` false is zh-CN.
    pub struct Tr(CATALOGUE, "portal");
}

/// `(key, zh-CN, en)`, sorted by key (a test checks the order).
pub const CATALOGUE: &[(&str, &str, &str)] = &[
    ("agencies.all", "全部统筹区", "All regions"),
    (
        "agencies.placeholder",
        "如 东兴、市中区",
        "e.g. a district or street",
    ),
    ("agencies.search", "查询", "Search"),
    (
        "agencies.text",
        "名称或地址包含",
        "Name or address contains",
    ),
    (
        "app.footer",
        "社会保障卡服务平台 · 网上服务大厅 · 咨询电话 12333",
        "Social Security Card Service · online portal · hotline 12333",
    ),
    (
        "app.name",
        "社保卡网上服务大厅",
        "Social Security Card Portal",
    ),
    ("app.skip", "跳到正文", "Skip to content"),
    ("app.switch_lang", "English", "中文"),
    ("bank.active", "已激活", "Active"),
    ("bank.cancelled", "已注销", "Cancelled"),
    ("bank.lost", "已挂失", "Reported lost"),
    ("bank.none", "未开通", "Not opened"),
    ("bank.opened", "已开户未激活", "Opened, not activated"),
    ("c.agencies", "经办机构名录", "Service agencies"),
    ("c.contributions", "缴费明细", "Monthly contributions"),
    ("c.employment", "就业信息", "Employment"),
    ("c.enrolments", "参保险种", "Insurances"),
    ("c.health", "生命与健康数据", "Life and health data"),
    ("c.hotlines", "服务热线", "Hotlines"),
    ("c.injury_benefits", "工伤保险待遇", "Work-injury benefits"),
    ("c.injury_cases", "工伤认定", "Work-injury cases"),
    ("c.maternity_benefits", "生育保险待遇", "Maternity benefits"),
    (
        "c.minimum_living",
        "最低生活保障",
        "Minimum living allowance",
    ),
    ("c.pension_benefits", "养老保险待遇", "Pension benefits"),
    ("c.settlements", "医疗费用结算", "Medical settlements"),
    ("c.special_care", "优抚待遇", "Special-care allowance"),
    ("c.timeline", "卡片业务记录", "Card history"),
    (
        "c.transactions",
        "个人账户近期收支",
        "Recent personal account movements",
    ),
    (
        "c.unemployment_benefits",
        "失业保险待遇",
        "Unemployment benefits",
    ),
    ("card.history", "历史卡片", "past card"),
    ("card.no_number", "(尚未制卡)", "(not produced yet)"),
    (
        "card.none",
        "您还没有社会保障卡。",
        "You have no social security card.",
    ),
    ("card.regular", "社会保障卡", "Social security card"),
    ("card.temporary", "临时卡", "Temporary card"),
    ("cert.code", "验证码", "Verification code"),
    (
        "cert.download",
        "下载参保证明(PDF)",
        "Download the certificate (PDF)",
    ),
    (
        "cert.intro",
        "参保证明载明您的参保险种、参保起始日期和缴费情况,加盖参保证明专用章,附验证码,任何人可在本网站核验真伪。",
        "The certificate of insurance lists your insurances, their start dates and your contributions, bears the agency's seal and a verification code anyone can check on this site.",
    ),
    ("cert.issue", "开具参保证明", "Issue a certificate"),
    ("cert.issued", "参保证明已开具", "Certificate issued"),
    (
        "cert.verify_hint",
        "收到证明的单位可凭验证码核验:",
        "The recipient can check it with the code:",
    ),
    ("channel.bank", "合作银行", "Bank"),
    ("channel.cli", "系统批量", "Batch"),
    ("channel.counter", "窗口", "Counter"),
    ("channel.hospital", "定点医药机构", "Hospital"),
    ("channel.ivr", "12333 电话", "12333 phone"),
    ("channel.kiosk", "自助终端", "Kiosk"),
    ("channel.system", "系统", "System"),
    ("channel.web", "网上服务大厅", "Web portal"),
    ("common.current", "至今", "present"),
    ("common.months", "个月", "months"),
    ("common.no_account", "无个人账户", "No personal account"),
    ("common.none", "暂无记录", "No records"),
    ("common.not_enrolled", "未参保", "Not insured"),
    ("common.not_registered", "未办理失业登记", "Not registered"),
    ("common.reversed", "已冲正", "Reversed"),
    (
        "common.self_paid",
        "个人缴费(灵活就业)",
        "Self-paid (flexible employment)",
    ),
    ("common.settled", "已结算", "Settled"),
    ("contrib.all_years", "全部年度", "All years"),
    ("contrib.filter", "筛选", "Filter"),
    ("contrib.year", "缴费年度", "Year"),
    ("ecard.expires", "有效期至", "Valid until"),
    (
        "ecard.intro",
        "就医购药时向定点医药机构出示此二维码,二维码一分钟内有效、只能使用一次。",
        "Show this QR code at a designated hospital or pharmacy; it is valid for one minute and one payment.",
    ),
    (
        "ecard.qr_label",
        "电子社保卡二维码",
        "Electronic card QR code",
    ),
    ("ecard.refresh", "刷新二维码", "New code"),
    ("error.back", "返回首页", "Back to the portal"),
    ("error.title", "无法办理", "Cannot be done"),
    ("f.address", "常住地址", "Address"),
    ("f.applied_at", "申领时间", "Applied"),
    ("f.balance", "个人账户余额", "Personal account balance"),
    ("f.bank_status", "金融功能", "Bank function"),
    ("f.benefit_months", "核定领取月数", "Benefit months granted"),
    ("f.birth_date", "出生日期", "Date of birth"),
    ("f.card_no", "卡号", "Card number"),
    ("f.card_status", "卡状态", "Card status"),
    ("f.code", "验证码", "Verification code"),
    (
        "f.continuous_months",
        "连续缴费月数",
        "Continuous contribution months",
    ),
    ("f.disability_grade", "伤残等级", "Disability grade"),
    ("f.employer_total", "单位缴费合计", "Employer total"),
    ("f.enrolment", "参保状态", "Status"),
    ("f.ethnicity", "民族", "Ethnicity"),
    ("f.expires_on", "有效期至", "Valid until"),
    ("f.gender", "性别", "Gender"),
    ("f.issued_at", "开具时间", "Issued"),
    ("f.last_month", "最近缴费年月", "Latest contribution month"),
    ("f.life_status", "人员状态", "Life status"),
    ("f.medical_type", "医疗保险类型", "Medical insurance type"),
    ("f.monthly_pension", "月基本养老金", "Monthly pension"),
    ("f.months_shown", "缴费月数", "Contribution months"),
    ("f.name", "姓名", "Name"),
    (
        "f.pension_account",
        "个人账户累计储存额",
        "Personal account accumulation",
    ),
    ("f.pension_months", "累计缴费月数", "Contribution months"),
    ("f.personal_total", "个人缴费合计", "Personal total"),
    ("f.phone", "联系电话", "Phone"),
    ("f.pin_state", "社保卡密码", "Card PIN"),
    ("f.region", "参保地", "Region"),
    (
        "f.registered_on",
        "失业登记日期",
        "Registered unemployed on",
    ),
    (
        "f.reserved",
        "待结算冻结金额",
        "Reserved by pending settlements",
    ),
    ("f.scheme", "参保类别", "Scheme"),
    ("f.span", "缴费期间", "Contribution period"),
    ("f.ssn", "社会保障号码", "Social security number"),
    ("f.start_date", "参保日期", "Insured since"),
    ("guide.hotline", "咨询电话", "Hotlines"),
    ("guide.region", "统筹区", "Region"),
    ("guide.show", "查看", "Show"),
    ("h.address", "地址", "Address"),
    ("h.agency", "机构名称", "Agency"),
    ("h.amount", "金额", "Amount"),
    ("h.base", "缴费基数", "Base"),
    ("h.benefit", "待遇项目", "Benefit"),
    ("h.cash", "现金支付", "Cash"),
    ("h.category", "类别", "Category"),
    ("h.channel", "办理渠道", "Channel"),
    ("h.credit_code", "统一社会信用代码", "Credit code"),
    ("h.date", "日期", "Date"),
    ("h.description", "说明", "Description"),
    ("h.district", "所在地区", "District"),
    ("h.employer", "单位", "Employer"),
    ("h.employer_part", "单位缴费", "Employer part"),
    ("h.end", "终止", "Until"),
    ("h.event", "业务", "Event"),
    ("h.from", "起始年月", "From"),
    ("h.grade", "伤残等级", "Grade"),
    ("h.institution", "医药机构", "Institution"),
    ("h.insurance", "险种", "Insurance"),
    ("h.item", "项目", "Item"),
    ("h.kind", "类型", "Kind"),
    ("h.local", "本地热线", "Local line"),
    ("h.lump_sum", "一次性待遇", "Lump sum"),
    ("h.medical_personal", "医疗个人", "Medical (personal)"),
    ("h.month", "缴费年月", "Month"),
    ("h.monthly", "月待遇", "Monthly"),
    ("h.national", "全国热线", "National line"),
    ("h.occurred", "发生日期", "Occurred"),
    ("h.pension_personal", "养老个人", "Pension (personal)"),
    ("h.personal", "个人合计", "Personal total"),
    ("h.personal_account", "个人账户支付", "Personal account"),
    ("h.phone", "电话", "Phone"),
    ("h.pooling", "统筹基金支付", "Pooling fund"),
    ("h.position", "岗位", "Position"),
    ("h.recognised", "认定日期", "Recognised"),
    ("h.region", "统筹区", "Region"),
    ("h.result", "结果", "Result"),
    ("h.scheme", "参保类别", "Scheme"),
    ("h.source", "来源", "Source"),
    ("h.start", "起始日期", "From"),
    ("h.status", "状态", "Status"),
    ("h.status_after", "办理后状态", "Status after"),
    ("h.time", "时间", "Time"),
    ("h.to", "终止年月", "Until"),
    ("h.total", "医疗费总额", "Total"),
    (
        "h.unemployment_personal",
        "失业个人",
        "Unemployment (personal)",
    ),
    ("home.bye", "您已安全退出。", "You have logged out."),
    (
        "home.expired",
        "登录已超时,请重新登录。",
        "Your session timed out: please log in again.",
    ),
    (
        "home.id_hint",
        "18 位居民身份证号码,末位 X 大小写均可。",
        "18-digit citizen ID number; the final X in either case.",
    ),
    ("home.id_number", "身份证号码", "ID number"),
    (
        "home.intro",
        "使用本人身份证号码和查询密码登录,查询参保缴费和待遇信息、办理挂失、开具参保证明。",
        "Log in with your ID number and query password to see your insurance records, report a loss or get a certificate of insurance.",
    ),
    ("home.password", "查询密码", "Query password"),
    (
        "home.password_hint",
        "初始查询密码见办事指南,首次登录须修改。",
        "See the service guide for the initial password; you must change it at first login.",
    ),
    ("home.public", "无需登录的服务", "Services without login"),
    ("home.submit", "登录", "Log in"),
    (
        "home.timeout",
        "为保护您的信息,15 分钟无操作将自动退出。",
        "For your safety you are logged out after 15 minutes without activity.",
    ),
    ("home.title", "个人登录", "Cardholder login"),
    (
        "hotlines.intro",
        "全国人力资源和社会保障服务热线 12333;各地另有本地热线。",
        "The national HR and social security hotline is 12333; each city also has its own line.",
    ),
    (
        "intro.assistance",
        "最低生活保障和优抚待遇由民政、退役军人事务部门核定,本页显示发放记录。",
        "Minimum living allowance and special-care benefits are decided by civil affairs and veterans' affairs; this page shows the payments on record.",
    ),
    (
        "intro.health",
        "生命与健康数据来自出生医学记录、预防接种和健康体检信息系统,如有疑问请咨询社区卫生服务中心。",
        "Life and health data come from birth records, vaccination and health check-up systems; ask your community health centre about them.",
    ),
    (
        "intro.medical",
        "个人账户余额可用于定点医药机构门诊、购药结算。",
        "The personal account pays at designated hospitals and pharmacies.",
    ),
    (
        "intro.pension",
        "个人账户累计储存额为历年个人缴费部分之和。",
        "The personal account accumulation is the sum of your personal pension contributions.",
    ),
    (
        "loss.confirm",
        "我确认挂失此卡:挂失后立即停止使用。",
        "I confirm the loss report: the card stops working at once.",
    ),
    (
        "loss.confirm_required",
        "请勾选确认挂失。",
        "Tick the box to confirm the loss report.",
    ),
    (
        "loss.done",
        "已临时挂失,请在有效期内到窗口办理书面挂失和补卡。临时挂失有效期至 ",
        "The card is reported lost (temporary). Make it written at a counter before it lapses: valid until ",
    ),
    (
        "loss.intro",
        "临时挂失立即生效,在规定天数内有效;须输入已修改过的社保卡密码。初始密码未修改的,请拨打 12333 人工服务或到窗口办理。",
        "A temporary loss report takes effect at once and lasts the region's number of days; it needs the card PIN you changed. With the initial PIN, call 12333 for an agent or go to a counter.",
    ),
    (
        "loss.no_card",
        "您没有可以挂失的社保卡。",
        "You have no card that can be reported lost.",
    ),
    ("loss.pin", "社保卡密码(6 位数字)", "Card PIN (6 digits)"),
    ("loss.submit", "确认挂失", "Report the loss"),
    ("loss.title", "临时挂失", "Temporary loss report"),
    ("nav.agencies", "经办机构", "Agencies"),
    ("nav.assistance", "低保和优抚", "Assistance"),
    ("nav.basic", "基本信息", "Basic information"),
    ("nav.card", "社保卡", "My card"),
    ("nav.certificate", "参保证明", "Certificate"),
    ("nav.contributions", "缴费记录", "Contributions"),
    ("nav.ecard", "电子社保卡", "E-card"),
    ("nav.guide", "办事指南", "Service guide"),
    ("nav.health", "生命与健康", "Life and health"),
    ("nav.hotlines", "服务热线", "Hotlines"),
    ("nav.injury", "工伤保险", "Work injury"),
    ("nav.logout", "退出", "Log out"),
    ("nav.maternity", "生育保险", "Maternity"),
    ("nav.medical", "医疗保险", "Medical"),
    ("nav.password", "修改查询密码", "Query password"),
    ("nav.pension", "养老保险", "Pension"),
    ("nav.public_label", "公共服务", "Public services"),
    ("nav.records_label", "个人业务", "My records"),
    ("nav.unemployment", "失业保险", "Unemployment"),
    ("nav.verify", "参保证明核验", "Verify a certificate"),
    ("password.confirm", "再次输入新密码", "New password again"),
    (
        "password.continue",
        "继续使用网上服务大厅",
        "Continue to the portal",
    ),
    ("password.current", "当前查询密码", "Current query password"),
    (
        "password.done",
        "查询密码已修改。",
        "Your query password was changed.",
    ),
    (
        "password.forced",
        "您正在使用初始查询密码,为保障信息安全,请先修改密码。",
        "You are using the initial query password: change it before going on.",
    ),
    (
        "password.mismatch",
        "两次输入的新密码不一致",
        "The two new passwords differ",
    ),
    ("password.new", "新查询密码", "New query password"),
    (
        "password.rule",
        "6 至 20 位,须同时包含字母和数字,不能使用初始密码或身份证号码的一部分。",
        "6 to 20 characters with both letters and digits; not the initial password nor a part of your ID number.",
    ),
    ("password.submit", "修改密码", "Change the password"),
    (
        "password.title",
        "修改查询密码",
        "Change the query password",
    ),
    ("pin.enabled", "已启用(已修改)", "Enabled (changed)"),
    (
        "pin.initial",
        "初始密码(未启用)",
        "Initial PIN (not enabled)",
    ),
    ("pin.locked", "已锁定", "Locked"),
    (
        "verify.altered",
        "证明内容与登记不符",
        "The certificate's record was altered",
    ),
    (
        "verify.intro",
        "输入参保证明上的 12 位验证码,核对证明内容与系统登记是否一致。",
        "Enter the 12-character code printed on the certificate to compare it with the record.",
    ),
    ("verify.submit", "核验", "Verify"),
    (
        "verify.valid",
        "验证通过:该参保证明由本系统开具",
        "Valid: this certificate was issued by this system",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::testing::{assert_catalogue, assert_keys_exist, files};

    #[test]
    fn catalogue_is_sorted_and_complete() {
        assert_catalogue(CATALOGUE);
    }

    /// Every `"prefix.key"` string in the portal's templates and sources that looks like a
    /// label key names a catalogue entry.
    #[test]
    fn every_used_key_exists() {
        let prefixes = [
            "agencies.",
            "app.",
            "c.",
            "card.",
            "cert.",
            "common.",
            "contrib.",
            "ecard.",
            "error.",
            "f.",
            "guide.",
            "h.",
            "home.",
            "hotlines.",
            "intro.",
            "loss.",
            "nav.",
            "password.",
            "pin.",
            "verify.",
        ];
        let mut used = Vec::new();
        for p in files(&["templates/portal", "src/portal"]) {
            let text = std::fs::read_to_string(&p).unwrap();
            for piece in text.split('"').skip(1).step_by(2) {
                let looks_like_key = prefixes.iter().any(|pre| piece.starts_with(pre))
                    && piece.len() > 2
                    && piece
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c == '.' || c == '_')
                    && !piece.ends_with('.');
                if looks_like_key {
                    used.push((p.display().to_string(), piece.to_string()));
                }
            }
        }
        assert!(used.len() > 100, "only {} labels found", used.len());
        assert_keys_exist(CATALOGUE, &used);
        assert_eq!(Tr { en: true }.t("home.submit"), "Log in");
        assert_eq!(Tr { en: false }.t("home.submit"), "登录");
        assert_eq!(Tr { en: true }.label("channel", "web"), "Web portal");
        assert_eq!(Tr { en: true }.label("channel", "other"), "other");
    }
}
