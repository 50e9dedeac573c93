//! The kiosk's message catalogue: every label of every kiosk page in Chinese (default) and
//! English. Templates call `c.k.t("key")`; a unit test checks that the catalogue is sorted and
//! that every key the templates and handlers use exists.

crate::i18n::page_language! {
    /// The page language: `en` false is zh-CN.
    pub struct KMsg(CATALOGUE, "kiosk");
}

/// `(key, zh-CN, en)`, sorted by key (a test checks the order).
pub const CATALOGUE: &[(&str, &str, &str)] = &[
    (
        "app.help",
        "如需帮助,请咨询大厅工作人员或拨打 12333",
        "Need help? Ask the staff in the hall or call 12333",
    ),
    (
        "app.name",
        "社会保障卡自助服务",
        "Social Security Card Self-Service",
    ),
    ("app.skip", "跳到正文", "Skip to content"),
    ("app.switch_lang", "English", "中文"),
    (
        "app.tagline",
        "人力资源和社会保障信息查询系统",
        "HR and social security information kiosk",
    ),
    ("bank.active", "已启用", "Active"),
    ("bank.cancelled", "已注销", "Cancelled"),
    ("bank.lost", "已挂失", "Reported lost"),
    ("bank.none", "未开通", "Not opened"),
    ("bank.opened", "已开户未启用", "Opened, not activated"),
    ("card.regular", "社会保障卡", "Social security card"),
    ("card.temporary", "临时卡", "Temporary card"),
    (
        "cat.assistance",
        "低保和优抚",
        "Assistance and special care",
    ),
    (
        "cat.assistance.hint",
        "最低生活保障、优抚待遇",
        "Minimum living allowance, special care",
    ),
    ("cat.card", "卡基本信息", "Card information"),
    (
        "cat.card.hint",
        "卡号、卡状态、密码状态、卡片履历",
        "Card number, status, PIN, history",
    ),
    (
        "cat.employment",
        "就业与失业",
        "Employment and unemployment",
    ),
    (
        "cat.employment.hint",
        "就业经历、失业保险与失业登记",
        "Employment, unemployment insurance",
    ),
    ("cat.health", "生命与健康数据", "Life and health data"),
    (
        "cat.health.hint",
        "血型、过敏、疫苗接种、体检",
        "Blood type, allergies, vaccinations, check-ups",
    ),
    ("cat.insurance", "社会保险", "Social insurance"),
    (
        "cat.insurance.hint",
        "参保、养老、工伤、生育、历年缴费",
        "Enrolments, pension, injury, maternity, contributions",
    ),
    ("cat.medical", "医疗保险", "Medical insurance"),
    (
        "cat.medical.hint",
        "个人账户余额、收支明细、就医结算",
        "Account balance, transactions, settlements",
    ),
    ("cat.public", "公共数据", "Public data"),
    (
        "cat.public.hint",
        "姓名、性别、出生日期、联系方式",
        "Name, gender, birth date, contact",
    ),
    ("col.amount", "金额", "Amount"),
    ("col.category", "类别", "Category"),
    ("col.date", "日期", "Date"),
    ("col.employer", "单位", "Employer"),
    ("col.employer_part", "单位缴纳", "Employer part"),
    ("col.event", "事项", "Event"),
    ("col.grade", "伤残等级", "Grade"),
    ("col.institution", "医药机构", "Institution"),
    ("col.insurance", "险种", "Insurance"),
    ("col.item", "项目", "Item"),
    ("col.kind", "类别", "Kind"),
    ("col.lump_sum", "一次性", "Lump sum"),
    ("col.monthly", "月发放", "Monthly"),
    ("col.months", "月数", "Months"),
    ("col.occurred", "发生日期", "Occurred"),
    ("col.period", "起止", "Period"),
    ("col.personal", "个人缴纳", "Personal part"),
    ("col.personal_account", "个人账户支付", "Personal account"),
    ("col.pooling", "统筹支付", "Pooling fund"),
    ("col.position", "岗位", "Position"),
    ("col.recognised", "认定日期", "Recognised"),
    ("col.scheme", "参保类型", "Scheme"),
    ("col.since", "参保日期", "Since"),
    ("col.source", "来源", "Source"),
    ("col.status", "状态", "Status"),
    ("col.time", "时间", "Time"),
    ("col.total", "费用总额", "Total"),
    ("col.value", "结果", "Value"),
    ("col.year", "年度", "Year"),
    ("contact.address", "新联系地址", "New address"),
    (
        "contact.address_hint",
        "请使用屏幕输入法输入地址(最多 100 字)",
        "Type the address with the screen's input method (at most 100 characters)",
    ),
    ("contact.address_now", "当前联系地址", "Current address"),
    (
        "contact.phone",
        "新手机号码(11 位)",
        "New mobile number (11 digits)",
    ),
    ("contact.phone_now", "当前手机号码", "Current mobile number"),
    ("done.contact", "联系方式已更新", "Contact details updated"),
    (
        "done.flexible",
        "缴费档次已选定",
        "Contribution level chosen",
    ),
    (
        "done.flexible.year",
        " 年度月缴费基数:",
        " monthly contribution base: ",
    ),
    ("done.loss", "挂失成功", "Loss reported"),
    (
        "done.loss.note",
        "临时挂失到期自动失效,请尽快持本人有效身份证件到服务网点办理书面挂失和补卡。",
        "A temporary loss report lapses by itself: go to a service counter with your ID soon to make it written and apply for a new card.",
    ),
    (
        "done.loss.until",
        "临时挂失有效期至:",
        "The temporary loss report is valid until: ",
    ),
    ("done.pin_changed", "密码修改成功", "PIN changed"),
    (
        "done.pin_changed.note",
        "请牢记新密码。新密码在各渠道(窗口、自助终端、网上、电话、医院)通用。",
        "Remember your new PIN: it is the same on every channel (counter, kiosk, web, phone, hospital).",
    ),
    ("error.title", "操作未成功", "The operation did not succeed"),
    ("f.address", "联系地址:", "Address: "),
    ("f.applied_at", "申领时间", "Applied"),
    ("f.balance", "个人账户余额", "Personal account balance"),
    ("f.bank_account", "银行账号", "Bank account"),
    ("f.bank_status", "金融功能", "Bank function"),
    ("f.benefit_months", "失业金领取月数", "Benefit months"),
    ("f.birth_date", "出生日期", "Date of birth"),
    ("f.card_kind", "卡类型", "Card type"),
    ("f.card_no", "卡号", "Card number"),
    ("f.card_status", "卡状态", "Card status"),
    (
        "f.continuous_months",
        "失业保险连续缴费月数",
        "Continuous unemployment contribution months",
    ),
    (
        "f.contribution_months",
        "累计缴费月数",
        "Contribution months",
    ),
    ("f.disability_grade", "伤残等级", "Disability grade"),
    ("f.enrolment", "参保状态", "Enrolment"),
    ("f.ethnicity", "民族", "Ethnicity"),
    ("f.expires_on", "有效期至", "Valid until"),
    ("f.gender", "性别", "Gender"),
    ("f.last_month", "最近缴费月份", "Latest month"),
    ("f.life_status", "人员状态", "Life status"),
    ("f.medical_type", "医保类型", "Insurance type"),
    ("f.monthly_pension", "月养老金", "Monthly pension"),
    ("f.name", "姓名", "Name"),
    ("f.pension_account", "个人账户累计", "Personal account"),
    ("f.phone", "手机号码:", "Mobile: "),
    ("f.pin", "社保密码", "PIN"),
    ("f.region", "参保地", "Pooling region"),
    ("f.registered_on", "失业登记日期", "Registered unemployed"),
    (
        "f.reserved",
        "结算中冻结",
        "Reserved by pending settlements",
    ),
    ("f.social_no", "社会保障号码", "Social security number"),
    (
        "flex.choose",
        "请选择月缴费基数",
        "Choose the monthly contribution base",
    ),
    ("flex.current", "当前缴费基数:", "Current base: "),
    (
        "flex.intro",
        "灵活就业人员选择下一年度的缴费档次,年度:",
        "Flexible-employment contributors choose next year's level, for the year",
    ),
    (
        "flex.note",
        "年度开始前可重新选择,以最后一次选择为准。",
        "You may choose again before the year starts; the last choice counts.",
    ),
    (
        "home.again",
        "操作未完成,请重新插卡",
        "The operation did not finish: insert your card again",
    ),
    (
        "home.bye",
        "已退卡,请取走您的社会保障卡。谢谢使用!",
        "Session ended: take your card. Thank you!",
    ),
    (
        "home.card_no",
        "社会保障卡卡号",
        "Social security card number",
    ),
    (
        "home.demo_reader",
        "演示读卡器:在下方键盘输入卡号或身份证号代替插卡、刷证。",
        "Demo reader: type the card or ID number on the keypad below instead of inserting the card.",
    ),
    (
        "home.heading",
        "请插入社会保障卡或刷身份证",
        "Insert your card or swipe your ID card",
    ),
    (
        "home.id_no",
        "身份证号码(18 位)",
        "ID card number (18 characters)",
    ),
    ("home.insert_card", "插入社保卡", "Insert the card"),
    (
        "home.intro",
        "社会保障卡照片面向下插入读卡器;身份证请放在感应区。",
        "Insert the social security card photo side down; put the ID card on the reader.",
    ),
    ("home.number", "号码", "Number"),
    ("home.readers", "读卡方式", "How to identify"),
    ("home.swipe_id", "刷身份证", "Swipe the ID card"),
    ("home.terminal", "终端编号:", "Terminal: "),
    (
        "home.timeout",
        "长时间未操作,已自动退出。请取走您的卡片。",
        "You were signed out after a period of inactivity. Take your card.",
    ),
    (
        "home.title",
        "社会保障卡自助服务",
        "Social security card self-service",
    ),
    ("idle.left", "剩余操作时间", "Time left"),
    ("idle.seconds", "秒", "s"),
    ("info.as_of", "数据截至", "Data as of"),
    ("info.basic", "个人基础信息", "Basic information"),
    ("info.benefits", "待遇享受", "Benefits"),
    ("info.card", "社会保障卡", "Social security card"),
    ("info.contributions", "历年缴费", "Contributions by year"),
    ("info.employment", "就业经历", "Employment"),
    ("info.enrolments", "参保信息", "Enrolments"),
    ("info.health", "生命与健康数据", "Life and health data"),
    ("info.maternity", "生育保险", "Maternity insurance"),
    (
        "info.medical",
        "医疗保险个人账户",
        "Medical personal account",
    ),
    (
        "info.minimum_living",
        "最低生活保障",
        "Minimum living allowance",
    ),
    ("info.no_account", "无个人账户", "No personal account"),
    ("info.no_card", "无有效社会保障卡", "No live card"),
    ("info.no_contributions", "无缴费记录", "No contributions"),
    (
        "info.no_employment",
        "无就业登记记录",
        "No employment recorded",
    ),
    (
        "info.no_health",
        "暂无生命与健康数据",
        "No life and health data",
    ),
    ("info.no_injury", "无工伤认定记录", "No work-injury case"),
    ("info.none", "无记录", "None"),
    ("info.not_enrolled", "未参保", "Not enrolled"),
    ("info.not_registered", "未登记失业", "Not registered"),
    ("info.pension", "养老保险", "Pension insurance"),
    ("info.reversed", "(已冲正)", " (reversed)"),
    ("info.settlements", "就医结算", "Settlements"),
    ("info.special_care", "优抚待遇", "Special care"),
    ("info.timeline", "卡片履历", "Card history"),
    (
        "info.transactions",
        "个人账户收支明细",
        "Account transactions",
    ),
    ("info.unemployment", "失业保险", "Unemployment insurance"),
    (
        "info.unemployment_benefits",
        "失业保险待遇",
        "Unemployment benefits",
    ),
    ("info.until_now", "至今", "now"),
    ("info.work_injury", "工伤保险", "Work-injury insurance"),
    ("keypad.confirm", "确认", "Confirm"),
    ("keypad.confirm.label", "确认", "Confirm"),
    ("keypad.delete", "删除", "Delete"),
    (
        "keypad.delete.label",
        "删除最后一位",
        "Delete the last character",
    ),
    ("keypad.digit", "数字", "Digit"),
    ("keypad.label", "数字键盘", "Numeric keypad"),
    ("keypad.letter", "字母", "Letter"),
    ("keypad.letters", "字母键", "Letter keys"),
    ("keypad.reset", "重置", "Reset"),
    (
        "keypad.reset.label",
        "清空重新输入",
        "Clear and start again",
    ),
    (
        "loss.already",
        "该卡已处于挂失状态。解除挂失须本人持有效身份证件和卡片到服务网点办理。",
        "This card is already reported lost. Lifting the report is done at a counter, in person with ID and the card.",
    ),
    (
        "loss.intro",
        "自助挂失为临时挂失:立即冻结社保卡的社保功能(医保结算等),在规定天数后自动失效。",
        "A self-service report is a temporary loss report: the card's social security functions (medical settlement…) freeze at once, and the report lapses after the set number of days.",
    ),
    (
        "loss.not_enabled",
        "您的社保卡密码仍为初始密码,不能自助挂失。请先修改密码,或持本人身份证到服务网点办理,或拨打 12333 人工服务。",
        "Your PIN is still the initial one: self-service loss is not possible. Change the PIN first, or go to a counter with your ID, or call 12333.",
    ),
    (
        "loss.pin",
        "请输入社保卡密码确认挂失",
        "Enter the card's PIN to confirm",
    ),
    (
        "loss.written",
        "书面挂失、补卡须本人持有效身份证件到服务网点办理。银行账户挂失请联系合作银行。",
        "Written loss reports and new cards are done at a counter with ID. For the bank account, call the bank.",
    ),
    ("menu.hello", "您好,", "Hello, "),
    (
        "menu.lost",
        "该卡处于挂失状态,可以查询信息。",
        "This card is reported lost; you can still look at your records.",
    ),
    ("menu.queries", "信息查询", "Queries"),
    ("menu.services", "自助业务", "Services"),
    ("menu.title", "请选择服务项目", "Choose a service"),
    ("nav.back", "返回", "Back"),
    ("nav.menu", "返回主菜单", "Main menu"),
    ("nav.take_card", "退卡", "Take card"),
    (
        "nav.take_card.label",
        "退卡并结束本次服务",
        "Take the card and end the session",
    ),
    (
        "pin.enabled",
        "已启用(已修改初始密码)",
        "Enabled (changed from the initial PIN)",
    ),
    (
        "pin.initial",
        "初始密码(建议尽快修改)",
        "Initial PIN (change it soon)",
    ),
    (
        "pin.intro",
        "请通过屏幕数字键盘输入 6 位社保卡密码,点击【确认】。输错可用【删除】【重置】修改。",
        "Enter the 6-digit card PIN on the on-screen keypad and press Confirm. Use Delete or Reset to correct it.",
    ),
    (
        "pin.intro_id",
        "已读取身份证。请输入您社保卡的 6 位密码,点击【确认】。",
        "ID card read. Enter your social security card's 6-digit PIN and press Confirm.",
    ),
    ("pin.label", "社保卡密码(6 位数字)", "Card PIN (6 digits)"),
    (
        "pin.locked",
        "已锁定(请到服务网点解锁)",
        "Locked (unlock at a counter)",
    ),
    ("pin.short", "密码", "PIN"),
    ("pin.title", "请输入社保卡密码", "Enter your card PIN"),
    ("pinc.confirm", "再次输入新密码", "New PIN again"),
    (
        "pinc.intro",
        "依次输入原密码、新密码和确认新密码,点击【确认】。点击输入框可切换。",
        "Enter the old PIN, the new PIN and the new PIN again, then press Confirm. Tap a field to switch to it.",
    ),
    ("pinc.new", "新密码", "New PIN"),
    ("pinc.old", "原密码", "Old PIN"),
    (
        "pinc.rules",
        "新密码为 6 位数字,不能是相同数字、连续数字、出生日期或初始密码。",
        "The new PIN has 6 digits and may not be one digit repeated, a run, your birth date or the initial PIN.",
    ),
    (
        "print.certificate",
        "打印参保证明",
        "Print the certificate of insurance",
    ),
    (
        "print.certificate.hint",
        "A4,带验证码和印章",
        "A4, with verification code and seal",
    ),
    (
        "print.intro",
        "请选择要打印的材料,打印件从出纸口取出(A4)。",
        "Choose what to print; take the A4 sheet from the printer slot.",
    ),
    (
        "print.printing",
        "正在打印,请稍候……",
        "Printing, please wait…",
    ),
    (
        "print.rights",
        "打印个人权益记录",
        "Print the personal rights record",
    ),
    (
        "print.rights.hint",
        "参保、缴费、账户及待遇情况",
        "Enrolments, contributions, accounts, benefits",
    ),
    ("svc.contact", "修改联系方式", "Update contact details"),
    (
        "svc.contact.hint",
        "本人手机号码和联系地址",
        "Your mobile number and address",
    ),
    (
        "svc.flexible",
        "灵活就业缴费档次",
        "Flexible-employment level",
    ),
    (
        "svc.flexible.hint",
        "选择下一年度缴费基数",
        "Choose next year's contribution base",
    ),
    ("svc.loss", "社保卡挂失", "Report the card lost"),
    (
        "svc.loss.hint",
        "自助临时挂失",
        "Self-service temporary loss report",
    ),
    ("svc.pin_change", "卡密码修改", "Change the card PIN"),
    (
        "svc.pin_change.hint",
        "原密码、新密码、确认新密码",
        "Old PIN, new PIN, confirmation",
    ),
    (
        "svc.print",
        "打印权益记录与参保证明",
        "Print records and certificates",
    ),
    (
        "svc.print.hint",
        "个人权益记录、参保证明(A4)",
        "Rights record, certificate of insurance (A4)",
    ),
    ("unit.months", "个月", "months"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::testing::{assert_catalogue, assert_keys_exist, files, keys_called};

    #[test]
    fn catalogue_is_sorted_and_complete() {
        assert_catalogue(CATALOGUE);
    }

    /// Every `t("…")` in the kiosk's templates and handlers, and every `*.hint` the menu
    /// builds, is in the catalogue.
    #[test]
    fn every_used_key_exists() {
        let sources = files(&[
            "templates/kiosk",
            "src/kiosk/mod.rs",
            "src/kiosk/pages.rs",
            "src/kiosk/views.rs",
        ]);
        let mut used = keys_called(&sources, "t(");
        let mut built = |key: String| used.push(("(built by the kiosk)".to_string(), key));
        for (slug, key) in super::super::views::CATEGORIES {
            built(key.to_string());
            built(format!("{key}.hint"));
            assert!(key.ends_with(slug));
        }
        for key in [
            "svc.pin_change",
            "svc.loss",
            "svc.print",
            "svc.contact",
            "svc.flexible",
        ] {
            built(format!("{key}.hint"));
        }
        for key in ["home.timeout", "home.bye", "home.again"] {
            built(key.to_string());
        }
        assert!(used.len() > 100, "keys found: {}", used.len());
        assert_keys_exist(CATALOGUE, &used);
    }
}
