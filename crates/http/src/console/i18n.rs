//! The console's message catalogue: every label of every console page, in Chinese (default)
//! and English. Templates call `c.m.t("key")`; a unit test checks that every key used in the
//! templates and handlers exists here.

/// The page language: `en` false is zh-CN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Msg {
    pub en: bool,
}

impl Msg {
    /// The label `key` in this language (the key itself when missing: a test forbids that).
    pub fn t(&self, key: &str) -> &'static str {
        match CATALOGUE.binary_search_by(|(k, _, _)| (*k).cmp(key)) {
            Ok(i) => {
                let (_, zh, en) = CATALOGUE[i];
                if self.en { en } else { zh }
            }
            Err(_) => {
                tracing::warn!(key, "console label missing from the catalogue");
                "?"
            }
        }
    }

    /// The label of a stored value (`doc.citizen_id`, `event.collect`, …): the catalogue's
    /// `prefix.name` entry, else `name` itself (values the catalogue does not know yet).
    pub fn label(&self, prefix: &str, name: &str) -> String {
        let key = format!("{prefix}.{name}");
        match CATALOGUE.binary_search_by(|(k, _, _)| (*k).cmp(key.as_str())) {
            Ok(i) => {
                let (_, zh, en) = CATALOGUE[i];
                (if self.en { en } else { zh }).to_string()
            }
            Err(_) => name.to_string(),
        }
    }

    /// Chinese or English text chosen by the caller (for messages with values in them).
    pub fn pick<'a>(&self, zh: &'a str, en: &'a str) -> &'a str {
        if self.en { en } else { zh }
    }
}

