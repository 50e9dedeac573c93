//! Self-service (web portal, kiosk): a cardholder's records, query-password state, cardholder
//! sessions, certificates of insurance (参保证明) and life and health data.

use crate::{Result, Row, Tx, params};

/// An employment spell with its employer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmploymentRow {
    pub employer_no: String,
    pub employer_name: String,
    pub credit_code: String,
    pub start_date: String,
    pub end_date: Option<String>,
    pub position: String,
}

/// Employment spells of a person, newest first.
pub fn employment_of(tx: &mut dyn Tx, person_id: i64) -> Result<Vec<EmploymentRow>> {
    tx.query(
        "SELECT e.employer_no, e.name, e.credit_code, m.start_date, m.end_date, m.position
         FROM employment m JOIN employers e ON e.id = m.employer_id
         WHERE m.person_id = $1 ORDER BY m.start_date DESC, m.id DESC",
        params![person_id],
    )?
    .iter()
    .map(|r| {
        Ok(EmploymentRow {
            employer_no: r.text(0)?,
            employer_name: r.text(1)?,
            credit_code: r.text(2)?,
            start_date: r.text(3)?,
            end_date: r.opt_text(4)?,
            position: r.text(5)?,
        })
    })
    .collect()
}

/// An enrolment in one of the five insurances.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrolmentRow {
    pub insurance: String,
    pub scheme: String,
    pub status: String,
    pub region_code: String,
    pub start_date: String,
    pub end_date: Option<String>,
}

/// Enrolments of a person, oldest first.
pub fn enrolments_of(tx: &mut dyn Tx, person_id: i64) -> Result<Vec<EnrolmentRow>> {
    tx.query(
        "SELECT insurance, scheme, status, region_code, start_date, end_date
         FROM enrolments WHERE person_id = $1 ORDER BY start_date, id",
        params![person_id],
    )?
    .iter()
    .map(|r| {
        Ok(EnrolmentRow {
            insurance: r.text(0)?,
            scheme: r.text(1)?,
            status: r.text(2)?,
            region_code: r.text(3)?,
            start_date: r.text(4)?,
            end_date: r.opt_text(5)?,
        })
    })
    .collect()
}

/// A work-injury (or work-death) case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InjuryCaseRow {
    pub kind: String,
    pub employer_name: Option<String>,
    pub occurred_on: String,
    pub recognised_on: Option<String>,
    pub disability_grade: Option<i64>,
    pub description: String,
}

/// Injury cases of a person, newest first.
pub fn injury_cases_of(tx: &mut dyn Tx, person_id: i64) -> Result<Vec<InjuryCaseRow>> {
    tx.query(
        "SELECT c.kind, e.name, c.occurred_on, c.recognised_on, c.disability_grade, c.description
         FROM injury_cases c LEFT JOIN employers e ON e.id = c.employer_id
         WHERE c.person_id = $1 ORDER BY c.occurred_on DESC, c.id DESC",
        params![person_id],
    )?
    .iter()
    .map(|r| {
        Ok(InjuryCaseRow {
            kind: r.text(0)?,
            employer_name: r.opt_text(1)?,
            occurred_on: r.text(2)?,
            recognised_on: r.opt_text(3)?,
            disability_grade: r.opt_i64(4)?,
            description: r.text(5)?,
        })
    })
    .collect()
}

/// One month of contributions with the employer's name (none for flexible employment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContributionMonthRow {
    pub month: String,
    pub employer_name: Option<String>,
    pub base_fen: i64,
    pub pension_employer_fen: i64,
    pub pension_personal_fen: i64,
    pub medical_employer_fen: i64,
    pub medical_personal_fen: i64,
    pub unemployment_employer_fen: i64,
    pub unemployment_personal_fen: i64,
    pub injury_employer_fen: i64,
    pub maternity_employer_fen: i64,
    pub paid: bool,
}

/// Contribution months of a person, oldest first; only the given year when `year` is set.
pub fn contribution_months(
    tx: &mut dyn Tx,
    person_id: i64,
    year: Option<i32>,
) -> Result<Vec<ContributionMonthRow>> {
    let (from, to) = match year {
        Some(y) => (format!("{y:04}-01"), format!("{y:04}-12")),
        None => ("0000-00".to_string(), "9999-99".to_string()),
    };
    tx.query(
        "SELECT c.month, e.name, c.base_fen, c.pension_employer_fen, c.pension_personal_fen,
                c.medical_employer_fen, c.medical_personal_fen, c.unemployment_employer_fen,
                c.unemployment_personal_fen, c.injury_employer_fen, c.maternity_employer_fen, c.paid
         FROM contributions c LEFT JOIN employers e ON e.id = c.employer_id
         WHERE c.person_id = $1 AND c.month >= $2 AND c.month <= $3
         ORDER BY c.month",
        params![person_id, from, to],
    )?
    .iter()
    .map(|r| {
        Ok(ContributionMonthRow {
            month: r.text(0)?,
            employer_name: r.opt_text(1)?,
            base_fen: r.i64(2)?,
            pension_employer_fen: r.i64(3)?,
            pension_personal_fen: r.i64(4)?,
            medical_employer_fen: r.i64(5)?,
            medical_personal_fen: r.i64(6)?,
            unemployment_employer_fen: r.i64(7)?,
            unemployment_personal_fen: r.i64(8)?,
            injury_employer_fen: r.i64(9)?,
            maternity_employer_fen: r.i64(10)?,
            paid: r.bool(11)?,
        })
    })
    .collect()
}

