//! The prompt catalogue: every sentence the 12333 line says, by id, in Simplified Chinese (the
//! default) and English.
//!
//! A prompt's text may hold parameters `{0}`, `{1}`… ([`Arg`]): amounts are spoken in 元/角/分,
//! months as 年/月, counts as numbers, phone numbers digit by digit. For a PBX every prompt is
//! cut at its parameters into fixed pieces, each a sound file ([`sound_files`]): a prompt
//! without parameters is the file `<id>`, the pieces of one with parameters are `<id>.1`,
//! `<id>.2`…; parameters are spoken with the PBX's own number and digit sayers between them
//! plus the unit files `unit-yuan`… ([`segments`]).

use serde::Serialize;
use sscard_domain::Money;

/// The language of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// Simplified Chinese (Mandarin), the default.
    #[default]
    Zh,
    /// English.
    En,
}

impl Lang {
    /// `zh` or `en`.
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// `zh`, `zh-CN`, `cmn`… → Chinese; `en…` → English; anything else → `None`.
    pub fn parse(s: &str) -> Option<Lang> {
        let s = s.trim().to_ascii_lowercase();
        if s.is_empty() || s.starts_with("zh") || s == "cmn" {
            Some(Lang::Zh)
        } else if s.starts_with("en") {
            Some(Lang::En)
        } else {
            None
        }
    }
}

/// One catalogue entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PromptDef {
    pub id: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
}

impl PromptDef {
    /// The template in `lang`.
    pub fn text(&self, lang: Lang) -> &'static str {
        match lang {
            Lang::Zh => self.zh,
            Lang::En => self.en,
        }
    }
}

macro_rules! catalogue {
    ($($id:literal => $zh:literal, $en:literal;)*) => {
        /// Every prompt.
        pub const CATALOGUE: &[PromptDef] = &[$(PromptDef { id: $id, zh: $zh, en: $en }),*];
    };
}