/// `(key, zh-CN, en)`, sorted by key (a test checks the order).
pub const CATALOGUE: &[(&str, &str, &str)] = &[
    ("action.apply", "申领社保卡", "Apply for a card"),
    ("action.cancel", "注销", "Cancel the card"),
    ("action.collect", "领卡", "Collect"),
    ("action.correct", "信息更正换卡", "Correction"),
    ("action.death", "死亡登记与继承", "Death and heirs"),
    ("action.heir", "继承人查询", "Heir's statement"),
    ("action.heir_approve", "审批并支付", "Approve and pay"),
    ("action.heir_pay", "继承支付", "Heir payout"),
    ("action.lift_loss", "解除挂失", "Lift the loss report"),
    ("action.loss_temporary", "临时挂失", "Temporary loss report"),
    ("action.loss_written", "书面挂失", "Written loss report"),
    ("action.password", "修改密码", "Password changed"),
    ("action.pin_reset", "重置密码", "Reset the PIN"),
    ("action.pin_unlock", "密码解锁", "Unlock the PIN"),
    ("action.reissue", "补卡", "Reissue"),
    ("action.replace", "损坏换卡", "Replace a damaged card"),
    (
        "action.replace_approve",
        "批准换卡",
        "Approve the replacement",
    ),
    ("action.temporary", "办理临时卡", "Issue a temporary card"),
    (
        "app.footer",
        "社会保障卡服务平台 · 经办工作台 · 咨询电话 12333",
        "Social Security Card Service · staff console · hotline 12333",
    ),
    ("app.name", "社保卡经办工作台", "Card Staff Console"),
    (
        "app.read_only",
        "审计员为只读角色:可查看,不能办理业务。",
        "Auditors are read-only: you can look but not change anything.",
    ),
    ("app.skip", "跳到正文", "Skip to content"),
    ("app.switch_lang", "English", "中文"),
    (
        "apply.intro",
        "系统中没有此人时,登记其身份信息并申领社保卡。",
        "When the person is not on file: register them and apply for their card.",
    ),
    ("apply.new", "登记新人员并申领", "Register and apply"),
    (
        "apply.title",
        "新参保人登记并申领",
        "Register a new applicant and apply",
    ),
    ("bank.active", "已激活", "Activated"),
    ("bank.cancelled", "已销户", "Closed"),
    ("bank.lost", "银行挂失", "Lost (bank side)"),
    ("bank.none", "无金融功能", "No bank function"),
    ("bank.opened", "已开户", "Account opened"),
    ("batch.bank", "合作银行", "Bank"),
    (
        "batch.bank_file",
        "下载银行开户文件",
        "Download the bank's account-opening file",
    ),
    (
        "batch.bank_file_hint",
        "开户文件含完整证件号码,仅供合作银行使用,请妥善保管。",
        "The file holds full document numbers: for the bank only, keep it safe.",
    ),
    (
        "batch.bank_return",
        "导入银行回盘文件",
        "Upload the bank's return file",
    ),
    ("batch.bank_steps", "银行开户", "Bank account opening"),
    ("batch.cards", "卡数", "Cards"),
    ("batch.create", "创建制卡批次", "Create a production batch"),
    (
        "batch.create_hint",
        "将所选统筹区所有“已申请”状态的卡编入新批次。",
        "Puts every applied card of the region into a new batch.",
    ),
    (
        "batch.created",
        "制卡批次已创建。",
        "The batch was created.",
    ),
    ("batch.created_at", "创建时间", "Created"),
    ("batch.empty", "暂无制卡批次", "No production batches yet"),
    ("batch.error_rows", "错误行", "Rows with errors"),
    ("batch.file", "回盘文件", "Return file"),
    ("batch.id", "批次号", "Batch"),
    ("batch.limit", "最多卡数", "At most this many cards"),
    ("batch.list", "批次列表", "Batches"),
    ("batch.members", "批次内的卡", "Cards in this batch"),
    ("batch.produced", "制卡完成", "Produced"),
    ("batch.region", "统筹区", "Pooling region"),
    ("batch.report", "回盘导入结果", "Return file report"),
    (
        "batch.return_hint",
        "CSV 文件,表头 doc_number,bank_account。",
        "CSV with the header doc_number,bank_account.",
    ),
    ("batch.status", "状态", "Status"),
    ("batch.title", "制卡批次", "Production batches"),
    ("batch.upload", "导入", "Upload"),
    ("batch.waiting", "待银行回盘", "Awaiting the bank"),
    ("batchst.open", "新建", "Open"),
    ("batchst.produced", "制卡完成", "Produced"),
    ("batchst.returned", "部分回盘", "Partly returned"),
    ("batchst.sent_to_bank", "已送银行", "Sent to the bank"),
    ("cancel.death", "死亡", "Death"),
    ("cancel.emigration", "出国(境)定居", "Emigration"),
    ("cancel.leaving_insurance", "退出参保", "Leaving insurance"),
    ("cancel.transfer_out", "转出", "Transfer out"),
    ("card.account", "银行账号", "Bank account"),
    ("card.applied_at", "申请时间", "Applied"),
    ("card.bank_status", "银行端状态", "Bank side"),
    (
        "card.card_centre",
        "已转至市卡管中心",
        "Moved to the city card centre",
    ),
    ("card.card_id", "卡识别码", "Card identifier"),
    ("card.card_no", "卡号", "Card number"),
    ("card.certificate", "领卡凭证", "Pickup certificate"),
    ("card.expires_on", "有效期至", "Valid until"),
    ("card.kind", "卡类型", "Kind"),
    ("card.kind_regular", "社保卡", "Regular card"),
    ("card.kind_temporary", "临时卡", "Temporary card"),
    ("card.none", "此人尚无社保卡", "This person has no card yet"),
    ("card.notice_date", "领卡通知日期", "Collection notice"),
    ("card.pending", "未制卡", "not yet made"),
    ("card.pin", "社保密码", "Social-security PIN"),
    (
        "card.pin_changed",
        "已启用(已修改初始密码)",
        "enabled (initial PIN changed)",
    ),
    ("card.pin_initial", "初始密码", "initial PIN"),
    ("card.pin_locked", "已锁定", "locked"),
    ("card.region", "统筹区", "Region"),
    ("card.status", "卡状态", "Status"),
    ("card.timeline", "卡片履历", "Timeline"),
    ("card.title", "社保卡", "Cards"),
    ("channel.bank", "银行", "Bank"),
    ("channel.cli", "命令行", "Command line"),
    ("channel.counter", "窗口", "Counter"),
    ("channel.hospital", "医药机构", "Hospital"),
    ("channel.ivr", "电话", "Phone"),
    ("channel.kiosk", "自助终端", "Kiosk"),
    ("channel.system", "系统", "System"),
    ("channel.web", "网上", "Web"),
    ("doc.citizen_id", "居民身份证", "Citizen ID"),
    (
        "doc.foreign_permanent_residence",
        "外国人永久居留身份证",
        "Foreign permanent residence ID",
    ),
    (
        "doc.hk_residence_permit",
        "港澳居民居住证(香港)",
        "Residence permit (Hong Kong)",
    ),
    (
        "doc.macau_residence_permit",
        "港澳居民居住证(澳门)",
        "Residence permit (Macao)",
    ),
    ("doc.passport", "护照", "Passport"),
    (
        "doc.taiwan_residence_permit",
        "台湾居民居住证",
        "Residence permit (Taiwan)",
    ),
    ("error.back", "返回首页", "Back to the console"),
    ("error.title", "无法办理", "Cannot do this"),
    ("event.activate", "启用社保功能", "Activated"),
    ("event.actor", "经办人", "By"),
    ("event.apply", "申领", "Applied"),
    ("event.apply_reissue", "补卡申请", "Reissue applied for"),
    (
        "event.apply_replacement",
        "换卡申请",
        "Replacement applied for",
    ),
    ("event.at", "时间", "When"),
    ("event.bank_activate", "银行激活", "Bank activation"),
    ("event.bank_loss", "银行挂失", "Bank loss"),
    ("event.bank_unfreeze", "银行解冻", "Bank unfreeze"),
    ("event.batch", "进入制卡批次", "Put into a batch"),
    ("event.cancel", "注销", "Cancelled"),
    ("event.channel", "渠道", "Channel"),
    ("event.collect", "领卡", "Collected"),
    (
        "event.collection_window_notice",
        "领卡期限提醒",
        "Collection window reminder",
    ),
    ("event.detail", "说明", "Detail"),
    ("event.event", "事项", "Event"),
    ("event.expire", "过期", "Expired"),
    (
        "event.issue_temporary",
        "发放临时卡",
        "Temporary card issued",
    ),
    ("event.lift_loss", "解除挂失", "Loss report lifted"),
    (
        "event.loss_lapsed",
        "临时挂失到期失效",
        "Temporary loss lapsed",
    ),
    (
        "event.moved_to_card_centre",
        "转至市卡管中心",
        "Moved to the card centre",
    ),
    ("event.pin_changed", "修改密码", "PIN changed"),
    ("event.pin_locked", "密码锁定", "PIN locked"),
    ("event.pin_reset", "重置密码", "PIN reset"),
    ("event.pin_unlocked", "密码解锁", "PIN unlocked"),
    ("event.produced", "制卡完成", "Produced"),
    (
        "event.reissue",
        "补卡(旧卡作废)",
        "Reissued (old card dead)",
    ),
    (
        "event.replace",
        "换卡(旧卡收回)",
        "Replaced (old card returned)",
    ),
    (
        "event.report_loss_temporary",
        "临时挂失",
        "Temporary loss report",
    ),
    (
        "event.report_loss_written",
        "书面挂失",
        "Written loss report",
    ),
    ("event.status", "办理后状态", "Status after"),
    ("fee.amount", "金额(元)", "Amount (yuan)"),
    ("fee.at", "时间", "When"),
    ("fee.card", "卡号", "Card"),
    ("fee.kind", "项目", "Item"),
    ("fee.receipt", "收据号", "Receipt"),
    ("fee.reissue", "补卡费", "Reissue fee"),
    ("fee.replacement", "换卡费", "Replacement fee"),
    ("fee.staff", "经办人", "Staff"),
    ("form.accept", "确认办理", "Confirm"),
    (
        "form.activate",
        "同时启用社保功能",
        "Activate the social-security function now",
    ),
    ("form.address", "地址", "Address"),
    ("form.amount", "金额(元)", "Amount (yuan)"),
    ("form.approval", "主管审批", "Supervisor's approval"),
    ("form.authorisation", "委托书编号", "Authorisation number"),
    (
        "form.birth_date",
        "出生日期(护照等需填写)",
        "Date of birth (passports etc.)",
    ),
    (
        "form.card_presented",
        "所持卡片卡号",
        "Number on the card presented",
    ),
    (
        "form.card_returned",
        "已收回卡片",
        "The card was handed back",
    ),
    (
        "form.correction_hint",
        "只填写需要更正的项目,其余留空。",
        "Fill in only what must be corrected; leave the rest blank.",
    ),
    ("form.damage", "损坏情况", "What is damaged"),
    (
        "form.death_certificate",
        "死亡证明编号",
        "Death certificate number",
    ),
    ("form.death_date", "死亡日期", "Date of death"),
    ("form.doc_number", "证件号码", "Document number"),
    (
        "form.doc_presented",
        "出示证件号码(本人)",
        "Document number presented (holder)",
    ),
    ("form.doc_type", "证件类型", "Document type"),
    ("form.ethnicity", "民族", "Ethnicity"),
    ("form.fault", "损坏原因", "Cause of the damage"),
    (
        "form.fault_holder",
        "个人原因(收费)",
        "Holder's fault (charged)",
    ),
    (
        "form.fault_quality",
        "卡片质量问题(免费,需主管审批)",
        "Quality fault (free, a supervisor approves)",
    ),
    ("form.field", "需更正的信息", "Data to correct"),
    ("form.gender", "性别", "Gender"),
    (
        "form.gender_unknown",
        "(按证件号码)",
        "(from the document number)",
    ),
    ("form.heir_doc", "继承人证件号码", "Heir's document number"),
    ("form.heir_name", "继承人姓名", "Heir's name"),
    (
        "form.id_check",
        "核验证件:请输入持卡人出示的证件号码",
        "ID check: type the number of the document the holder shows",
    ),
    ("form.name", "姓名", "Name"),
    (
        "form.new_pin",
        "新密码(6 位数字,留空则恢复初始密码)",
        "New PIN (6 digits; blank for the initial PIN)",
    ),
    ("form.none", "请选择", "Choose"),
    ("form.note", "备注", "Note"),
    ("form.phone", "手机号码", "Mobile number"),
    (
        "form.photo",
        "照片(JPEG/PNG,358×441 像素)",
        "Photo (JPEG/PNG, 358×441 pixels)",
    ),
    (
        "form.photo_on_file",
        "已有照片,可不上传",
        "A photo is on file; uploading is optional",
    ),
    ("form.proof", "证明材料编号", "Proof reference"),
    ("form.proxy", "代领", "Collected by a proxy"),
    (
        "form.proxy_doc",
        "代领人证件号码",
        "Proxy's document number",
    ),
    ("form.proxy_name", "代领人姓名", "Proxy's name"),
    ("form.reason", "原因", "Reason"),
    ("form.region", "参保地(统筹区)", "Pooling region"),
    (
        "form.region_default",
        "(经办机构所在地)",
        "(the agency's region)",
    ),
    (
        "form.relationship",
        "与死者关系",
        "Relationship to the deceased",
    ),
    ("form.sup_password", "主管密码", "Supervisor's password"),
    ("form.sup_username", "主管用户名", "Supervisor's username"),
    ("form.value", "正确内容", "Correct value"),
    ("gender.female", "女", "Female"),
    ("gender.male", "男", "Male"),
    (
        "heir.balance",
        "医保个人账户余额(元)",
        "Medical personal account (yuan)",
    ),
    ("heir.claim", "继承申请编号", "Claim number"),
    ("heir.died_on", "死亡日期", "Date of death"),
    ("heir.paid", "已支付给继承人", "Already paid to a heir"),
    (
        "heir.pay_hint",
        "支付须由业务主管输入用户名和密码审批;支付后注销死者的社保卡。",
        "A supervisor approves with their username and password; the deceased's cards are then cancelled.",
    ),
    (
        "heir.pension",
        "养老个人账户累计(元)",
        "Pension accumulation (yuan)",
    ),
    ("heir.recent", "近期账户明细", "Recent entries"),
    ("heir.title", "继承人查询结果", "Heir's statement"),
    (
        "home.batches_hint",
        "建批次、下载开户文件、导入回盘",
        "Batches, bank files, return files",
    ),
    (
        "home.password_hint",
        "修改本人登录密码",
        "Change your own password",
    ),
    (
        "home.roster_hint",
        "单位批量申领(CSV/XLSX)",
        "Employer bulk applications (CSV/XLSX)",
    ),
    (
        "home.search_hint",
        "按身份证号、卡号或姓名查找",
        "By ID number, card number or name",
    ),
    ("home.shortcuts", "常用业务", "Shortcuts"),
    ("home.title", "经办工作台", "Staff console"),
    ("life.deceased", "死亡", "Deceased"),
    ("life.emigrated", "出国定居", "Emigrated"),
    ("life.imprisoned", "服刑", "Imprisoned"),
    ("life.missing", "失踪", "Missing"),
    ("life.normal", "正常", "Normal"),
    (
        "login.expired",
        "登录已过期,请重新登录。",
        "Your session has ended: please log in again.",
    ),
    (
        "login.intro",
        "请使用经办人员账号登录。",
        "Log in with your staff account.",
    ),
    ("login.password", "密码", "Password"),
    ("login.submit", "登录", "Log in"),
    ("login.title", "经办人员登录", "Staff login"),
    ("login.username", "用户名", "Username"),
    ("nav.admin", "系统管理", "Administration"),
    ("nav.batches", "制卡批次", "Production batches"),
    ("nav.home", "首页", "Home"),
    ("nav.label", "主导航", "Main navigation"),
    ("nav.logout", "退出登录", "Log out"),
    ("nav.roster", "花名册导入", "Roster import"),
    ("nav.search", "人员查询", "Find a person"),
    ("nav.stats", "统计分析", "Statistics"),
    (
        "password.changed",
        "密码已修改。",
        "Your password was changed.",
    ),
    ("password.confirm", "再次输入新密码", "New password again"),
    ("password.current", "当前密码", "Current password"),
    (
        "password.forced",
        "首次登录须先修改初始密码,修改后才能办理业务。",
        "This is your first login: change the initial password before anything else.",
    ),
    (
        "password.mismatch",
        "两次输入的新密码不一致",
        "The two new passwords differ",
    ),
    ("password.new", "新密码", "New password"),
    (
        "password.rule",
        "至少 10 位,且须同时包含字母和数字。",
        "At least 10 characters with both letters and digits.",
    ),
    ("password.submit", "修改密码", "Change the password"),
    ("password.title", "修改密码", "Change password"),
    ("person.actions", "办理业务", "Operations"),
    ("person.address", "地址", "Address"),
    ("person.birth_date", "出生日期", "Date of birth"),
    (
        "person.certificate_link",
        "打印领卡凭证(PDF)",
        "Print the pickup certificate (PDF)",
    ),
    ("person.deceased_actions", "死亡人员业务", "Deceased person"),
    ("person.doc", "证件号码", "Document number"),
    ("person.done", "业务已办理。", "Done."),
    ("person.ethnicity", "民族", "Ethnicity"),
    ("person.fees", "收费记录", "Fees"),
    ("person.gender", "性别", "Gender"),
    ("person.info", "基本信息", "Basic information"),
    ("person.life_status", "生存状态", "Life status"),
    (
        "person.medical_balance",
        "医保个人账户余额(元)",
        "Medical personal account (yuan)",
    ),
    ("person.name", "姓名", "Name"),
    ("person.no_fees", "无收费记录", "No fees"),
    ("person.no_photo", "无照片", "No photo on file"),
    ("person.phone", "联系电话", "Phone"),
    ("person.photo", "照片", "Photo"),
    ("person.region", "参保地", "Region"),
    ("person.since", "自", "since"),
    ("relation.child", "子女", "Child"),
    ("relation.grandchild", "孙子女、外孙子女", "Grandchild"),
    ("relation.grandparent", "祖父母、外祖父母", "Grandparent"),
    ("relation.other", "其他", "Other"),
    ("relation.parent", "父母", "Parent"),
    ("relation.sibling", "兄弟姐妹", "Sibling"),
    ("relation.spouse", "配偶", "Spouse"),
    ("roster.cards_created", "张卡", "cards"),
    (
        "roster.columns",
        "列(首行为表头):证件类型、证件号码、姓名、性别、手机号、照片文件名。",
        "Columns (first row is the header): doc_type, doc_number, name, gender, phone, photo.",
    ),
    ("roster.employer", "单位编号", "Employer number"),
    ("roster.error_rows", "错误", "With errors"),
    (
        "roster.file",
        "花名册文件(CSV 或 XLSX)",
        "Roster file (CSV or XLSX)",
    ),
    (
        "roster.import_valid",
        "仅导入正确的行",
        "Import the valid rows",
    ),
    ("roster.imported", "已导入", "Imported"),
    (
        "roster.intro",
        "文件中有错误时不导入任何一行,除非选择“仅导入正确的行”。",
        "A file with errors imports nothing unless you choose “import the valid rows”.",
    ),
    ("roster.line", "行号", "Line"),
    (
        "roster.nothing",
        "未导入任何一行。",
        "Nothing was imported.",
    ),
    ("roster.ok_rows", "正确", "Valid"),
    ("roster.persons_created", "名新登记人员", "new persons"),
    (
        "roster.photos",
        "照片文件(可多选,文件名与花名册“照片文件名”一致)",
        "Photos (several; names as in the roster's photo column)",
    ),
    ("roster.problem", "问题", "Problem"),
    ("roster.report", "逐行检查结果", "Row-by-row report"),
    (
        "roster.retry_hint",
        "如需导入正确的行,请勾选“仅导入正确的行”后重新上传该文件。",
        "To import the valid rows, tick “import the valid rows” and upload the file again.",
    ),
    ("roster.submit", "上传并检查", "Upload and check"),
    (
        "roster.title",
        "单位花名册批量申领",
        "Employer roster import",
    ),
    ("roster.total", "数据行", "Rows"),
    ("roster.upload", "上传花名册", "Upload a roster"),
    ("search.empty", "未找到符合条件的人员", "Nobody matches"),
    (
        "search.label",
        "身份证号、卡号或姓名",
        "ID number, card number or name",
    ),
    ("search.live_card", "当前卡", "Current card"),
    (
        "search.new_person",
        "系统中没有此证件号码的人员。",
        "Nobody with this document number is on file.",
    ),
    ("search.open", "查看", "Open"),
    (
        "search.placeholder",
        "例如 11010519491231002X、X00000019 或 张",
        "e.g. 11010519491231002X, X00000019 or a name",
    ),
    ("search.results", "查询结果", "Results"),
    ("search.submit", "查询", "Search"),
    ("search.title", "人员查询", "Find a person"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_is_sorted_and_complete() {
        for w in CATALOGUE.windows(2) {
            assert!(w[0].0 < w[1].0, "not sorted: {} then {}", w[0].0, w[1].0);
        }
        for (k, zh, en) in CATALOGUE {
            assert!(!zh.is_empty() && !en.is_empty(), "{k}");
        }
    }

    /// Every `t("…")` in the templates and the console's sources names a catalogue entry.
    #[test]
    fn every_used_key_exists() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut texts = Vec::new();
        for dir in ["templates/console", "src/console"] {
            for entry in std::fs::read_dir(root.join(dir)).unwrap() {
                let p = entry.unwrap().path();
                texts.push((
                    p.display().to_string(),
                    std::fs::read_to_string(&p).unwrap(),
                ));
            }
        }
        let mut used = 0;
        for (file, text) in &texts {
            for (i, _) in text.match_indices("t(\"") {
                let rest = &text[i + 3..];
                let key = &rest[..rest.find('"').unwrap()];
                if !key.contains('.') || key.contains(' ') {
                    continue;
                }
                used += 1;
                assert!(
                    CATALOGUE
                        .binary_search_by(|(k, _, _)| (*k).cmp(key))
                        .is_ok(),
                    "{file}: label {key} is missing from the catalogue"
                );
            }
        }
        assert!(used > 50, "only {used} labels found");
        let m = Msg { en: true };
        assert_eq!(m.t("login.submit"), "Log in");
        assert_eq!(Msg { en: false }.t("login.submit"), "登录");
    }
}