/// A settlement of the person at a designated institution (the medical settlement API's rows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementRow {
    pub settled_at: String,
    pub institution_name: String,
    pub total_fen: Option<i64>,
    pub pooling_fen: Option<i64>,
    pub personal_fen: i64,
    pub cash_fen: Option<i64>,
    pub status: String,
}

fn settlement(r: &Row) -> Result<SettlementRow> {
    Ok(SettlementRow {
        settled_at: r.text(0)?,
        institution_name: r.opt_text(1)?.unwrap_or_default(),
        total_fen: r.opt_i64(2)?,
        pooling_fen: r.opt_i64(3)?,
        personal_fen: r.i64(4)?,
        cash_fen: r.opt_i64(5)?,
        status: r.text(6)?,
    })
}

/// The latest `limit` settlements recorded by the institution API, newest first.
pub fn api_settlements_of(
    tx: &mut dyn Tx,
    person_id: i64,
    limit: i64,
) -> Result<Vec<SettlementRow>> {
    tx.query(
        "SELECT s.settled_at, i.name, s.total_fen, s.pooling_fen, s.personal_fen, s.cash_fen,
                s.status
         FROM med_settlements s LEFT JOIN institutions i ON i.id = s.institution_id
         WHERE s.person_id = $1 AND s.status <> 'voided'
         ORDER BY s.settled_at DESC, s.id DESC LIMIT $2",
        params![person_id, limit],
    )?
    .iter()
    .map(settlement)
    .collect()
}

/// Settlements known only from the ledger (transfers of kind `settlement` from the medical
/// personal account to an institution's clearing account), newest first. Only the personal
/// account's part is known.
pub fn ledger_settlements_of(
    tx: &mut dyn Tx,
    person_id: i64,
    limit: i64,
) -> Result<Vec<SettlementRow>> {
    tx.query(
        "SELECT t.created_at, i.name, NULL, NULL, t.amount_fen, NULL, 'settled'
         FROM accounts a
         JOIN transfers t ON t.debit_account = a.id
         JOIN accounts c ON c.id = t.credit_account
         LEFT JOIN institutions i ON i.id = c.institution_id
         WHERE a.person_id = $1 AND a.kind = 'medical_personal' AND t.kind = 'settlement'
           AND t.status = 'posted'
         ORDER BY t.id DESC LIMIT $2",
        params![person_id, limit],
    )?
    .iter()
    .map(settlement)
    .collect()
}

/// One life-and-health record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthRow {
    pub category: String,
    pub item: String,
    pub value: String,
    pub recorded_on: String,
    pub source: String,
}

/// Life and health records of a person, by category then date.
pub fn health_of(tx: &mut dyn Tx, person_id: i64) -> Result<Vec<HealthRow>> {
    tx.query(
        "SELECT category, item, value, recorded_on, source FROM life_health_records
         WHERE person_id = $1 ORDER BY category, recorded_on DESC, id",
        params![person_id],
    )?
    .iter()
    .map(|r| {
        Ok(HealthRow {
            category: r.text(0)?,
            item: r.text(1)?,
            value: r.text(2)?,
            recorded_on: r.text(3)?,
            source: r.text(4)?,
        })
    })
    .collect()
}

/// Adds one life-and-health record.
pub fn insert_health(tx: &mut dyn Tx, person_id: i64, h: &HealthRow) -> Result<()> {
    tx.execute(
        "INSERT INTO life_health_records (person_id, category, item, value, recorded_on, source)
         VALUES ($1, $2, $3, $4, $5, $6)",
        params![
            person_id,
            h.category.as_str(),
            h.item.as_str(),
            h.value.as_str(),
            h.recorded_on.as_str(),
            h.source.as_str()
        ],
    )?;
    Ok(())
}