catalogue! {
    "welcome" => "您好,欢迎致电12333人力资源和社会保障服务热线。",
        "Welcome to the 12333 human resources and social security hotline.";
    "main-menu" => "社保信息查询请按3,社保卡改密和挂失请按5,人工服务请按0。",
        "For social insurance information, press 3. To change your card PIN or report a lost card, press 5. To speak to an agent, press 0.";
    "info-menu" => "个人账户查询请按1,工伤人员待遇查询请按2,工亡人员待遇查询请按3,单位医疗保险缴费查询请按4,药品目录和诊疗项目查询请按5,返回上级菜单请按星号键,人工服务请按0。",
        "For your personal accounts, press 1. Work-injury benefits, press 2. Work-death benefits, press 3. An employer's medical insurance contributions, press 4. The drug catalogue and treatment items, press 5. To go back, press star. For an agent, press 0.";
    "enter-id" => "请输入您的身份证号码,以井号键结束,字母X请用星号键代替。",
        "Please key your ID number followed by the hash key. Key the letter X as star.";
    "enter-pin" => "请输入6位社保卡密码,以井号键结束。",
        "Please key your 6-digit card PIN followed by the hash key.";
    "account-menu" => "医疗卡余额请按1,失业保险连续缴费月数请按2,退休待遇金额请按3,返回上级菜单请按星号键。",
        "For your medical account balance, press 1. Your continuous unemployment insurance months, press 2. Your pension amount, press 3. To go back, press star.";
    "medical-balance" => "您的医疗保险个人账户余额为{0}。",
        "Your medical insurance personal account balance is {0}.";
    "no-medical-account" => "未查询到您的医疗保险个人账户。",
        "No medical insurance personal account was found.";
    "unemployment-months" => "截至{0},您的失业保险已连续缴费{1}个月。",
        "Up to {0}, you have paid unemployment insurance for {1} months without a break.";
    "no-unemployment" => "未查询到您的失业保险缴费记录。",
        "No unemployment insurance contributions were found.";
    "pension-amount" => "您的月基本养老金为{0}。",
        "Your monthly basic pension is {0}.";
    "no-pension" => "未查询到您的退休待遇信息。",
        "No pension in payment was found.";
    "enter-ssn" => "请输入个人社会保障号码,以井号键结束,字母X请用星号键代替。",
        "Please key the social security number followed by the hash key. Key the letter X as star.";
    "injury-benefit" => "工伤待遇:伤残等级{0}级,每月伤残津贴{1},一次性伤残补助金{2}。",
        "Work-injury benefit: disability grade {0}, monthly disability allowance {1}, one-off disability grant {2}.";
    "injury-benefit-ungraded" => "工伤待遇:每月伤残津贴{0},一次性伤残补助金{1}。",
        "Work-injury benefit: monthly disability allowance {0}, one-off disability grant {1}.";
    "benefit-ended" => "该待遇已停发。",
        "This benefit is no longer paid.";
    "no-injury" => "未查询到该社会保障号码的工伤待遇信息。",
        "No work-injury benefit was found for this social security number.";
    "death-benefit" => "工亡待遇:一次性工亡补助金{0},丧葬补助金{1}。",
        "Work-death benefit: one-off grant {0}, funeral grant {1}.";
    "death-paid" => "以上待遇已发放。",
        "These benefits have been paid.";
    "death-unclaimed" => "以上待遇尚未领取,请供养亲属携带相关材料到社保经办机构办理。",
        "These benefits have not been claimed yet: the dependants should apply at a social insurance agency with the documents.";
    "no-death" => "未查询到该社会保障号码的工亡待遇信息。",
        "No work-death benefit was found for this social security number.";
    "enter-employer" => "请输入单位社保号,以井号键结束。",
        "Please key the employer's social insurance number followed by the hash key.";
    "employer-medical" => "该单位{0}医疗保险缴费:参保{1}人,单位缴纳{2},个人缴纳{3}。",
        "Medical insurance contributions for {0}: {1} insured persons, employer's part {2}, employees' part {3}.";
    "employer-none" => "该单位暂无医疗保险缴费记录。",
        "This employer has no medical insurance contributions yet.";
    "employer-not-found" => "未查询到该单位社保号。",
        "No employer has this number.";
    "drug-website" => "药品目录和诊疗项目请登录本市人力资源和社会保障局网站查询。",
        "Please look up the drug catalogue and treatment items on the city's human resources and social security website.";
    "card-menu" => "修改社保卡密码请按1,社保卡挂失请按2,返回上级菜单请按星号键,人工服务请按0。",
        "To change your card PIN, press 1. To report a lost card, press 2. To go back, press star. For an agent, press 0.";
    "enter-card-suffix" => "请输入社保卡卡号的后8位,字母X请用星号键代替,以井号键结束。",
        "Please key the last 8 characters of your card number followed by the hash key. Key the letter X as star.";
    "card-not-found" => "未查询到该卡号。",
        "No card has this number.";
    "enter-id-card-check" => "请输入持卡人的身份证号码以确认卡片,以井号键结束。",
        "Please key the cardholder's ID number to confirm the card, followed by the hash key.";
    "enter-old-pin" => "请输入原密码,以井号键结束。",
        "Please key your current PIN followed by the hash key.";
    "enter-id-initial" => "您的密码为初始密码,请输入您的身份证号码,以井号键结束。",
        "Your PIN is still the initial one. Please key your ID number followed by the hash key.";
    "id-mismatch" => "身份证号码与持卡人不符。",
        "The ID number does not match the cardholder.";
    "enter-new-pin" => "请输入6位新密码,以井号键结束。",
        "Please key your new 6-digit PIN followed by the hash key.";
    "enter-new-pin-again" => "请再次输入新密码,以井号键结束。",
        "Please key the new PIN again followed by the hash key.";
    "pin-mismatch" => "两次输入的新密码不一致。",
        "The two new PINs do not match.";
    "pin-weak" => "新密码过于简单,不能使用相同或连续的数字、本人出生日期或初始密码。",
        "The new PIN is too simple: it must not be one digit repeated, a run of digits, your birth date or the initial PIN.";
    "pin-changed" => "密码修改成功,请牢记您的新密码。",
        "Your PIN has been changed. Please remember your new PIN.";
    "loss-confirm" => "确认挂失请按1,取消请按2。",
        "To confirm the loss report, press 1. To cancel, press 2.";
    "loss-done" => "挂失成功。临时挂失有效期{0}天,请在有效期内携带本人身份证到社保卡服务网点办理书面挂失。",
        "Your card is reported lost. The report is valid for {0} days: within that time please make a written report at a card service counter with your ID.";
    "loss-cancelled" => "已取消挂失。",
        "The loss report was cancelled.";
    "loss-use-agent" => "您的社保卡密码尚未启用,不能自助挂失。",
        "Your card's PIN was never changed from the initial one, so it cannot be reported lost by self-service.";
    "id-invalid" => "您输入的身份证号码有误。",
        "The ID number you keyed is not valid.";
    "id-not-found" => "未查询到该身份证号码的参保信息。",
        "No insured person has this ID number.";
    "no-card" => "未查询到您名下可用的社保卡,请携带身份证到社保卡服务网点咨询。",
        "No usable card was found for you. Please ask at a card service counter with your ID.";
    "pin-wrong" => "密码错误,您还可以尝试{0}次。",
        "Wrong PIN. You have {0} tries left.";
    "pin-format" => "密码应为6位数字。",
        "The PIN must be 6 digits.";
    "pin-locked" => "您的社保卡密码已锁定,请携带本人身份证到社保卡服务网点办理解锁,咨询电话{0}。",
        "Your card's PIN is locked. Please unlock it at a card service counter with your ID. Enquiries: {0}.";
    "card-state" => "您的社保卡当前状态不能办理此项业务,请到社保卡服务网点办理。",
        "Your card's current status does not allow this. Please go to a card service counter.";
    "invalid-key" => "您的输入有误,请重新输入。",
        "Sorry, that is not a valid entry. Please try again.";
    "transfer" => "正在为您转接人工服务,请稍候。",
        "Please hold while we put you through to an agent.";
    "goodbye" => "感谢您的来电,再见。",
        "Thank you for calling. Goodbye.";
    "goodbye-invalid" => "您的输入多次有误,感谢您的来电,再见。",
        "Sorry, we could not understand your entries. Thank you for calling. Goodbye.";
    "goodbye-no-input" => "我们没有收到您的输入,感谢您的来电,再见。",
        "We did not receive any entry. Thank you for calling. Goodbye.";
    "rate-limited" => "您的尝试次数过多,请稍后再拨。感谢您的来电,再见。",
        "Too many attempts from your number. Please call again later. Goodbye.";
    "system-error" => "系统繁忙,正在为您转接人工服务。",
        "The system is busy. We are putting you through to an agent.";
    "unit-yuan" => "元", "yuan";
    "unit-jiao" => "角", "jiao";
    "unit-fen" => "分", "fen";
    "unit-zheng" => "整", "exactly";
    "unit-ling" => "零", "and";
    "unit-minus" => "负", "minus";
    "unit-year" => "年", "year";
    "unit-month" => "月", "month";
}

/// The catalogue entry of `id`.
pub fn def(id: &str) -> Option<&'static PromptDef> {
    CATALOGUE.iter().find(|d| d.id == id)
}

/// A parameter of a prompt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum Arg {
    /// An amount, spoken in 元/角/分.
    Money(i64),
    /// A count, spoken as a number.
    Number(i64),
    /// A month `YYYY-MM`: the year digit by digit, the month as a number.
    Month(String),
    /// Digits spoken one by one (phone numbers); other characters are shown, not spoken.
    Digits(String),
}

/// A prompt to play: a catalogue id and its parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Prompt {
    pub id: &'static str,
    pub args: Vec<Arg>,
}

impl Prompt {
    /// A prompt without parameters.
    pub fn new(id: &'static str) -> Prompt {
        debug_assert!(def(id).is_some(), "unknown prompt {id}");
        Prompt {
            id,
            args: Vec::new(),
        }
    }

    /// A prompt with parameters.
    pub fn with(id: &'static str, args: Vec<Arg>) -> Prompt {
        debug_assert!(def(id).is_some(), "unknown prompt {id}");
        Prompt { id, args }
    }

    /// The sentence as text in `lang`.
    pub fn text(&self, lang: Lang) -> String {
        let Some(d) = def(self.id) else {
            return self.id.to_string();
        };
        let mut out = String::new();
        for piece in split(d.text(lang)) {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Param(i) => {
                    if let Some(a) = self.args.get(i) {
                        out.push_str(&arg_text(a, lang));
                    }
                }
            }
        }
        out
    }
}

/// What a PBX plays, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum Segment {
    /// A sound file of the catalogue (`main-menu`, `medical-balance.1`, `unit-yuan`).
    File(String),
    /// A number said by the PBX (`SAY NUMBER`).
    Number(i64),
    /// Digits said one by one (`SAY DIGITS`).
    Digits(String),
}

enum Piece<'a> {
    Text(&'a str),
    Param(usize),
}