/// Gives every person without life-and-health data a few records, set-based (three
/// `INSERT … SELECT` statements, derived from the person's id and birth date, so the result is
/// deterministic): blood type, a vaccination, and a health check-up (adults) or a child health
/// check (under 18 on `as_of`). Returns the rows added.
pub fn seed_demo_health(tx: &mut dyn Tx, as_of: &str) -> Result<u64> {
    // `as_of` is `YYYY-MM-DD`; the rows are dated before it.
    let year: i32 = as_of.get(..4).and_then(|y| y.parse().ok()).unwrap_or(2026);
    let rest = as_of.get(4..).unwrap_or("-01-01");
    let adult_cutoff = format!("{:04}{rest}", year - 18);
    let last_spring = format!("{:04}-03-15", year - 1);
    let last_autumn = format!("{:04}-10-15", year - 1);
    let mut n = tx.execute(
        "INSERT INTO life_health_records (person_id, category, item, value, recorded_on, source)
         SELECT p.id, 'blood_type', 'ABO',
                CASE p.id % 10 WHEN 0 THEN 'AB' WHEN 1 THEN 'A' WHEN 2 THEN 'A' WHEN 3 THEN 'A'
                     WHEN 4 THEN 'B' WHEN 5 THEN 'B' WHEN 6 THEN 'B' ELSE 'O' END
                || CASE WHEN p.id % 97 = 0 THEN ' Rh-' ELSE ' Rh+' END,
                p.birth_date, '出生医学记录'
         FROM persons p
         WHERE NOT EXISTS (SELECT 1 FROM life_health_records h WHERE h.person_id = p.id)",
        &[],
    )?;
    n += tx.execute(
        "INSERT INTO life_health_records (person_id, category, item, value, recorded_on, source)
         SELECT p.id, 'vaccination',
                CASE WHEN p.birth_date > $1 THEN '百白破疫苗' ELSE '乙肝疫苗' END,
                CASE WHEN p.id % 3 = 0 THEN '第3剂' ELSE '全程接种' END,
                CASE WHEN p.birth_date > $1 THEN p.birth_date ELSE $2 END,
                '预防接种信息系统'
         FROM persons p
         WHERE NOT EXISTS (SELECT 1 FROM life_health_records h
                           WHERE h.person_id = p.id AND h.category = 'vaccination')",
        params![adult_cutoff.as_str(), last_spring.as_str()],
    )?;
    n += tx.execute(
        "INSERT INTO life_health_records (person_id, category, item, value, recorded_on, source)
         SELECT p.id, 'checkup',
                CASE WHEN p.birth_date > $1 THEN '儿童健康检查' ELSE '年度健康体检' END,
                CASE p.id % 5 WHEN 0 THEN '血压偏高,建议复查' WHEN 1 THEN '血脂偏高'
                     ELSE '未见明显异常' END,
                CASE WHEN p.birth_date > $2 THEN p.birth_date ELSE $2 END, '基本公共卫生服务'
         FROM persons p
         WHERE p.life_status = 'normal'
           AND NOT EXISTS (SELECT 1 FROM life_health_records h
                           WHERE h.person_id = p.id AND h.category = 'checkup')",
        params![adult_cutoff.as_str(), last_autumn.as_str()],
    )?;
    n += tx.execute(
        "INSERT INTO life_health_records (person_id, category, item, value, recorded_on, source)
         SELECT p.id, 'allergy', CASE WHEN p.id % 2 = 0 THEN '青霉素' ELSE '花粉' END, '过敏',
                p.birth_date, '门诊病历'
         FROM persons p
         WHERE p.id % 11 = 0
           AND NOT EXISTS (SELECT 1 FROM life_health_records h
                           WHERE h.person_id = p.id AND h.category = 'allergy')",
        &[],
    )?;
    Ok(n)
}

/// Records a wrong query password: the new failure count and, when locked, until when.
pub fn record_query_failure(
    tx: &mut dyn Tx,
    person_id: i64,
    failed: i64,
    locked_until: Option<&str>,
) -> Result<()> {
    tx.execute(
        "UPDATE persons SET query_failed = $1, query_locked_until = $2 WHERE id = $3",
        params![failed, locked_until, person_id],
    )?;
    Ok(())
}

/// Clears the wrong-try counter and any lock.
pub fn reset_query_failures(tx: &mut dyn Tx, person_id: i64) -> Result<()> {
    tx.execute(
        "UPDATE persons SET query_failed = 0, query_locked_until = NULL WHERE id = $1",
        params![person_id],
    )?;
    Ok(())
}

/// Stores a new query password hash (`changed`: no longer the initial one). An empty hash
/// means "the region's initial password".
pub fn set_query_password(
    tx: &mut dyn Tx,
    person_id: i64,
    hash: &str,
    changed: bool,
) -> Result<()> {
    tx.execute(
        "UPDATE persons SET query_password_hash = $1, query_password_changed = $2,
             query_failed = 0, query_locked_until = NULL
         WHERE id = $3",
        params![hash, changed, person_id],
    )?;
    Ok(())
}

/// A cardholder session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardholderSessionRow {
    pub person_id: i64,
    pub channel: String,
    pub csrf_token: String,
    pub created_at: String,
    pub expires_at: String,
    pub last_seen_at: String,
}