fn split(template: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        let inner = &rest[open + 1..open + close];
        match inner.parse::<usize>() {
            Ok(i) => {
                if open > 0 {
                    out.push(Piece::Text(&rest[..open]));
                }
                out.push(Piece::Param(i));
            }
            Err(_) => out.push(Piece::Text(&rest[..open + close + 1])),
        }
        rest = &rest[open + close + 1..];
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest));
    }
    out
}

fn arg_text(a: &Arg, lang: Lang) -> String {
    match (a, lang) {
        (Arg::Money(f), Lang::Zh) => Money::from_fen(*f).to_spoken_zh(),
        (Arg::Money(f), Lang::En) => format!("{} yuan", Money::from_fen(*f)),
        (Arg::Number(n), _) => n.to_string(),
        (Arg::Month(m), Lang::Zh) => match m.split_once('-') {
            Some((y, mo)) => format!("{y}年{}月", mo.trim_start_matches('0')),
            None => m.clone(),
        },
        (Arg::Month(m), Lang::En) => m.clone(),
        (Arg::Digits(d), _) => d.clone(),
    }
}

fn file(id: &str) -> Segment {
    Segment::File(id.to_string())
}

/// The segments that speak an amount: 元/角/分 the way `Money::to_spoken_zh` writes it.
fn money_segments(fen: i64) -> Vec<Segment> {
    let mut out = Vec::new();
    if fen < 0 {
        out.push(file("unit-minus"));
    }
    let abs = fen.unsigned_abs();
    let yuan = (abs / 100) as i64;
    let (jiao, f) = (((abs % 100) / 10) as i64, (abs % 10) as i64);
    if yuan > 0 {
        out.push(Segment::Number(yuan));
        out.push(file("unit-yuan"));
    }
    match (yuan > 0, jiao, f) {
        (false, 0, 0) => {
            out.push(Segment::Number(0));
            out.push(file("unit-yuan"));
        }
        (true, 0, 0) => out.push(file("unit-zheng")),
        (_, j, 0) => {
            out.push(Segment::Number(j));
            out.push(file("unit-jiao"));
        }
        (true, 0, f) => {
            out.push(file("unit-ling"));
            out.push(Segment::Number(f));
            out.push(file("unit-fen"));
        }
        (false, 0, f) => {
            out.push(Segment::Number(f));
            out.push(file("unit-fen"));
        }
        (_, j, f) => {
            out.push(Segment::Number(j));
            out.push(file("unit-jiao"));
            out.push(Segment::Number(f));
            out.push(file("unit-fen"));
        }
    }
    out
}

fn arg_segments(a: &Arg) -> Vec<Segment> {
    match a {
        Arg::Money(f) => money_segments(*f),
        Arg::Number(n) => vec![Segment::Number(*n)],
        Arg::Month(m) => match m.split_once('-') {
            Some((y, mo)) => vec![
                Segment::Digits(y.to_string()),
                file("unit-year"),
                Segment::Number(mo.parse().unwrap_or(0)),
                file("unit-month"),
            ],
            None => vec![Segment::Digits(m.clone())],
        },
        Arg::Digits(d) => {
            let digits: String = d.chars().filter(char::is_ascii_digit).collect();
            vec![Segment::Digits(digits)]
        }
    }
}

/// What a PBX plays for `p`: the prompt's sound files with its parameters spoken between them.
/// The pieces are the same in both languages, so one list of files serves both.
pub fn segments(p: &Prompt) -> Vec<Segment> {
    let Some(d) = def(p.id) else {
        return Vec::new();
    };
    let pieces = split(d.zh);
    let parametrised = pieces.iter().any(|x| matches!(x, Piece::Param(_)));
    let mut out = Vec::new();
    let mut k = 0;
    for piece in pieces {
        match piece {
            Piece::Text(_) if !parametrised => out.push(file(p.id)),
            Piece::Text(_) => {
                k += 1;
                out.push(Segment::File(format!("{}.{k}", p.id)));
            }
            Piece::Param(i) => {
                if let Some(a) = p.args.get(i) {
                    out.extend(arg_segments(a));
                }
            }
        }
    }
    out
}

/// Every sound file a PBX needs in `lang`, with the text it says: `(file name, text)`.
///
/// The English templates put their parameters in the same order as the Chinese ones, so the
/// pieces line up; an English piece that has no counterpart is dropped (never the case in this
/// catalogue, checked by a test).
pub fn sound_files(lang: Lang) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for d in CATALOGUE {
        let zh = split(d.zh);
        let texts: Vec<&str> = split(d.text(lang))
            .into_iter()
            .filter_map(|p| match p {
                Piece::Text(t) => Some(t),
                Piece::Param(_) => None,
            })
            .collect();
        let parametrised = zh.iter().any(|x| matches!(x, Piece::Param(_)));
        if !parametrised {
            out.push((d.id.to_string(), texts.concat()));
            continue;
        }
        let n = zh.iter().filter(|p| matches!(p, Piece::Text(_))).count();
        for k in 1..=n {
            let text = texts.get(k - 1).copied().unwrap_or_default();
            out.push((format!("{}.{k}", d.id), text.to_string()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_templates_agree() {
        let mut ids: Vec<&str> = CATALOGUE.iter().map(|d| d.id).collect();
        ids.sort_unstable();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n, "duplicate prompt ids");
        for d in CATALOGUE {
            let params = |t: &str| -> Vec<usize> {
                split(t)
                    .into_iter()
                    .filter_map(|p| match p {
                        Piece::Param(i) => Some(i),
                        Piece::Text(_) => None,
                    })
                    .collect()
            };
            assert_eq!(params(d.zh), params(d.en), "{}: parameters differ", d.id);
            let pieces = |t: &str| {
                split(t)
                    .iter()
                    .filter(|p| matches!(p, Piece::Text(_)))
                    .count()
            };
            assert_eq!(pieces(d.zh), pieces(d.en), "{}: pieces differ", d.id);
        }
    }

    #[test]
    fn amounts_are_spoken_in_yuan_jiao_fen() {
        let p = Prompt::with("medical-balance", vec![Arg::Money(123_456)]);
        assert_eq!(p.text(Lang::Zh), "您的医疗保险个人账户余额为1234元5角6分。");
        assert_eq!(
            p.text(Lang::En),
            "Your medical insurance personal account balance is 1234.56 yuan."
        );
        assert_eq!(
            segments(&p),
            vec![
                Segment::File("medical-balance.1".into()),
                Segment::Number(1234),
                Segment::File("unit-yuan".into()),
                Segment::Number(5),
                Segment::File("unit-jiao".into()),
                Segment::Number(6),
                Segment::File("unit-fen".into()),
                Segment::File("medical-balance.2".into()),
            ]
        );
        assert_eq!(
            money_segments(100_005),
            vec![
                Segment::Number(1000),
                file("unit-yuan"),
                file("unit-ling"),
                Segment::Number(5),
                file("unit-fen")
            ]
        );
        assert_eq!(
            money_segments(20_000),
            vec![Segment::Number(200), file("unit-yuan"), file("unit-zheng")]
        );
        assert_eq!(
            money_segments(0),
            vec![Segment::Number(0), file("unit-yuan")]
        );
    }

    #[test]
    fn months_and_phone_numbers() {
        let p = Prompt::with(
            "unemployment-months",
            vec![Arg::Month("2026-09".into()), Arg::Number(36)],
        );
        assert_eq!(
            p.text(Lang::Zh),
            "截至2026年9月,您的失业保险已连续缴费36个月。"
        );
        let p = Prompt::with("pin-locked", vec![Arg::Digits("0832-12333".into())]);
        assert!(p.text(Lang::Zh).contains("0832-12333"));
        assert!(segments(&p).contains(&Segment::Digits("083212333".into())));
        assert_eq!(segments(&Prompt::new("welcome")), vec![file("welcome")]);
    }

    #[test]
    fn every_segment_file_has_a_sound_file() {
        let files: Vec<String> = sound_files(Lang::Zh).into_iter().map(|(f, _)| f).collect();
        let en: Vec<String> = sound_files(Lang::En).into_iter().map(|(f, _)| f).collect();
        assert_eq!(files, en);
        for d in CATALOGUE {
            let args = vec![
                Arg::Money(105),
                Arg::Number(2),
                Arg::Money(-1),
                Arg::Money(100),
            ];
            for s in segments(&Prompt::with(d.id, args)) {
                if let Segment::File(f) = s {
                    assert!(files.contains(&f), "{f} has no sound file");
                }
            }
        }
        assert!(
            sound_files(Lang::En)
                .iter()
                .all(|(_, t)| !t.trim().is_empty())
        );
    }
}