/// Stores a new cardholder session.
pub fn insert_session(
    tx: &mut dyn Tx,
    token_hash: &str,
    person_id: i64,
    channel: &str,
    csrf_token: &str,
    now: &str,
    expires_at: &str,
) -> Result<()> {
    tx.execute(
        "INSERT INTO cardholder_sessions (token_hash, person_id, channel, csrf_token, created_at,
             expires_at, last_seen_at)
         VALUES ($1, $2, $3, $4, $5, $6, $5)",
        params![token_hash, person_id, channel, csrf_token, now, expires_at],
    )?;
    Ok(())
}

/// The session of a token hash.
pub fn session_by_hash(tx: &mut dyn Tx, token_hash: &str) -> Result<Option<CardholderSessionRow>> {
    tx.query_opt(
        "SELECT person_id, channel, csrf_token, created_at, expires_at, last_seen_at
         FROM cardholder_sessions WHERE token_hash = $1",
        params![token_hash],
    )?
    .map(|r| {
        Ok(CardholderSessionRow {
            person_id: r.i64(0)?,
            channel: r.text(1)?,
            csrf_token: r.text(2)?,
            created_at: r.text(3)?,
            expires_at: r.text(4)?,
            last_seen_at: r.text(5)?,
        })
    })
    .transpose()
}

/// Marks a session as used now.
pub fn touch_session(tx: &mut dyn Tx, token_hash: &str, now: &str) -> Result<()> {
    tx.execute(
        "UPDATE cardholder_sessions SET last_seen_at = $1 WHERE token_hash = $2",
        params![now, token_hash],
    )?;
    Ok(())
}

/// Ends a session.
pub fn delete_session(tx: &mut dyn Tx, token_hash: &str) -> Result<()> {
    tx.execute(
        "DELETE FROM cardholder_sessions WHERE token_hash = $1",
        params![token_hash],
    )?;
    Ok(())
}

/// Ends a person's sessions on a channel except the one given.
pub fn delete_other_sessions(
    tx: &mut dyn Tx,
    person_id: i64,
    channel: &str,
    keep_hash: &str,
) -> Result<u64> {
    tx.execute(
        "DELETE FROM cardholder_sessions
         WHERE person_id = $1 AND channel = $2 AND token_hash <> $3",
        params![person_id, channel, keep_hash],
    )
}

/// Ends every session of a person.
pub fn delete_sessions_of(tx: &mut dyn Tx, person_id: i64) -> Result<u64> {
    tx.execute(
        "DELETE FROM cardholder_sessions WHERE person_id = $1",
        params![person_id],
    )
}

/// Removes sessions that expired before `now`.
pub fn purge_expired_sessions(tx: &mut dyn Tx, now: &str) -> Result<u64> {
    tx.execute(
        "DELETE FROM cardholder_sessions WHERE expires_at < $1",
        params![now],
    )
}

/// A certificate of insurance as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsuranceCertificateRow {
    pub code: String,
    pub person_id: i64,
    pub region_code: String,
    pub channel: String,
    pub issued_at: String,
    pub content_hash: String,
    pub summary_json: String,
}

/// Stores an issued certificate.
pub fn insert_certificate(tx: &mut dyn Tx, c: &InsuranceCertificateRow) -> Result<()> {
    tx.execute(
        "INSERT INTO insurance_certificates (code, person_id, region_code, channel, issued_at,
             content_hash, summary_json)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        params![
            c.code.as_str(),
            c.person_id,
            c.region_code.as_str(),
            c.channel.as_str(),
            c.issued_at.as_str(),
            c.content_hash.as_str(),
            c.summary_json.as_str()
        ],
    )?;
    Ok(())
}

/// A certificate by its verification code.
pub fn certificate_by_code(tx: &mut dyn Tx, code: &str) -> Result<Option<InsuranceCertificateRow>> {
    tx.query_opt(
        "SELECT code, person_id, region_code, channel, issued_at, content_hash, summary_json
         FROM insurance_certificates WHERE code = $1",
        params![code],
    )?
    .map(|r| {
        Ok(InsuranceCertificateRow {
            code: r.text(0)?,
            person_id: r.i64(1)?,
            region_code: r.text(2)?,
            channel: r.text(3)?,
            issued_at: r.text(4)?,
            content_hash: r.text(5)?,
            summary_json: r.text(6)?,
        })
    })
    .transpose()
}

/// How many certificates a person was issued since `since` (a rate limit).
pub fn certificates_since(tx: &mut dyn Tx, person_id: i64, since: &str) -> Result<i64> {
    tx.query_i64(
        "SELECT count(*) FROM insurance_certificates WHERE person_id = $1 AND issued_at >= $2",
        params![person_id, since],
    )
}
